"""Speedup against k: the closed form for the run's alpha and cost model, the best k, and this run;
below it, speedup against batch size and where speculation stops paying."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from specviz.app.view_catalog import view_title
from specviz.app.widgets.chart import Chart, theme_rgb
from specviz.app.widgets.chart_view import ChartView
from specviz.app.widgets.imported_series import draw_speedups, import_caption, imported_draft_lengths
from specviz.app.widgets.stats_sidebar import priced_speedup
from specviz.app.wording import counted
from specviz.engine.analysis import theory
from specviz.engine.analysis.cost import BATCH_SIZES, CostModel
from specviz.engine.run.config import MAX_DRAFT_LENGTH


def measured_draft_length(simulation: Any) -> float:
    """The k the run used: k itself, or the mean drafts per round under a dynamic policy."""
    stats = simulation.stats
    if simulation.config.draft_policy == "fixed" or not stats.rounds:
        return float(simulation.config.draft_length)
    return stats.drafted / stats.rounds


def batch_caption(alpha: float, k: int, cost: CostModel, table: dict[str, Any]) -> str:
    """What `theory.by_batch_size` says, in words."""
    head = f"by batch size b, α = {alpha:.3f}, k = {k}"
    if cost.forward_pass is None:
        return f"{head}: the constant-ratio model does not depend on batch size: choose a cost model"
    best_k, best_s = table["best_k_by_batch_size"], table["best_speedup_by_batch_size"]
    pays_at, break_even = table["speculation_pays_at_batch_sizes"], table["break_even_batch_size"]
    head += f" ({cost.name})"
    if not pays_at:
        return f"{head}: speculation does not pay at any b, even at its best k"
    if break_even is None:
        return f"{head}: speculation pays at every b up to {BATCH_SIZES[-1]} at its best k"
    after = BATCH_SIZES[BATCH_SIZES.index(break_even) + 1]
    return (
        f"{head}: break-even b = {break_even} (best k {best_k[str(break_even)]}: "
        f"{best_s[str(break_even)]:.2f}×); from b = {after} plain decoding wins "
        f"({best_s[str(after)]:.2f}× at best k {best_k[str(after)]})"
    )


def same_cell(
    point: tuple[float, float], other: tuple[float, float], spans: tuple[float, float], size: tuple[int, int]
) -> bool:
    """Whether two marks land on one character cell of a chart of `size`
    (width, height) whose axes span `spans` (x, y): then the mark drawn later
    hides the other."""
    columns = max(1, size[0] - 8)  # less the y axis and its labels
    rows = max(1, size[1] - 4)  # less the x axis, its labels and the frame
    x_span, y_span = spans
    return abs(point[0] - other[0]) <= x_span / columns and abs(point[1] - other[1]) <= max(y_span, 1e-9) / rows


class SpeedupView(ChartView):
    NAME = "speedup"
    TITLE = view_title("speedup")
    HELP = """\
**Speedup against k** (`1`). The closed form S(k) = (1 − α^(k+1)) / ((1 − α)(k c + 1 + v k))
for the run's α and draft cost c (Leviathan et al. 2023), the optimal k marked `◆`
(where no k beats plain decoding, the caption says so and `◆` marks the best k),
and the run's measured speedup (plain decoding time / speculative time under the
cost model) as `●` at its k (the mean k per round under a dynamic policy); `◈`
when it lands on the optimal k's `◆`, so neither hides the other. α is the
knob for the synthetic pair with speculative sampling, and otherwise the run's
measured keep chance (the method's mean chance of keeping a draft where one was
tested). With no draft cost S rises with k towards 1/(1 − α) and no k is
optimal: the line marks that supremum, `◆` the smallest k within 1% of it.
Under a cost model (`--cost-model`, or the panel's cost field) S(k) is priced
by its forward passes at the run's batch size b.

**Speedup against batch size**, below: at the same α, the speedup at the run's
k (line) and at the best k for each b = 1, 2, 4, ..., 512 (`◆`), against the
1× line; `▼` marks the break-even b, the largest b where speculation still
pays, which the caption names. The constant-ratio model does not depend on b,
so its line is flat: choose a cost model to see the batch matter.
"""

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield from import_caption(self, self.NAME)
        yield Static(id="batch-caption", classes="view-caption")
        yield Chart(id="batch-chart")

    def draw(self, simulation: Any) -> None:
        config, stats = simulation.config, simulation.stats
        caption, chart = self.fresh_chart()
        plt = chart.plt
        alpha = simulation.theory_alpha()
        c, v, k = config.draft_cost, config.verify_overhead, config.draft_length
        source = "set" if simulation.alpha_is_set else "measured"
        batch_caption_widget = self.query_one("#batch-caption", Static)
        batch_chart = self.query_one("#batch-chart", Chart)
        batch_chart.plt.clear_data()
        if alpha is None:
            self.update_caption(caption, "α is measured from the run: run a round (enter) to draw the curve.")
            self.update_caption(batch_caption_widget, "")
            if draw_speedups(self, plt, simulation.cost_model, MAX_DRAFT_LENGTH, []):  # an import is drawn all the same
                plt.xlabel("draft length k")
                plt.ylabel("speedup ×")
            chart.refresh()
            batch_chart.refresh()
            return
        cost = simulation.cost_model

        def speedup(j: int) -> float:
            return priced_speedup(cost, alpha, j)

        best = theory.best_draft_length_under(alpha, cost)
        best_k, best_speedup = best.k, best.speedup
        plain_wins = best_speedup <= 1.0  # no k to recommend (the sidebar's rule)
        k_max = min(MAX_DRAFT_LENGTH, max(10, 2 * max(k, best_k), imported_draft_lengths(self, cost)))
        ks = list(range(1, k_max + 1))
        curve = [speedup(j) for j in ks]
        plt.plot(ks, curve, color=theme_rgb(self, "primary"), label="theory S(k)", marker="braille")
        plt.hline(1.0, theme_rgb(self, "foreground-muted"))
        if best.supremum is not None:
            plt.hline(best.supremum, theme_rgb(self, "success"))  # approached, never reached
        plt.vline(best_k, theme_rgb(self, "success"))
        plt.scatter(
            [best_k],
            [best_speedup],
            color=theme_rgb(self, "success"),
            marker="◆",
            label=f"best k = {best_k}, slower than plain" if plain_wins else f"optimal k = {best_k}",
        )
        # Short words: the caption stays on one line at 120 columns.
        if plain_wins:
            optimum = f"plain decoding wins (best k {best_k}: {best_speedup:.2f}×)"
        elif best.maximises:
            optimum = f"optimal k {best_k}: {best_speedup:.2f}×"
        elif best.unbounded:
            optimum = f"no optimal k: S grows without bound (k {best_k} drawn)"
        else:
            optimum = f"no optimal k: S → {best.supremum:.2f}×, within 1% from k {best_k}"
        pricing = (
            f"c {c:g}{f' · v {v:g}' if v else ''}"
            if cost.forward_pass is None
            else f"{cost.name}, b {cost.batch_size:,}"
        )
        text = f"α {alpha:.3f} ({source}) · {pricing} · {optimum} · "
        fixed = config.draft_policy == "fixed"
        if stats.rounds:
            measured = simulation.cost().speedup
            at = measured_draft_length(simulation)
            rounds = counted(stats.rounds, "round")
            # On the optimal k's cell the run's mark would hide ◆: it is drawn ◈ (◆ with the run in it).
            ys = [*curve, measured, 1.0]
            on_optimum = same_cell(
                (at, measured),
                (best_k, best_speedup),
                (k_max, max(ys) - min(ys)),
                (chart.size.width, chart.size.height),
            )
            plt.scatter(
                [at],
                [measured],
                color=theme_rgb(self, "warning"),
                marker="◈" if on_optimum else "●",
                label=f"this run ({rounds}){', on ◆' if on_optimum else ''}",
            )
            if fixed:
                text += f"run k {k}: {speedup(k):.2f}× theory, {measured:.2f}× measured ({rounds})"
            else:
                text += (
                    f"{config.draft_policy} k, mean {at:.2f}: {measured:.2f}× measured ({rounds})"
                    f" · k {k}: {speedup(k):.2f}× theory"
                )
        else:
            text += f"run k {k}: {speedup(k):.2f}× theory · no round run yet"
        draw_speedups(self, plt, cost, k_max, [*curve, best_speedup, *([measured] if stats.rounds else [])])
        plt.xticks(ks if k_max <= 16 else ks[::2])
        plt.xlim(0.5, k_max + 0.5)
        plt.xlabel("draft length k")
        plt.ylabel("speedup ×")
        self.update_caption(caption, text)
        chart.refresh()
        self._draw_batch_sizes(alpha, k, cost)

    def _draw_batch_sizes(self, alpha: float, k: int, cost: CostModel) -> None:
        chart = self.query_one("#batch-chart", Chart)
        plt = chart.plt
        table = theory.by_batch_size(alpha, k, cost)
        # An index axis labelled with b: the sizes double, so they sit evenly.
        xs = list(range(len(BATCH_SIZES)))
        at_k = [table["speedup_by_batch_size"][str(b)] for b in BATCH_SIZES]
        at_best = [table["best_speedup_by_batch_size"][str(b)] for b in BATCH_SIZES]
        plt.plot(xs, at_k, color=theme_rgb(self, "primary"), label=f"k = {k}", marker="braille")
        plt.scatter(xs, at_best, color=theme_rgb(self, "success"), marker="◆", label="best k")
        plt.hline(1.0, theme_rgb(self, "foreground-muted"))
        break_even = table["break_even_batch_size"]
        if break_even is not None and cost.forward_pass is not None:
            at = BATCH_SIZES.index(break_even)
            plt.vline(at, theme_rgb(self, "warning"))
            plt.scatter(
                [at], [at_best[at]], color=theme_rgb(self, "warning"), marker="▼", label=f"break-even b = {break_even}"
            )
        plt.xticks(xs, [str(b) for b in BATCH_SIZES])
        plt.xlim(-0.5, len(BATCH_SIZES) - 0.5)
        plt.xlabel("batch size b")
        plt.ylabel("speedup ×")
        self.update_caption(self.query_one("#batch-caption", Static), batch_caption(alpha, k, cost, table))
        chart.refresh()
