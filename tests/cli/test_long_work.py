"""The long-work guard (issue 20, item 20): work estimated at over an hour is
refused at once with the estimate and --allow-long; audits show progress."""

from __future__ import annotations

import itertools
import json

import pytest

from specviz.cli import progress
from specviz.cli.options import UsageError
from tests.cli.cli_support import assert_one_line_error, run_cli, run_process


@pytest.fixture
def slow_clock(monkeypatch):
    """The guard's clock, one second further on at every reading: any work looks slow."""
    ticks = itertools.count()
    monkeypatch.setattr(progress, "clock", lambda: float(next(ticks)))


def test_duration_text_reads_as_people_say_it():
    assert [progress.duration_text(s) for s in (12, 45 * 60, 2.5 * 3600, 37 * 86400)] == [
        "12 s",
        "45 min",
        "2.5 h",
        "37 days",
    ]


def test_the_pace_check_projects_once_after_its_first_half_second(monkeypatch):
    times = iter([0.0, 0.2, 1.0, 1.5])
    monkeypatch.setattr(progress, "clock", lambda: next(times))
    check = progress.pace_check("this run", "tokens")
    check(10, 1_000_000)  # 0.2 s: too early to tell
    with pytest.raises(UsageError) as caught:
        check(100, 1_000_000)  # 1 s for 100 of 1,000,000: about 2.8 hours
    message = str(caught.value)
    assert "this run would take about 2.8 h" in message
    assert "1,000,000 tokens" in message and "--allow-long" in message and "\n" not in message
    check(101, 1_000_000)  # decided once: no second verdict


def test_the_pace_check_lets_work_under_an_hour_run(monkeypatch):
    times = iter([0.0, 1.0])
    monkeypatch.setattr(progress, "clock", lambda: next(times))
    check = progress.pace_check("this audit", "samples")
    check(1000, 3_000_000)  # 3,000 s in all: allowed
    check(1001, 3_000_000)  # and never asked again


def test_a_run_projected_past_an_hour_is_refused_with_the_flag_named(slow_clock):
    code, out, err = run_cli("run", "-n", "20000")
    assert_one_line_error(code, err, "this run would take about", "20,000 tokens", "--allow-long")
    assert out == ""


def test_allow_long_runs_it_anyway(slow_clock):
    code, out, err = run_cli("run", "-n", "20000", "--allow-long", "--json")
    assert code == 0, err
    assert json.loads(out)["tokens"] == 20000


def test_a_refused_run_leaves_no_trace_file(slow_clock, tmp_path):
    path = tmp_path / "run.jsonl"
    code, _, err = run_cli("run", "-n", "20000", "--trace", str(path))
    assert_one_line_error(code, err, "--allow-long")
    assert list(tmp_path.iterdir()) == []


def test_an_audit_projected_past_an_hour_is_refused(slow_clock):
    code, out, err = run_cli("audit", "--samples", "20000")
    assert_one_line_error(code, err, "this audit would take about", "20,000 samples", "--allow-long")


def test_an_audit_shows_a_bar_on_a_terminal(monkeypatch):
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    monkeypatch.setattr("specviz.cli.audit.PROGRESS_AFTER_S", 0.0)
    code, out, err = run_cli("audit", "--samples", "3000", "--json")
    assert code == 0
    assert json.loads(out)["samples"] == 3000 and "auditing" in err


def test_an_engine_sweep_at_its_caps_is_refused_at_once():
    # 64,064 engine runs of a million rounds: months. Before the guard this ran
    # (the timeout is what it would have hit).
    result = run_process(
        "sweep", "--method", "greedy", "--rounds", "1000000", "--k-max", "64", "--alphas", "0:1:0.001", timeout=60
    )
    assert_one_line_error(result.returncode, result.stderr, "this sweep would take about", "64,064 engine runs")
    assert "--allow-long" in result.stderr and result.stdout == ""


def test_a_comparison_of_hours_is_refused_at_once():
    result = run_process("compare", "--model", "ngram", "--grid", "-n", "100000000", timeout=60)
    line = assert_one_line_error(result.returncode, result.stderr, "this comparison would take about")
    assert "12 runs of 100,000,000 tokens" in line and "--allow-long" in line


def test_ordinary_sweeps_and_comparisons_pass_the_guard():
    code, out, err = run_cli("sweep", "--method", "greedy", "--rounds", "300", "--k-max", "3", "--alphas", "0.5")
    assert code == 0, err
    code, out, err = run_cli("compare", "--audit-samples", "100", "-n", "200", "--json")
    assert code == 0, err
    assert len(json.loads(out)["rows"]) >= 4
