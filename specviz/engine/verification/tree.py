"""Verifying a token tree in one target pass (REFERENCE §8).

Recursive rejection sampling (SpecInfer; EAGLE's sampling path): at a node
whose target distribution is p, try its children in rank order. Child t was
drawn from q_t (`drafting.tree`): accept it with probability
min(1, p(x)/q_t(x)); after a rejection replace p by norm(max(0, p - q_t))
and try the next child. If every child is rejected, emit a sample from the
last p (the correction) and stop; after an acceptance go on at the accepted
child's children with the target's p there; at an accepted leaf emit the
bonus from p. Whatever q_t is (q itself for i.i.d. children, q without the
earlier siblings for distinct ones), the emitted tokens follow p exactly.

For top-w candidates q_t is a point mass, so child x is accepted with the
current residual's p(x), and a rejection zeroes p(x) and renormalises: the
target-only rule (SGLang's kernel), the same as drawing y ~ p once and
keeping the child equal to y.

`--tree-threshold T` below 1 accepts with min(1, p(x)/(T q_t(x))) instead,
in the spirit of SGLang's threshold_acc: more tokens per pass, and the output
no longer follows p. LOSSY.

Greedy verification of a tree keeps the first child equal to argmax p, and
emits argmax p at the end: lossless against greedy decoding of the target.

A tree method is a `VerificationMethod`, so the audit, the report and the
compare rows read its `lossless` and `reference_distribution` as they do a
chain method's; the chain's per-position hooks are not used on trees.
"""

from __future__ import annotations

import numpy as np

from specviz.engine.models.pair import ContextDists, normalize, sample_index
from specviz.engine.run.config import SimConfig
from specviz.engine.verification.methods import (
    AGAINST_ARGMAX,
    AGAINST_TARGET,
    ContextMemo,
    VerificationMethod,
    argmax_p,
)


class TreeMethod(VerificationMethod):
    """How a tree's nodes are kept: the residual sequence at a node and the test per child."""

    #: True when the method uses residuals (greedy does not)
    uses_residuals: bool = True

    def residuals(self, p: np.ndarray, drawn: list[np.ndarray]) -> list[np.ndarray]:
        """p_0 = p, then p_t after the t-th rejection: len(drawn) + 1 arrays.
        Child t (0-based) is tested against p_t; p_m is the correction's."""
        sequence = [p]
        for q_t in drawn:
            sequence.append(self.update(sequence[-1], q_t))
        return sequence

    def update(self, p: np.ndarray, q_t: np.ndarray) -> np.ndarray:
        """The residual after a child drawn from q_t was rejected: norm(max(0, p - q_t))."""
        return normalize(np.maximum(p - q_t, 0.0), fallback=p)

    def chance(self, token: int, residual: float, drawn: float, dists: ContextDists) -> float:
        """The chance a child is kept once reached (the siblings before it rejected)."""
        raise NotImplementedError

    def keeps(self, token: int, residual: float, drawn: float, dists: ContextDists, u: float) -> bool:
        raise NotImplementedError

    def final(self, residual: np.ndarray, dists: ContextDists, u: float) -> int:
        """The correction after every child was rejected, from the last residual."""
        raise NotImplementedError


class RecursiveRejectionSampling(TreeMethod):
    name = "speculative"
    lossless = True
    lossless_against: str | None = AGAINST_TARGET
    keeps_when = "u < p_t/q_t"
    description = (
        "recursive rejection sampling: accept child x with min(1, p(x)/q_t(x)); after a rejection "
        "p <- norm(max(0, p - q_t)) and the next sibling is tried; correction from the last p; bonus from p"
    )

    def __init__(self, config: SimConfig) -> None:
        self.threshold = config.tree_threshold
        if self.threshold != 1.0:
            self.lossless = False
            self.lossless_against = None
            self.description += f"; threshold {self.threshold:g} < 1: LOSSY"

    def chance(self, token: int, residual: float, drawn: float, dists: ContextDists) -> float:
        scaled = self.threshold * drawn
        return 1.0 if scaled <= residual else residual / scaled

    def keeps(self, token: int, residual: float, drawn: float, dists: ContextDists, u: float) -> bool:
        # As the chain's test (u q < p); threshold 1 multiplies by 1.0 exactly.
        return u * (self.threshold * drawn) < residual

    def final(self, residual: np.ndarray, dists: ContextDists, u: float) -> int:
        # The chain's residual_cdf holds the same numbers for a single child.
        return sample_index(np.cumsum(residual).tolist(), u)

    def acceptance_probability(self, dists: ContextDists) -> float:
        return dists.beta


class GreedyTreeVerification(TreeMethod):
    name = "greedy"
    lossless = True
    lossless_against = AGAINST_ARGMAX
    uses_residuals = False
    keeps_when = "x = argmax p"
    description = "keep the first child equal to argmax p; correction and bonus are argmax p"

    def __init__(self, config: SimConfig) -> None:
        self._argmax = ContextMemo(argmax_p)

    def residuals(self, p: np.ndarray, drawn: list[np.ndarray]) -> list[np.ndarray]:
        return [p] * (len(drawn) + 1)

    def chance(self, token: int, residual: float, drawn: float, dists: ContextDists) -> float:
        return 1.0 if token == self._argmax(dists) else 0.0

    def keeps(self, token: int, residual: float, drawn: float, dists: ContextDists, u: float) -> bool:
        return token == self._argmax(dists)

    def final(self, residual: np.ndarray, dists: ContextDists, u: float) -> int:
        return self._argmax(dists)

    def bonus(self, dists: ContextDists, u: float) -> int:
        return self._argmax(dists)

    def acceptance_probability(self, dists: ContextDists) -> float:
        return float(dists.q[self._argmax(dists)])


_TREE_METHODS: dict[str, type[TreeMethod]] = {m.name: m for m in (RecursiveRejectionSampling, GreedyTreeVerification)}


def build_tree_method(config: SimConfig) -> TreeMethod:
    """The tree verifier for `config`'s method (config rules allow these two only)."""
    return _TREE_METHODS[config.method](config)
