"""`specviz compare`: the table, --json, the row options, bad input, help and its examples."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from rich.console import Console

import specviz.cli.compare as cli_compare
import specviz.cli.options as cli_options
from specviz.cli import progress
from specviz.engine.analysis.compare import DEFAULT_AUDIT_SAMPLES, DEFAULT_TARGET_LENGTH
from specviz.render.compare import render_comparison
from tests.cli.cli_support import REPO, assert_one_line_error, run_cli
from tests.engine.test_isolation import _modules_after

FAST = ("-n", "200", "--audit-samples", "1000")
ROW_KEYS = {
    "method",
    "policy",
    "draft_sampling",
    "lossless_claim",
    "lossless_against",
    "audit",
    "tokens",
    "target_passes",
    "draft_passes",
    "drafted",
    "accepted",
    "corrections",
    "bonus",
    "tokens_per_target_pass",
    "mean_acceptance_length",
    "draft_acceptance_rate",
    "mean_draft_length",
    "empirical_alpha",
    "method_keep_rate",
    "speedup",
    "cost_ms",
}


def compare_json(*argv: str) -> dict:
    code, out, err = run_cli("compare", *argv, "--json")
    assert code == 0 and err == "", err
    return json.loads(out)


@pytest.fixture(scope="module")
def table() -> str:
    code, out, err = run_cli("compare", *FAST)
    assert code == 0 and err == "", err
    return out


def test_table_has_a_row_for_every_method_and_policy(table):
    rows = [
        line.split() for line in table.splitlines() if re.match(r"(speculative|greedy|sample-match|typical)\b", line)
    ]
    assert [(r[0], r[2] if r[1] == "⚠" else r[1]) for r in rows] == [
        ("speculative", "fixed"),
        ("greedy", "fixed"),
        ("sample-match", "fixed"),
        ("typical", "fixed"),
        ("speculative", "heuristic"),
        ("speculative", "confidence"),
    ]
    for header in ("lossless", "audit", "tokens/", "draft", "mean", "keep", "speedup"):
        assert header in table


def test_table_marks_the_lossy_method_and_the_audit_verdicts(table):
    typical = next(line for line in table.splitlines() if line.startswith("typical"))
    assert "⚠" in typical and "LOSSY" in typical and "fail" in typical
    greedy = next(line for line in table.splitlines() if line.startswith("greedy"))
    assert "argmax p" in greedy and "pass" in greedy
    assert "typical: NOT lossless" in table and "speculative: lossless" in table
    assert "⚠ LOSSY" in table and "warning" not in table
    assert "audit = 1,000 samples of each method's first 2 tokens from the prompt, against" in table


def test_table_fits_80_columns(table):
    assert max(len(line) for line in table.splitlines()) <= 80


def test_table_figures_are_the_json_figures(table):
    data = compare_json(*FAST)
    for row in data["rows"]:
        line = next(
            line for line in table.splitlines() if line.startswith(row["method"] + " ") and f" {row['policy']} " in line
        )
        assert f"{row['tokens_per_target_pass']:.2f}" in line and f"{row['speedup']:.2f}×" in line
        # The keep column is the method's own keep chance (greedy: far below sum_x min(p, q)).
        assert f"{row['method_keep_rate']:.3f}" in line and f"{row['mean_draft_length']:.2f}" in line


def test_json_shape():
    data = compare_json(*FAST, "-k", "3", "--seed", "9")
    assert set(data) == {"rows", "config"}
    assert len(data["rows"]) == 6
    for row in data["rows"]:
        assert set(row) == ROW_KEYS
        assert row["tokens"] == 200
        assert row["audit"]["samples"] == 1000
    config = data["config"]
    assert config["draft_length"] == 3 and config["seed"] == 9 and config["target_length"] == 200
    assert config["audit_samples"] == 1000


def test_defaults_are_the_documented_ones():
    data = compare_json("--audit-samples", "0")
    assert data["config"]["target_length"] == DEFAULT_TARGET_LENGTH
    assert all(row["tokens"] == DEFAULT_TARGET_LENGTH and row["audit"] is None for row in data["rows"])
    code, out, _ = run_cli("compare", "--help")
    assert f"(default: {DEFAULT_AUDIT_SAMPLES})" in out


def test_rows_options():
    assert {(r["method"], r["policy"]) for r in compare_json("-n", "50", "--audit-samples", "0", "--grid")["rows"]} == {
        (m, p)
        for m in ("speculative", "greedy", "sample-match", "typical")
        for p in ("fixed", "heuristic", "confidence")
    }
    rows = compare_json("-n", "50", "--audit-samples", "0", "--method", "greedy")["rows"]
    assert [(r["method"], r["policy"]) for r in rows] == [
        ("greedy", "fixed"),
        ("greedy", "heuristic"),
        ("greedy", "confidence"),
    ]
    rows = compare_json("-n", "50", "--audit-samples", "0", "--draft-policy", "heuristic")["rows"]
    assert {r["policy"] for r in rows} == {"heuristic"} and len(rows) == 4


def test_simulation_options_reach_every_row():
    data = compare_json("-n", "300", "--audit-samples", "0", "-a", "0.9", "-k", "2", "--draft-cost", "0")
    speculative = data["rows"][0]
    assert speculative["empirical_alpha"] == pytest.approx(0.9)
    assert speculative["cost_ms"]["draft_ms"] == 0.0
    fixed = [row for row in data["rows"] if row["policy"] == "fixed"]
    assert len(fixed) == 4 and all(row["drafted"] <= 2 * row["target_passes"] for row in fixed)


def test_a_lossless_claim_the_audit_refutes_is_flagged():
    data = compare_json("-n", "50", "--audit-samples", "300", "--method", "speculative", "--draft-policy", "fixed")
    data["rows"][0]["audit"].update(lossless=False, chi2_pvalue=1e-9, tv_distance=0.3)
    console = Console(record=True, width=100)
    render_comparison(console, data)
    text = console.export_text()
    assert "FAIL" in text and "speculative: NOT lossless" in text
    assert "warning: speculative claims to be lossless but its audit rejects that" in text


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["-k", "0"], ["draft length k", "0", "1 to 64"]),
        (["-n", "lots"], ["target length", "lots", "whole number"]),
        (["--audit-samples", "-1"], ["--audit-samples", "-1", "0 (no audit)"]),
        (["--audit-samples", "many"], ["--audit-samples", "many"]),
        (["--model", "gpt"], ["model pair", "gpt", "synthetic"]),
        (["--method", "fast"], ["verification method", "fast", "typical"]),
        (["--draft-policy", "dynamic"], ["draft-length policy", "dynamic", "heuristic"]),
        (["--model", "ngram", "--corpus", "no/such/file.txt"], ["no/such/file.txt"]),
        (["--frobnicate"], ["--frobnicate"]),
        (["--json", "extra"], ["extra"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, fragments):
    code, out, err = run_cli("compare", *argv)
    assert_one_line_error(code, err, *fragments)
    assert out == ""


def test_help_lists_every_option_with_default_and_range():
    code, out, err = run_cli("compare", "--help")
    assert code == 0 and err == ""
    flat = " ".join(out.split())
    for flags, _, _ in cli_options.SIMULATION_OPTIONS:
        assert re.search(re.escape(flags[-1]) + r" \S+ [^()]*(\([^)]*\))?[^()]*\(default: [^)]*\)", flat), flags
    for flag in ("--grid", "--audit-samples", "--json", "--no-progress"):
        assert flag in out
    assert "1 to 100,000,000 (default: 2000)" in flat  # -n: compare's own default
    assert "(default: every method)" in flat
    assert "0 (no audit) to 1,000,000" in flat
    examples = out.split("examples:")[-1]  # the help ends with them
    assert out.index("examples:") > out.index("--no-progress")
    assert len(re.findall(r"^  specviz compare", examples, re.M)) >= 5
    assert max(len(line) for line in examples.splitlines()) <= 80


def test_top_level_help_lists_compare():
    _, out, _ = run_cli("--help")
    assert "compare" in out


def _example_commands(text: str) -> list[str]:
    return [re.split(r"\s{2,}", line.strip())[0] for line in text.splitlines() if line.strip().startswith("specviz ")]


def test_help_examples_work_and_the_readme_shows_compare():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Comparing methods", 1)[1].split("\n## ", 1)[0]
    readme_commands = [c.split("#")[0].strip() for c in _example_commands(section)]
    help_commands = _example_commands(cli_compare.EXAMPLES)
    assert len(help_commands) >= 5 and readme_commands
    # The README's own run in tests/cli/test_cli_help.py (every README example);
    # here the help's, and that the README shows only compare in its section.
    assert all(shlex.split(command)[:2] == ["specviz", "compare"] for command in readme_commands)
    for command in dict.fromkeys(help_commands):
        argv = shlex.split(command)
        assert argv[:2] == ["specviz", "compare"], command
        code, out, err = run_cli(*argv[1:])
        assert code == 0 and err == "", f"{command}: {err}"
        if "--json" in argv:
            json.loads(out)


def test_progress_only_on_a_terminal(monkeypatch):
    calls = []
    real_compare = cli_compare.compare

    def spy(config, plan, audit_samples, progress=None, **kwargs):
        calls.append(progress)
        return real_compare(config, plan, audit_samples, progress=progress, **kwargs)

    monkeypatch.setattr(cli_compare, "compare", spy)
    assert run_cli("compare", "-n", "30", "--audit-samples", "0", "--json")[2] == ""
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    run_cli("compare", "-n", "30", "--audit-samples", "0", "--json")
    run_cli("compare", "-n", "30", "--audit-samples", "0", "--json", "--no-progress")
    assert calls[0] is None and callable(calls[1]) and calls[2] is None


def test_headless_compare_does_not_import_textual():
    modules = _modules_after(
        "import contextlib, io\n"
        "from specviz.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['compare', '-n', '20', '--audit-samples', '50'])\n"
        "    main(['compare', '-n', '20', '--audit-samples', '50', '--json'])"
    )
    assert "textual" not in modules


def test_other_commands_do_not_pay_for_the_audit():
    # compare's parser is built with every command's; scipy (the audit's
    # chi-square, most of a second to import) must load only for compare.
    modules = _modules_after(
        "import contextlib, io\n"
        "from specviz.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['run', '-n', '20', '--json'])\n"
    )
    assert "specviz.cli.compare" in modules and "scipy" not in modules


def test_the_argmax_row_is_the_first_row_with_an_argmax_draft():
    rows = compare_json("-n", "300", "--audit-samples", "400", "--argmax-row")["rows"]
    first, last = rows[0], rows[-1]
    assert [r["draft_sampling"] for r in rows] == ["sample"] * (len(rows) - 1) + ["argmax"]
    assert (last["method"], last["policy"]) == (first["method"], first["policy"])
    # Same pair and seed, another drafter: other figures, and still lossless.
    assert last["draft_acceptance_rate"] != first["draft_acceptance_rate"]
    assert last["audit"]["lossless"] and first["audit"]["lossless"]
