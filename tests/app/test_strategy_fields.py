"""The model, method and draft-policy choices of the control panel (issue 7)."""

from __future__ import annotations

from specviz.app.widgets.choice_field import ChoiceField
from specviz.app.widgets.control_panel import ControlPanel, method_label
from specviz.engine.catalog import method_names, model_names, policy_names
from specviz.engine.run.config import config_from_text
from tests.app.conftest import SIZE, build_app, settle


async def _choose(pilot, name: str, value: str, options: tuple[str, ...]) -> None:
    """Pick `value` in the choice for `name` with the keyboard, as a person would."""
    choice = pilot.app.query_one(f"#input-{name}", ChoiceField)
    choice.focus()
    await pilot.pause()
    steps = options.index(value) - options.index(choice.value)
    await pilot.press(*(["right"] * steps if steps > 0 else ["left"] * -steps))
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
        options = app.query_one("#input-method", ChoiceField).options
        assert [value for _, value in options] == list(method_names())
        assert [label for label, _ in options] == [method_label(m) for m in method_names()]
        assert "typical ⚠ lossy" in [label for label, _ in options]
        assert all("lossy" not in label for label, value in options if value != "typical")
        field = app.query_one("#input-method", ChoiceField)
        assert not field.has_class("-lossy")
        await _choose(pilot, "method", "typical", method_names())
        assert app.config.method == "typical"
        assert field.has_class("-lossy")
        assert "typical ⚠ lossy" in app.sub_title
        assert "typical ⚠ lossy" in field.render().plain
        await pilot.press("r")  # reset keeps the method, and its mark
        assert field.value == "typical" and field.has_class("-lossy")
        field.focus()
        await pilot.press("right")  # from the last method round to the first
        await settle(pilot)
        assert app.config.method == "speculative" and not field.has_class("-lossy")


async def test_a_keyed_edit_keeps_the_chosen_method_and_policy():
    app = build_app(method="sample-match", draft_policy="confidence")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")
        assert app.config.method == "sample-match" and app.config.draft_policy == "confidence"
        panel = app.query_one(ControlPanel)
        assert panel.query_one("#input-method", ChoiceField).value == "sample-match"
        assert panel.query_one("#input-draft_policy", ChoiceField).value == "confidence"
        assert panel.errors == {}


async def test_choosing_the_model_by_keys_restarts_the_run_with_it():
    app = build_app(target_length=20)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        choice = app.query_one("#input-model", ChoiceField)
        await _choose(pilot, "model", "ngram", model_names())
        assert choice.has_focus  # a choice keeps the focus: right again would move on
        assert app.config.model == "ngram" == app.simulation.config.model
        assert app.simulation.last_phase is None  # a fresh run
        assert app.query_one(ControlPanel).errors == {}
        await pilot.press("left")
        await settle(pilot)
        assert app.config.model == "synthetic" == choice.value


async def test_the_round_view_says_why_another_methods_rule_rejected_a_draft():
    from textual.widgets import Static

    # Each rule's own reason, with its own numbers; not speculative sampling's u >= p/q.
    reasons = {"greedy": "(x ≠ argmax p '", "typical": "≤ threshold ", "sample-match": "(y ~ p drawn with u = "}
    for method, reason in reasons.items():
        app = build_app(method=method, model="ngram", target_length=200, seed=3)
        async with app.run_test(size=SIZE) as pilot:
            while not app.simulation.current or not app.simulation.current.rejected:
                await pilot.press("enter")
            caption = str(app.query_one("#round-caption", Static).render())
            assert reason in caption
            assert "p/q =" not in caption
            if method != "sample-match":  # only sample-match spends the position's u
                assert "u =" not in caption
