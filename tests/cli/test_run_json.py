"""`specviz run --json` and `specviz theory --json` (issue 2's headless front)."""

import json
import subprocess
import sys

import pytest

from specviz.engine.analysis import theory
from tests.cli.cli_support import assert_one_line_error, run_cli


def specviz(*args):
    return subprocess.run([sys.executable, "-m", "specviz", *args], capture_output=True, text=True)


def test_run_json_reports_the_run():
    result = specviz("run", "-k", "4", "-a", "0.7", "-n", "300", "--seed", "5", "--draft-cost", "0.05", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["config"]["draft_length"] == 4 and data["config"]["seed"] == 5
    assert data["tokens"] == 300
    assert data["rounds"] == data["bonus"] + data["rejected"]
    assert data["tokens_per_target_pass"] == pytest.approx(300 / data["rounds"])
    assert len(data["per_position_acceptance"]) == 4
    assert data["expected_tokens_per_round"] == pytest.approx(theory.expected_tokens_per_round(0.7, 4))
    assert data["expected_speedup"] == pytest.approx(theory.expected_speedup(0.7, 4, 0.05))
    assert data["empirical_alpha"] == pytest.approx(0.7)
    assert len(data["text"].split()) > 100


def test_run_is_deterministic_across_processes():
    first = specviz("run", "-n", "500", "--seed", "9", "--json").stdout
    second = specviz("run", "-n", "500", "--seed", "9", "--json").stdout
    assert first == second and json.loads(first)["tokens"] == 500


def test_theory_json():
    result = specviz("theory", "-k", "5", "-a", "0.8", "--draft-cost", "0.02", "--json")
    data = json.loads(result.stdout)
    assert data["expected_tokens_per_round"] == pytest.approx(3.68928)
    assert data["optimal_k"] == 11 and round(data["optimal_speedup"], 2) == 3.82
    assert set(data) >= {"expected_tokens_per_round", "expected_speedup", "optimal_k", "optimal_speedup", "ops_factor"}


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "-k", "0"], "draft length k"),
        (["run", "-a", "1.2"], "acceptance rate"),
        (["run", "-n", "ten"], "target length"),
        (["run", "--draft-cost", "-1"], "draft cost"),
        (["run", "--seed", "1.5"], "seed"),
        (["theory", "-a", "nan"], "acceptance rate"),
        (["run", "--model", "gpt9"], "model pair"),
    ],
)
def test_invalid_values_exit_2_with_one_line(args, fragment):
    result = specviz(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "allowed" in lines[0]
    assert "Traceback" not in result.stderr


BATCH_TABLE = "[[1,16,5],[17,32,4],[33,64,3],[65,128,1],[129,512,0]]"


@pytest.mark.parametrize(("batch_size", "k"), [("16", 5), ("17", 4), ("129", 0)])
def test_run_with_a_batch_table_drafts_its_k(batch_size, k):
    code, out, err = run_cli(
        "run", "--draft-policy", "batch-table", "--k-by-batch-size", BATCH_TABLE, "--batch-size", batch_size,
        "--cost-model", "llama-7b-f16-v100-llamacpp", "-n", "120", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["config"]["k_by_batch_size"] == BATCH_TABLE and data["tokens"] == 120
    assert len(data["per_position_acceptance"]) == k
    # k drafts a round, but in the last few rounds, cut so they cannot pass n.
    assert k * (data["rounds"] - 3) <= data["drafted"] <= k * data["rounds"]
    if k == 0:
        assert data["rounds"] == 120 and data["speedup"] == 1.0 == data["expected_speedup"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--k-by-batch-size", "[[1,8,2]]"), "only with --draft-policy batch-table"),
        (("--draft-policy", "batch-table"), "required with --draft-policy batch-table"),
        (("--draft-policy", "batch-table", "--k-by-batch-size", "[[1,8,2]]", "--batch-size", "9"), "batch size 9"),
        (("--draft-policy", "batch-table", "--k-by-batch-size", "[[1,8,2],[8,9,1]]"), "overlap"),
    ],
)
def test_a_bad_batch_table_exits_2_with_one_line(args, fragment):
    code, _, err = run_cli("run", "-n", "10", *args)
    assert_one_line_error(code, err, "--k-by-batch-size", fragment)


@pytest.mark.parametrize(("batch_size", "k"), [("32", 4), ("33", 3), ("129", 0)])
def test_theory_under_a_batch_table_uses_the_tables_k(batch_size, k):
    code, out, err = run_cli(
        "theory", "--draft-policy", "batch-table", "--k-by-batch-size", BATCH_TABLE, "--batch-size", batch_size,
        "--cost-model", "llama-7b-f16-v100-llamacpp", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["k"] == k and len(data["per_position_acceptance"]) == k
    if k == 0:
        assert data["expected_speedup"] == 1.0 and data["expected_draft_acceptance_rate"] is None
    code, out, err = run_cli(
        "theory", "--draft-policy", "batch-table", "--k-by-batch-size", BATCH_TABLE, "--batch-size", batch_size
    )
    assert code == 0, err
    assert f"0.75, {k}, 0.1" in out
