"""The control panel: k, alpha, n, c, seed, model pair, method, draft policy, batch size and cost model,
validated by the engine.

An edit is applied on Enter or when the field loses focus. The text goes
through the engine's `config_from_text`, the same function the command line
uses, so both reject the same values with the same words; the message is
shown beside the field and nothing changes. A valid change is posted as
`ControlPanel.ConfigSubmitted`, and the App restarts the run with it.
"""

from __future__ import annotations

from pathlib import Path

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Static

from specviz.app.widgets.choice_field import INVALID_MARK, ChoiceField
from specviz.engine.analysis.cost import preset_names
from specviz.engine.catalog import method_is_lossless, method_names, model_names, policy_names
from specviz.engine.run.config import (
    FIELD_LABELS,
    TREE_SAMPLINGS,
    ConfigError,
    SimConfig,
    config_from_text,
    is_tree,
    switch_model,
)
from specviz.engine.safe_text import echo, safe_line, shorten

# Typed fields: (SimConfig field, label). Their widths are in control_panel.tcss
# (narrower on a medium terminal, so the first row fits in 80 columns).
TEXT_FIELDS: tuple[tuple[str, str], ...] = (
    ("draft_length", "k"),
    ("acceptance_rate", "α"),
    ("target_length", "n"),
    ("draft_cost", "c"),
    ("seed", "seed"),
    ("batch_size", "b"),
    ("tree_width", "w"),
    ("tree_budget", "nodes"),
    ("tree_shape", "shape"),
    ("tree_threshold", "T"),
)
# The typed fields of the first row; the rest sit on the cost row.
FIRST_ROW = ("draft_length", "acceptance_rate", "target_length", "draft_cost", "seed")
# The token tree's typed fields, on a row of their own after its sampling choice.
TREE_ROW = ("tree_width", "tree_budget", "tree_shape", "tree_threshold")

# Fields chosen from a few options: (SimConfig field, label). The model sits
# on the first row with the numbers; method and policy make the second.
CHOICE_FIELDS: tuple[tuple[str, str], ...] = (
    ("model", "model"),
    ("method", "method"),
    ("draft_policy", "policy"),
    ("cost_model", "cost"),
    ("tree_sampling", "tree"),
)
LOSSY_MARK = "⚠ lossy"
RESET_MARK = "↺"  # a notice: knobs a model switch put back
IMPORT_MARK = "↓"  # a notice: values from an imported engine log
ALPHA_MEASURED = "measured"  # the α field's text for a pair whose α is measured, not set
# The cost field's value for the constant-ratio model (SimConfig.cost_model None).
CONSTANT_RATIO = ""
# A cost file's name is cut to this, so the cost row fits in 80 columns.
COST_FILE_WIDTH = 28
C_UNUSED = "the cost model prices the draft's passes: c is not read (choose cost ‹ constant › to set it)"


def tree_label(config: SimConfig) -> str:
    """The run's token tree in a few words for the title ("" for a chain); a
    relaxed threshold carries the lossy warning."""
    if not is_tree(config):
        return ""
    if config.tree_shape is not None:
        shape = "static tree"
    elif config.tree_budget:
        shape = f"tree ≤{config.tree_budget} nodes w={config.tree_width}"
    else:
        shape = f"tree w={config.tree_width}"
    lossy = f" T={config.tree_threshold:g} {LOSSY_MARK}" if config.tree_threshold != 1.0 else ""
    return f" · {shape} {config.tree_sampling}{lossy}"


def method_label(name: str) -> str:
    """A method as the panel shows it: lossy rules carry a warning."""
    return name if method_is_lossless(name) else f"{name} {LOSSY_MARK}"


def cost_choice(config: SimConfig) -> str:
    """The cost field's value for `config`."""
    return CONSTANT_RATIO if config.cost_model is None else config.cost_model


def cost_label(cost_model: str | None) -> str:
    """A cost model as the panel shows it: a preset by name, a file by its
    file name (escaped and shortened: it is the person's text)."""
    if cost_model is None:
        return "constant"
    if cost_model in preset_names():
        return cost_model
    return shorten(safe_line(Path(cost_model).name or cost_model), COST_FILE_WIDTH)


def cost_options(cost_file: str | None = None) -> list[tuple[str, str]]:
    """The constant-ratio model, every preset, and a cost file given on the command line."""
    options = [(cost_label(None), CONSTANT_RATIO)] + [(name, name) for name in preset_names()]
    if cost_file is not None and cost_file not in preset_names():
        options.append((cost_label(cost_file), cost_file))
    return options


def choice_options(name: str, config: SimConfig | None = None) -> list[tuple[str, str]]:
    """(shown text, value) for each option of the choice field `name`."""
    if name == "cost_model":
        return cost_options(None if config is None else config.cost_model)
    if name == "method":
        return [(method_label(method), method) for method in method_names()]
    if name == "tree_sampling":
        return [(sampling, sampling) for sampling in TREE_SAMPLINGS]
    if name == "model":
        # The hf pair needs --target and --draft, which only the command line gives.
        shown = [m for m in model_names() if m != "hf" or (config is not None and config.model == "hf")]
        return [(option, option) for option in shown]
    return [(option, option) for option in policy_names()]


# The choices whose current option the panel describes in the engine's words.
DESCRIBED = ("method", "draft_policy")


def choice_description(name: str, value: str) -> str:
    """The engine's one-line description of option `value` of the method or
    policy field (its class's `description`). Imports the engine, numpy with
    it: the panel asks only after the first frame."""
    if name == "method":
        from specviz.engine.verification.methods import method_class

        return method_class(value).description
    from specviz.engine.drafting.policies import policy_class

    return policy_class(value).description


HINT = "Enter applies an edit and restarts the run · Esc returns to the stream"
REPLAY_HINT = "Replaying a recorded run · an edit (or r) starts a fresh simulation"


def value_text(value: object) -> str:
    """A knob's value as the fields (and the title) write it: whole numbers
    grouped by thousands (the fields read 1,000,000 back), a person's text
    escaped; "none" for an unset one."""
    if value is None:
        return "none"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, str):
        return safe_line(value)
    return str(value)


def field_text(config: SimConfig, name: str) -> str:
    if name == "cost_model":
        return cost_choice(config)
    value = getattr(config, name)
    if value is None:
        return ""
    return value_text(value) if isinstance(value, int) else str(value)


def reset_notice(config: SimConfig, dropped: dict[str, object]) -> str:
    """What a model switch put back to its default, in the panel's words."""
    labels = dict(TEXT_FIELDS)
    changes = ", ".join(
        f"{labels.get(knob) or FIELD_LABELS[knob].split(' (')[0]} {echo(value)} → "
        f"{field_text(config, knob) or 'none (the default)'}"
        for knob, value in dropped.items()
    )
    return f"reset, as the {config.model} pair does not read them: {changes}"


class ControlPanel(Vertical):
    """Editable run parameters; invalid values are explained below the fields."""

    HELP = """\
**Controls.** k (draft length), α (acceptance rate of the synthetic pair),
n (tokens to generate), c (cost of a draft pass relative to a target pass),
seed, the model pair, the verification method (`typical` is marked
`⚠ lossy`: its output does not follow the target's distribution) and the
draft-length policy (fixed, heuristic, confidence), the batch size b and the
cost model (`constant`: c prices a draft pass; a preset or a cost file given
with `--cost-model` prices every pass at batch b, and c is not read). Tab into
a field, type and press Enter; in the model, method, policy and cost fields
`←` `→` (or enter, space, a click) change the choice. The engine checks every value; an invalid one is
marked `✗` and explained below the fields, and changes nothing. A valid change
restarts the run. `[` `]` change k and `,` `.` change α without leaving the
keyboard. The last row sets a token tree (view `8` draws it): how a node's
children are picked (`iid`, `distinct`, `top`), the width w (1 = the chain),
a node budget for a dynamic tree (0 = none), a static shape as Medusa's paths
(empty = none) and the threshold T (below 1 `⚠ lossy`). Below 30 rows the
tree row shows only while the run is a tree (start one with `--tree-width`…).
Only the synthetic pair sets α: for the n-gram pair it is measured,
the α field reads `measured` and `,` `.` leave the footer.
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
        # Fields whose label shows the ✗ mark. Kept here, not read back from the
        # Input's -invalid class: Textual's Input.validate() sets and clears that
        # class itself on every change and blur, so it cannot say what we marked.
        self._marked: set[str] = set()
        self._replaying = False
        self._message: str | Content = HINT
        # (config, text, mark): what the last model switch reset, or where an
        # imported run came from; shown while that config is the run's.
        self._notice: tuple[SimConfig, str, str] | None = None
        # The described choice's "option: description" while it has focus, for the message line.
        self._description: str | None = None
        self._described: str | None = None  # what the strategy row's description shows, once known

    def compose(self) -> ComposeResult:
        # Few widgets on purpose: each costs its share of the first frame, so a
        # text field is a bare Label + Input and a choice is one ChoiceField.
        choices = {
            name: ChoiceField(
                label, choice_options(name, self._config), field_text(self._config, name), id=f"input-{name}"
            )
            for name, label in CHOICE_FIELDS
        }
        choices["method"].set_class(not method_is_lossless(self._config.method), "-lossy")
        with Horizontal(id="fields"):
            for name, label in TEXT_FIELDS:
                if name in FIRST_ROW:
                    yield from self._text_field(name, label)
            yield choices["model"]
        with Horizontal(id="strategy"):
            yield choices["method"]
            yield choices["draft_policy"]
            # Filled after the first frame: the descriptions live in the engine's classes (numpy).
            yield Static("", id="strategy-description", markup=False)
        with Horizontal(id="cost"):
            for name, label in TEXT_FIELDS:
                if name not in FIRST_ROW and name not in TREE_ROW:
                    yield from self._text_field(name, label)
            yield choices["cost_model"]
        with Horizontal(id="tree"):
            yield choices["tree_sampling"]
            for name, label in TEXT_FIELDS:
                if name in TREE_ROW:
                    yield from self._text_field(name, label)
        yield Static(HINT, id="config-message")

    def _text_field(self, name: str, label: str) -> ComposeResult:
        yield Label(label, id=f"label-{name}", classes="field-label")
        field = Input(field_text(self._config, name), id=f"input-{name}", compact=True, select_on_focus=True)
        field.cursor_blink = False  # a steady cursor keeps screenshots stable
        if name == "draft_cost" and self._config.cost_model is not None:
            field.disabled, field.tooltip = True, C_UNUSED
        yield field

    def on_mount(self) -> None:
        self.call_after_refresh(self._describe)

    # ---- what the App calls ------------------------------------------------

    def show_config(self, config: SimConfig, *, uses_acceptance_rate: bool = True, replaying: bool = False) -> None:
        """Show `config` in every field and clear the messages."""
        self._config = config
        self._replaying = replaying
        # Below 30 rows the tree row shows for a tree's run only (control_panel.tcss).
        self.set_class(is_tree(config), "-tree-run")
        # Only fields whose text differs are touched: each change restyles the field.
        for name, _ in TEXT_FIELDS:
            field = self.query_one(f"#input-{name}", Input)
            # A pair that measures α shows so in the α field itself (which is then disabled).
            text = (
                ALPHA_MEASURED if name == "acceptance_rate" and not uses_acceptance_rate else field_text(config, name)
            )
            if field.value != text:
                field.value = text
        alpha = self.query_one("#input-acceptance_rate", Input)
        if alpha.disabled == uses_acceptance_rate:
            alpha.disabled = not uses_acceptance_rate
            alpha.tooltip = None if uses_acceptance_rate else "this model pair's acceptance is measured, not set"
        draft_cost = self.query_one("#input-draft_cost", Input)
        if draft_cost.disabled != (config.cost_model is not None):
            draft_cost.disabled = config.cost_model is not None
            draft_cost.tooltip = C_UNUSED if draft_cost.disabled else None
        for name, _ in CHOICE_FIELDS:
            choice = self.query_one(f"#input-{name}", ChoiceField)
            value = field_text(config, name)
            if name == "cost_model" and not choice.has_option(value):
                choice.add_option(*cost_options(value)[-1])  # a cost file, kept as its own option
            if choice.value != value:
                choice.value = value  # posts nothing: this is not the person's choice
        method = self.query_one("#input-method", ChoiceField)
        if method.has_class("-lossy") == method_is_lossless(config.method):
            method.set_class(not method_is_lossless(config.method), "-lossy")
        self._errors.clear()
        if self._described is not None:  # once the first frame is out
            self._describe()
        self._refresh_marks()

    def show_error(self, name: str, message: str) -> None:
        """Mark field `name` invalid with the engine's message (escaped and cut
        short: it may quote a 100 KB paste or a file name)."""
        self._errors[name] = safe_line(message)
        self._refresh_marks(latest=name)

    def show_notice(self, config: SimConfig, text: str, mark: str = IMPORT_MARK) -> None:
        """A line below the fields while `config` is the run's (the app's word
        on where the values came from); the text is shown as it is, never as markup."""
        self._notice = (config, safe_line(text), mark)
        self._refresh_marks()

    @property
    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    # ---- edits -------------------------------------------------------------------

    def _apply(self, name: str, text: str) -> None:
        dropped: dict[str, object] = {}
        try:
            if name == "model":
                # A pair ignores some knobs (the synthetic pair: temperature,
                # top-k, top-p, corpus; the n-gram pair: α), and a run never
                # records a setting that did nothing: they go back to their
                # defaults, and the panel says which.
                config, dropped = switch_model(self._config, text)
            elif name == "cost_model" and text == CONSTANT_RATIO:
                config = self._config.replace(cost_model=None)
            elif name == "tree_shape" and not text.strip():
                config = self._config.replace(tree_shape=None)  # an empty shape: no static tree
            else:
                config = config_from_text(self._config, {name: text})
        except ConfigError as error:
            self.show_error(name, str(error))
            return
        self._errors.pop(name, None)
        self._notice = (config, reset_notice(config, dropped), RESET_MARK) if dropped else None
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

    @on(ChoiceField.Changed)
    def _chosen(self, event: ChoiceField.Changed) -> None:
        event.stop()
        name = self._field_of(event.choice_field)  # model, method or draft_policy
        if event.value != field_text(self._config, name) or name in self._errors:
            self._apply(name, event.value)
        if name in DESCRIBED and self._described is not None:
            self._describe()

    @staticmethod
    def _field_of(widget: Input | ChoiceField) -> str:
        return (widget.id or "").removeprefix("input-")

    # ---- descriptions ------------------------------------------------------------

    def _focused_choice(self) -> str | None:
        """The described choice (method or policy) that has focus, if one has."""
        focused = self.screen.focused if self.is_attached else None
        if isinstance(focused, ChoiceField) and self._field_of(focused) in DESCRIBED:
            return self._field_of(focused)
        return None

    def _describe(self) -> None:
        """Describe the focused choice, else the method: its current option in
        the engine's words, on the strategy row (cut to fit) and, while the
        choice has focus, whole on the message line."""
        if not self.is_attached:
            return  # called after a refresh that came as the app closed
        focused = self._focused_choice()
        name = focused or "method"
        value = self.query_one(f"#input-{name}", ChoiceField).value
        text = f"{value}: {choice_description(name, value)}"
        if text != self._described:
            self._described = text
            self.query_one("#strategy-description", Static).update(text)
        description = text if focused is not None else None
        if description != self._description:
            self._description = description
            self._refresh_marks()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if self._described is not None:
            self._describe()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        if self._described is not None:
            self.call_after_refresh(self._describe)  # focus has moved on by then

    def _refresh_marks(self, latest: str | None = None) -> None:
        for name, label in TEXT_FIELDS:
            invalid = name in self._errors
            if (name in self._marked) != invalid:
                # The mark, not only the colour, says which field is wrong.
                self.query_one(f"#label-{name}", Label).update(f"{INVALID_MARK} {label}" if invalid else label)
                self.query_one(f"#label-{name}").set_class(invalid, "-invalid")
                if invalid:
                    self._marked.add(name)
                else:
                    self._marked.discard(name)
            field = self.query_one(f"#input-{name}", Input)
            if field.has_class("-invalid") != invalid:
                field.set_class(invalid, "-invalid")
        for name, _ in CHOICE_FIELDS:
            choice = self.query_one(f"#input-{name}", ChoiceField)
            if choice.invalid != (name in self._errors):
                choice.invalid = name in self._errors  # marks itself (✗, class -invalid)
        message = self.query_one("#config-message", Static)
        if self._errors:
            name = latest if latest in self._errors else next(iter(self._errors))
            text: str | Content = Content.from_markup("[b]✗[/b] $message", message=self._errors[name])
        elif self._notice is not None and self._notice[0] == self._config:
            text = Content.from_markup("[b]$mark[/b] $notice", mark=self._notice[2], notice=self._notice[1])
        elif self._description is not None:
            text = self._description
        else:
            text = REPLAY_HINT if self._replaying else HINT
        if text != self._message:  # each update re-lays out the message
            self._message = text
            message.update(text)
        message.set_class(bool(self._errors), "-error")
        message.set_class(not self._errors and self._description is not None, "-describing")
