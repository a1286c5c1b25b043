"""ChoiceField on its own: keys and clicks cycle its options, code sets it quietly."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual import on
from textual.app import App, ComposeResult

from specviz.app.widgets import choice_field
from specviz.app.widgets.choice_field import ChoiceField

OPTIONS = [("speculative", "speculative"), ("greedy", "greedy"), ("typical ⚠ lossy", "typical")]


class ChoiceApp(App[None]):
    CSS_PATH = Path(choice_field.__file__).with_suffix(".tcss")

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[tuple[str | None, str]] = []

    def compose(self) -> ComposeResult:
        yield ChoiceField("method", OPTIONS, "speculative", id="method")

    @on(ChoiceField.Changed, "#method")  # selectable by id: Changed has a control
    def _changed(self, event: ChoiceField.Changed) -> None:
        self.changes.append((event.control.id, event.value))


async def _focused(pilot) -> ChoiceField:
    field = pilot.app.query_one(ChoiceField)
    field.focus()
    await pilot.pause()
    return field


async def test_right_and_left_cycle_with_wrap_and_post_changed():
    app = ChoiceApp()
    async with app.run_test(size=(40, 3)) as pilot:
        field = await _focused(pilot)
        await pilot.press("right", "right")
        assert field.value == "typical"
        await pilot.press("right")  # past the last: round to the first
        assert field.value == "speculative"
        await pilot.press("left")  # before the first: round to the last
        assert field.value == "typical"
        await pilot.pause()
        assert app.changes == [
            ("method", "greedy"),
            ("method", "typical"),
            ("method", "speculative"),
            ("method", "typical"),
        ]


async def test_enter_and_space_move_to_the_next_option():
    app = ChoiceApp()
    async with app.run_test(size=(40, 3)) as pilot:
        field = await _focused(pilot)
        await pilot.press("enter")
        assert field.value == "greedy"
        await pilot.press("space")
        assert field.value == "typical"
        await pilot.pause()
        assert [value for _, value in app.changes] == ["greedy", "typical"]


async def test_setting_the_value_from_code_posts_nothing():
    app = ChoiceApp()
    async with app.run_test(size=(40, 3)) as pilot:
        field = app.query_one(ChoiceField)
        field.value = "greedy"
        await pilot.pause()
        assert app.changes == []
        assert "greedy" in field.render().plain


async def test_a_click_moves_to_the_next_option():
    app = ChoiceApp()
    async with app.run_test(size=(40, 3)) as pilot:
        await pilot.click("#method")
        await pilot.pause()
        field = app.query_one(ChoiceField)
        assert field.value == "greedy" and field.has_focus
        assert app.changes == [("method", "greedy")]


async def test_the_line_shows_the_label_and_the_current_option_and_keeps_its_width():
    app = ChoiceApp()
    async with app.run_test(size=(40, 3)) as pilot:
        field = app.query_one(ChoiceField)
        line = field.render().plain
        assert line.startswith("method ‹ speculative") and line.endswith("›")
        width = field.size.width
        assert width == len("method ‹ typical ⚠ lossy ›")  # room for the longest option
        field.value = "typical"
        await pilot.pause()
        assert field.render().plain == "method ‹ typical ⚠ lossy ›"
        assert field.size.width == width  # the row does not shift as the value changes
        assert "speculative, greedy, typical ⚠ lossy" in str(field.tooltip)


async def test_marked_invalid_the_label_carries_a_cross():
    app = ChoiceApp()
    async with app.run_test(size=(40, 3)) as pilot:
        field = app.query_one(ChoiceField)
        field.invalid = True
        await pilot.pause()
        assert field.render().plain.startswith("✗ method ‹") and field.has_class("-invalid")
        field.invalid = False
        await pilot.pause()
        assert field.render().plain.startswith("method ‹") and not field.has_class("-invalid")


def test_an_unknown_value_is_refused_with_the_choices():
    field = ChoiceField("method", OPTIONS, "greedy")
    with pytest.raises(ValueError, match="one of speculative, greedy, typical, not 'beam'"):
        field.value = "beam"
