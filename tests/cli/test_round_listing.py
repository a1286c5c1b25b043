"""The round listing of `specviz run` (issue 20, item 18): capped, without the
rounds' distributions, and laid out block by block with a progress bar."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table

import specviz.cli.run as cli_run
from specviz.cli import progress
from specviz.engine import SimConfig, Simulation
from specviz.render.report import (
    LISTING_BLOCK_ROUNDS,
    LISTING_HEADERS,
    LISTING_KEY,
    print_round_listing,
    round_row,
)
from tests.budget import LONG
from tests.cli.cli_support import assert_one_line_error, run_cli


def test_rounds_shown_past_the_cap_is_one_line_naming_the_cap_and_trace():
    code, out, err = run_cli("run", "-n", "5", "--rounds-shown", str(cli_run.MAX_ROUNDS_SHOWN + 1))
    line = assert_one_line_error(code, err, "--rounds-shown", f"0 to {cli_run.MAX_ROUNDS_SHOWN:,}", "--trace")
    assert out == "" and "10,001" in line


def test_rounds_shown_at_the_cap_is_accepted():
    code, out, err = run_cli("run", "-n", "30", "--rounds-shown", str(cli_run.MAX_ROUNDS_SHOWN))
    assert code == 0, err
    assert "Rounds (" in out


def test_listed_rounds_keep_their_record_but_not_their_distributions():
    simulation = Simulation(SimConfig(model="ngram", target_length=300, seed=3))
    reference = Simulation(SimConfig(model="ngram", target_length=300, seed=3))
    shown = cli_run.run_to_end(simulation, keep=40)
    expected = [reference.finish_round() for _ in range(40)]
    assert len(shown) == 40
    assert all(round_.dists == [] for round_ in shown)  # vocabulary-length arrays, never listed
    assert [r.to_dict() for r in shown] == [r.to_dict() for r in expected]
    assert simulation.done


def test_the_long_work_check_runs_while_the_listing_is_collected():
    simulation = Simulation(SimConfig(target_length=5000, seed=1))
    seen = []
    shown = cli_run.run_to_end(simulation, keep=300, check=lambda done, total: seen.append((done, total)))
    # Reports come while the 300 listed rounds are still being collected, not only after.
    listed_tokens = sum(len(r.emitted) for r in shown)
    assert any(done < listed_tokens for done, _ in seen)
    assert seen[-1] == (5000, 5000)


def _listing(rounds, total, vocab, width, progress=None) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system="truecolor")
    print_round_listing(console, rounds, total, vocab, len(rounds), progress)
    return console.file.getvalue()


def test_the_listing_reports_progress_block_by_block():
    simulation = Simulation(SimConfig(target_length=4000, seed=5))
    shown = cli_run.run_to_end(simulation, keep=600)
    reports = []
    _listing(shown, simulation.stats.rounds, simulation.model.vocab, 100, lambda d, t: reports.append((d, t)))
    block = LISTING_BLOCK_ROUNDS
    assert reports == [(min(n, 600), 600) for n in range(block, 600 + block, block)]


# The narrowest and the widest in the suite; every width in the long run.
@pytest.mark.parametrize("width", [24, 50, 80, 160] if LONG else [24, 160])
def test_the_blocked_listing_is_laid_out_as_one_table_of_every_row(width):
    simulation = Simulation(SimConfig(model="ngram", draft_length=7, target_length=2000, seed=2))
    shown = cli_run.run_to_end(simulation, keep=LISTING_BLOCK_ROUNDS * 2 + 17)
    vocab = simulation.model.vocab
    blocked = _listing(shown, simulation.stats.rounds, vocab, width)
    # The same rows as one rich table, laid out by rich itself.
    table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="dim")
    for name in LISTING_HEADERS:
        right = name in ("round", "tokens")
        table.add_column(name, justify="right" if right else "left", no_wrap=name != LISTING_HEADERS[1])
    for round_ in shown:
        table.add_row(*round_row(round_, vocab))
    # The listing sits two columns in.
    console = Console(file=io.StringIO(), width=width - 2, force_terminal=True, color_system="truecolor")
    console.print(table)
    whole = console.file.getvalue()
    # After the section title and the marks' key (a line, or more when narrow).
    body = blocked[blocked.index("\n  " + whole.splitlines()[0] + "\n") + 1 :]
    assert LISTING_KEY.split()[0] in blocked.split(body[:10])[0]
    assert body.startswith("".join("  " + line + "\n" for line in whole.splitlines()))


def test_a_long_listing_shows_a_bar_and_stdout_keeps_only_the_report(monkeypatch):
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("TTY_INTERACTIVE", "1")
    monkeypatch.setattr(cli_run, "PROGRESS_AFTER_S", 0.0)
    code, out, err = run_cli("run", "-n", "3000", "--rounds-shown", "600")
    assert code == 0
    assert "listing rounds" in err and "listing rounds" not in out
    assert "specviz: speculative decoding" in out and "more rounds not shown (--rounds-shown 600)" in out
