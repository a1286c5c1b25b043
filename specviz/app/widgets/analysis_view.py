"""Base of the analysis views (charts, timeline, audit, comparison).

A view keeps a reference to the latest simulation the App shows it (cheap),
but draws only while it is displayed: hidden in an inactive tab, or on a
screen that is not open, it costs nothing, and it catches up when shown.
While a run goes (Change.PROGRESS, ten a second) a view redraws at most every
REDRAW_SECONDS: a chart costs tens of milliseconds to build, which the run
would otherwise pay; the App's final STEP when the run stops draws the end.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from specviz.app.view import Change, SimulationView

REDRAW_SECONDS = 0.5


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
        self._drawn_at = 0.0

    def show_simulation(self, simulation: Any, change: Change) -> None:
        if simulation is not self.simulation:
            self.simulation = simulation
            self.new_run(simulation)
        self._stale = True
        if not self.displayed:
            return
        if change is Change.PROGRESS and perf_counter() - self._drawn_at < REDRAW_SECONDS:
            return  # stays stale: drawn at the next update after the pause, or when the run stops
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
        self._drawn_at = perf_counter()
        self.draw(self.simulation)

    def update_caption(self, caption: Static, text: str | Content) -> None:
        """Set a one- or two-line caption, with a layout pass only when its height changes."""
        content = text if isinstance(text, Content) else Content(text)
        width = caption.size.width or self.size.width or 80
        height = 1 if content.cell_length <= width else 2
        if caption.styles.height is None or caption.styles.height.value != height:
            caption.styles.height = height
        caption.update(content, layout=False)

    # ---- for subclasses -----------------------------------------------------

    def new_run(self, simulation: Any) -> None:
        """A different simulation from now on (a reset, an edit, a replay)."""

    def draw(self, simulation: Any) -> None:
        raise NotImplementedError
