"""Token-tree options on the command line: the figures `run --json` adds, and one-line refusals."""

from __future__ import annotations

import json

import pytest

from tests.cli.cli_support import assert_one_line_error, run_cli


def test_run_json_has_the_tree_figures():
    code, out, err = run_cli("run", "--tree-width", "2", "-k", "3", "-n", "300", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["config"]["tree_width"] == 2
    assert data["tree"]["kind"] == "full" and data["tree"]["nodes"] == 14
    assert 1.0 < data["tokens_per_target_pass"] <= 4.0
    assert 1.0 <= data["nodes_per_pass"] <= 14.0
    assert data["drafted"] == pytest.approx(data["nodes_per_pass"] * data["rounds"])
    assert len(data["acceptance_by_depth"]) == 3
    assert all(len(row) <= 2 for row in data["accepted_rank_by_depth"])
    assert sum(data["kept_by_depth_and_rank"][0]) == data["rounds"] - data["acceptance_length_histogram"].get("1", 0)
    assert data["expected_tokens_per_round"] == data["expected_tokens_at_measured_rates"]
    assert data["expected_draft_acceptance_rate"] is None


def test_a_chain_run_json_has_no_tree_figures():
    code, out, _ = run_cli("run", "-n", "50", "--json")
    assert code == 0
    data = json.loads(out)
    assert "tree" not in data and "nodes_per_pass" not in data
    assert data["config"]["tree_width"] == 1  # the header of every run carries the knobs


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (("run", "--tree-width", "x"), ("tree width (--tree-width)", "whole number")),
        (("run", "--tree-sampling", "beam"), ("one of iid, distinct, top",)),
        (("run", "--tree-shape", "[[0],[0,5]]"), ("[0, 5] is listed without its elder sibling",)),
        (("run", "--tree-budget", "-1"), ("an integer from 0 to 1,024",)),
        (("run", "--tree-width", "2", "--method", "typical"), ("speculative or greedy with a token tree",)),
        (("run", "--tree-width", "2", "--trace", "t.jsonl"), ("a trace records chain rounds",)),
        (("theory", "--tree-width", "2"), ("cannot be used with theory",)),
        (("sweep", "--tree-width", "2"), ("not used by sweep",)),
        (("compare", "--tree-budget", "4"), ("cannot be used with compare",)),
        (("audit", "--tree-threshold", "0.5"), ("without a tree",)),
    ],
)
def test_bad_tree_options_exit_2_in_one_line(argv, fragments, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(*argv)
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "t.jsonl").exists()


def test_compare_trees_adds_rows_at_the_chain_s_node_count():
    code, out, err = run_cli(
        "compare",
        "--method",
        "speculative",
        "--draft-policy",
        "fixed",
        "--trees",
        "-k",
        "4",
        "-n",
        "200",
        "--audit-samples",
        "0",
        "--json",
    )
    assert code == 0, err
    rows = json.loads(out)["tree_rows"]
    assert rows[0]["tree"] is None and rows[0]["drafting"] == "chain, k = 4"
    assert [row["tree"] is not None for row in rows[1:]] == [True] * (len(rows) - 1)
    for row in rows:
        assert 3.0 <= row["nodes_per_pass"] <= 4.0  # the same verified nodes a pass (the last round is cut)
        assert row["speedup"] > 0
