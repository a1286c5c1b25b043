"""Base of the analysis views that show a caption above a chart."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from specviz.app.widgets.analysis_view import AnalysisView
from specviz.app.widgets.chart import Chart


class ChartView(AnalysisView):
    """A caption (id NAME-caption) above a chart (id NAME-chart)."""

    #: the prefix of the two widgets' ids, and of their CSS
    NAME = ""

    def compose(self) -> ComposeResult:
        yield Static(id=f"{self.NAME}-caption", classes="view-caption")
        yield Chart(id=f"{self.NAME}-chart")

    def fresh_chart(self) -> tuple[Static, Chart]:
        """The caption and the chart, its data cleared for a redraw."""
        caption = self.query_one(f"#{self.NAME}-caption", Static)
        chart = self.query_one(f"#{self.NAME}-chart", Chart)
        chart.plt.clear_data()
        return caption, chart
