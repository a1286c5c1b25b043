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
        ("run", "-a", "0.8", "-n", "200", "--json"),
        ("sweep", "--alphas", "0.8", "--k-max", "3", "--rounds", "500", "--json"),
    ):
        code, out, err = run_cli(*argv)
        assert code == 0, err
        assert _most_digits(out) <= OUTPUT_SIGNIFICANT_DIGITS, argv
        data = json.loads(out)
        assert len(list(_floats(data))) > 5
    data = json.loads(run_cli("theory", "-a", "0.8", "--json")[1])
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
