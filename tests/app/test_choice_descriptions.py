"""Issue 13: the method and policy fields show the engine's one-line description of the current choice."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from specviz.app.widgets import STYLESHEETS
from specviz.app.widgets.choice_field import ChoiceField
from specviz.app.widgets.control_panel import HINT, ControlPanel
from specviz.engine.drafting.policies import policy_class
from specviz.engine.run.config import SimConfig
from specviz.engine.verification.methods import method_class


class PanelOnly(App[None]):
    """The control panel alone: no run behind it, so nothing but the panel to wait for."""

    CSS_PATH = STYLESHEETS

    def compose(self) -> ComposeResult:
        yield ControlPanel(SimConfig(method="greedy"))


def _text(app: App[None], selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_the_method_and_policy_read_in_the_engines_words_and_follow_the_focus_and_the_choice():
    app = PanelOnly()
    async with app.run_test(size=(120, 20)) as pilot:
        await pilot.pause()
        greedy = f"greedy: {method_class('greedy').description}"
        assert _text(app, "#strategy-description") == greedy  # unfocused: the method's
        assert _text(app, "#config-message") == HINT
        policy = app.query_one("#input-draft_policy", ChoiceField)
        policy.focus()
        await pilot.pause()
        fixed = f"fixed: {policy_class('fixed').description}"
        assert _text(app, "#strategy-description") == fixed
        message = app.query_one("#config-message", Static)
        assert _text(app, "#config-message") == fixed and message.has_class("-describing")
        await pilot.press("right")  # the next policy: its description at once
        await pilot.pause()
        assert policy.value == "heuristic"
        assert _text(app, "#config-message") == f"heuristic: {policy_class('heuristic').description}"
        app.query_one("#input-seed", Input).focus()  # away from the choices: the method's again
        await pilot.pause()
        await pilot.pause()
        assert _text(app, "#strategy-description") == greedy
        assert _text(app, "#config-message") == HINT and not message.has_class("-describing")
