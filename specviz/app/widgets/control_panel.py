"""The control panel: k, alpha, n, c, seed, model pair, method and draft policy, validated by the engine.

An edit is applied on Enter or when the field loses focus. The text goes
through the engine's `config_from_text`, the same function the command line
uses, so both reject the same values with the same words; the message is
shown beside the field and nothing changes. A valid change is posted as
`ControlPanel.ConfigSubmitted`, and the App restarts the run with it.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from specviz.app.widgets.model_select import ModelSelect
from specviz.engine.config import ConfigError, SimConfig, config_from_text
from specviz.engine.catalog import method_names, method_is_lossless
from specviz.engine.catalog import model_names
from specviz.engine.catalog import policy_names

# (SimConfig field, label, input width in cells)
TEXT_FIELDS: tuple[tuple[str, str, int], ...] = (
    ("draft_length", "k", 4),
    ("acceptance_rate", "α", 6),
    ("target_length", "n", 10),
    ("draft_cost", "c", 6),
    ("seed", "seed", 8),
)

# Fields chosen from a list: (SimConfig field, label).
SELECT_FIELDS: tuple[tuple[str, str], ...] = (("method", "method"), ("draft_policy", "policy"))
LOSSY_MARK = "⚠ lossy"


def method_label(name: str) -> str:
    """A method as the selector shows it: lossy rules carry a warning."""
    return name if method_is_lossless(name) else f"{name} {LOSSY_MARK}"


def select_options(name: str) -> list[tuple[str, str]]:
    if name == "method":
        return [(method_label(method), method) for method in method_names()]
    return [(policy, policy) for policy in policy_names()]


HINT = "Enter applies an edit and restarts the run · Esc returns to the stream"
REPLAY_HINT = "Replaying a recorded run · an edit (or r) starts a fresh simulation"


def field_text(config: SimConfig, name: str) -> str:
    value = getattr(config, name)
    return "" if value is None else str(value)


class ControlPanel(Vertical):
    """Editable run parameters; invalid values are explained beside their field."""

    HELP = """\
**Controls.** k (draft length), α (acceptance rate of the synthetic pair),
n (tokens to generate), c (cost of a draft pass relative to a target pass),
seed, the model pair, the verification method (`typical` is marked
`⚠ lossy`: its output does not follow the target's distribution) and the
draft-length policy (fixed, heuristic, confidence). Tab into a field, type,
press Enter (or pick from a list). The engine checks every value; an invalid one is marked `✗` and explained below the
fields, and changes nothing. A valid change restarts the run. `[` `]` change
k and `,` `.` change α without leaving the keyboard.
"""

    class ConfigSubmitted(Message):
        """A validated configuration the person asked for."""

        def __init__(self, config: SimConfig) -> None:
            super().__init__()
            self.config = config

    def __init__(self, config: SimConfig, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._config = config
        self._errors: dict[str, str] = {}
        self._replaying = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="fields"):
            for name, label, width in TEXT_FIELDS:
                with Horizontal(classes="field", id=f"field-{name}"):
                    yield Label(label, classes="field-label")
                    field = Input(field_text(self._config, name), id=f"input-{name}", compact=True, select_on_focus=True)
                    field.cursor_blink = False  # a steady cursor keeps screenshots stable
                    field.styles.width = width + 2
                    yield field
                    yield Label(" ", classes="field-mark", id=f"mark-{name}")
            with Horizontal(classes="field", id="field-model"):
                yield Label("model", classes="field-label")
                yield ModelSelect(
                    [(name, name) for name in model_names()],
                    value=self._config.model,
                    allow_blank=False,
                    compact=True,
                    id="input-model",
                )
                yield Label(" ", classes="field-mark", id="mark-model")
        with Horizontal(id="strategy"):
            for name, label in SELECT_FIELDS:
                with Horizontal(classes="field", id=f"field-{name}"):
                    yield Label(label, classes="field-label")
                    yield ModelSelect(
                        select_options(name),
                        value=getattr(self._config, name),
                        allow_blank=False,
                        compact=True,
                        id=f"input-{name}",
                    )
                    yield Label(" ", classes="field-mark", id=f"mark-{name}")
        yield Static(HINT, id="config-message")

    # ---- what the App calls ------------------------------------------------

    def show_config(self, config: SimConfig, *, uses_acceptance_rate: bool = True, replaying: bool = False) -> None:
        """Show `config` in every field and clear the messages."""
        self._config = config
        self._replaying = replaying
        # Only fields whose text differs are touched: each change restyles the field.
        for name, _, _ in TEXT_FIELDS:
            field = self.query_one(f"#input-{name}", Input)
            if field.value != field_text(config, name):
                field.value = field_text(config, name)
        alpha = self.query_one("#input-acceptance_rate", Input)
        if alpha.disabled == uses_acceptance_rate:
            alpha.disabled = not uses_acceptance_rate
            alpha.tooltip = None if uses_acceptance_rate else "this model pair's acceptance is measured, not set"
        select = self.query_one("#input-model", Select)
        if select.value != config.model:
            select.value = config.model
        for name, _ in SELECT_FIELDS:
            select = self.query_one(f"#input-{name}", Select)
            if select.value != getattr(config, name):
                select.value = getattr(config, name)
        self.query_one("#field-method").set_class(not method_is_lossless(config.method), "-lossy")
        self._errors.clear()
        self._refresh_marks()

    def show_error(self, name: str, message: str) -> None:
        """Mark field `name` invalid with the engine's message."""
        self._errors[name] = message
        self._refresh_marks(latest=name)

    @property
    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    # ---- edits -------------------------------------------------------------------

    def _apply(self, name: str, text: str) -> None:
        try:
            config = config_from_text(self._config, {name: text})
        except ConfigError as error:
            self.show_error(name, str(error))
            return
        self._errors.pop(name, None)
        self._refresh_marks()
        if config != self._config:
            self.post_message(self.ConfigSubmitted(config))

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply(self._field_of(event.input), event.value)

    @on(Input.Blurred)
    def _blurred(self, event: Input.Blurred) -> None:
        name = self._field_of(event.input)
        if event.value != field_text(self._config, name) or name in self._errors:
            self._apply(name, event.value)

    @on(Select.Changed)
    def _model_changed(self, event: Select.Changed) -> None:
        event.stop()
        name = self._field_of(event.select)  # model, method or draft_policy
        if event.value is not Select.NULL and event.value != getattr(self._config, name):
            self._apply(name, str(event.value))

    @staticmethod
    def _field_of(widget: Input | Select) -> str:
        return (widget.id or "").removeprefix("input-")

    def _refresh_marks(self, latest: str | None = None) -> None:
        for name in [name for name, _, _ in TEXT_FIELDS] + ["model"] + [name for name, _ in SELECT_FIELDS]:
            invalid = name in self._errors
            field = self.query_one(f"#field-{name}")
            if field.has_class("-invalid") != invalid:
                self.query_one(f"#mark-{name}", Label).update("✗" if invalid else " ")
                field.set_class(invalid, "-invalid")
        message = self.query_one("#config-message", Static)
        if self._errors:
            name = latest if latest in self._errors else next(iter(self._errors))
            message.update(Content.from_markup("[b]✗[/b] $message", message=self._errors[name]))
        else:
            message.update(REPLAY_HINT if self._replaying else HINT)
        message.set_class(bool(self._errors), "-error")
