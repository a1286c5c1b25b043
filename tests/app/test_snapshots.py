"""Snapshot tests: how the app looks at 120x36 (and 80x24) at fixed seeds.

`snap_compare` runs the app itself, so these are plain `def` tests. Record or
update with `pytest tests/app --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from tests.app.conftest import SIZE, build_app, keys_then_settle, settle


def _after(*keys: str):
    return keys_then_settle(*keys)


def test_start_screen(snap_compare):
    assert snap_compare(build_app(), terminal_size=SIZE, run_before=_after())


def test_after_draft(snap_compare):
    # Round 3 of the default seed: a rejection at the first position.
    assert snap_compare(build_app(), terminal_size=SIZE, run_before=_after("enter", "enter", "space"))


def test_after_verify(snap_compare):
    assert snap_compare(build_app(), terminal_size=SIZE, run_before=_after("enter", "enter", "space", "space"))


def test_after_accept_with_a_rejection(snap_compare):
    assert snap_compare(build_app(), terminal_size=SIZE, run_before=_after("enter", "enter", "space", "space", "space"))


def test_after_accept_with_a_bonus(snap_compare):
    # alpha = 0.95 and seed 3: round 1 keeps every draft and adds a bonus token.
    assert snap_compare(
        build_app(acceptance_rate=0.95, seed=3), terminal_size=SIZE, run_before=_after("space", "space", "space")
    )


def test_after_a_full_run(snap_compare):
    assert snap_compare(build_app(target_length=300), terminal_size=SIZE, run_before=_after("e"))


def test_help_screen(snap_compare):
    assert snap_compare(build_app(), terminal_size=SIZE, run_before=_after("f1"))


def test_invalid_value_beside_its_field(snap_compare):
    async def run_before(pilot) -> None:
        field = pilot.app.query_one("#input-acceptance_rate")
        field.focus()
        await pilot.pause()
        field.value = ""
        await pilot.press("1", ".", "5", "enter")
        await settle(pilot)

    assert snap_compare(build_app(), terminal_size=SIZE, run_before=run_before)


def test_80x24_mid_run(snap_compare):
    assert snap_compare(
        build_app(), terminal_size=(80, 24), run_before=_after("enter", "enter", "space", "space", "space")
    )
