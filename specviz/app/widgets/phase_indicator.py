"""DRAFT › VERIFY › ACCEPT, with the phase that ran last highlighted."""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.widgets import Static

from specviz.app.view import Change, SimulationView
from specviz.engine.run.rounds import Phase


class PhaseIndicator(SimulationView, Static):
    """The three phases of a round; the one that ran last is marked ▶ and highlighted."""

    HELP = """\
**Phase indicator.** A round runs DRAFT (the draft model proposes k tokens,
k draft passes), VERIFY (the target scores all k+1 positions in one pass) and
ACCEPT (keep a prefix, then a correction or a bonus token). The phase that
ran last is marked `▶` and highlighted; `✓ done` once the run is complete.
"""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._phase: Phase | None = None
        self._done = False

    def show_simulation(self, simulation: Any, change: Change) -> None:
        phase, done = simulation.last_phase, simulation.done
        if (phase, done) != (self._phase, self._done) or change is Change.RESET:
            # The width changes only with "✓ done"; skip the layout pass otherwise.
            layout = done != self._done or change is Change.RESET
            self._phase, self._done = phase, done
            self.update(self.describe(phase, done), layout=layout)

    @staticmethod
    def describe(phase: Phase | None, done: bool) -> Content:
        parts: list[Content] = []
        # Tight (31 cells), so the status line beside it keeps its words at 80 columns.
        for each in Phase:
            if each is phase and not done:
                parts.append(Content.from_markup("[reverse bold $accent] ▶ $name [/]", name=each.label))
            else:
                parts.append(Content.from_markup("[dim]   $name [/]", name=each.label))
            parts.append(Content("›") if each is not Phase.ACCEPT else Content(""))
        if done:
            parts.append(Content.from_markup(" [bold $success]✓ done[/]"))
        return Content.assemble(*parts)
