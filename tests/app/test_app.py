"""Pilot tests: the app drives the engine as the keys say, and never blocks on it."""

from __future__ import annotations

import asyncio
import re
from time import perf_counter

import pytest
from textual import events
from textual.widgets import Input

from specviz.app.autoplay import DEFAULT_SPEED, SPEEDS
from specviz.app.help_screen import HelpScreen
from specviz.app.widgets.control_panel import ControlPanel
from specviz.app.widgets.phase_indicator import PhaseIndicator
from specviz.app.widgets.round_view import RoundView
from specviz.app.widgets.run_status import RunStatus
from specviz.app.widgets.token_stream import TokenStream
from specviz.engine.run.config import ConfigError, SimConfig, config_from_text
from specviz.engine.run.rounds import Phase
from specviz.engine.run.simulation import Simulation
from tests.app.conftest import SIZE, build_app, run_from_palette, settle
from tests.budget import LONG

# The import's key is bound only while an import is open (tests/app/test_import_app.py checks it).
IMPORT_KEY = "simulate_import"


def stream_text(app) -> str:
    stream = app.query_one(TokenStream)
    return "\n".join(stream._line(y).text for y in range(stream.line_count))


def same_run(app) -> Simulation:
    """A fresh Simulation of the app's config driven to the same point by the engine alone."""
    simulation = app.simulation
    fresh = Simulation(app.config)
    fresh.run(max_rounds=simulation.stats.rounds)
    while fresh.last_phase is not simulation.last_phase:
        fresh.step()
    return fresh


async def test_space_steps_one_phase_at_a_time():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        round_view = app.query_one(RoundView)
        assert app.simulation.last_phase is None and round_view.rows == []
        await pilot.press("space")
        assert app.simulation.last_phase is Phase.DRAFT
        drafted = app.simulation.current.drafted
        assert len(round_view.rows) == len(drafted) == 5
        assert all(row[3] == "…" for row in round_view.rows)  # p(x) not known before VERIFY
        assert "?" in stream_text(app)  # pending drafts shown in place
        await pilot.press("space")
        assert app.simulation.last_phase is Phase.VERIFY
        assert app.simulation.emitted == 0
        assert all(row[3] != "…" and row[5] == "…" for row in round_view.rows)  # p known, u not yet
        await pilot.press("space")
        current = app.simulation.current
        assert app.simulation.last_phase is Phase.ACCEPT
        assert app.simulation.emitted == len(current.emitted) == current.accepted + 1
        # The verdict column shows every decision with a mark, not just a colour.
        verdicts = [row[-1][0] for row in round_view.rows]
        assert verdicts.count("✓ kept") == current.accepted
        assert verdicts[-1] in ("» correction", "+ bonus")
        phases = app.query_one(PhaseIndicator)
        assert "▶ ACCEPT" in str(phases.render())
        assert app.simulation.history == same_run(app).history


async def test_enter_finishes_the_round():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "enter")
        assert app.simulation.last_phase is Phase.ACCEPT and app.simulation.stats.rounds == 1
        await pilot.press("enter", "enter")
        assert app.simulation.stats.rounds == 3
        assert app.simulation.history == same_run(app).history


async def test_run_to_end_finishes_and_the_stream_shows_every_token():
    app = build_app(target_length=400)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await settle(pilot)
        simulation = app.simulation
        assert simulation.done and simulation.emitted == 400
        assert not app.running
        text = stream_text(app)
        # Marks aside, the stream reads as the prompt followed by the run's text.
        plain = re.sub(r"[»+✓✗·?]", "", text)
        expected = simulation.prompt_text() + " " + simulation.text()
        assert "".join(plain.split()) == "".join(expected.split())
        stream = app.query_one(TokenStream)
        assert stream.layout.end == simulation.prompt_length + simulation.current.start


async def press_while_busy(app, key: str, character: str | None, answered, timeout: float = 2.0) -> float:
    """Post a key as the terminal would and wait until `answered()`; returns the seconds taken.

    (Pilot.press waits for the process to go idle, which it never does while
    a run is going: that is the point of the test.) The timeout is generous
    for a shared test machine; benchmarks/bench_tui.py measures latency.
    """
    started = perf_counter()
    app.post_message(events.Key(key, character))
    while not answered():
        assert perf_counter() - started < timeout, f"{key} not answered within {timeout} s"
        await asyncio.sleep(0.005)
    return perf_counter() - started


async def test_keys_are_answered_while_running_to_the_end():
    app = build_app(target_length=3_000_000)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await asyncio.sleep(0.2)
        assert app.running and not app.simulation.done
        emitted = app.simulation.emitted
        assert emitted > 0
        await press_while_busy(app, "plus", "+", lambda: app.speed_index == DEFAULT_SPEED + 1)
        assert app.running
        await press_while_busy(
            app, "question_mark", "?", lambda: isinstance(app.screen, HelpScreen) and app.screen.focused is not None
        )
        await press_while_busy(app, "escape", None, lambda: not isinstance(app.screen, HelpScreen))
        assert app.running and app.simulation.emitted > emitted  # still going
        await press_while_busy(app, "e", "e", lambda: not app.running)  # e again stops where it is
        await settle(pilot)
        assert not app.simulation.done
        stopped_at = app.simulation.emitted
        await pilot.pause(0.1)
        assert app.simulation.emitted == stopped_at
        assert "autoplay off" in str(app.query_one(RunStatus).render())


async def test_autoplay_runs_and_stops():
    app = build_app(target_length=1_000_000)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(len(SPEEDS)):
            await pilot.press("plus")
        assert app.speed_index == len(SPEEDS) - 1  # clamped at the fastest
        await pilot.press("a")
        assert app.autoplaying
        await asyncio.sleep(0.3)
        emitted = app.simulation.emitted
        assert emitted > 0
        assert "▶ autoplay" in str(app.query_one(RunStatus).render())
        await press_while_busy(app, "a", "a", lambda: not app.autoplaying)
        await settle(pilot)
        stopped_at = app.simulation.emitted
        await pilot.pause(0.2)
        assert app.simulation.emitted == stopped_at
        for _ in range(len(SPEEDS) + 2):
            await pilot.press("minus")
        assert app.speed_index == 0


async def test_autoplay_stops_by_itself_at_the_end():
    app = build_app(target_length=30)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(4):
            await pilot.press("plus")
        await pilot.press("a")
        await settle(pilot)
        assert app.simulation.done and not app.autoplaying


async def test_a_manual_step_pauses_autoplay():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        assert app.autoplaying
        await pilot.press("space")
        assert not app.autoplaying


async def test_reset_starts_the_run_again_from_its_seed():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter", "space")
        first = app.simulation
        history = first.history[:]
        await pilot.press("r")
        assert app.simulation is not first
        assert app.simulation.emitted == 0 and app.simulation.last_phase is None
        assert app.query_one(RoundView).rows == []
        await pilot.press("enter", "enter", "space")
        assert app.simulation.history == history


async def _type_into(pilot, name: str, text: str) -> None:
    field = pilot.app.query_one(f"#input-{name}", Input)
    field.focus()
    await pilot.pause()
    field.value = ""
    await pilot.press(*text, "enter")
    await pilot.pause()


INVALID_VALUES = [
    ("acceptance_rate", "2"),
    ("draft_length", "abc"),
    ("target_length", "0"),
    ("seed", "-1"),
    ("draft_cost", "nan"),
]


# One app takes every invalid value in turn (an app each cost the suite ~10 s).
async def test_an_invalid_value_is_explained_beside_its_field_and_changes_nothing():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        simulation, config = app.simulation, app.config
        panel = app.query_one(ControlPanel)
        for name, text in INVALID_VALUES:
            await _type_into(pilot, name, text)
            with pytest.raises(ConfigError) as engine_error:
                config_from_text(config, {name: text})
            # The engine's words, exactly as the command line prints them.
            assert panel.errors[name] == str(engine_error.value)
            # Marked, not only coloured: the label reads "✗ k" and label and input carry -invalid.
            label = app.query_one(f"#label-{name}")
            assert "✗" in str(label.render()) and label.has_class("-invalid")
            assert app.query_one(f"#input-{name}", Input).has_class("-invalid")
            assert str(engine_error.value) in str(app.query_one("#config-message").render())
            assert app.simulation is simulation and app.config == config
        assert set(panel.errors) == {name for name, _ in INVALID_VALUES}


async def test_a_valid_edit_restarts_the_run_and_clears_the_error():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await _type_into(pilot, "acceptance_rate", "7")
        assert "acceptance_rate" in app.query_one(ControlPanel).errors
        await pilot.press("space")  # typed into the field, not a step
        await _type_into(pilot, "acceptance_rate", "0.5")
        assert app.config.acceptance_rate == 0.5
        assert app.simulation.config.acceptance_rate == 0.5 and app.simulation.last_phase is None
        assert app.query_one(ControlPanel).errors == {}
        await _type_into(pilot, "target_length", "1e3")
        assert app.config.target_length == 1000
        await pilot.press("escape")
        assert isinstance(app.focused, TokenStream)


async def test_bracket_and_comma_keys_change_k_and_alpha():
    app = build_app(draft_length=2, acceptance_rate=0.9)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right_square_bracket")
        assert app.config.draft_length == 3
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert app.config.draft_length == 1
        await pilot.press("left_square_bracket")  # k = 0 is refused with the engine's words
        assert app.config.draft_length == 1
        assert "draft length k" in app.query_one(ControlPanel).errors["draft_length"]
        await pilot.press("full_stop", "full_stop")
        assert app.config.acceptance_rate == 1.0
        await pilot.press("full_stop")
        assert app.config.acceptance_rate == 1.0
        assert "acceptance_rate" in app.query_one(ControlPanel).errors
        await pilot.press("comma")
        assert app.config.acceptance_rate == 0.95
        assert app.query_one("#input-acceptance_rate", Input).value == "0.95"


async def test_resizing_down_to_60x20_and_back():
    app = build_app(target_length=2000)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await settle(pilot)
        # Every step down in the long run; the sizes the docs promise in the suite.
        for size in [(100, 30), (80, 24), (70, 22), (60, 20), (120, 36)] if LONG else [(80, 24), (60, 20), (120, 36)]:
            await pilot.resize_terminal(*size)
            await pilot.pause()
            stream = app.query_one(TokenStream)
            width = stream.scrollable_content_region.width
            assert stream.layout.width == width
            for y in range(stream.line_count):
                line = stream._line(y)
                assert line.cell_length <= width or len(line.text.split()) == 1
            await pilot.press("space", "r", "enter")
        assert app.simulation.stats.rounds == 1


async def test_help_screen_opens_on_f1_and_question_mark():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        for key in ("f1", "question_mark"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, HelpScreen)
        markdown = app.help_markdown()
        for binding in app.BINDINGS:
            if binding.show and binding.id != IMPORT_KEY:  # IMPORT_KEY: only with an import open
                assert binding.tooltip in markdown


async def test_every_action_is_in_the_command_palette():
    app = build_app()
    async with app.run_test(size=SIZE):
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for binding in app.BINDINGS:
            # unlisted aliases have no description; the import's key is listed only while one is open
            if binding.action != "focus_stream" and binding.description and binding.id != IMPORT_KEY:
                assert binding.tooltip in titles


async def test_a_palette_command_runs_its_action():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await run_from_palette(pilot, "finish the current round")
        assert app.simulation.stats.rounds == 1


async def test_a_given_simulation_is_driven_as_it_is_and_reset_starts_fresh(tmp_path):
    from specviz.engine.io.trace import ReplaySimulation, TraceWriter

    config = SimConfig(target_length=80, seed=7)
    built = Simulation(config)
    built.run(max_rounds=3)
    app = build_app(built, target_length=80, seed=7)
    async with app.run_test(size=SIZE) as pilot:
        # A run built beforehand (as the CLI does when it must read a corpus) is not a replay.
        assert app.simulation is built and not app.replaying
        await pilot.press("enter")
        assert built.stats.rounds == 4

    with TraceWriter(str(tmp_path / "run.jsonl"), Simulation(config)) as writer:
        writer.simulation.run()
    recorded = ReplaySimulation.from_file(str(tmp_path / "run.jsonl"))
    recorded.run(max_rounds=3)
    app = build_app(recorded, target_length=80, seed=7)
    async with app.run_test(size=SIZE) as pilot:
        assert app.simulation is recorded and app.replaying
        assert "REPLAY" in str(app.query_one(RunStatus).render())
        await pilot.press("enter")
        assert recorded.stats.rounds == 4
        await pilot.press("r")
        assert app.simulation is not recorded and not app.replaying
        assert app.simulation.stats.rounds == 0
        assert "REPLAY" not in str(app.query_one(RunStatus).render())


async def test_quit_key_exits_with_status_zero():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
    assert app.return_code == 0


def _label_text(app, name: str) -> str:
    return str(app.query_one(f"#label-{name}").render())


async def test_a_refused_alpha_key_mark_clears_when_a_valid_alpha_follows():
    # Six `.` from 0.75: 0.8 ... 1.0, then 1.05 is refused and α is marked.
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"......")
        await pilot.pause()
        assert "acceptance_rate" in app.query_one(ControlPanel).errors
        assert _label_text(app, "acceptance_rate").startswith("✗")
        await pilot.press(",")
        await pilot.pause()
        assert app.config.acceptance_rate == pytest.approx(0.95)
        assert app.query_one(ControlPanel).errors == {}
        assert _label_text(app, "acceptance_rate") == "α"
        assert not app.query_one("#label-acceptance_rate").has_class("-invalid")
        assert not app.query_one("#input-acceptance_rate", Input).has_class("-invalid")


async def test_typed_marks_clear_when_the_run_is_reset():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await _type_into(pilot, "draft_length", "abc")
        await _type_into(pilot, "seed", "-1")
        assert _label_text(app, "draft_length").startswith("✗") and _label_text(app, "seed").startswith("✗")
        await pilot.press("escape", "r")
        await pilot.pause()
        assert app.query_one(ControlPanel).errors == {}
        assert _label_text(app, "draft_length") == "k" and _label_text(app, "seed") == "seed"


async def test_the_round_view_says_the_run_is_running_not_that_no_round_ran():
    # Run to the end from round 0: the progress updates must not leave
    # "No round yet" (or an earlier round's table) under "Round N (running)".
    from specviz.app.view import Change
    from specviz.app.widgets.round_view import RoundView

    app = build_app(target_length=300_000)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        view = app.query_one(RoundView)
        assert "No round yet" in str(app.query_one("#round-caption").render())
        app.simulation.run(max_rounds=500)
        view.show_simulation(app.simulation, Change.PROGRESS)
        await pilot.pause()
        caption = str(app.query_one("#round-caption").render())
        assert "(running)" in view.border_title and "No round yet" not in caption
        assert "Running" in caption and view.rows == []
        view.show_simulation(app.simulation, Change.STEP)  # the run stopped: the round is shown again
        await pilot.pause()
        assert view.rows and "(running)" not in view.border_title


async def test_the_footer_is_built_again_only_when_its_keys_change():
    from textual.widgets._footer import FooterKey

    from specviz.app.widgets.key_footer import KeyFooter

    app = build_app(target_length=50)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(KeyFooter)
        keys = list(footer.query(FooterKey))
        assert keys and "End" in " ".join(key.description for key in keys)
        footer.bindings_changed(app.screen)  # what a focus move that changes no key sends
        await settle(pilot)
        assert list(footer.query(FooterKey)) == keys  # the very widgets: not built again
        await pilot.press("7")  # the distributions view: its screen's footer has ←→ Position
        await settle(pilot)
        views_footer = app.screen.query_one(KeyFooter)
        assert "position(1)" in {key.action for key in views_footer.query(FooterKey)}
        await pilot.press("1")  # the speedup view, on the same screen, has no positions
        await settle(pilot)
        assert app.screen.query_one(KeyFooter) is views_footer
        assert "position(1)" not in {key.action for key in views_footer.query(FooterKey)}
