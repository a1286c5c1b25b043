"""Per-position acceptance: the measured rate at each draft position beside alpha^i."""

from __future__ import annotations

from typing import Any

from specviz.app.view_catalog import view_title
from specviz.app.widgets.chart import theme_rgb
from specviz.app.widgets.chart_view import ChartView
from specviz.app.widgets.length_histogram_view import policy_note


class PositionView(ChartView):
    NAME = "positions"
    TITLE = view_title("positions")
    HELP = """\
**Per-position acceptance** (`3`). For each draft position i: the rounds that
kept the i-th draft over the rounds that drafted it (vLLM's
accepted_at_position[i] / num_drafts), beside α^i, the chance under i.i.d.
acceptance that the first i drafts are all kept. It falls with i: a draft
is only kept if every draft before it was.
"""

    def draw(self, simulation: Any) -> None:
        stats = simulation.stats
        caption, chart = self.fresh_chart()
        plt = chart.plt
        measured = stats.per_position_acceptance
        if not measured:
            self.update_caption(caption, "No draft tested yet: run some rounds (enter, e or a).")
            chart.refresh()
            return
        alpha = simulation.theory_alpha()
        predicted = [alpha**i for i in range(1, len(measured) + 1)]
        labels = [str(i) for i in range(1, len(measured) + 1)]
        plt.multiple_bar(
            labels,
            [measured, predicted],
            labels=["measured", "α^i"],
            color=[theme_rgb(self, "primary"), theme_rgb(self, "secondary")],
        )
        plt.ylim(0, 1.05)
        plt.xlabel("draft position i")
        plt.ylabel("kept / drafted")
        source = "set" if simulation.alpha_is_set else "measured"
        first = f"position 1: {measured[0]:.3f} measured, {predicted[0]:.3f} theory"
        self.update_caption(
            caption, f"{stats.rounds:,} rounds · α = {alpha:.3f} ({source}) · {first}" + policy_note(simulation)
        )
        chart.refresh()
