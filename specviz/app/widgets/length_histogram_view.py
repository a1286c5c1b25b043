"""Acceptance-length histogram: tokens per round as measured, beside the truncated geometric law."""

from __future__ import annotations

from typing import Any

from specviz.app.view_catalog import view_title
from specviz.app.widgets.chart import theme_rgb
from specviz.app.widgets.chart_view import ChartView
from specviz.app.wording import counted
from specviz.engine.analysis import theory


def policy_note(simulation: Any) -> str:
    """Why theory at the starting k may not fit a dynamic policy."""
    config = simulation.config
    if config.draft_policy == "fixed":
        return ""
    return f" · theory at the starting k = {config.draft_length}; the {config.draft_policy} policy varies k"


class LengthHistogramView(ChartView):
    NAME = "lengths"
    TITLE = view_title("lengths")
    HELP = """\
**Acceptance lengths** (`2`). The share of rounds that emitted j tokens
(kept drafts plus the correction or bonus), j = 1 … k+1, beside the
truncated geometric law P(j) = α^(j−1)(1 − α) for j ≤ k and α^k for j = k+1
that i.i.d. acceptance predicts. A dynamic policy's rounds can be longer than
k+1; theory is drawn at the starting k.
"""

    def draw(self, simulation: Any) -> None:
        config, stats = simulation.config, simulation.stats
        caption, chart = self.fresh_chart()
        plt = chart.plt
        if not stats.rounds:
            self.update_caption(caption, "No round yet: run some rounds (enter, e or a) to fill the histogram.")
            chart.refresh()
            return
        k = config.draft_length
        alpha = simulation.theory_alpha()
        histogram = stats.length_histogram
        longest = max(k + 1, len(histogram) - 1)
        measured = [(histogram[j] if j < len(histogram) else 0) / stats.rounds for j in range(1, longest + 1)]
        labels = [str(j) for j in range(1, longest + 1)]
        if alpha is None:
            # Rounds ran but every one was cut to no draft: nothing to measure α from.
            plt.bar(labels, measured, label="measured", color=theme_rgb(self, "primary"))
            theory_text = "theory: α not measured yet (no draft tested)"
        else:
            law = theory.acceptance_length_distribution(alpha, k)
            predicted = [law[j - 1] if j <= k + 1 else 0.0 for j in range(1, longest + 1)]
            plt.multiple_bar(
                labels,
                [measured, predicted],
                labels=["measured", "theory"],
                color=[theme_rgb(self, "primary"), theme_rgb(self, "secondary")],
            )
            source = "set" if simulation.alpha_is_set else "keep chance"
            theory_text = f"theory {theory.expected_tokens_per_round(alpha, k):.3f} (α = {alpha:.3f} {source}, k = {k})"
        plt.xlabel("tokens emitted in a round")
        plt.ylabel("share of rounds")
        self.update_caption(
            caption,
            f"{counted(stats.rounds, 'round')} · mean {stats.tokens_per_target_pass:.3f} tokens/round, {theory_text}"
            + policy_note(simulation),
        )
        chart.refresh()
