"""An imported engine log (`specviz import FILE --open`) drawn over the positions and speedup views.

The app holds the import (`app.imported`, an engine OpenedImport); without
one every function here draws nothing and composes nothing, so the views
look exactly as they do on a plain run. The measured series are marks
(● ▲ ■ □), not only colours, and each legend entry names the engine and the series.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from specviz.app.widgets.chart import theme_rgb
from specviz.engine.run.config import MAX_DRAFT_LENGTH

HELP = """\
## Import (`specviz import FILE --open`)

An engine's log is open. The **positions** view (`3`) adds the log's
per-position acceptance as vLLM defines it (`●`: steps whose kept prefix
reaches position i / steps), its conditional rates (`▲`: kept at i given
position i was reached, which falls with i where the i.i.d. closed forms do
not hold) and α_iid^i, the closed form for the log's i.i.d. fit (line). The
**speedup** view (`1`) adds the speedup at each k predicted from the log's
measured conditional rates, priced by the run's cost model (`■`; `□` past the
measured positions, extrapolated), beside the closed form S(k). `i` restarts
the run set up from the log: k from its draft_length, α from alpha_iid, the
cost settings its advice used; a value the log does not give is kept, and the
line below the fields says so. With several series the command palette
(`ctrl+p`, "Import") switches between them.
"""

# The run's rates at each position: vLLM's, α^i, the conditional rate.
RunRates = tuple[list[float], list[float], list[float]]

MEASURED_MARK = "●"
CONDITIONAL_MARK = "▲"
RUN_MEASURED_MARK = "○"
RUN_CONDITIONAL_MARK = "△"
ADVISED_MARK = "■"
EXTRAPOLATED_MARK = "□"
# Where about each position its marks sit: the import's vLLM rate, the
# run's, the import's conditional rate, the run's (at position 1 the two
# rates are one number, so they must not share a place).
OFFSETS = {MEASURED_MARK: -0.24, RUN_MEASURED_MARK: -0.08, CONDITIONAL_MARK: 0.08, RUN_CONDITIONAL_MARK: 0.24}
# Rows of a chart that are not its canvas: the frame's two, the x ticks and the axis labels.
CHART_FRAME_ROWS = 4


def opened_import(widget: Widget) -> Any:
    """The app's open import (an OpenedImport), or None."""
    return getattr(widget.app, "imported", None)


def import_caption(widget: Widget, name: str) -> ComposeResult:
    """The import's caption line (id NAME-import), only while an import is open."""
    if opened_import(widget) is not None:
        yield Static(id=f"{name}-import", classes="view-caption")


def legend_top(view: Any, plt: Any, low: float, high: float) -> float:
    """The top of a y axis from `low` to at least `high` that leaves the
    legend (one row per labelled series, from the canvas's top) rows of its
    own, so it hides none of the import's marks."""
    height = view.query_one(f"#{view.NAME}-chart").size.height or 24
    rows = height - CHART_FRAME_ROWS - 1
    labels = sum(1 for label in getattr(plt.monitor, "label", []) if label)
    if rows <= labels + 1:
        return high + (high - low)  # no room to be had: at least half the canvas
    return high + (high - low) * labels / (rows - labels)


def _show(view: Any, name: str, text: str) -> None:
    view.update_caption(view.query_one(f"#{name}-import", Static), text)


def _rate(value: float | None) -> str:
    return "null" if value is None else f"{value:.3f}"


def draw_positions(view: Any, plt: Any, run: RunRates | None) -> int:
    """Draw the import's per-position rates and α_iid^i on `plt`, and the
    run's `run` rates as marks beside them (bars would hide them); caption
    the import. Returns how many positions the chart needs; 0 without an import."""
    opened = opened_import(view)
    if opened is None:
        return 0
    series, name = opened.current, opened.name()
    measured = series["per_position_acceptance"] or []
    conditional = series["conditional_acceptance"] or []
    alpha, k = series["alpha_iid"], series["draft_length"]
    run_vllm, run_predicted, run_conditional = run or ([], [], [])
    positions = min(MAX_DRAFT_LENGTH, max(len(run_vllm), len(measured), k or 0))
    # Lines first: a line drawn later would paint over the marks.
    if run_predicted:
        xs = list(range(1, len(run_predicted) + 1))
        plt.plot(xs, run_predicted, color=theme_rgb(view, "secondary"), marker="braille", label="α^i (the run's α)")
    if alpha is not None and positions:
        xs = list(range(1, positions + 1))
        plt.plot(xs, [alpha**i for i in xs], color=theme_rgb(view, "foreground"), marker="braille", label="α_iid^i")
    for rates, mark, colour, what in (
        (run_vllm, RUN_MEASURED_MARK, "primary", "kept at i / drafts (vLLM)"),
        (run_conditional, RUN_CONDITIONAL_MARK, "success", "kept / tested at i"),
    ):
        if rates:
            plt.scatter(
                [i + OFFSETS[mark] for i in range(1, len(rates) + 1)],
                rates,
                color=theme_rgb(view, colour),
                marker=mark,
                label=f"this run: {what}",
            )
    if measured:
        xs = list(range(1, len(measured) + 1))
        plt.scatter(
            [i + OFFSETS[MEASURED_MARK] for i in xs],
            measured,
            color=theme_rgb(view, "warning"),
            marker=MEASURED_MARK,
            label=f"{name}: kept at i / steps (vLLM)",
        )
        drawn = [(i, rate) for i, rate in zip(xs, conditional) if rate is not None]
        if drawn:
            plt.scatter(
                [i + OFFSETS[CONDITIONAL_MARK] for i, _ in drawn],
                [rate for _, rate in drawn],
                color=theme_rgb(view, "error"),
                marker=CONDITIONAL_MARK,
                label=f"{name}: kept / reached at i",
            )
    head = f"import {name}: k = {k if k is not None else 'null'}, α_iid = {_rate(alpha)}"
    if not measured:
        text = f"{head} · the log gives no per-position counts" + (": α_iid^i only" if alpha is not None else "")
    else:
        i = min(2, len(measured))
        reached = conditional[i - 1] if i <= len(conditional) else None
        iid = f", α_iid^{i} {alpha**i:.3f}" if alpha is not None else ""
        text = (
            f"{head} · position {i}: {MEASURED_MARK} {measured[i - 1]:.3f}, {CONDITIONAL_MARK} "
            f"conditional {_rate(reached)}{iid} · conditional by position: "
            + " ".join(_rate(rate) for rate in conditional)
        )
    _show(view, "positions", text)
    return positions


def imported_draft_lengths(view: Any, cost: Any) -> int:
    """The largest k the import's speedup curve reaches (0 without an import or advice)."""
    opened = opened_import(view)
    advice = opened.advice_under(cost) if opened is not None else None
    return min(MAX_DRAFT_LENGTH, len(advice["speedup_by_k"])) if advice else 0


def draw_speedups(view: Any, plt: Any, cost: Any, k_max: int, drawn: list[float]) -> bool:
    """Draw the import's speedup by k (priced by the run's cost model `cost`) up to `k_max`, with
    room above it and the speedups already `drawn` for the legend; caption it. Returns whether it drew."""
    opened = opened_import(view)
    if opened is None:
        return False
    series, name = opened.current, opened.name()
    advice = opened.advice_under(cost)
    if advice is None:
        _show(view, "speedup", f"import {name}: the log gives neither per-position rates nor alpha_iid: no curve")
        return False
    rows = [row for row in advice["speedup_by_k"] if row["k"] <= k_max]
    for extrapolated, mark, what in (
        (False, ADVISED_MARK, "from its measured rates"),
        (True, EXTRAPOLATED_MARK, "extrapolated"),
    ):
        part = [row for row in rows if row["extrapolated"] is extrapolated]
        if part:
            plt.scatter(
                [row["k"] for row in part],
                [row["speedup"] for row in part],
                color=theme_rgb(view, "secondary" if extrapolated else "error"),
                marker=mark,
                label=f"{name}: {what}",
            )
    values = [1.0, *drawn, *(row["speedup"] for row in rows)]
    low, high = min(values), max(values)
    low -= 0.05 * (high - low)
    plt.ylim(low, legend_top(view, plt, low, high))
    k = series["draft_length"]
    best = f"best k = {advice['best_k']}: {advice['best_speedup']:.2f}×"
    if advice["best_k"] > advice["measured_positions"]:
        best += " (extrapolated)"
    at = advice["speedup_at_measured_k"]
    logged = f" · {at:.2f}× at the logged k = {k}" if at is not None else " · k not in the log"
    if not advice["measured_positions"]:
        basis = "every k from α_iid (the log gives no per-position rates)"
    else:
        rule = advice["extrapolation"]["rule"]
        basis = (
            f"{ADVISED_MARK} from its {advice['measured_positions']} measured positions, "
            f"{EXTRAPOLATED_MARK} past them by {rule}"
        )
    pays = "" if advice["beats_plain_decoding"] else " · no k beats plain decoding"
    _show(view, "speedup", f"import {name}: {best}{logged}{pays} · {basis} · priced as the run")
    return True
