"""Timeline: draft and target passes of the recent rounds on a wall-clock axis from the cost
model, plain decoding of the same tokens below, and k per round."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Static

from specviz.app.recent_rounds import RoundRecord, recent_rounds
from specviz.app.view_catalog import view_title
from specviz.app.widgets.analysis_view import AnalysisView
from specviz.app.widgets.chart import Chart, nice_ticks, theme_rgb, tick_label
from specviz.app.widgets.stats_sidebar import format_ms, format_ms_column
from specviz.app.wording import counted
from specviz.engine.analysis.cost import CostModel

DRAFT_LANE, TARGET_LANE, PLAIN_LANE = 2.0, 1.0, 0.0
# The per-step overhead (scheduling, sampling) sits between drafting and verifying.
OVERHEAD_LANE = 1.5
HALF_BAR = 0.3
# The k chart shows at most this many rounds (one column or two each).
K_ROUNDS = 120


def rounds_shown(width: int) -> int:
    """How many rounds the timeline fits: about 14 columns each, 2 to 12."""
    return max(2, min(12, width // 14))


def pass_layout(
    rounds: list[RoundRecord], cost: CostModel
) -> tuple[list[tuple[float, float, float, int]], list[tuple[float, float, int]]]:
    """Where each pass falls, in ms from the first round's start, priced by the run's cost model.

    Speculative, per round: its drafting (draft passes of c T each, or a head's
    one proposal), the per-step overhead when the model has one, then one
    target pass scoring the drafts (T (1 + v k)): (lane, start, end, round).
    Plain decoding: one plain step T per token the same rounds emitted:
    (start, end, round). The sums are exactly `CostModel.breakdown`'s.
    """
    target_pass_ms = cost.target_pass_ms
    passes = []
    clock = 0.0
    for record in rounds:
        draft_ms = target_pass_ms * cost.draft_cost * record.draft_passes
        overhead_ms = 0.0
        if record.drafted:
            # A head's proposal and the step overhead are paid once per drafting round.
            draft_ms += target_pass_ms * (cost.draft_round_cost + cost.draft_token_cost * record.drafted)
            overhead_ms = target_pass_ms * cost.step_overhead
        for lane, ms in ((DRAFT_LANE, draft_ms), (OVERHEAD_LANE, overhead_ms)):
            if ms > 0:
                passes.append((lane, clock, clock + ms, record.index))
                clock += ms
        end = clock + cost.verify_pass_ms(record.drafted)
        passes.append((TARGET_LANE, clock, end, record.index))
        clock = end
    plain = []
    clock = 0.0
    for record in rounds:
        for _ in range(record.emitted):
            plain.append((clock, clock + target_pass_ms, record.index))
            clock += target_pass_ms
    return passes, plain


def cost_summary(cost: CostModel) -> str:
    """The cost model in the caption's words: T and c (and v), or the preset at b."""
    if cost.forward_pass is None:
        return f"T = {cost.target_pass_ms:g} ms, c = {cost.draft_cost:g}" + (
            f", v = {cost.verify_overhead:g}" if cost.verify_overhead else ""
        )
    return f"{cost.name} at b = {cost.batch_size:,}: T = {format_ms(cost.target_pass_ms)}"


def draft_length_ticks(top: int, rows: int) -> list[int]:
    """At most one tick per plot row from 0 to `top` (plotext drops clashing
    labels in no fixed order, so a short chart must not be given too many)."""
    count = max(2, min(top + 1, rows, 5))
    return sorted({round(i * top / (count - 1)) for i in range(count)})


class TimelineView(AnalysisView):
    TITLE = view_title("timeline")
    HELP = """\
**Timeline** (`4`). The recent rounds on a wall-clock axis from the cost model:
the draft lane holds each round's draft passes (c·T each; a draft head's one
proposal under a cost model), the target lane its one verifying pass (T, plus
v·T per draft when verify overhead v is set or the cost model prices it), a
thin bar between them the cost model's per-step overhead, and
the plain lane below decodes the same tokens one target pass T each. Each
round has its own colour in all three lanes, and its target pass is labelled
with the tokens it emitted. Below: k per round (planned, drafted and kept)
for the last rounds, which the heuristic and confidence policies move.
"""

    def compose(self) -> ComposeResult:
        yield Static(id="timeline-caption", classes="view-caption")
        yield Chart(id="timeline-chart")
        yield Static(id="rounds-caption", classes="view-caption")
        yield Chart(id="rounds-chart")

    def new_run(self, simulation: Any) -> None:
        recent_rounds(simulation)  # start recording if the App has not

    def on_resize(self) -> None:
        if self.simulation is not None and self.displayed:
            self.catch_up()  # how many rounds fit depends on the width

    def draw(self, simulation: Any) -> None:
        record = recent_rounds(simulation)
        caption = self.query_one("#timeline-caption", Static)
        timeline = self.query_one("#timeline-chart", Chart)
        k_chart = self.query_one("#rounds-chart", Chart)
        timeline.plt.clear_data()
        k_chart.plt.clear_data()
        if not record.rounds:
            self.update_caption(caption, "No round yet: run some rounds (enter, e or a) to see them on the clock.")
            self.update_caption(self.query_one("#rounds-caption", Static), "")
            timeline.refresh()
            k_chart.refresh()
            return
        self._draw_timeline(simulation, record.last(rounds_shown(timeline.size.width or self.size.width)))
        self._draw_draft_lengths(simulation, record.last(K_ROUNDS))

    def _draw_timeline(self, simulation: Any, rounds: list[RoundRecord]) -> None:
        chart = self.query_one("#timeline-chart", Chart)
        plt = chart.plt
        colours = [theme_rgb(self, "primary"), theme_rgb(self, "accent")]
        cost = simulation.cost_model
        passes, plain = pass_layout(rounds, cost)
        first = rounds[0].index
        for lane, start, end, index in passes:
            half = HALF_BAR / 3 if lane == OVERHEAD_LANE else HALF_BAR  # the overhead: a thin bar, not a lane
            plt.rectangle([start, end], [lane - half, lane + half], fill=True, color=colours[(index - first) % 2])
        for start, end, index in plain:
            # A hair's gap between tokens so each pass reads as one.
            plt.rectangle(
                [start, end - 0.08 * (end - start)],
                [PLAIN_LANE - HALF_BAR, PLAIN_LANE + HALF_BAR],
                fill=True,
                color=colours[(index - first) % 2],
            )
        for record, (_lane, start, end, _index) in zip(rounds, [p for p in passes if p[0] == TARGET_LANE]):
            plt.text(
                f"+{record.emitted}",
                (start + end) / 2,
                TARGET_LANE + HALF_BAR + 0.25,
                color=theme_rgb(self, "foreground"),
                alignment="center",
            )
        speculative_ms = passes[-1][2]
        plain_ms = plain[-1][1]
        plt.yticks([PLAIN_LANE, TARGET_LANE, DRAFT_LANE], ["plain", "target", "draft"])
        plt.ylim(PLAIN_LANE - 0.6, DRAFT_LANE + 0.6)
        end_ms = max(speculative_ms, plain_ms) * 1.01
        plt.xlim(0, end_ms)
        ticks = nice_ticks(end_ms, max(2, (chart.size.width or self.size.width) // 12))
        plt.xticks(ticks, [tick_label(tick) for tick in ticks])
        plt.xlabel("ms (cost model)")
        tokens = sum(r.emitted for r in rounds)
        span = f"round {first + 1:,}" if len(rounds) == 1 else f"rounds {first + 1:,}–{rounds[-1].index + 1:,}"
        speculative_text, plain_text = format_ms_column([speculative_ms, plain_ms])  # one unit for both
        self.update_caption(
            self.query_one("#timeline-caption", Static),
            f"{span}: {counted(tokens, 'token')} in {speculative_text} speculative, {plain_text} plain "
            f"({plain_ms / speculative_ms:.2f}×) · {cost_summary(cost)}",
        )
        chart.refresh()

    def _draw_draft_lengths(self, simulation: Any, rounds: list[RoundRecord]) -> None:
        chart = self.query_one("#rounds-chart", Chart)
        plt = chart.plt
        x = [r.index + 1 for r in rounds]
        plt.plot(
            x, [r.planned for r in rounds], color=theme_rgb(self, "secondary"), label="k planned", marker="braille"
        )
        plt.scatter(x, [r.drafted for r in rounds], color=theme_rgb(self, "primary"), label="drafted", marker="dot")
        plt.scatter(x, [r.accepted for r in rounds], color=theme_rgb(self, "success"), label="kept", marker="dot")
        top = max(r.planned for r in rounds)
        plt.ylim(0, top + 1)
        plt.yticks(draft_length_ticks(top + 1, chart.size.height - 4))
        step = max(1, len(x) // 8)
        plt.xticks(x[::step])
        plt.xlabel("round")
        config = simulation.config
        mean_k = sum(r.drafted for r in rounds) / len(rounds)
        self.update_caption(
            self.query_one("#rounds-caption", Static),
            f"k per round, last {len(rounds)}: {config.draft_policy} policy from k = {config.draft_length}, "
            f"mean drafted {mean_k:.2f}",
        )
        chart.refresh()
