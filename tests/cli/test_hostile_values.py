"""Hostile and extreme values on the command line (issue 20, items 11-16; issue 12, item 8).

Every one is refused with one line and exit status 2, or accepted and printed
finite; nothing typed reaches the terminal as an escape or as 100 KB.
"""

from __future__ import annotations

import json

import pytest

from specviz.engine.catalog import model_names
from tests.budget import budget
from tests.cli.cli_support import assert_one_line_error, run_cli, run_process

needs_ngram = pytest.mark.skipif("ngram" not in model_names(), reason="no ngram pair")


@pytest.fixture(autouse=True)
def no_app(monkeypatch):
    """Flags given with no command open the app: here, where they are refused, it must not open."""
    import specviz.app

    monkeypatch.setattr(specviz.app, "run_app", lambda *a, **k: pytest.fail("the app was opened"))


def _no_controls(text: str) -> None:
    controls = sorted({repr(char) for char in text if not char.isprintable() and char != "\n"})
    assert not controls, controls


# ---- 11: finite but huge costs ------------------------------------------------


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["run", "--draft-cost", "1e305", "--json"], ["draft cost", "<= 1,000,000"]),
        (["run", "--target-ms", "1e307", "--json"], ["target pass time", "<= 1,000,000,000"]),
        (["run", "--verify-overhead", "1e305", "--json"], ["verify overhead", "<= 1,000,000"]),
        (["theory", "--draft-cost", "1e308", "--json"], ["draft cost", "<= 1,000,000"]),
        (["theory", "--ops-ratio", "1e308", "--json"], ["ops_ratio", "<= 1,000,000"]),
    ],
)
def test_huge_costs_are_refused(argv, fragments):
    code, out, err = run_cli(*argv)
    assert out == ""
    assert_one_line_error(code, err, *fragments)


def test_at_the_cost_bounds_json_is_finite():
    extremes = ["--draft-cost", "1e6", "--target-ms", "1e9", "--verify-overhead", "1e6", "-k", "64"]
    code, out, err = run_cli("run", "-n", "300", *extremes, "--json")
    assert code == 0, err
    data = json.loads(out)  # print_json refuses inf and nan (allow_nan=False)
    assert data["cost_ms"]["speedup"] > 0
    code, out, err = run_cli("theory", *extremes, "--ops-ratio", "1e6", "--json")
    assert code == 0, err
    assert json.loads(out)["expected_speedup"] > 0


# ---- 12: a subnormal temperature ------------------------------------------------


@needs_ngram
def test_a_subnormal_temperature_is_refused_and_the_lowest_runs():
    code, _, err = run_cli("run", "--model", "ngram", "--temperature", "5e-324", "--json")
    assert_one_line_error(code, err, "temperature", "0.01 to 100")
    code, out, err = run_cli("run", "--model", "ngram", "--temperature", "0.01", "-n", "40", "--json")
    assert code == 0, err
    assert "<unk>" not in json.loads(out)["text"]


# ---- 13: numbers in plain ASCII -----------------------------------------------


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["run", "-k", "1,6"], "draft length"),
        (["run", "--seed", "1__0"], "seed"),
        (["run", "-n", "٣"], "target length"),
        (["run", "-k", "５"], "draft length"),
        (["run", "-a", "٠.٥"], "acceptance rate"),
        (["run", "--rounds-shown", "1,6"], "--rounds-shown"),
        (["run", "--rounds-shown", "٣"], "--rounds-shown"),
    ],
)
def test_only_ascii_numbers_are_read(argv, flag):
    code, out, err = run_cli(*argv)
    assert out == ""
    assert_one_line_error(code, err, flag, "ASCII digits, e.g. 5" if "-a" not in argv else "ASCII digits")


def test_minus_zero_prints_as_zero():
    code, out, err = run_cli("run", "-a", "-0", "-n", "5", "--json")
    assert code == 0, err
    assert '"acceptance_rate": 0.0' in out and "-0.0" not in out
    code, out, err = run_cli("run", "-a", "-0", "-n", "5")
    assert code == 0, err
    assert "-0.0" not in out


def test_counts_still_take_groups_and_exponents():
    code, out, err = run_cli("run", "-n", "1,000", "--rounds-shown", "1e1", "--json")
    assert code == 0, err
    assert json.loads(out)["config"]["target_length"] == 1000


# ---- 14 and issue 12 item 8: flags the model pair does not read -------------------


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["run", "--corpus", "/nonexistent"], ["--corpus is read only by the ngram pair"]),
        (["run", "--temperature", "0.5"], ["--temperature is read only by the ngram and hf pairs"]),
        (["run", "--top-k", "5"], ["--top-k is read only by the ngram and hf pairs"]),
        (["run", "--top-p", "0.9"], ["--top-p is read only by the ngram and hf pairs"]),
        # Given at its default value, the flag still does nothing: refused too.
        (["run", "--temperature", "1"], ["--temperature is read only by the ngram and hf pairs"]),
        (["--temperature", "0.5"], ["--temperature is read only by the ngram and hf pairs"]),  # the app
        (["compare", "--top-k", "3"], ["--top-k is read only by the ngram and hf pairs"]),
        (["audit", "--top-p", "0.5"], ["--top-p is read only by the ngram and hf pairs"]),
        (["theory", "--corpus", "x.txt"], ["--corpus is read only by the ngram pair"]),
        (["run", "--corpus", ""], ["corpus", "non-blank", "leave --corpus out"]),
    ],
)
def test_a_flag_the_synthetic_pair_does_not_read_is_refused(argv, fragments):
    code, out, err = run_cli(*argv)
    assert out == ""
    assert_one_line_error(code, err, *fragments)


@needs_ngram
@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--model", "ngram", "-a", "0.9"],
        ["run", "--model", "ngram", "-a", "0.75"],  # the default, given: still does nothing
        ["--model", "ngram", "-a", "0.9"],  # the app
        ["compare", "--model", "ngram", "-a", "0.9"],
    ],
)
def test_acceptance_rate_is_refused_for_the_ngram_pair(argv):
    code, out, err = run_cli(*argv)
    assert out == ""
    assert_one_line_error(code, err, "-a/--acceptance-rate is read only by the synthetic pair")


@needs_ngram
def test_a_blank_corpus_is_not_the_default_corpus():
    code, _, err = run_cli("run", "--model", "ngram", "--corpus", "", "-n", "5")
    assert_one_line_error(code, err, "corpus", "non-blank")


def test_a_sampling_flag_refused_for_the_synthetic_pair_leaves_no_trace(tmp_path):
    # Issue 12 item 8: the trace (and --json) recorded --temperature as applied
    # while the synthetic pair ignored it. Now the run never starts.
    trace = tmp_path / "run.jsonl"
    code, out, err = run_cli("run", "-n", "20", "--temperature", "0.5", "--json", "--trace", str(trace))
    assert_one_line_error(code, err, "--temperature is read only by the ngram and hf pairs")
    assert out == "" and not trace.exists()


# ---- 15: a bad value is echoed short ---------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "-k", "1" * 100_000],
        ["run", "-a", "x" * 100_000],
        ["run", "--rounds-shown", "x" * 100_000],
        ["run", "--method", "x" * 100_000],
        ["x" * 100_000],  # an unknown command
        # Many unrecognized arguments (argparse's own matching is quadratic in
        # their number: 10,000 took 4-8 s, so the long run has them).
        ["run", *(["--bogus"] * budget(2_000, 10_000))],
    ],
)
def test_a_huge_value_gives_a_short_error(argv):
    code, out, err = run_cli(*argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert len(err) < 400, len(err)


# ---- 16: names and arguments are escaped ----------------------------------------

ESCAPED_NAME = "x\x1b[2J.jsonl"


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--from-trace", ESCAPED_NAME],
        ["replay", ESCAPED_NAME],
        ["run", "nope\x1b]0;PWNED\x07"],  # argparse: unrecognized arguments
        ["nope\x1b]0;PWNED\x07"],  # argparse: invalid choice
        ["run", "--trace", "/nonexistent/" + ESCAPED_NAME],
        ["run", "--model", "\x1b[31mred"],
        ["run", "--rounds-shown", "\x1b[2J"],
    ],
)
def test_control_characters_in_what_was_typed_are_escaped(argv):
    code, out, err = run_cli(*argv)
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    _no_controls(err)
    assert "\\x1b" in err


def test_the_report_escapes_the_trace_name_it_was_replayed_from(tmp_path):
    trace = tmp_path / ESCAPED_NAME
    code, _, err = run_cli("run", "-n", "20", "--quiet", "--trace", str(trace))
    assert code == 0, err
    code, out, err = run_cli("run", "--from-trace", str(trace))
    assert code == 0, err
    _no_controls(out)
    assert "x\\x1b[2J.jsonl" in "".join(out.split())  # the row may fold


def test_a_name_that_is_not_utf8_is_printed_escaped(tmp_path):
    # A file name with a byte that is not UTF-8 reaches Python as a lone surrogate.
    result = run_process("run", "--from-trace", str(tmp_path / "bad\udcff.jsonl"))
    assert_one_line_error(result.returncode, result.stderr, "\\udcff")
