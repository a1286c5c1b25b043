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
        return status_forms(
            self._progress,
            running=self.running,
            autoplaying=self.autoplaying,
            done=self._done,
            replaying=self.replaying,
            speed=self.autoplay_speed,
        )

    def _redraw(self) -> None:
        width = self.content_region.width
        self.update(fitted(self.forms(), width) if width else self.forms()[0], layout=False)  # one line

    def watch_autoplay_speed(self) -> None:
        self._redraw()

    def watch_autoplaying(self) -> None:
        self._redraw()

    def watch_running(self) -> None:
        self._redraw()

    def watch_replaying(self) -> None:
        self._redraw()


def status_forms(
    progress: tuple[int, int, int], *, running: bool, autoplaying: bool, done: bool, replaying: bool, speed: str
) -> list[Content]:
    """The line in ever shorter forms, all saying what matters: the state,
    and while running to the end that a step key stops it. `progress` is
    (round, tokens emitted, n)."""
    round_number, emitted, target = progress
    percent = 100 * emitted // target if target else 0
    replay = Content.from_markup("[b]REPLAY[/] · " if replaying else "")
    if running:
        long = Content.from_markup("[b $warning]▶▶ running to the end[/] (any step key stops)")
        short = Content.from_markup("[b $warning]▶▶ to the end[/] (step keys stop)")
        tiny = Content.from_markup("[b $warning]▶▶[/] step keys stop")
    elif autoplaying:
        long = short = Content.from_markup("[b $success]▶ autoplay[/] $speed", speed=speed)
        tiny = Content.from_markup("[b $success]▶ autoplay[/]")
    elif done:
        long = Content.from_markup("[b $success]✓ complete[/]: r runs it again")
        short = tiny = Content.from_markup("[b $success]✓[/] r runs again")
    else:
        long = short = Content.from_markup("‖ autoplay off [dim]($speed)[/]", speed=speed)
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


def fitted(forms: list[Content], width: int) -> Content:
    """The longest of `forms` that fits `width` cells (the shortest, cut, if none does)."""
    return next((form for form in forms if form.cell_length <= width), forms[-1])
