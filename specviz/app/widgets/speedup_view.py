"""Speedup against k: the closed form for the run's alpha and c, the best k, and this run."""

from __future__ import annotations

from typing import Any

from specviz.app.view_catalog import view_title
from specviz.app.widgets.chart import theme_rgb
from specviz.app.widgets.chart_view import ChartView
from specviz.engine.analysis import theory
from specviz.engine.run.config import MAX_DRAFT_LENGTH


def measured_draft_length(simulation: Any) -> float:
    """The k the run used: k itself, or the mean drafts per round under a dynamic policy."""
    stats = simulation.stats
    if simulation.config.draft_policy == "fixed" or not stats.rounds:
        return float(simulation.config.draft_length)
    return stats.drafted / stats.rounds


class SpeedupView(ChartView):
    NAME = "speedup"
    TITLE = view_title("speedup")
    HELP = """\
**Speedup against k** (`1`). The closed form S(k) = (1 − α^(k+1)) / ((1 − α)(k c + 1 + v k))
for the run's α and draft cost c (Leviathan et al. 2023), the optimal k marked `◆`,
and the run's measured speedup (plain decoding time / speculative time under the
cost model) as `●` at its k (the mean k per round under a dynamic policy). α is the
knob for the synthetic pair with speculative sampling, and otherwise the run's
measured keep chance (the method's mean chance of keeping a draft where one was
tested). With no draft cost S rises with k towards 1/(1 − α) and no k is
optimal: the line marks that supremum, `◆` the smallest k within 1% of it.
"""

    def draw(self, simulation: Any) -> None:
        config, stats = simulation.config, simulation.stats
        caption, chart = self.fresh_chart()
        plt = chart.plt
        alpha = simulation.theory_alpha()
        c, v, k = config.draft_cost, config.verify_overhead, config.draft_length
        source = "set" if simulation.alpha_is_set else "measured"
        if alpha is None:
            self.update_caption(caption, "α is measured from the run: run a round (enter) to draw the curve.")
            chart.refresh()
            return
        best = theory.best_draft_length(alpha, c, verify_overhead=v)
        best_k, best_speedup = best.k, best.speedup
        k_max = min(MAX_DRAFT_LENGTH, max(10, 2 * max(k, best_k)))
        ks = list(range(1, k_max + 1))
        curve = [theory.expected_speedup(alpha, j, c, v) for j in ks]
        plt.plot(ks, curve, color=theme_rgb(self, "primary"), label="theory S(k)", marker="braille")
        plt.hline(1.0, theme_rgb(self, "foreground-muted"))
        if best.supremum is not None:
            plt.hline(best.supremum, theme_rgb(self, "success"))  # approached, never reached
        plt.vline(best_k, theme_rgb(self, "success"))
        plt.scatter(
            [best_k], [best_speedup], color=theme_rgb(self, "success"), marker="◆", label=f"optimal k = {best_k}"
        )
        if best.maximises:
            optimum = f"optimal k = {best_k}: {best_speedup:.2f}×"
        elif best.unbounded:
            optimum = f"no optimal k: S grows without bound (k = {best_k} drawn)"
        else:
            optimum = f"no optimal k: S → {best.supremum:.2f}×, within 1% from k = {best_k}"
        text = (
            f"α = {alpha:.3f} ({source}) · c = {c:g}{f' · v = {v:g}' if v else ''} · "
            f"{optimum} · run k = {k}: theory {theory.expected_speedup(alpha, k, c, v):.2f}×"
        )
        if stats.rounds:
            measured = simulation.cost().speedup
            at = measured_draft_length(simulation)
            plt.scatter(
                [at],
                [measured],
                color=theme_rgb(self, "warning"),
                marker="●",
                label=f"this run ({stats.rounds:,} rounds)",
            )
            text += f", measured {measured:.2f}× over {stats.rounds:,} rounds"
            if config.draft_policy != "fixed":
                text += f" (mean k {at:.2f}, {config.draft_policy} policy)"
        else:
            text += " · no round run yet"
        plt.xticks(ks if k_max <= 16 else ks[::2])
        plt.xlim(0.5, k_max + 0.5)
        plt.xlabel("draft length k")
        plt.ylabel("speedup ×")
        self.update_caption(caption, text)
        chart.refresh()
