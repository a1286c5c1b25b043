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


def format_ms(ms: float) -> str:
    """Milliseconds, switching to seconds once the figure gets long."""
    if ms < 10_000:
        return f"{ms:,.1f} ms"
    return f"{ms / 1000:,.1f} s"


def theory_alpha(simulation: Any) -> tuple[float, str]:
    """The alpha the closed forms use, and where it comes from.

    The synthetic pair's alpha is a knob; for models whose acceptance emerges
    from p and q the closed forms take the measured mean of beta instead.
    """
    return simulation.theory_alpha(), "set" if simulation.alpha_is_set else "measured"


class StatsSidebar(SimulationView, VerticalScroll):
    """Measured statistics beside the closed forms, then the cost breakdown."""

    HELP = """\
**Statistics.** Measured beside theory (i.i.d. closed forms, Leviathan et
al. 2023), under the names vLLM and llama.cpp use: `num_drafts` = target
passes (rounds), `num_draft_tokens`, `num_accepted_tokens` (the kept prefix
only). *Tokens per target pass* = emitted / rounds (vLLM's *mean acceptance
length*, 1 + accepted / num_drafts, is the same figure here). *Draft
acceptance rate* = accepted / drafted: not alpha, as later positions are
reached less often. *alpha* is the mean of beta = Σ min(p, q) over tested
positions. The cost model charges k draft passes of c·T and one target pass
T per round; *without speculation* is one target pass per token.
"""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, can_focus=False)
        self.border_title = "Statistics"
        self._simulation: Any = None

    def compose(self) -> ComposeResult:
        yield Static(id="stats-measured")
        yield Static(id="stats-cost")

    def show_simulation(self, simulation: Any, change: Change) -> None:
        self._simulation = simulation
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
        stats = simulation.stats
        config = simulation.config
        k = config.draft_length
        alpha, alpha_source = theory_alpha(simulation)
        c, v = config.draft_cost, config.verify_overhead
        expected_tokens = theory.expected_tokens_per_round(alpha, k)
        best_k, best_speedup = theory.optimal_k(alpha, c, verify_overhead=v)
        measured = stats.rounds > 0

        def figure(value: float) -> str:
            return f"{value:.3f}" if measured else "–"

        # Full names (REFERENCE §3) when there is room, short ones in a narrow sidebar.
        compact = width < 38
        number = 8 if compact else 9
        columns = [
            Column("", width - 2 * number - 2),
            Column("measured", number, "right"),
            Column("theory", number, "right"),
        ]
        rows = [
            (("num_drafts (rounds)", "rounds"), f"{stats.rounds:,}", ""),
            (("draft passes", "draft passes"), f"{stats.draft_passes:,}", ""),
            (("num_draft_tokens", "drafted"), f"{stats.drafted:,}", ""),
            (("num_accepted_tokens", "accepted"), f"{stats.accepted:,}", ""),
            (("corrections (rejects)", "corrections"), f"{stats.corrections:,}", ""),
            (("bonus tokens", "bonus"), f"{stats.bonus:,}", ""),
            (("skipped drafts", "skipped"), f"{stats.skipped:,}", ""),
            (("tokens emitted", "tokens"), f"{stats.emitted:,}", ""),
            (("tokens / target pass", "tokens/pass"), figure(stats.tokens_per_target_pass), f"{expected_tokens:.3f}"),
            (("mean accept. length", "acc. length"), figure(stats.mean_acceptance_length), f"{expected_tokens:.3f}"),
            (
                ("draft acceptance rate", "draft acc."),
                figure(stats.draft_acceptance_rate),
                f"{theory.draft_acceptance_rate(alpha, k):.3f}",
            ),
            (("α = mean Σmin(p,q)", "α = mean β"), figure(stats.empirical_alpha), f"{alpha:.3f}"),
            (
                ("speedup", "speedup"),
                figure(simulation.cost().speedup),
                f"{theory.expected_speedup(alpha, k, c, v):.3f}",
            ),
            (("optimal k (speedup)", "optimal k"), "", f"{best_k} ({best_speedup:.2f})"),
        ]
        rows = [(label[1] if compact else label[0], *values) for label, *values in rows]
        note = Content.styled(f"theory: i.i.d., α {alpha_source} {alpha:.3f}", "$text-muted")
        return lines([header(columns)] + [row(columns, cells) for cells in rows] + [note])

    def _cost(self, simulation: Any, width: int) -> Content:
        cost = simulation.cost()
        config = simulation.config
        columns = [Column(f"cost, T = {config.target_pass_ms:g} ms", width - 13), Column("", 12, "right")]
        rows = [
            ("target passes", format_ms(cost.target_ms)),
            ("draft passes", format_ms(cost.draft_ms)),
            ("total (speculative)", format_ms(cost.total_ms)),
            ("without speculation", format_ms(cost.baseline_ms)),
            ("speedup", f"{cost.speedup:.3f}×" if cost.total_ms else "–"),
        ]
        return lines([header(columns)] + [row(columns, cells) for cells in rows])
