"""`specviz import` and `specviz run --emit` on the command line (issue 14)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import specviz.cli.import_ as cli_import
from specviz.engine import SimConfig, Simulation
from specviz.engine.io.emit import EMIT_FORMATS
from tests.cli.cli_support import assert_one_line_error, python_env, run_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"
SERIES_KEYS = {
    "engine",
    "format",
    "label",
    "num_drafts",
    "num_draft_tokens",
    "num_accepted_tokens",
    "draft_length",
    "mean_acceptance_length",
    "draft_acceptance_rate",
    "per_position_acceptance",
    "conditional_acceptance",
    "alpha_iid",
    "engine_figures",
    "advice",
    "warnings",
}
ADVICE_KEYS = {"best_k", "best_speedup", "speedup_at_measured_k", "speedup_by_k"}


def import_json(*argv: str) -> dict:
    code, out, err = run_cli("import", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("path", sorted(FIXTURES.iterdir()), ids=lambda path: path.name)
def test_json_has_every_key_for_every_fixture(path):
    data = import_json(str(path))
    assert data["sources"] == [str(path)] and data["series"]
    for series in data["series"]:
        assert SERIES_KEYS <= set(series)
        if series["advice"] is not None:
            assert ADVICE_KEYS <= set(series["advice"])
            assert [row["k"] for row in series["advice"]["speedup_by_k"]][0] == 1


def test_several_files_and_series_stay_apart():
    data = import_json(str(FIXTURES / "vllm-prometheus.txt"), str(FIXTURES / "spec-bench.jsonl"))
    labels = [(series["source"].rsplit("/", 1)[1], series["label"]) for series in data["series"]]
    assert labels == [
        ("vllm-prometheus.txt", "engine=0, model_name=llama-8b"),
        ("vllm-prometheus.txt", "engine=1, model_name=llama-8b"),
        ("spec-bench.jsonl", "model eagle-vicuna-7b, category writing"),
        ("spec-bench.jsonl", "model eagle-vicuna-7b, category math"),
    ]


def test_the_cost_flags_reach_the_advice():
    cheap = import_json(str(FIXTURES / "vllm-v1-mid2025.log"), "--draft-cost", "0.01")["series"][0]["advice"]
    dear = import_json(str(FIXTURES / "vllm-v1-mid2025.log"), "--draft-cost", "3")["series"][0]["advice"]
    assert cheap["speedup_at_measured_k"] == pytest.approx(2.7 / 1.04)
    assert cheap["beats_plain_decoding"] and not dear["beats_plain_decoding"]
    batched = import_json(
        str(FIXTURES / "vllm-v1-mid2025.log"), "--cost-model", "llama3.1-8b-eagle-h100", "--batch-size", "64"
    )
    assert batched["cost_model"]["batch_size"] == 64
    assert batched["series"][0]["advice"]["cost_model"]["name"] != "constant ratio"


def test_the_report_shows_figures_positions_definitions_and_advice():
    code, out, err = run_cli("import", str(FIXTURES / "vllm-v0.log"), str(FIXTURES / "vllm-v1-mid2025.log"))
    assert code == 0 and err == ""
    for text in ("mean acceptance length", "Per position", "Definitions side by side", "Advice", "NOT the kept"):
        assert text in out
    assert "falls from 0.750 at position 1 to 0.500" in out  # the conditional rates of mid-2025.log
    assert "█" in out  # the per-position bars
    assert "k = 3 would give 1.96x against 1.93x at the measured k = 4" in out


def test_log_text_is_data_in_the_report():
    code, out, err = run_cli("import", str(FIXTURES / "spec-bench-bad.jsonl"))
    assert code == 0
    assert "\x1b" not in out and "\\x1b[31m" in out
    assert "[bold]x[/bold]" in out  # markup from a log is printed as written
    assert "line 2: truncated or invalid JSON" in " ".join(out.split())


@pytest.mark.parametrize(
    "argv, fragments",
    [
        ([str(FIXTURES / "vllm-v1-newest.log"), "--format", "tgi"], ["no speculative-decoding record", "tgi"]),
        (["--format", "nope", "x.log"], ["--format", "vllm-prometheus"]),
        (["missing.log"], ["cannot read missing.log"]),
        ([str(FIXTURES)], ["cannot read"]),
        ([str(FIXTURES / "tgi-metrics.txt"), "-k", "0"], ["draft length", "1 to 64"]),
        ([str(FIXTURES / "tgi-metrics.txt"), "--draft-cost", "-1"], ["draft cost"]),
        ([str(FIXTURES / "tgi-metrics.txt"), "--cost-model", "nope"], ["unknown cost model"]),
        (["-", "-"], ["standard input"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, fragments):
    code, _, err = run_cli("import", *argv)
    assert_one_line_error(code, err, *fragments)


def test_a_file_of_other_lines_names_every_format_tried(tmp_path):
    path = tmp_path / "app.log"
    path.write_text("INFO starting\nGET / 200\n")
    code, _, err = run_cli("import", str(path))
    line = assert_one_line_error(code, err, "no speculative-decoding record")
    assert all(name in line for name in ("vllm", "llama-server", "sglang-request", "trtllm", "tgi", "spec-bench"))


def test_emit_to_refuses_what_it_should(tmp_path):
    code, _, err = run_cli("run", "-n", "50", "--emit-to", str(tmp_path / "a.log"))
    assert_one_line_error(code, err, "--emit-to needs --emit")
    existing = tmp_path / "b.log"
    existing.write_text("keep me")
    code, _, err = run_cli("run", "-n", "50", "--emit", "vllm", "--emit-to", str(existing))
    assert_one_line_error(code, err, "exists", "--force")
    assert existing.read_text() == "keep me"
    code, _, err = run_cli("run", "-n", "50", "--emit", "vllm", "--emit-to", str(existing), "--force")
    assert code == 0 and "SpecDecoding metrics:" in existing.read_text()
    code, _, err = run_cli("run", "-n", "50", "--emit", "vllm", "--json")
    assert code == 2 and "not allowed with" in err


def test_emit_replays_a_trace_as_the_live_run(tmp_path):
    trace = tmp_path / "run.jsonl"
    code, live, _ = run_cli("run", "-n", "400", "--seed", "4", "--emit", "vllm-prometheus", "--trace", str(trace))
    assert code == 0
    code, replayed, _ = run_cli("run", "--from-trace", str(trace), "--emit", "vllm-prometheus")
    assert code == 0 and replayed == live


def process(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "specviz", *argv], input=stdin, capture_output=True, env=python_env(), timeout=60
    )


@pytest.mark.parametrize("fmt", EMIT_FORMATS)
def test_run_emit_piped_into_import_gives_back_the_run(fmt):
    run_args = ["-k", "4", "-a", "0.7", "-n", "2000", "--seed", "11"]
    emitted = process("run", *run_args, "--emit", fmt)
    assert emitted.returncode == 0, emitted.stderr
    imported = process("import", "-", "--json", stdin=emitted.stdout)
    assert imported.returncode == 0, imported.stderr
    (series,) = json.loads(imported.stdout)["series"]
    assert series["format"] == fmt and series["warnings"] == []
    simulation = Simulation(SimConfig(draft_length=4, acceptance_rate=0.7, target_length=2000, seed=11))
    stats = simulation.run()
    if fmt == "sglang":
        assert series["mean_acceptance_length"] == pytest.approx(stats.emitted / stats.rounds, abs=0.005)
        return
    assert (series["num_draft_tokens"], series["num_accepted_tokens"]) == (stats.drafted, stats.accepted)
    drafts = stats.rounds - (stats.drafted_histogram[0] if stats.drafted_histogram else 0)
    assert series["num_drafts"] == (stats.rounds if fmt == "llama.cpp" else drafts)
    if fmt != "llama.cpp":
        assert series["per_position_acceptance"] == pytest.approx([n / drafts for n in stats.position_accepted])


def test_import_examples_work(tmp_path, monkeypatch):
    import specviz.app

    monkeypatch.chdir(tmp_path)
    opened = []  # the --open example records the import it would show, and opens nothing
    monkeypatch.setattr(
        specviz.app, "run_app", lambda config, simulation=None, imported=None: opened.append(imported) or 0
    )
    commands = [
        line.strip().split("  ")[0] for line in cli_import.EXAMPLES.splitlines() if line.strip().startswith("specviz ")
    ]
    assert len(commands) >= 3
    for command in commands:
        code, _, err = run_cli(*shlex.split(command)[1:])
        assert code == 0, f"{command}: {err}"
        assert err == ""
    assert len(opened) == sum("--open" in command for command in commands) >= 1
