"""One line of where the run is: round, tokens so far, autoplay or a run to the end."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from specviz.app.view import Change, SimulationView


class RunStatus(SimulationView, Static):
    """Round number, progress towards n, and autoplay or run state."""

    HELP = """\
**Status line.** The round in progress, tokens emitted out of the target
length n, and whether autoplay (`a`) or a run to
the end (`e`) is going; any step key stops a run to the end. Once the run
is complete it says so: `r` runs it again from its seed. On a narrow
terminal it drops words, never the state. `REPLAY` means a recorded run is being stepped
through: editing a control starts a fresh simulation.
"""

    # Set by the App: the autoplay speed label, whether autoplay is on, and
    # whether a run to the end is going.
    autoplay_speed: reactive[str] = reactive("")
    autoplaying: reactive[bool] = reactive(False)
    running: reactive[bool] = reactive(False)
    replaying: reactive[bool] = reactive(False)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._progress: tuple[int, int, int] = (0, 0, 1)  # round, tokens emitted, n
        self._done = False

    def show_simulation(self, simulation: Any, change: Change) -> None:
        current = simulation.current
        round_number = (current.index + 1) if current is not None else 0
        emitted = min(len(simulation.history) - simulation.prompt_length, len(simulation.kinds))
        self._progress = (round_number, emitted, simulation.config.target_length)
        self._done = simulation.done
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def forms(self) -> list[Content]:
        """The line in ever shorter forms, all saying what matters: the state,
        and while running to the end that a step key stops it."""
        round_number, emitted, target = self._progress
        percent = 100 * emitted // target if target else 0
        replay = Content.from_markup("[b]REPLAY[/] · " if self.replaying else "")
        if self.running:
            long = Content.from_markup("[b $warning]▶▶ running to the end[/] (any step key stops)")
            short = Content.from_markup("[b $warning]▶▶ to the end[/] (step keys stop)")
            tiny = Content.from_markup("[b $warning]▶▶[/] step keys stop")
        elif self.autoplaying:
            long = short = Content.from_markup("[b $success]▶ autoplay[/] $speed", speed=self.autoplay_speed)
            tiny = Content.from_markup("[b $success]▶ autoplay[/]")
        elif self._done:
            long = Content.from_markup("[b $success]✓ complete[/]: r runs it again")
            short = tiny = Content.from_markup("[b $success]✓[/] r runs again")
        else:
            long = short = Content.from_markup("‖ autoplay off [dim]($speed)[/]", speed=self.autoplay_speed)
            tiny = Content("‖ autoplay off")
        tokens = f"{emitted:,}/{target:,}"
        return [
            Content.assemble(replay, f"round {round_number:,} · {tokens} tokens ({percent}%) · ", long),
            Content.assemble(replay, f"round {round_number:,} · {tokens} ({percent}%) · ", short),
            Content.assemble(replay, f"{tokens} ({percent}%) · ", short),
            Content.assemble(replay, f"{tokens} · ", short),
            Content.assemble(replay, short),
            Content.assemble(replay, tiny),
        ]

    def _redraw(self) -> None:
        forms = self.forms()
        width = self.content_region.width
        shown = next((form for form in forms if form.cell_length <= width), forms[-1]) if width else forms[0]
        self.update(shown, layout=False)  # one line, fixed size

    def watch_autoplay_speed(self) -> None:
        self._redraw()

    def watch_autoplaying(self) -> None:
        self._redraw()

    def watch_running(self) -> None:
        self._redraw()

    def watch_replaying(self) -> None:
        self._redraw()
