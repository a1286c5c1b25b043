"""Snapshot tests of the analysis views after a short seeded run, at 120x36 (and one at 80x24).

Plain `def` tests: `snap_compare` runs the app itself. Record or update with
`pytest tests/app/test_view_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from tests.app.conftest import SIZE, build_app, keys_then_settle, settle


def _after(*keys: str):
    """Press `keys`, settling once before the last (the view's key) and once
    after it: the rounds before it run on the main screen, where nothing
    computes in the background, so settling after each of them only cost time."""

    async def run_before(pilot) -> None:
        await keys_then_settle(*keys[:-1])(pilot)
        await keys_then_settle(keys[-1])(pilot)

    return run_before


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


def test_distributions_view_at_80x24(snap_compare):
    """Round 4's rejection at x₃ (after → ← moved away and back, and a resize to 40x12 and back):
    p against q, the residual beside."""

    async def run_before(pilot) -> None:
        await keys_then_settle("enter", "enter", "enter", "enter", "7")(pilot)
        view = pilot.app.screen.view("distributions")
        assert (view.shown.position, view.shown.verdict) == (2, "rejected")
        await pilot.press("right")
        await pilot.pause()
        assert (view.shown.position, view.shown.verdict) == (3, "skipped")
        await pilot.press("left")
        await pilot.pause()
        assert view.shown.position == 2 and view.shown.residual_shown
        for size in [(40, 12), (80, 24)]:  # no crash when small; drawn again at 80x24
            await pilot.resize_terminal(*size)
            await pilot.pause()
        await settle(pilot)
        assert view.shown.position == 2

    assert snap_compare(build_app(target_length=2000, seed=4), terminal_size=(80, 24), run_before=run_before)
