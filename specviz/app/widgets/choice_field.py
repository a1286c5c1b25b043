"""A one-line field for choosing among a few options: `method ‹ speculative ›`.

It stands in for Textual's `Select` where the options are few (the model
pair, the verification method, the draft-length policy). A `Select` is five
widgets, one of them an OptionList overlay; this is one widget with no
children, which keeps the control panel cheap to compose, style and paint.

Keys while focused: ←/→ the previous/next option, enter and space the next
one (all wrap around); a click also moves to the next one. A change made that
way posts `ChoiceField.Changed`; setting `.value` from code posts nothing, so
a view can show a config without hearing its own echo.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

CHANGE = Binding.Group("Change", compact=True)  # ← → share one footer entry
INVALID_MARK = "✗"  # with the colour, so an invalid field reads in monochrome too


class ChoiceField(Widget, can_focus=True):
    """A label and one of a few options, changed with ←/→, enter, space or a click."""

    BINDINGS = [
        Binding("left", "previous_option", "Previous", key_display="←", group=CHANGE),
        Binding("right", "next_option", "Next", key_display="→", group=CHANGE),
        # Shadow the App's enter/space (finish round/step) while a choice has focus.
        Binding("enter,space", "next_option", "Next", show=False),
    ]

    value: reactive[str] = reactive("", init=False)
    # Marked invalid: the label reads `✗ label` in the error colour (the panel's call).
    invalid: reactive[bool] = reactive(False, init=False, layout=True)

    class Changed(Message):
        """The person chose another option."""

        def __init__(self, choice_field: ChoiceField, value: str) -> None:
            super().__init__()
            self.choice_field = choice_field
            self.value = value

        @property
        def control(self) -> ChoiceField:
            """The field that changed (for `@on(ChoiceField.Changed, "#id")`)."""
            return self.choice_field

    def __init__(
        self,
        label: str,
        options: Sequence[tuple[str, str]],
        value: str,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """`options` are (shown text, value) pairs, in the order ←/→ walk them."""
        super().__init__(id=id, classes=classes)
        if not options:
            raise ValueError("a ChoiceField needs at least one option")
        self.label = label
        self._set_options(options)
        self.set_reactive(ChoiceField.value, self.validate_value(value))

    def _set_options(self, options: Sequence[tuple[str, str]]) -> None:
        self.options: tuple[tuple[str, str], ...] = tuple(options)
        self._values = [option_value for _, option_value in self.options]
        self._shown = {option_value: text for text, option_value in self.options}
        self._option_width = max(Content(text).cell_length for text, _ in self.options)
        self.tooltip = f"one of: {', '.join(text for text, _ in self.options)} · ←/→ to change"

    def has_option(self, value: str) -> bool:
        return value in self._shown

    def add_option(self, text: str, value: str) -> None:
        """One more option, last (a cost file a replayed run was priced with, say)."""
        if not self.has_option(value):
            self._set_options((*self.options, (text, value)))
            self.refresh(layout=True)

    def validate_value(self, value: str) -> str:
        if value not in self._shown:
            raise ValueError(f"{self.label} must be one of {', '.join(self._values)}, not {value!r}")
        return value

    def watch_invalid(self, invalid: bool) -> None:
        self.set_class(invalid, "-invalid")

    # ---- drawing ---------------------------------------------------------------

    def _label_text(self) -> str:
        return f"{INVALID_MARK} {self.label}" if self.invalid else self.label

    def get_content_width(self, container: Size, viewport: Size) -> int:
        # Room for the longest option, so the row does not shift as the value changes.
        return Content(self._label_text()).cell_length + len(" ‹  ›") + self._option_width

    def render(self) -> Content:
        label_style = "bold $text-error" if self.invalid else "$foreground-muted"
        shown = Content(self._shown[self.value])
        # Padded to the longest option, so the closing mark stays put.
        shown = shown.stylize("bold").pad_right(self._option_width - shown.cell_length)
        return Content.assemble((self._label_text(), label_style), " ‹ ", shown, " ›")

    # ---- changing --------------------------------------------------------------

    def _step(self, steps: int) -> None:
        index = (self._values.index(self.value) + steps) % len(self._values)
        self.value = self._values[index]
        self.post_message(self.Changed(self, self.value))

    def action_next_option(self) -> None:
        self._step(1)

    def action_previous_option(self) -> None:
        self._step(-1)

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self._step(1)
