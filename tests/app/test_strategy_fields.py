"""The method and draft-policy selectors of the control panel (issue 7)."""

from __future__ import annotations

from textual.widgets import Select

from specviz.app.widgets.control_panel import ControlPanel, method_label
from specviz.engine.config import config_from_text
from specviz.engine.methods import method_names
from specviz.engine.policies import policy_names
from tests.app.conftest import SIZE, build_app, settle


async def _choose(pilot, name: str, value: str, options: tuple[str, ...]) -> None:
    """Pick `value` in the select for `name` with the keyboard, as a person would."""
    select = pilot.app.query_one(f"#input-{name}", Select)
    select.focus()
    await pilot.pause()
    await pilot.press("enter")  # opens the list at the current value
    await pilot.pause()
    steps = options.index(value) - options.index(select.value)
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps), "enter")
    await settle(pilot)


async def test_choosing_a_method_restarts_the_run_through_the_engine_validation():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter")
        before = app.config
        await _choose(pilot, "method", "greedy", method_names())
        assert app.config == config_from_text(before, {"method": "greedy"})
        assert app.simulation.config.method == "greedy" and app.simulation.stats.rounds == 0
        assert "greedy" in app.sub_title


async def test_choosing_a_policy_restarts_the_run_with_it():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await _choose(pilot, "draft_policy", "heuristic", policy_names())
        assert app.config.draft_policy == "heuristic" == app.simulation.config.draft_policy
        await pilot.press("escape")  # back to the stream: enter steps again
        for _ in range(10):
            await pilot.press("enter")
        assert app.simulation.stats.rounds == 10


async def test_the_lossy_method_is_marked_in_the_list_the_field_and_the_title():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        options = [label for label, _ in app.query_one("#input-method", Select)._options]
        assert [str(label) for label in options] == [method_label(m) for m in method_names()]
        assert "typical ⚠ lossy" in [str(label) for label in options]
        assert all("lossy" not in str(label) for label, value in zip(options, method_names()) if value != "typical")
        field = app.query_one("#field-method")
        assert not field.has_class("-lossy")
        await _choose(pilot, "method", "typical", method_names())
        assert app.config.method == "typical"
        assert field.has_class("-lossy")
        assert "typical ⚠ lossy" in app.sub_title
        await pilot.press("r")  # reset keeps the method, and its mark
        assert app.query_one("#input-method", Select).value == "typical" and field.has_class("-lossy")


async def test_a_keyed_edit_keeps_the_chosen_method_and_policy():
    app = build_app(method="sample-match", draft_policy="confidence")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")
        assert app.config.method == "sample-match" and app.config.draft_policy == "confidence"
        panel = app.query_one(ControlPanel)
        assert panel.query_one("#input-method", Select).value == "sample-match"
        assert panel.query_one("#input-draft_policy", Select).value == "confidence"
        assert panel.errors == {}
