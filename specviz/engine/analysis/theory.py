"""Closed forms for i.i.d. acceptance (Leviathan et al. 2023; REFERENCE §2-3).

alpha is the per-token acceptance rate, k the draft length, c the draft/target
cost ratio. Each function handles alpha = 1 (the geometric sums degenerate)
and c = 0. With c = 0 (and no verify overhead) the speedup rises with k
towards 1/(1 - alpha) without reaching it, and with alpha = 1 it rises towards
1/(c + v) (without bound when c + v = 0): no k maximises it, and
`best_draft_length` says so (see OptimalK).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from specviz.engine.analysis.cost import BATCH_SIZES, CostModel
from specviz.engine.run.config import MAX_DRAFT_LENGTH

#: Where no k maximises the speedup, "optimal k" is the smallest k whose
#: speedup is within this fraction of the supremum.
SUPREMUM_TOLERANCE = 0.01


def _geometric_sum(alpha: float, terms: int) -> float:
    """1 + alpha + ... + alpha^(terms-1), exact at alpha = 1."""
    if alpha == 1.0:
        return float(terms)
    return (1.0 - alpha**terms) / (1.0 - alpha)


def expected_tokens_per_round(alpha: float, k: int) -> float:
    """E[tokens] = (1 - alpha^(k+1)) / (1 - alpha); k + 1 at alpha = 1."""
    return _geometric_sum(alpha, k + 1)


def expected_speedup(alpha: float, k: int, c: float, verify_overhead: float = 0.0) -> float:
    """S = E[tokens] / (k c + 1 + v k): emitted tokens per round over the round's cost
    in target-pass units (v = 0 is the paper's formula)."""
    return expected_tokens_per_round(alpha, k) / (k * c + 1.0 + verify_overhead * k)


@dataclass(frozen=True)
class OptimalK:
    """The k to draft for an alpha and a cost, and whether it truly maximises S.

    `supremum` is set when no k attains the best speedup: S rises with k
    towards it (c = v = 0 with alpha < 1: 1/(1 - alpha); alpha = 1 with
    c + v < 1: 1/(c + v)), and `k` is then the smallest k within
    SUPREMUM_TOLERANCE of it. `unbounded` is set when S grows without bound
    (alpha = 1, c + v = 0): `k` is then k_max. `note` says which in words, and
    is None when `k` maximises S over every k.
    """

    k: int
    speedup: float
    supremum: float | None = None
    unbounded: bool = False
    k_max: int = MAX_DRAFT_LENGTH

    @property
    def maximises(self) -> bool:
        return self.supremum is None and not self.unbounded

    @property
    def note(self) -> str | None:
        if self.unbounded:
            return (
                f"no maximiser: the speedup grows without bound in k (α = 1, no draft cost); k capped at {self.k_max}"
            )
        if self.supremum is None:
            return None
        within = f"{SUPREMUM_TOLERANCE:.0%}"
        reached = _near(self.speedup, self.supremum)
        where = (
            f"k = {self.k} is the smallest within {within} of it"
            if reached
            else f"no k up to {self.k_max} is within {within} of it; k = {self.k} comes closest"
        )
        return f"no maximiser: the speedup rises with k towards {self.supremum:.3f}× without reaching it; {where}"


def _near(speedup: float, supremum: float) -> bool:
    """True when `speedup` is within SUPREMUM_TOLERANCE of `supremum`."""
    return speedup >= (1.0 - SUPREMUM_TOLERANCE) * supremum


def speedup_supremum(alpha: float, c: float, verify_overhead: float = 0.0) -> float | None:
    """sup over k of expected_speedup when S rises with k forever (no maximiser):
    1/(1 - alpha) at c + v = 0 with 0 < alpha < 1, 1/(c + v) at alpha = 1 with
    c + v < 1, inf at alpha = 1 with c + v = 0. None when some k maximises S."""
    per_draft = c + verify_overhead
    if alpha >= 1.0:
        if per_draft == 0.0:
            return math.inf
        return 1.0 / per_draft if per_draft < 1.0 else None
    if per_draft == 0.0 and alpha > 0.0:
        return 1.0 / (1.0 - alpha)
    return None  # S -> 0 (or is constant at alpha = 0): attained at a finite k


def best_draft_length(alpha: float, c: float, k_max: int = MAX_DRAFT_LENGTH, verify_overhead: float = 0.0) -> OptimalK:
    """The k in 1..k_max to draft (see OptimalK): the maximiser of
    expected_speedup, ties going to the smaller k (less draft work for the
    same speedup), or, where there is none, the smallest k near the supremum."""
    supremum = speedup_supremum(alpha, c, verify_overhead)
    if supremum is not None:
        # S rises strictly with k here: the first k near the supremum, else k_max.
        if math.isinf(supremum):
            return OptimalK(k_max, expected_speedup(alpha, k_max, c, verify_overhead), unbounded=True, k_max=k_max)
        for k in range(1, k_max + 1):
            s = expected_speedup(alpha, k, c, verify_overhead)
            if _near(s, supremum):
                return OptimalK(k, s, supremum, k_max=k_max)
        return OptimalK(k_max, s, supremum, k_max=k_max)
    best_k, best_s = _maximiser(lambda k: expected_speedup(alpha, k, c, verify_overhead), k_max)
    return OptimalK(best_k, best_s, k_max=k_max)


def _maximiser(speedup: Callable[[int], float], k_max: int) -> tuple[int, float]:
    """The k in 1..k_max with the highest speedup, ties going to the smaller k
    (less draft work for the same speedup)."""
    best_k, best_s = 1, speedup(1)
    for k in range(2, k_max + 1):
        s = speedup(k)
        if s > best_s * (1 + 1e-12):
            best_k, best_s = k, s
    return best_k, best_s


def best_draft_length_under(alpha: float, cost: CostModel, k_max: int = MAX_DRAFT_LENGTH) -> OptimalK:
    """best_draft_length for any cost model (REFERENCE §7): the constant-ratio
    one keeps its supremum rule; under a forward-pass model every extra draft
    costs verify and draft time, so the maximiser is searched in 1..k_max."""
    if cost.forward_pass is None:
        return best_draft_length(alpha, cost.draft_cost, k_max, cost.verify_overhead)
    best_k, best_s = _maximiser(lambda k: cost.expected_speedup(expected_tokens_per_round(alpha, k), k), k_max)
    return OptimalK(best_k, best_s, k_max=k_max)


def by_batch_size(
    alpha: float, k: int, cost: CostModel, k_max: int = MAX_DRAFT_LENGTH, batch_sizes: Sequence[int] = BATCH_SIZES
) -> dict[str, Any]:
    """How speculation fares as the batch grows, at the cost model's context length:
    the speedup at k, the best k and its speedup at each b, and the break-even b
    (the largest b at which the best k still beats plain decoding; None when
    every b does, or none does, which `pays_at` tells apart)."""
    speedup, best_k, best_speedup = {}, {}, {}
    for b in batch_sizes:
        at = cost.at(b)
        speedup[str(b)] = at.expected_speedup(expected_tokens_per_round(alpha, k), k)
        best = best_draft_length_under(alpha, at, k_max)
        best_k[str(b)], best_speedup[str(b)] = best.k, best.speedup
    pays_at = [b for b in batch_sizes if best_speedup[str(b)] > 1.0]
    break_even = None if len(pays_at) in (0, len(batch_sizes)) else max(pays_at)
    return {
        "speedup_by_batch_size": speedup,
        "best_k_by_batch_size": best_k,
        "best_speedup_by_batch_size": best_speedup,
        "break_even_batch_size": break_even,
        "speculation_pays_at_batch_sizes": pays_at,
    }


def optimal_k(alpha: float, c: float, k_max: int = MAX_DRAFT_LENGTH, verify_overhead: float = 0.0) -> tuple[int, float]:
    """(k, speedup) of best_draft_length: the maximiser of expected_speedup in
    1..k_max, or where none exists the smallest k within 1% of the supremum."""
    best = best_draft_length(alpha, c, k_max, verify_overhead)
    return best.k, best.speedup


def ops_factor(alpha: float, k: int, c_ops: float) -> float:
    """Arithmetic operations relative to plain decoding:
    (1 - alpha) (k c_ops + k + 1) / (1 - alpha^(k+1))."""
    return (k * c_ops + k + 1) / expected_tokens_per_round(alpha, k)


def draft_acceptance_rate(alpha: float, k: int) -> float:
    """accepted / drafted under i.i.d.: (alpha - alpha^(k+1)) / (k (1 - alpha)).

    This is what vLLM reports as "draft acceptance rate"; it is NOT alpha.
    """
    return (expected_tokens_per_round(alpha, k) - 1.0) / k


def per_position_acceptance(alpha: float, k: int) -> list[float]:
    """P(position i is reached and accepted) = alpha^i, i = 1..k."""
    return [alpha**i for i in range(1, k + 1)]


def acceptance_length_distribution(alpha: float, k: int) -> list[float]:
    """P(a round emits j tokens), j = 1..k+1: a geometric law truncated at k+1.

    j <= k: the first j-1 drafts kept, the j-th rejected: alpha^(j-1) (1 - alpha);
    j = k+1: all k kept, then the bonus token: alpha^k.
    """
    return [alpha ** (j - 1) * (1.0 - alpha) for j in range(1, k + 1)] + [alpha**k]
