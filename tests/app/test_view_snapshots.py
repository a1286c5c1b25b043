"""Snapshot tests of the analysis views after a short seeded run, at 120x36 (and one at 80x24).

Plain `def` tests: `snap_compare` runs the app itself. Record or update with
`pytest tests/app/test_view_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from tests.app.conftest import SIZE, build_app, keys_then_settle


def _after(*keys: str):
    return keys_then_settle(*keys, settle_each=True)


ROUNDS = ["enter"] * 30


def test_speedup_view(snap_compare):
    assert snap_compare(build_app(target_length=2000), terminal_size=SIZE, run_before=_after(*ROUNDS, "1"))


def test_lengths_view(snap_compare):
    assert snap_compare(build_app(target_length=2000), terminal_size=SIZE, run_before=_after(*ROUNDS, "2"))


def test_positions_view(snap_compare):
    assert snap_compare(build_app(target_length=2000), terminal_size=SIZE, run_before=_after(*ROUNDS, "3"))


def test_timeline_view_with_the_heuristic_policy(snap_compare):
    assert snap_compare(
        build_app(target_length=2000, draft_policy="heuristic"), terminal_size=SIZE, run_before=_after(*ROUNDS, "4")
    )


def test_lossless_view(snap_compare):
    assert snap_compare(build_app(target_length=3000), terminal_size=SIZE, run_before=_after("e", "5"))


def test_compare_view(snap_compare):
    assert snap_compare(build_app(target_length=300), terminal_size=SIZE, run_before=_after("6"))


def test_timeline_view_at_80x24(snap_compare):
    assert snap_compare(
        build_app(target_length=2000, draft_policy="confidence"),
        terminal_size=(80, 24),
        run_before=_after(*ROUNDS, "4"),
    )
