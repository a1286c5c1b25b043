"""Closed forms for i.i.d. acceptance (Leviathan et al. 2023; REFERENCE §2-3).

alpha is the per-token acceptance rate, k the draft length, c the draft/target
cost ratio. Each function handles alpha = 1 (the geometric sums degenerate)
and c = 0 (the speedup then grows without bound in k, so optimal_k caps k).
"""

from __future__ import annotations

from specviz.engine.run.config import MAX_DRAFT_LENGTH


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


def optimal_k(alpha: float, c: float, k_max: int = MAX_DRAFT_LENGTH, verify_overhead: float = 0.0) -> tuple[int, float]:
    """The k in 1..k_max maximising expected_speedup, and that speedup.

    Ties go to the smaller k (less draft work for the same speedup).
    """
    best_k, best_s = 1, expected_speedup(alpha, 1, c, verify_overhead)
    for k in range(2, k_max + 1):
        s = expected_speedup(alpha, k, c, verify_overhead)
        if s > best_s * (1 + 1e-12):
            best_k, best_s = k, s
    return best_k, best_s


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
