"""From a series' counts to specviz's figures, and from those to advice on k.

Every figure says what it divides by (REFERENCE §3); one the counts do not
allow is None, with a note saying why.

- mean acceptance length = 1 + accepted / steps (the bonus or correction counted);
- draft acceptance rate = accepted / drafted;
- per-position acceptance [i] = steps whose kept prefix reaches position i / steps
  (vLLM's definition: unconditional, non-increasing);
- conditional acceptance [i] = per-position [i] / per-position [i - 1]: the
  chance a draft at position i is kept given position i was reached. Under
  i.i.d. acceptance every entry is alpha; falling entries are what the
  closed forms miss;
- alpha_iid: the alpha whose (1 - alpha^(k+1)) / (1 - alpha) is the measured
  mean acceptance length at the measured k;
- tokens-per-step distribution: from a histogram, the whole law.

Advice: tokens per step at draft length k is E(k) = 1 + sum_{i<=k} prod_{j<=i} c_j
over the conditional rates c; beyond the measured positions the last measured
rate (or alpha_iid) carries on, and those k are marked extrapolated. The
speedup is the cost model's `expected_speedup(E(k), k)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from specviz.engine.analysis.cost import CostModel
from specviz.engine.io.importers.base import Series, at_least

# Relative margin a speedup must beat to displace a smaller k (theory.optimal_k's rule).
TIE = 1e-12
EXTRAPOLATIONS = ("last", "iid")

DEFINITIONS = {
    "num_drafts": "verification steps (vLLM's num_drafts): one per request per target pass",
    "num_draft_tokens": "draft tokens proposed",
    "num_accepted_tokens": "drafts kept: the prefix before the first rejection (no bonus token)",
    "mean_acceptance_length": "1 + accepted / steps: tokens per step, the bonus or correction token counted",
    "draft_acceptance_rate": "accepted / drafted (not alpha: later positions are reached less often)",
    "per_position_acceptance": "steps whose kept prefix reaches position i / steps (vLLM's definition)",
    "conditional_acceptance": "per-position rate at i / at i - 1: P(kept at i | position i reached)",
    "alpha_iid": "the i.i.d. alpha whose (1 - alpha^(k+1)) / (1 - alpha) is the mean acceptance length at k",
}


def alpha_for_length(mean_length: float, k: int) -> float:
    """The alpha in [0, 1] with 1 + alpha + ... + alpha^k = mean_length (bisection).

    The sum rises with alpha from 1 (alpha = 0) to k + 1 (alpha = 1), so a mean
    length outside [1, k + 1] gives the nearer end.
    """
    if mean_length <= 1.0:
        return 0.0
    if mean_length >= k + 1:
        return 1.0
    low, high = 0.0, 1.0
    for _ in range(200):
        middle = (low + high) / 2
        if sum(middle**i for i in range(k + 1)) < mean_length:
            low = middle
        else:
            high = middle
        if high - low < 1e-15:
            break
    return (low + high) / 2


def derive(series: Series, draft_length: int | None = None) -> dict[str, Any]:
    """specviz's figures for one series, as a JSON-ready dict (no advice yet).

    `draft_length` is the k the user gave (-k), used when the records do not say.
    """
    notes = list(series.notes)
    warnings = list(series.warnings)
    steps, drafted, accepted = series.num_drafts, series.num_draft_tokens, series.num_accepted_tokens
    histogram = series.acceptance_histogram
    if histogram is not None and series.histogram_records < series.records:
        notes.append(
            f"acceptance histogram: from {series.histogram_records:,} of the {series.records:,} records (the "
            "others give none or one that does not fit their counts)"
        )
    elif histogram is not None:
        if steps is None:
            steps = sum(histogram)
        if accepted is None:
            accepted = sum(j * n for j, n in enumerate(histogram))
    k = series.draft_length
    if k is None and draft_length is not None:
        k = draft_length
        notes = [note for note in notes if not note.startswith("draft_length:")]
        notes.append(f"draft_length: {k}, from -k (the records do not say)")
    elif k is not None and draft_length is not None and draft_length != k:
        notes.append(f"draft_length: the records say k = {k}; -k {draft_length} is not used")
    if len(series.draft_lengths_seen) > 1:
        notes.append(
            "draft_length: the records use k = "
            + ", ".join(map(str, sorted(series.draft_lengths_seen)))
            + "; the largest is shown, and per-position rates mix them"
        )
    counts, position_steps = series.accepted_per_position, series.position_drafts
    if counts is None and histogram is not None:
        counts, position_steps = at_least(histogram), sum(histogram)
    elif counts is not None and series.position_records < series.records:
        notes.append(
            f"per-position rates: from {series.position_records:,} of the {series.records:,} records, over their "
            f"{position_steps:,} steps (the others give no per-position counts, or ones that do not fit)"
        )
    if counts is not None and k is not None and len(counts) < k:
        counts = counts + [0] * (k - len(counts))  # positions no step reached
    if counts is not None and k is not None and len(counts) > k:
        warnings.append(f"steps kept {len(counts)} drafts, more than k = {k}")
    if counts is None and steps is not None:
        notes.append("per_position_acceptance: these records give no per-position counts or histogram")

    mean_length = None
    if accepted is not None and steps:
        mean_length = 1 + accepted / steps
    elif series.mean_acceptance_length is not None:
        mean_length = series.mean_acceptance_length
    elif steps == 0:
        notes.append("no verification step recorded: no rate can be computed")
    rate = accepted / drafted if accepted is not None and drafted else None
    per_position = [n / position_steps for n in counts] if counts is not None and position_steps else None
    conditional = conditional_rates(per_position) if per_position is not None else None
    alpha = None
    if mean_length is not None and k:
        if mean_length > k + 1 + 1e-9:
            warnings.append(f"mean acceptance length {mean_length:.3f} is more than k + 1 = {k + 1}")
        alpha = alpha_for_length(mean_length, k)
    elif mean_length is not None:
        notes.append("alpha_iid: needs the draft length k (give -k)")
    distribution = None
    if histogram is not None and steps:
        distribution = {str(j + 1): n / steps for j, n in enumerate(histogram) if n}
    figures = {
        "engine": series.engine,
        "format": series.format,
        "label": series.label,
        "records": series.records,
        "first": series.first,
        "last": series.last,
        "num_drafts": steps,
        "num_draft_tokens": drafted,
        "num_accepted_tokens": accepted,
        "draft_length": k,
        "mean_acceptance_length": mean_length,
        "draft_acceptance_rate": rate,
        "accepted_per_position": counts,
        "per_position_acceptance": per_position,
        "conditional_acceptance": conditional,
        "alpha_iid": alpha,
        "iid_per_position": [alpha**i for i in range(1, len(per_position) + 1)]
        if alpha is not None and per_position is not None
        else None,
        "acceptance_histogram": histogram,
        "tokens_per_step_distribution": distribution,
        "engine_figures": dict(series.engine_figures),
        "engine_definitions": dict(series.engine_definitions),
        "definitions": DEFINITIONS,
        "notes": notes,
        "warnings": warnings,
    }
    return figures


def conditional_rates(per_position: list[float]) -> list[float | None]:
    """Entry i: per_position[i] / per_position[i - 1] (the first over 1); None past a position no step reached."""
    out: list[float | None] = []
    previous = 1.0
    for rate in per_position:
        out.append(rate / previous if previous > 0 else None)
        previous = rate
    return out


def advise(figures: dict[str, Any], cost_model: CostModel, extrapolation: str = "last") -> dict[str, Any] | None:
    """Tokens per step and speedup at every k from 1 to twice the measured k;
    None when neither per-position rates nor alpha_iid are known."""
    per_position = figures["per_position_acceptance"] or []
    alpha = figures["alpha_iid"]
    measured_k = figures["draft_length"]
    if not per_position and alpha is None:
        return None
    reference_k = measured_k or len(per_position)
    if not reference_k:
        return None
    conditional = [c for c in (figures["conditional_acceptance"] or []) if c is not None]
    last = conditional[-1] if conditional else None
    if extrapolation == "iid" and alpha is not None or last is None:
        tail, tail_rule = alpha, "alpha_iid"
    else:
        tail, tail_rule = last, "the last measured conditional rate"
    rows = []
    tokens, reach = 1.0, 1.0
    for k in range(1, 2 * reference_k + 1):
        extrapolated = k > len(per_position)
        reach = per_position[k - 1] if not extrapolated else reach * (tail or 0.0)
        tokens += reach
        rows.append(
            {
                "k": k,
                "tokens_per_step": tokens,
                "speedup": cost_model.expected_speedup(tokens, k),
                "extrapolated": extrapolated,
            }
        )
    best = rows[0]
    for row in rows[1:]:
        if row["speedup"] > best["speedup"] * (1 + TIE):
            best = row
    at_measured = rows[measured_k - 1]["speedup"] if measured_k and measured_k <= len(rows) else None
    beats = best["speedup"] > 1.0
    if not beats:
        verdict = (
            f"no k from 1 to {rows[-1]['k']} beats plain decoding at this cost "
            f"(best: k = {best['k']}, {best['speedup']:.2f}x): speculation does not pay here"
        )
    elif at_measured is None:
        verdict = f"best k = {best['k']}: {best['speedup']:.2f}x over plain decoding"
    elif best["k"] == measured_k:
        verdict = f"the measured k = {measured_k} is already the best: {best['speedup']:.2f}x"
    else:
        verdict = (
            f"k = {best['k']} would give {best['speedup']:.2f}x against {at_measured:.2f}x at the measured "
            f"k = {measured_k} ({best['speedup'] / at_measured - 1:+.1%})"
        )
        if not per_position:
            verdict += "; every k from alpha_iid (the records give no per-position rates)"
        elif best["extrapolated"]:
            verdict += "; it lies past the measured positions (extrapolated)"
    return {
        "best_k": best["k"],
        "best_speedup": best["speedup"],
        "speedup_at_measured_k": at_measured,
        "gain_over_measured_k": best["speedup"] / at_measured if at_measured else None,
        "beats_plain_decoding": beats,
        "verdict": verdict,
        "measured_positions": len(per_position),
        "extrapolation": {"rule": tail_rule, "rate": tail},
        "speedup_by_k": rows,
        "cost_model": cost_model.describe(),
    }


def summarise(
    results: Sequence[Any], cost_model: CostModel, draft_length: int | None = None, extrapolation: str = "last"
) -> dict[str, Any]:
    """The whole import as one JSON-ready dict (what `specviz import --json` prints):
    every series of every source, each with its figures and advice."""
    model = cost_model.describe()
    if cost_model.forward_pass is None:
        model.update(draft_cost=cost_model.draft_cost, verify_overhead=cost_model.verify_overhead)
    series_out = []
    warnings = []
    for result in results:
        for series in result.series:
            figures = derive(series, draft_length)
            figures.pop("definitions")
            figures["source"] = result.source
            advice = advise({**figures}, cost_model, extrapolation)
            if advice is not None:
                advice["cost_model"] = model
            figures["advice"] = advice
            series_out.append(figures)
        warnings += [f"{result.source}: {text}" for text in result.warnings]
    summary: dict[str, Any] = _finite(
        {
            "sources": [result.source for result in results],
            "formats": sorted({figures["format"] for figures in series_out}),
            "cost_model": model,
            "extrapolation": extrapolation,
            "definitions": DEFINITIONS,
            "series": series_out,
            "warnings": warnings,
        }
    )
    return summary


def _finite(value: Any) -> Any:
    """`value` with every nan or inf replaced by None (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
