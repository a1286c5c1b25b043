"""The analysis screen: charts, timeline, losslessness and comparison of the run, one tab each.

Opened with `v` (or a view's digit, or the command palette) over the run,
which keeps going underneath: the App's keys (space, enter, e, a, ...) still
drive it, and the App's updates reach the views here while this screen is
open. Only the visible tab draws; closed, the screen costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, TabbedContent, TabPane

from specviz.app.view_catalog import VIEW_CATALOG, VIEW_NAMES
from specviz.app.widgets.analysis_view import AnalysisView
from specviz.app.widgets.comparison_view import ComparisonView
from specviz.app.widgets.distributions_view import DistributionsView
from specviz.app.widgets.key_footer import KeyFooter
from specviz.app.widgets.length_histogram_view import LengthHistogramView
from specviz.app.widgets.lossless_view import LosslessView
from specviz.app.widgets.position_view import PositionView
from specviz.app.widgets.speedup_view import SpeedupView
from specviz.app.widgets.timeline_view import TimelineView
from specviz.app.widgets.tree_view import TreeView

_VIEW_CLASSES: dict[str, type[AnalysisView]] = {
    "speedup": SpeedupView,
    "lengths": LengthHistogramView,
    "positions": PositionView,
    "timeline": TimelineView,
    "lossless": LosslessView,
    "compare": ComparisonView,
    "distributions": DistributionsView,
    "tree": TreeView,
}
# (name, view class, key, what the key does), in the catalog's order
VIEWS: tuple[tuple[str, type[AnalysisView], str, str], ...] = tuple(
    (entry.name, _VIEW_CLASSES[entry.name], entry.key, entry.does) for entry in VIEW_CATALOG
)

VIEWS_GROUP = Binding.Group("Views", compact=True)


class AnalysisScreen(Screen[None]):
    """The analysis views as tabs."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "*"  # the first tab, not the App's "#stream" (not on this screen)
    BINDINGS = [
        *(
            Binding(key, f"app.show_view('{name}')", view.TITLE, tooltip=does, group=VIEWS_GROUP)
            for name, view, key, does in VIEWS
        ),
        Binding("escape,v", "app.close_views", "Run", tooltip="Back to the run", key_display="esc"),
    ]

    class Opened(Message):
        """The screen is showing (first time or again): its views should catch up."""

    def __init__(self, view: str = VIEW_NAMES[0]) -> None:
        super().__init__(id="analysis")
        self.initial_view = view

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with TabbedContent(initial=self.initial_view, id="views"):
            for name, view, key, _ in VIEWS:
                with TabPane(f"{key} {view.TITLE}", id=name):
                    yield view(id=f"view-{name}")
        yield KeyFooter()

    def on_screen_resume(self) -> None:
        self.post_message(self.Opened())

    @property
    def active_view(self) -> str:
        return self.query_one(TabbedContent).active if self.is_mounted else self.initial_view

    def show_view(self, name: str) -> None:
        """Switch to view `name` (one of VIEW_NAMES)."""
        if not self.is_mounted:
            self.initial_view = name
            return
        self.query_one(TabbedContent).active = name

    def view(self, name: str) -> AnalysisView:
        return self.query_one(f"#view-{name}", AnalysisView)

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # The view just shown draws what it missed while hidden.
        for view in event.pane.query(AnalysisView):
            view.catch_up_if_stale()
