"""Base of the analysis views (charts, timeline, audit, comparison).

A view keeps a reference to the latest simulation the App shows it (cheap),
but draws only while it is displayed: hidden in an inactive tab, or on a
screen that is not open, it costs nothing, and it catches up when shown.
"""

from __future__ import annotations

from typing import Any

from textual.containers import Vertical
from textual.widget import Widget

from specviz.app.view import Change, SimulationView


class AnalysisView(SimulationView, Vertical):
    """A view of the run that redraws only when it is displayed."""

    #: the tab's label
    TITLE = ""
    #: what the view shows, for the help screen (Markdown)
    HELP = ""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.simulation: Any = None
        self._stale = True

    def show_simulation(self, simulation: Any, change: Change) -> None:
        if simulation is not self.simulation:
            self.simulation = simulation
            self.new_run(simulation)
        self._stale = True
        if self.displayed:
            self.catch_up()

    @property
    def displayed(self) -> bool:
        """True when this view and every container above it is displayed."""
        if not self.is_mounted:
            return False
        return all(node.display for node in self.ancestors_with_self if isinstance(node, Widget))

    def on_show(self) -> None:
        self.catch_up_if_stale()

    def catch_up_if_stale(self) -> None:
        if self._stale:
            self.catch_up()

    def catch_up(self) -> None:
        """Draw the latest run now (the App calls show_simulation; tests may call this)."""
        if self.simulation is None:
            return
        self._stale = False
        self.draw(self.simulation)

    # ---- for subclasses -----------------------------------------------------

    def new_run(self, simulation: Any) -> None:
        """A different simulation from now on (a reset, an edit, a replay)."""

    def draw(self, simulation: Any) -> None:
        raise NotImplementedError
