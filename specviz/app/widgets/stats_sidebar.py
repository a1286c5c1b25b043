"""The run's statistics under the names real engines use, measured beside theory, and the cost."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from specviz.app.columns import Column, header, lines, row
from specviz.app.view import Change, SimulationView
from specviz.engine.analysis import theory
from specviz.engine.run.rounds import Phase


def format_ms(ms: float) -> str:
    """Milliseconds, switching to seconds once the figure gets long."""
    if ms < 10_000:
        return f"{ms:,.1f} ms"
    return f"{ms / 1000:,.1f} s"


def format_ms_column(values: list[float]) -> list[str]:
    """Times in one unit for a whole column (seconds once the largest gets
    long), so the figures line up and compare at a glance."""
    if max(values, default=0.0) < 10_000:
        return [f"{ms:,.1f} ms" for ms in values]
    return [f"{ms / 1000:,.1f} s" for ms in values]


def theory_alpha(simulation: Any) -> tuple[float | None, str]:
    """The alpha the closed forms use, and where it comes from.

    The synthetic pair's alpha is a knob under speculative sampling; otherwise
    the closed forms take the method's measured keep chance (None until a
    draft has been tested).
    """
    return simulation.theory_alpha(), "set" if simulation.alpha_is_set else "measured"


NOT_MEASURED = "–"  # a figure with nothing measured to compute it from


def priced_speedup(cost: Any, alpha: float, k: int) -> float:
    """The i.i.d. speedup of rounds of k drafts under the run's cost model."""
    if cost.forward_pass is None:
        # The closed form, with exactly the arithmetic it always had.
        return theory.expected_speedup(alpha, k, cost.draft_cost, cost.verify_overhead)
    return cost.expected_speedup(theory.expected_tokens_per_round(alpha, k), k)


OPTIMAL_K_LABELS = ("optimal k (speedup)", "optimal k")
# Where no k beats plain decoding there is no k to recommend: the row says so.
PLAIN_WINS_LABELS = ("plain decoding wins", "plain wins")


def best_k(alpha: float, c: float, v: float, cost: Any = None) -> Any:
    """theory's best k for the sidebar's alpha and cost (OptimalK). Under a
    forward-pass cost model (`cost`), its best k at the run's batch size."""
    if cost is not None and cost.forward_pass is not None:
        return theory.best_draft_length_under(alpha, cost)
    return theory.best_draft_length(alpha, c, verify_overhead=v)


def optimal_k_row(alpha: float | None, c: float, v: float, cost: Any = None) -> tuple[tuple[str, str], str]:
    """The optimal-k row's labels and theory cell: the best k and its speedup,
    or, when even the best k is no faster than one target pass a token, that
    plain decoding wins and the best speculation can do."""
    if alpha is None:
        return OPTIMAL_K_LABELS, NOT_MEASURED
    best = best_k(alpha, c, v, cost)
    if best.speedup <= 1.0:
        return PLAIN_WINS_LABELS, f"max {best.speedup:.2f}"
    return OPTIMAL_K_LABELS, optimal_k_cell(alpha, c, v, cost)


def optimal_k_cell(alpha: float, c: float, v: float, cost: Any = None) -> str:
    """The optimal k and its speedup; where no k maximises S (free drafts) the
    smallest k within 1% of the supremum, and → the supremum."""
    best = best_k(alpha, c, v, cost)
    if best.unbounded:
        return f"{best.k} →∞"
    if best.supremum is not None:
        return f"{best.k} →{best.supremum:.2f}"
    return f"{best.k} ({best.speedup:.2f})"


def measured_rows(simulation: Any) -> list[tuple[tuple[str, str], str, str]]:
    """((full label, short label), measured, theory) for each figure of the
    sidebar's first table. A rate with nothing to divide by, and theory at an
    alpha not measured yet, show NOT_MEASURED."""
    stats, config = simulation.stats, simulation.config
    k, c, v = config.draft_length, config.draft_cost, config.verify_overhead
    alpha, _ = theory_alpha(simulation)
    cost = simulation.cost_model

    def figure(value: float | None) -> str:
        return NOT_MEASURED if value is None else f"{value:.3f}"

    # A token tree: the chain's closed forms do not apply (they show –); its
    # expected length is the recursion on each round's own chances, averaged.
    tree = getattr(simulation, "tree", None) is not None

    def at_alpha(compute) -> str:
        return NOT_MEASURED if alpha is None or tree else f"{compute(alpha):.3f}"

    expected_tokens = at_alpha(lambda a: theory.expected_tokens_per_round(a, k))
    if tree:
        expected_tokens = figure(stats.expected_tokens_given_trees)
    # The synthetic pair sets sum_x min(p, q) to the knob in every context, whatever the method.
    overlap_theory = f"{config.acceptance_rate:.3f}" if simulation.uses_acceptance_rate else ""
    optimal_labels, optimal_cell = optimal_k_row(None if tree else alpha, c, v, cost)
    return [
        # vLLM's num_drafts counts rounds (one target pass each), not draft passes.
        (("rounds (num_drafts)", "rounds"), f"{stats.rounds:,}", ""),
        (("draft passes", "draft passes"), f"{stats.draft_passes:,}", ""),
        (("num_draft_tokens", "drafted"), f"{stats.drafted:,}", ""),
        (("num_accepted_tokens", "accepted"), f"{stats.accepted:,}", ""),
        (("corrections (rejects)", "corrections"), f"{stats.corrections:,}", ""),
        (("bonus tokens", "bonus"), f"{stats.bonus:,}", ""),
        (("skipped drafts", "skipped"), f"{stats.skipped:,}", ""),
        (("tokens emitted", "tokens"), f"{stats.emitted:,}", ""),
        # = tokens per target pass here (every round ends in one target pass).
        (("mean accept. length", "acc. length"), figure(stats.mean_acceptance_length), expected_tokens),
        (
            ("draft acceptance rate", "draft acc."),
            figure(stats.draft_acceptance_rate),
            at_alpha(lambda a: theory.draft_acceptance_rate(a, k)),
        ),
        (("α = mean Σmin(p,q)", "α=Σmin(p,q)"), figure(stats.empirical_alpha), overlap_theory),
        (
            ("method keep chance", "keep chance"),
            figure(stats.method_keep_rate),
            NOT_MEASURED if tree else figure(alpha),
        ),
        (
            ("speedup", "speedup"),
            figure(simulation.cost().speedup if stats.rounds else None),
            at_alpha(lambda a: priced_speedup(cost, a, k)),
        ),
        (optimal_labels, "", optimal_cell),
    ]


def open_round_note(simulation: Any) -> str:
    """Says so when a round has started (DRAFT or VERIFY ran) but is not counted yet."""
    current = simulation.current
    if current is None or simulation.last_phase in (None, Phase.ACCEPT):
        return ""
    return f"round {current.index + 1:,} open: not counted yet"


class StatsSidebar(SimulationView, VerticalScroll):
    """Measured statistics beside the closed forms, then the cost breakdown."""

    HELP = """\
**Statistics.** Measured over the *finished* rounds (a round in progress
counts once its ACCEPT has run; the bottom border says when one is open),
beside theory (i.i.d. closed forms, Leviathan et al. 2023), under the names
vLLM and llama.cpp use: *rounds* are vLLM's `num_drafts` (one target pass
each; not the draft passes, k a round), `num_draft_tokens`,
`num_accepted_tokens` (the kept prefix only). *Mean acceptance length* =
1 + accepted / num_drafts, which is also the tokens per target pass. *Draft
acceptance rate* = accepted / drafted: not alpha, as later positions are
reached less often. *α = mean Σmin(p,q)* is the mean of beta = Σ min(p, q)
over tested positions; the *keep chance* is the run's method's mean chance
of keeping a draft where one was tested (the same under speculative
sampling; q(argmax p) for greedy). Theory uses the knob α for the synthetic
pair with speculative sampling, else the measured keep chance, and shows –
until a draft has been tested. With a token tree the chain's closed forms do
not apply (–), and tokens per pass sits beside the mean of E[tokens | tree].
*Optimal k* with no draft cost has no
maximiser: `→` marks the speedup it approaches, and k is the smallest within
1% of it; where no k is faster than plain decoding the row says *plain
decoding wins* and shows the best speedup speculation reaches. The cost model charges k draft passes of c·T and one target pass
T per round; *without speculation* is one target pass per token.
"""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, can_focus=False)
        self.border_title = "Statistics · finished rounds"
        self._simulation: Any = None

    def compose(self) -> ComposeResult:
        yield Static(id="stats-measured")
        yield Static(id="stats-cost")

    def show_simulation(self, simulation: Any, change: Change) -> None:
        self._simulation = simulation
        # The round view shows a round before it finishes; the figures here wait for its ACCEPT.
        self.border_subtitle = open_round_note(simulation)
        self._redraw()

    def on_resize(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        simulation = self._simulation
        width = self.scrollable_content_region.width
        if simulation is None or width <= 0:
            return
        # Fixed heights (see the .tcss), so no layout pass per update.
        self.query_one("#stats-measured", Static).update(self._measured(simulation, width), layout=False)
        self.query_one("#stats-cost", Static).update(self._cost(simulation, width), layout=False)

    def _measured(self, simulation: Any, width: int) -> Content:
        alpha, alpha_source = theory_alpha(simulation)
        # Full names (REFERENCE §3) when there is room, short ones in a narrow sidebar.
        compact = width < 38
        number = 8 if compact else 9
        columns = [
            Column("", width - 2 * number - 2),
            Column("measured", number, "right"),
            Column("theory", number, "right"),
        ]
        rows = [(label[1] if compact else label[0], *values) for label, *values in measured_rows(simulation)]
        if alpha is None:
            note = "theory: α is measured: run a round"
        elif alpha_source == "set":
            note = f"theory: i.i.d., α set {alpha:.3f}"
        else:
            # Shorter in a narrow sidebar, where the full note would be cut.
            note = f"theory: {'' if compact else 'i.i.d., '}α = keep chance {alpha:.3f}"
        return lines(
            [header(columns)] + [row(columns, cells) for cells in rows] + [Content.styled(note, "$text-muted")]
        )

    def _cost(self, simulation: Any, width: int) -> Content:
        cost = simulation.cost()
        config = simulation.config
        columns = [Column(f"cost, T = {config.target_pass_ms:g} ms", width - 13), Column("", 12, "right")]
        times = format_ms_column([cost.target_ms, cost.draft_ms, cost.total_ms, cost.baseline_ms])
        labels = ("target passes", "draft passes", "total (speculative)", "without speculation")
        rows = [*zip(labels, times), ("speedup", f"{cost.speedup:.3f}×" if cost.total_ms else "–")]
        return lines([header(columns)] + [row(columns, cells) for cells in rows])
