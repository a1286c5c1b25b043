"""Per-position acceptance: vLLM's rate and the conditional rate at each draft position, beside alpha^i and alpha."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult

from specviz.app.view_catalog import view_title
from specviz.app.widgets.chart import theme_rgb
from specviz.app.widgets.chart_view import ChartView
from specviz.app.widgets.imported_series import (
    draw_positions,
    import_caption,
    legend_top,
    opened_import,
)
from specviz.app.widgets.length_histogram_view import policy_note
from specviz.app.wording import counted


class PositionView(ChartView):
    NAME = "positions"
    TITLE = view_title("positions")
    HELP = """\
**Per-position acceptance** (`3`). For each draft position i, three measured
rates, each named for what it divides by: vLLM's *per-position acceptance*
(rounds that kept the i-th draft / rounds that drafted anything, vLLM's
accepted_at_position[i] / num_drafts), beside α^i, the chance under i.i.d.
acceptance that the first i drafts are all kept; it falls with i, as a
draft is only kept if every draft before it was. Then the *conditional
acceptance* (kept at i / rounds that reached and tested position i), which
estimates α itself at each position. The caption adds the rate *of drafted*
(kept at i / rounds that drafted i), which a policy that drafts fewer raises
above vLLM's.
"""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield from import_caption(self, self.NAME)

    def draw(self, simulation: Any) -> None:
        stats = simulation.stats
        caption, chart = self.fresh_chart()
        plt = chart.plt
        vllm = stats.per_position_acceptance
        alpha = simulation.theory_alpha()
        if not vllm or alpha is None:
            self.update_caption(caption, "No draft tested yet: run some rounds (enter, e or a).")
            imported_positions = draw_positions(self, plt, None)  # an import is drawn all the same
            if imported_positions:
                self._axes(plt, imported_positions)
            chart.refresh()
            return
        positions = range(1, len(vllm) + 1)
        predicted = [alpha**i for i in positions]
        # A position reached but never tested has no conditional rate: drawn as 0.
        conditional = [0.0 if rate is None else rate for rate in stats.conditional_acceptance]
        # With an import open, draw_positions draws the run's rates as marks beside the import's.
        if opened_import(self) is None:
            plt.multiple_bar(
                [str(i) for i in positions],
                [vllm, predicted, conditional],
                labels=["kept at i / drafts (vLLM)", "α^i", "kept / tested at i"],
                color=[theme_rgb(self, "primary"), theme_rgb(self, "secondary"), theme_rgb(self, "success")],
            )
        plt.hline(alpha, theme_rgb(self, "foreground-muted"))
        self._axes(plt, draw_positions(self, plt, (vllm, predicted, conditional)))
        source = "set" if simulation.alpha_is_set else "keep chance"
        # Position 1 is reached by every round that drafts, so the rates first
        # part at position 2: the caption names all of them there.
        i = min(2, len(vllm))
        at = (
            f"position {i}: vLLM {vllm[i - 1]:.3f}, of drafted {_rate(stats.per_position_acceptance_of_drafted[i - 1])}, "
            f"conditional {_rate(stats.conditional_acceptance[i - 1])}, α^{i} {predicted[i - 1]:.3f}"
        )
        self.update_caption(
            caption,
            f"{counted(stats.rounds, 'round')} · α = {alpha:.3f} ({source}, the line) · {at}" + policy_note(simulation),
        )
        chart.refresh()

    def _axes(self, plt: Any, imported_positions: int) -> None:
        plt.ylim(0, 1.05 if not imported_positions else legend_top(self, plt, 0, 1.05))
        plt.xlabel("draft position i")
        plt.ylabel("acceptance")
        if imported_positions:
            plt.xticks(list(range(1, imported_positions + 1)))
            plt.xlim(0.5, imported_positions + 0.5)


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"
