"""Issue 13, "found tried as a new user would": the command line's formatting."""

from __future__ import annotations

import csv
import io
import json
import re

from specviz.cli.options import OUTPUT_SIGNIFICANT_DIGITS
from tests.cli.cli_support import run_cli

NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def _most_digits(text: str) -> int:
    """The most significant digits of a decimal number written in `text` (0.6400000000000001: 16)."""
    return max((_significant_digits(float(number)) for number in NUMBER.findall(text)), default=0)


def _floats(data):
    if isinstance(data, float):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _floats(value)
    elif isinstance(data, list):
        for value in data:
            yield from _floats(value)


def _significant_digits(value: float) -> int:
    return len(repr(value).lower().split("e")[0].replace("-", "").replace(".", "").strip("0"))


def test_json_floats_are_rounded_to_the_stated_digits_in_every_command():
    # 0.8 ** 2 is 0.6400000000000001 in binary floating point.
    for argv in (
        ("theory", "-a", "0.8", "--json"),
        ("run", "-a", "0.8", "-n", "50", "--json"),
        ("sweep", "--alphas", "0.8", "--k-max", "3", "--rounds", "500", "--json"),
    ):
        code, out, err = run_cli(*argv)
        assert code == 0, err
        assert _most_digits(out) <= OUTPUT_SIGNIFICANT_DIGITS, argv
        data = json.loads(out)
        assert len(list(_floats(data))) > 5
        if argv[0] == "theory":
            assert data["per_position_acceptance"][:2] == [0.8, 0.64]


def test_sweep_csv_rounds_as_json_does():
    code, out, err = run_cli("sweep", "--alphas", "0.8", "--k-max", "3", "--rounds", "500", "--csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 3
    assert _most_digits(out) <= OUTPUT_SIGNIFICANT_DIGITS
    assert float(rows[0]["expected_tokens_per_round"]) == 1.8


def test_the_report_and_json_show_the_effective_acceptance_rate_by_that_name():
    # The tutorial's "effective acceptance rate" is accepted / (accepted + rejected).
    code, out, err = run_cli("run", "-n", "400", "--seed", "3", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["effective_acceptance_rate"] == round(data["accepted"] / (data["accepted"] + data["rejected"]), 12)
    code, out, err = run_cli("run", "-n", "400", "--seed", "3", "--quiet")
    assert code == 0, err
    assert re.search(rf"effective acceptance rate +{data['effective_acceptance_rate']:.1%}", out)


# ---- the run report: wording and layout ------------------------------------------


def test_counts_of_one_read_in_the_singular(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run_cli("run", "-n", "1", "-k", "1")
    assert code == 0, err
    assert "1 token " in out and "1 tokens" not in out  # target length, the plain-decoding cost
    code, out, err = run_cli("run", "-n", "2", "-k", "1", "-a", "1", "--cost-model", "llama3.1-8b-eagle-h100")
    assert code == 0, err
    assert "1 sequence," in out and "1 verify pass of" in out
    assert not re.search(r"\b1 (sequences|verify passes|tokens)\b", out)
    code, out, err = run_cli("sweep", "--rounds", "1", "--k-max", "2", "--alphas", "0.5")
    assert code == 0, err
    assert "1 round per cell" in " ".join(out.split())
    code, out, err = run_cli("audit", "--samples", "1")
    assert code == 0, err
    assert "1 sample of" in " ".join(out.split())


def test_the_cost_column_gives_every_time_the_same_decimals(monkeypatch):
    # A forward-pass model's short run: times from 8 ms to 118 ms in one column.
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run_cli("run", "-n", "20", "--cost-model", "llama3.1-8b-eagle-h100")
    assert code == 0, err
    section = out.split("Cost breakdown", 1)[1].split("speedup", 1)[0]
    times = re.findall(r"([\d,]+(?:\.(\d+))?) ms\s*$", section, re.M)
    assert len(times) == 5
    assert {len(decimals) for _, decimals in times} == {2}


def test_a_piped_report_has_no_colour_key_and_a_terminal_one_has(monkeypatch):
    code, out, err = run_cli("run", "-n", "30")
    assert code == 0, err
    preview = out.split("Generated text", 1)[1].split("Summary", 1)[0]
    assert "accepted draft" not in preview and "correction  bonus" not in preview
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich colours a file it is told to
    code, out, err = run_cli("run", "-n", "30")
    assert "accepted draft" in out.split("Generated text", 1)[1].split("Summary", 1)[0]


def test_the_round_listing_header_stays_on_one_line_at_80_columns():
    # The n-gram pair's long words (a correction like "significantly") left the
    # drafted column narrower than its header, which wrapped.
    from rich.console import Console

    from specviz.engine.run.rounds import Round
    from specviz.render.report import print_round_listing

    vocab = ["containing", "the", "nearest", "enclosing", "function", "significantly"]
    round_ = Round(
        index=0,
        start=4,
        draft_length=5,
        draws=[0.5] * 11,
        drafted=[0, 1, 2, 3, 4],
        draft_probs=[0.5] * 5,
        target_probs=[0.5] * 5,
        betas=[0.5] * 5,
        accepted=0,
        rejected=True,
        correction=5,
        completed=True,
    )
    console = Console(file=io.StringIO(), width=80)
    print_round_listing(console, [round_], 27, vocab, 3)
    listing = console.file.getvalue().splitlines()
    assert "✓ accepted  ✗ rejected  - skipped" in listing[1]
    assert re.fullmatch(r"\s+round\s+drafted\s+then\s+tokens\s*", listing[2]), listing[:4]


def test_the_sweep_marks_every_k_that_reads_as_the_best(monkeypatch):
    # At alpha 0.7, c 0.05 the closed form gives k = 5 and 6 speedups 2.352936 and
    # 2.352938: both read 2.35, so both are the best as far as the table shows.
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = run_cli("sweep", "--alphas", "0.7", "--draft-cost", "0.05", "--k-max", "8", "--rounds", "2000")
    assert code == 0, err
    closed_form = dict(
        (int(k), (value, star)) for k, value, star in re.findall(r"^\s+(\d+)\s+(\d+\.\d\d)(\*?) ", out, re.M)
    )
    assert len(closed_form) == 8
    assert closed_form[5] == closed_form[6] == ("2.35", "*")
    assert [k for k, (_, star) in closed_form.items() if star] == [5, 6]
    assert re.search(r"^best\s+k=6\s", out, re.M)  # ahead in full precision, 2.352938 > 2.352936


# ---- a flag that does nothing says so ---------------------------------------------


def test_a_flag_only_another_method_or_policy_reads_earns_a_note():
    code, out, err = run_cli("run", "-n", "5", "-q", "--typical-epsilon", "0.2")
    assert code == 0 and "Summary" in out
    assert err.strip() == (
        "specviz run: note: --typical-epsilon is read only by --method typical; it does nothing with "
        "speculative (add --method typical, or leave --typical-epsilon out)"
    )
    code, _, err = run_cli("run", "-n", "5", "-q", "--typical-epsilon", "0.2", "--method", "typical")
    assert code == 0 and err == ""  # read: nothing to say
    code, _, err = run_cli("run", "-n", "5", "-q", "--confidence-threshold", "0.1")
    assert "--confidence-threshold is read only by --draft-policy confidence" in err


def test_theory_names_the_flags_its_closed_forms_do_not_read():
    code, out, err = run_cli("theory", "--seed", "3", "-n", "50", "--json")
    assert code == 0 and json.loads(out)["k"] == 5  # stdout stays one JSON object
    notes = err.splitlines()
    assert len(notes) == 2 and all(line.startswith("specviz theory: note: ") for line in notes)
    assert "--seed is not read" in err and "--target-length is not read" in err
    code, _, err = run_cli("theory", "-k", "4", "-a", "0.8", "--draft-cost", "0.05")
    assert code == 0 and err == ""


def test_compare_reads_every_methods_knobs_unless_one_method_is_chosen():
    from argparse import Namespace

    from specviz.cli.options import unread_flag_notes
    from specviz.engine.run.config import SimConfig

    args = Namespace(typical_epsilon="0.2")
    assert unread_flag_notes(args, SimConfig(), every=["method", "draft_policy"]) == []
    assert len(unread_flag_notes(args, SimConfig(), every=["draft_policy"])) == 1
