"""The specviz App: composes the views, owns the run, routes keys and messages.

The App is the only place that drives the simulation, through its public
API (step, finish_round, run, ...). After every change it calls
`show_simulation` on each `SimulationView` of the screens on the stack, so a
later view (charts, a timeline) plugs in by subclassing `SimulationView`.
Slow work (run to the end, autoplay) runs in async workers that do a bounded
slice of work between awaits, so keys are answered while they run.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable, Iterator
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Input

from specviz.app.autoplay import DEFAULT_SPEED, SPEEDS
from specviz.app.help_screen import HelpScreen, keys_markdown, reference_sections
from specviz.app.messages import RunAdvanced, RunFinished
from specviz.app.palette import Palette
from specviz.app.recent_rounds import CAPACITY, recent_rounds
from specviz.app.round_choice import RoundChoice
from specviz.app.run_details import config_markdown, config_title
from specviz.app.view import Change, SimulationView
from specviz.app.view_catalog import VIEW_CATALOG
from specviz.app.widgets import STYLESHEETS
from specviz.app.widgets.choice_field import ChoiceField
from specviz.app.widgets.control_panel import ControlPanel
from specviz.app.widgets.key_footer import KeyFooter
from specviz.app.widgets.phase_indicator import PhaseIndicator
from specviz.app.widgets.round_view import RoundView
from specviz.app.widgets.run_status import RunStatus
from specviz.app.widgets.stats_sidebar import StatsSidebar
from specviz.app.widgets.token_stream import TokenStream
from specviz.engine.run.config import ConfigError, SimConfig, config_from_text
from specviz.engine.run.run_state import RunState
from specviz.engine.safe_text import safe_line

if TYPE_CHECKING:
    from specviz.engine.io.importers.opened import OpenedImport
    from specviz.engine.run.simulation import Simulation

# A run to the end works in slices of about this long between awaits: short
# enough that a key press is answered at once, long enough to cost little.
SLICE_SECONDS = 0.008
# ...and then rests this long, so the event loop gets whole iterations to
# itself for keys, messages and repaints (a bare sleep(0) gives it one).
REST_SECONDS = 0.002
# Views catch up at most this often during a run (they draw at screen rate anyway).
PUBLISH_SECONDS = 0.1
ALPHA_STEP = 0.05
RUN_COMPLETE_HINT = "The run is complete: r runs it again from its seed, or edit a control"

# How keys read in the help screen.
KEY_NAMES = {
    "question_mark": "?",
    "equals_sign": "=",
    "plus": "+",
    "minus": "-",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "comma": ",",
    "full_stop": ".",
    "escape": "esc",
    "f1": "F1",
    "enter": "enter ⏎",
    "less_than_sign": "<",
    "greater_than_sign": ">",
}

STEP = Binding.Group("Step")
SPEED = Binding.Group("Speed", compact=True)
DRAFT_LENGTH = Binding.Group("k", compact=True)
ALPHA = Binding.Group("α", compact=True)
PAST = Binding.Group("Past", compact=True)


class SpecvizApp(App[int]):
    """Speculative decoding, one phase at a time."""

    TITLE = "specviz"
    CSS_PATH = [str(Path(__file__).with_name("app.tcss")), *STYLESHEETS]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (76, "-medium"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    BINDINGS = [
        Binding(
            "space",
            "step",
            "Phase",
            tooltip="Step: run the next phase (DRAFT, VERIFY or ACCEPT)",
            key_display="space",
            group=STEP,
            id="step",
        ),
        Binding(
            "enter",
            "finish_round",
            "Round",
            tooltip="Finish the current round",
            key_display="⏎",
            group=STEP,
            id="finish_round",
        ),
        Binding("e", "run_to_end", "End", tooltip="Run to the target length n (press again to stop)", id="run_to_end"),
        Binding("a", "toggle_autoplay", "Auto", tooltip="Autoplay on or off", id="toggle_autoplay"),
        Binding("minus", "slower", "Slower", tooltip="Autoplay slower", key_display="-", group=SPEED, id="slower"),
        Binding(
            "plus,equals_sign", "faster", "Faster", tooltip="Autoplay faster", key_display="+", group=SPEED, id="faster"
        ),
        Binding("r", "reset", "Reset", tooltip="Reset: start the run again from its seed", id="reset"),
        Binding(
            "escape",
            "focus_stream",
            "Leave field",
            tooltip="Focus the token stream (leave a field)",
            key_display="esc",
            id="focus_stream",
        ),
        Binding(
            "f1,question_mark",
            "help",
            "Help",
            tooltip="Help: every key and what each view shows",
            key_display="?",
            id="help",
        ),
        # F1 once more, unlisted: it still opens help from a text field, where `?` is typed.
        Binding("f1", "help('field')", "", show=False, id="help_from_field"),
        Binding("q", "quit", "Quit", tooltip="Quit specviz", id="quit"),
        # Shown only while an import is open (check_action, help_markdown, the palette).
        Binding(
            "i",
            "simulate_import",
            "Import",
            tooltip="Simulate the import: k from its log, α from its alpha_iid, its cost settings (restarts)",
            id="simulate_import",
        ),
        Binding(
            "v",
            "show_view",
            "Views",
            # No view names here: the palette would match them and open the last view shown.
            tooltip="Views: the analysis views, at the one shown last (a digit picks one)",
            id="views",
        ),
        # Each view's palette entry starts with its name, so that typing the name ranks it first.
        *(
            Binding(key, f"show_view('{name}')", title, tooltip=f"View {title}: {does}", show=False, id=f"view_{name}")
            for name, key, title, does in VIEW_CATALOG
        ),
        Binding(
            "left_square_bracket",
            "draft_length(-1)",
            "k−",
            tooltip="Draft length k minus 1 (restarts)",
            key_display="[",
            group=DRAFT_LENGTH,
            id="shorter_draft",
        ),
        Binding(
            "right_square_bracket",
            "draft_length(1)",
            "k+",
            tooltip="Draft length k plus 1 (restarts)",
            key_display="]",
            group=DRAFT_LENGTH,
            id="longer_draft",
        ),
        Binding(
            "comma",
            f"acceptance_rate(-{ALPHA_STEP})",
            "α−",
            tooltip=f"Acceptance rate α minus {ALPHA_STEP} (restarts)",
            key_display=",",
            group=ALPHA,
            id="lower_alpha",
        ),
        Binding(
            "full_stop",
            f"acceptance_rate({ALPHA_STEP})",
            "α+",
            tooltip=f"Acceptance rate α plus {ALPHA_STEP} (restarts)",
            key_display=".",
            group=ALPHA,
            id="raise_alpha",
        ),
        # Unlisted: a step key once the run is complete says how to start again.
        Binding("space,enter,e,a", "run_complete", "", show=False, id="run_complete"),
        Binding(
            "less_than_sign",
            "past_round(-1)",
            "Back",
            tooltip=f"Past rounds: step back a round (the last {CAPACITY} are kept; the run pauses)",
            key_display="<",
            group=PAST,
            id="earlier_round",
        ),
        Binding(
            "greater_than_sign",
            "past_round(1)",
            "Forward",
            tooltip="Past rounds: step forward a round; past the newest, back to the run where it was",
            key_display=">",
            group=PAST,
            id="later_round",
        ),
    ]

    def __init__(self, config: SimConfig, simulation: Any = None, imported: OpenedImport | None = None) -> None:
        super().__init__()
        self.config = config
        # An engine log read by `specviz import --open`: the positions and
        # speedup views draw its shown series, and `i` runs a simulation set up from it.
        self.imported = imported
        # A given simulation (a replay of a recorded run, or a run built
        # beforehand) is driven as it is; reset or an edit then starts a fresh
        # Simulation from the config. Otherwise the Simulation (numpy and the
        # model pair: 0.1-0.3 s) is built after the first frame, which shows
        # the run before it starts.
        self._simulation: Simulation | None = simulation
        self._before_start = RunState.before_start(config)
        self.replaying = False
        if simulation is not None:
            from specviz.engine.io.trace import ReplaySimulation

            self.replaying = isinstance(simulation, ReplaySimulation)
        self.speed_index = DEFAULT_SPEED
        self.autoplaying = False
        self.running = False
        # A RunAdvanced is on its way: workers post no more until it is handled,
        # so the App's queue never backs up behind a fast run.
        self._advance_pending = False
        self._binding_state: tuple[bool, bool, bool, bool] | None = None
        # The round the round table, the distributions view and the stream show.
        self.round_choice = RoundChoice()
        self._resume: tuple[bool, bool] = (False, False)  # (autoplaying, running) when stepping back began

    # ---- layout ----------------------------------------------------------------

    # Focus the stream straight away: focusing a field first (Textual's default)
    # and then the stream restyles the whole screen twice before the first paint.
    AUTO_FOCUS = "#stream"

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        panel = ControlPanel(self.config, id="controls")
        panel.border_title = "Controls"
        yield panel
        with Horizontal(id="status-line"):
            yield PhaseIndicator(id="phases")
            yield RunStatus(id="status")
        with Horizontal(id="main"):
            with Vertical(id="run-column"):
                yield TokenStream(id="stream")
                yield RoundView(id="round")
            yield StatsSidebar(id="stats")
        yield KeyFooter()

    def on_mount(self) -> None:
        status = self.query_one(RunStatus)
        status.autoplay_speed = SPEEDS[self.speed_index].label
        status.replaying = self.replaying
        self._show_config()
        if self.imported is not None:
            self._show_import_notice(
                self.config, "press i to simulate it (k and α from the log); views 1 and 3 show it"
            )
        self.publish(Change.RESET)
        if self._simulation is None:
            self.call_after_refresh(lambda: self.simulation)

    @property
    def simulation(self) -> Simulation:
        """The run, built on first use: just after the first frame, or by the
        first key that needs it if that comes sooner."""
        if self._simulation is None:
            from specviz.engine.run.simulation import Simulation

            self._simulation = Simulation(self.config)
            self.publish(Change.RESET)
        return self._simulation

    @property
    def run_state(self) -> RunState:
        """What the views show: the run, or the run before its models are loaded."""
        return self._simulation if self._simulation is not None else self._before_start

    # ---- routing ---------------------------------------------------------------

    def simulation_views(self) -> Iterator[SimulationView]:
        for screen in self.screen_stack:
            for widget in screen.walk_children(with_self=False):
                if isinstance(widget, SimulationView):
                    yield widget

    def publish(self, change: Change) -> None:
        """Tell every view that the run changed."""
        if not self.screen_stack:
            return  # shutting down: a worker's last message came after the screens went
        simulation = self.run_state
        if change is Change.RESET and simulation is self._simulation:
            recent_rounds(simulation)  # the timeline's record starts with the run
        for view in self.simulation_views():
            view.show_simulation(simulation, change)
        # Redrawing the footer is dear: only when a key's availability changed.
        state = (simulation.done, self.running, self.autoplaying, self._uses_acceptance_rate())
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()

    def _advanced(self, change: Change) -> None:
        """From a worker: the run moved on."""
        if not self._advance_pending:
            self._advance_pending = True
            self.post_message(RunAdvanced(change))

    @on(RunAdvanced)
    def _run_advanced(self, message: RunAdvanced) -> None:
        self._advance_pending = False
        self.publish(message.change)

    @on(RunFinished)
    def _run_finished(self, message: RunFinished) -> None:
        if not self.screen_stack:
            return
        self._set_status(autoplaying=self.autoplaying, running=self.running)
        self.publish(Change.STEP)  # every view catches up in full, the round view too

    def on_analysis_screen_opened(self) -> None:  # AnalysisScreen.Opened, by handler name
        self.publish(Change.STEP)  # the views catch up with the run

    @on(ControlPanel.ConfigSubmitted)
    def _config_submitted(self, message: ControlPanel.ConfigSubmitted) -> None:
        self.restart(message.config)

    def _show_config(self) -> None:
        self.sub_title = config_title(self.config, uses_acceptance_rate=self._uses_acceptance_rate())
        self.query_one(ControlPanel).show_config(
            self.config, uses_acceptance_rate=self._uses_acceptance_rate(), replaying=self.replaying
        )

    def _uses_acceptance_rate(self) -> bool:
        return self.run_state.uses_acceptance_rate

    def _set_status(self, *, autoplaying: bool, running: bool) -> None:
        self.autoplaying, self.running = autoplaying, running
        status = self.query_one(RunStatus)
        status.autoplaying, status.running = autoplaying, running

    # ---- starting runs -------------------------------------------------------

    def restart(self, config: SimConfig) -> None:
        """A fresh run from `config` (autoplay carries on if it was on)."""
        from specviz.engine.run.simulation import Simulation

        try:
            simulation = Simulation(config)
        except (ConfigError, OSError, ValueError) as error:
            # Building the model can still fail (an unreadable corpus, say).
            field = error.parameter if isinstance(error, ConfigError) else "model"
            self.query_one(ControlPanel).show_error(field, str(error))
            return
        was_autoplaying = self.autoplaying
        self._stop_work()
        self.round_choice = RoundChoice()
        self.config, self._simulation, self.replaying = config, simulation, False
        self.query_one(RunStatus).replaying = False
        self._show_config()
        self.publish(Change.RESET)
        if was_autoplaying:
            self._start_autoplay()

    def _stop_work(self) -> None:
        self.workers.cancel_group(self, "run")
        self.workers.cancel_group(self, "autoplay")
        self._set_status(autoplaying=False, running=False)

    def _edit(self, name: str, text: str) -> None:
        try:
            config = config_from_text(self.config, {name: text})
        except ConfigError as error:
            self.query_one(ControlPanel).show_error(name, str(error))
            return
        self.restart(config)

    # ---- actions ---------------------------------------------------------------

    def _complete(self) -> bool:
        return self.run_state.done and not (self.running or self.autoplaying)

    def _focused(self) -> Any:
        """The focused widget; None before the first screen (App.focused raises then)."""
        return self.focused if self.screen_stack else None

    def _typing(self) -> bool:
        """Whether a text field of the control panel has focus (not the palette's)."""
        focused = self._focused()
        return isinstance(focused, Input) and any(isinstance(node, ControlPanel) for node in focused.ancestors)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self._typing():
            # Every listed key but esc would be typed into the field (enter applies
            # the edit): the footer offers only what works there.
            return action == "focus_stream" or parameters == ("field",)
        if action == "focus_stream":
            return isinstance(self._focused(), ChoiceField)  # leave a choice; nothing to leave elsewhere
        if action == "run_complete":
            return self._complete()
        if action in ("step", "finish_round", "run_to_end", "toggle_autoplay"):
            # Greyed out in the footer once the run is complete.
            if self._complete():
                return None
        if action == "acceptance_rate" and not self._uses_acceptance_rate():
            return False  # hidden: this pair's acceptance is measured, not set (the title says so)
        if action in ("simulate_import", "show_series") and self.imported is None:
            return False  # no import open: not in the footer
        return True

    def action_run_complete(self) -> None:
        self.notify(RUN_COMPLETE_HINT, timeout=4)

    def action_step(self) -> None:
        self.round_choice.go_live()
        self._stop_work()
        if self.simulation.step() is not None:
            self.publish(Change.STEP)

    def action_finish_round(self) -> None:
        self.round_choice.go_live()
        self._stop_work()
        if self.simulation.finish_round() is not None:
            self.publish(Change.STEP)

    def action_run_to_end(self) -> None:
        self.round_choice.go_live()
        if self.running:
            self._stop_work()  # e again stops the run where it is
            return
        self._stop_work()
        if not self.simulation.done:
            self._set_status(autoplaying=False, running=True)
            self._run_to_end()

    def action_toggle_autoplay(self) -> None:
        self.round_choice.go_live()
        if self.autoplaying:
            self._stop_work()
        else:
            self._stop_work()
            if not self.simulation.done:
                self._start_autoplay()

    def action_past_round(self, delta: int) -> None:
        """Step back (-1) or forward (+1) through the completed rounds; the run
        pauses meanwhile and goes on as it was once stepped forward past the newest."""
        choice = self.round_choice
        note = choice.cannot_step(self.simulation, delta)
        if note:
            self.notify(note, timeout=3)
            return
        if choice.live:
            self._resume = (self.autoplaying, self.running)
        self._stop_work()
        choice.step(self.simulation, delta)
        if choice.live:
            autoplaying, running = self._resume
            self._resume = (False, False)
            if autoplaying and not self.simulation.done:
                self._start_autoplay()
            elif running and not self.simulation.done:
                self._set_status(autoplaying=False, running=True)
                self._run_to_end()
        self.show_choice()

    def show_choice(self) -> None:
        """The shown round or draft position changed (not the run): tell the views that show it."""
        simulation = self.run_state
        for view in self.simulation_views():
            if getattr(view, "FOLLOWS_CHOICE", False):
                view.show_simulation(simulation, Change.STEP)

    def action_faster(self) -> None:
        self._set_speed(self.speed_index + 1)

    def action_slower(self) -> None:
        self._set_speed(self.speed_index - 1)

    def _set_speed(self, index: int) -> None:
        self.speed_index = max(0, min(len(SPEEDS) - 1, index))
        self.query_one(RunStatus).autoplay_speed = SPEEDS[self.speed_index].label

    def action_reset(self) -> None:
        self._stop_work()
        self.restart(self.config)

    def action_draft_length(self, delta: int) -> None:
        self._edit("draft_length", str(self.config.draft_length + delta))

    def action_acceptance_rate(self, delta: float) -> None:
        self._edit("acceptance_rate", f"{self.config.acceptance_rate + delta:.2f}")

    def action_simulate_import(self) -> None:
        """Restart the run set up from the shown import series; what the import does not know is kept."""
        if self.imported is None:
            return
        from specviz.engine.io.importers.opened import config_for_series

        try:
            config, said = config_for_series(self.config, self.imported)
        except ConfigError as error:
            self.query_one(ControlPanel).show_error(error.parameter, str(error))
            return
        self.restart(config)
        if self.config == config:  # restarted (a model that fails to build leaves its error instead)
            self._show_import_notice(config, "simulating it: " + ", ".join(said))

    def action_show_series(self, index: int) -> None:
        """Show import series `index` in the views (the palette lists them)."""
        if self.imported is None or not 0 <= index < len(self.imported.series):
            return
        self.imported.show(index)
        self._show_import_notice(self.config, "press i to simulate it")
        self.publish(Change.STEP)  # the views redraw with the series

    def _show_import_notice(self, config: SimConfig, text: str) -> None:
        assert self.imported is not None
        count = len(self.imported.series)
        which = f" (series {self.imported.shown + 1} of {count}: ctrl+p switches)" if count > 1 else ""
        warnings = len(self.imported.warnings())
        # The app hides the terminal: a warning the report would print is counted here.
        warned = f" · {warnings:,} import warnings: specviz import without --open lists them" if warnings else ""
        self.query_one(ControlPanel).show_notice(config, f"import {self.imported.name()}{which}: {text}{warned}")

    def action_focus_stream(self) -> None:
        self.query_one(TokenStream).focus()

    def action_help(self, _from: str = "") -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_markdown()))

    def action_show_view(self, name: str = "") -> None:
        """Open the analysis screen at view `name` (the last one shown when empty)."""
        from specviz.app.analysis_screen import (
            AnalysisScreen,  # on first use: see view_catalog
        )

        if not self.is_screen_installed("analysis"):
            self.install_screen(AnalysisScreen(), name="analysis")
        screen = self.get_screen("analysis")
        assert isinstance(screen, AnalysisScreen)
        if name:
            screen.show_view(name)
        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        if screen not in self.screen_stack:
            self.push_screen(screen)

    def action_close_views(self) -> None:
        if self.screen.id == "analysis":
            self.pop_screen()

    def action_quit(self) -> None:  # type: ignore[override]
        self.exit(0)

    # Textual's two ways into a command palette, opening the guarded one (app/palette.py).
    def action_command_palette(self) -> None:
        if self.use_command_palette and not Palette.is_open(self):
            self.push_screen(Palette(id="--command-palette"))

    def search_themes(self) -> None:
        from textual.theme import ThemeProvider

        self.push_screen(Palette(providers=[ThemeProvider], placeholder="Search for themes…"))

    def help_markdown(self) -> str:
        """Keys from the bindings, then each view's own HELP text."""
        views = [ControlPanel, PhaseIndicator, RunStatus, TokenStream, RoundView, StatsSidebar]
        sections = [
            "# specviz",
            "Speculative decoding, one phase at a time: a cheap draft model proposes k tokens, "
            "the target model checks them all in one pass, and a rule keeps a prefix so that "
            "the output follows the target's distribution exactly.",
            "## Keys",
            keys_markdown(self._bindings_shown(), KEY_NAMES),  # type: ignore[arg-type]
            "Every action is also in the command palette (`ctrl+p`). `tab` moves between "
            "the fields and the stream; `ctrl+q` quits from anywhere.",
            "## On screen",
        ]
        sections.extend(view.HELP for view in views)
        rules, views_list, reference = reference_sections()
        sections.append(rules)
        sections.append("## Views (`v`, or a digit)")
        sections.append(
            "`v` opens the views over the run, which keeps going underneath (space, enter, e "
            f"and a still drive it); `1`–`{VIEW_CATALOG[-1].key}` pick a view, `esc` or `v` goes back. A hidden "
            "view does no work; it catches up when shown."
        )
        sections.append(views_list)
        from specviz.app.analysis_screen import VIEWS

        sections.extend(view.HELP for _, view, _, _ in VIEWS)
        if self.imported is not None:
            from specviz.app.widgets.imported_series import HELP as IMPORT_HELP

            sections.append(IMPORT_HELP)
        sections.append(config_markdown(self.config))
        sections.append(reference)
        return "\n\n".join(sections)

    def _bindings_shown(self) -> list[Binding | Any]:
        """The bindings, without the import's key while no import is open."""
        return [b for b in self.BINDINGS if self.imported is not None or getattr(b, "id", None) != "simulate_import"]

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self._bindings_shown():
            assert isinstance(binding, Binding)
            if binding.action == "focus_stream" or not binding.description:
                continue  # esc, and the unlisted aliases
            keys = binding.key_display or binding.key
            yield SystemCommand(
                binding.tooltip or binding.description,
                f"key: {keys}",
                lambda action=binding.action: self.run_action(action),
            )
        if self.imported is not None and len(self.imported.series) > 1:
            for index in range(len(self.imported.series)):
                yield SystemCommand(
                    # The palette reads a title as markup, and a log's label is data: every
                    # bracket escaped (textual's escape() misses one after a non-tag "[31m").
                    f"Import: show series {index + 1}, " + safe_line(self.imported.name(index)).replace("[", "\\["),
                    "in the speedup and positions views; i then simulates it",
                    lambda index=index: self.action_show_series(index),
                )

    # ---- workers ---------------------------------------------------------------

    def _start_autoplay(self) -> None:
        self._set_status(autoplaying=True, running=False)
        self._autoplay()

    @work(exclusive=True, group="run")
    async def _run_to_end(self) -> None:
        simulation = self.simulation
        rounds = 64  # the slice size adapts to take about SLICE_SECONDS
        published = perf_counter()
        try:
            while not simulation.done:
                started = perf_counter()
                deadline = started + SLICE_SECONDS
                simulation.run(max_rounds=rounds, should_stop=lambda deadline=deadline: perf_counter() > deadline)
                elapsed = perf_counter() - started
                rounds = max(1, min(rounds * 4, int(rounds * SLICE_SECONDS / max(elapsed, 1e-6))))
                if perf_counter() - published >= PUBLISH_SECONDS:
                    self._advanced(Change.PROGRESS)
                    published = perf_counter()
                await asyncio.sleep(REST_SECONDS)
        finally:
            self.running = False
            self.post_message(RunFinished("run"))

    @work(exclusive=True, group="autoplay")
    async def _autoplay(self) -> None:
        try:
            while not self.simulation.done:
                speed = SPEEDS[self.speed_index]
                simulation = self.simulation
                if speed.unit == "phase":
                    simulation.step()
                else:
                    for _ in range(speed.per_tick):
                        if simulation.finish_round() is None:
                            break
                # Many rounds a tick: a progress update, the round view is unreadable anyway.
                self._advanced(Change.PROGRESS if speed.unit == "round" and speed.per_tick > 1 else Change.STEP)
                # Sleep in short naps so a new speed takes effect at once.
                waited = 0.0
                while waited < SPEEDS[self.speed_index].interval:
                    await asyncio.sleep(0.05)
                    waited += 0.05
        finally:
            self.autoplaying = False
            self.post_message(RunFinished("autoplay"))


def make_app(config: SimConfig, simulation: Any = None, imported: OpenedImport | None = None) -> SpecvizApp:
    """The app for `config`, driving `simulation` when given (a replay, or a run
    built beforehand), showing `imported` when given; used by run_app and tests."""
    return SpecvizApp(config, simulation, imported)


# Signals that close the app as its quit key does: Textual's shutdown leaves
# the alternate screen, turns mouse reporting off and shows the cursor
# (driver.stop_application_mode), which being killed outright would not.
EXIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def exit_on_signal(app: App, signum: int) -> None:
    """What a terminating signal does to a running app: exit with 128 + the
    signal, as a shell reports a process the signal ended."""
    app.exit(return_code=128 + signum)


def run_app(config: SimConfig, simulation: Any = None, imported: OpenedImport | None = None) -> int:
    """Open the app; returns the process exit status."""
    app = make_app(config, simulation, imported)
    # The app runs on our own loop so the signals reach it through the loop
    # (add_signal_handler): the handler runs between callbacks, where
    # App.exit is safe, not at an arbitrary bytecode of the message loop.
    with asyncio.Runner() as runner:
        loop = runner.get_loop()
        # A signal the process was started ignoring (nohup) stays ignored.
        previous = {signum: signal.getsignal(signum) for signum in EXIT_SIGNALS}
        handled = [signum for signum, was in previous.items() if was is not signal.SIG_IGN]
        for signum in handled:
            loop.add_signal_handler(signum, exit_on_signal, app, signum)
        try:
            app.run(loop=loop)
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)  # this sets SIG_DFL: put back what was there
                signal.signal(signum, previous[signum])
    return app.return_code or 0
