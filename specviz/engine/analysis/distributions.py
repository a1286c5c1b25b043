"""p against q at one draft position of a round: what the distributions view draws.

For one position the view lists the most likely tokens of p and q (top-N by
max(p, q), found with np.argpartition: O(V), no sort of the vocabulary), plus
any token the round marks there (the draft x, the correction or bonus, the
greedy choice argmax p), and sums every other token into one "other" row.
Each row carries p, q, the overlap min(p, q) and the residual
norm(max(0, p - q)) a correction is drawn from under speculative sampling.

The figures each method's rule reads (argmax p, H(p) and the threshold) come
from the method itself (verification/methods.py); the verdicts come from the
round's record, never from running a test again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from specviz.engine.models.pair import ContextDists, ModelPair
from specviz.engine.run.rounds import Phase, Round
from specviz.engine.verification.methods import (
    GreedyVerification,
    SampleMatch,
    SpeculativeSampling,
    TypicalAcceptance,
    VerificationMethod,
    argmax_p,
    entropy_nats,
)

#: tokens listed by likelihood before the marked ones and the "other" row
TOP_TOKENS = 12

# What the round did at a position.
PENDING = "pending"  # ACCEPT has not run yet
KEPT = "kept"
REJECTED = "rejected"
SKIPPED = "skipped"  # after the first rejection: never tested
BONUS = "bonus"  # the position after the drafts, when every draft was kept
UNUSED = "unused"  # the position after the drafts, when a draft was rejected

# The rules the view knows how to explain; any other method is shown by p, q and u alone.
SPECULATIVE, GREEDY, TYPICAL, SAMPLE_MATCH, OTHER = "speculative", "greedy", "typical", "sample-match", "other"


@dataclass(frozen=True, slots=True)
class TokenBar:
    """One row of the view: a token (None for "every other token") and its masses."""

    token: int | None
    p: float
    q: float
    overlap: float  # min(p, q); for the other row, the sum of min(p, q) over its tokens
    residual: float  # norm(max(0, p - q)) at the token (summed for the other row)


@dataclass(frozen=True, slots=True)
class RuleFigures:
    """What the method's rule reads in one context (None where it reads nothing)."""

    rule: str  # SPECULATIVE, GREEDY, TYPICAL, SAMPLE_MATCH or OTHER
    argmax: int | None = None  # greedy: the target's choice argmax p
    entropy: float | None = None  # typical: H(p) in nats
    threshold: float | None = None  # typical: min(ε, δ·exp(−H(p)))


@dataclass(frozen=True, slots=True)
class PositionDistributions:
    """p and q at one position of a round, with what the round did there."""

    position: int  # 0-based; len(round.drafted) is the position after the drafts
    token: int | None  # the draft x here; None at the position after the drafts
    verdict: str  # PENDING, KEPT, REJECTED, SKIPPED, BONUS or UNUSED
    rows: tuple[TokenBar, ...]  # listed tokens, most likely (max(p, q)) first
    other: TokenBar | None  # every token not listed, summed; None when all are listed
    overlap: float  # beta = sum_x min(p, q)
    p_x: float | None  # p(x) of the draft (None before VERIFY or after the drafts)
    q_x: float | None  # q(x) of the draft
    u: float | None  # the acceptance test's uniform (None where no test ran)
    final: int | None  # the correction or bonus token emitted at this position
    sample: int | None  # sample-match: the y drawn from p with u
    figures: RuleFigures
    p_shown: bool  # False after DRAFT only: the target has not scored the drafts yet

    @property
    def total_variation(self) -> float:
        return 1.0 - self.overlap

    @property
    def ratio(self) -> float | None:
        if self.p_x is None or self.q_x is None:
            return None
        return self.p_x / self.q_x if self.q_x > 0 else float("inf")

    @property
    def residual_shown(self) -> bool:
        """True when the correction here was drawn from norm(max(0, p - q))."""
        return self.verdict == REJECTED and self.figures.rule == SPECULATIVE

    @property
    def listed(self) -> tuple[int, ...]:
        return tuple(row.token for row in self.rows if row.token is not None)


def rule_of(method: VerificationMethod) -> str:
    """Which of the rules the view explains `method` follows (OTHER for none)."""
    for kind, rule in (
        (GreedyVerification, GREEDY),
        (TypicalAcceptance, TYPICAL),
        (SampleMatch, SAMPLE_MATCH),
        (SpeculativeSampling, SPECULATIVE),
    ):
        if isinstance(method, kind):
            return rule
    return OTHER


def rule_figures(method: VerificationMethod, dists: ContextDists) -> RuleFigures:
    """The figures `method`'s rule reads in this context, from the method's own code."""
    rule = rule_of(method)
    if rule == GREEDY:
        return RuleFigures(rule, argmax=argmax_p(dists))
    if rule == TYPICAL:
        assert isinstance(method, TypicalAcceptance)
        return RuleFigures(rule, entropy=entropy_nats(dists.p), threshold=method.threshold(dists))
    return RuleFigures(rule)


def verdict_at(round_: Round, position: int, phase: Phase) -> str:
    """What the round did at `position` once `phase` has run (from its record)."""
    drafted = len(round_.drafted)
    if phase is not Phase.ACCEPT:
        return PENDING
    if position >= drafted:
        return UNUSED if round_.rejected else BONUS
    if position < round_.accepted:
        return KEPT
    return REJECTED if position == round_.accepted and round_.rejected else SKIPPED


def top_tokens(p: np.ndarray, q: np.ndarray, count: int) -> np.ndarray:
    """The `count` token ids with the largest max(p, q), largest first (ties: lowest id).

    np.argpartition finds them in O(V); only those `count` are sorted.
    """
    score = np.maximum(p, q)
    if count >= len(score):
        chosen = np.arange(len(score))
    else:
        chosen = np.argpartition(-score, count - 1)[:count]
    order = np.lexsort((chosen, -score[chosen]))
    return chosen[order]


def position_distributions(
    dists: ContextDists,
    method: VerificationMethod,
    round_: Round,
    position: int,
    phase: Phase,
    top: int = TOP_TOKENS,
) -> PositionDistributions:
    """What the distributions view shows at `position` (0 to len(round_.drafted)) of
    `round_` after `phase`, where `dists` is the ContextDists the round used there."""
    drafted = len(round_.drafted)
    if not 0 <= position <= drafted:
        raise ValueError(f"position {position} is outside 0 to {drafted} (the drafts and the position after them)")
    p, q = dists.p, dists.q
    verdict = verdict_at(round_, position, phase)
    figures = rule_figures(method, dists)
    token = round_.drafted[position] if position < drafted else None
    p_shown = phase is not Phase.DRAFT
    u = None
    final = None
    sample = None
    if verdict in (KEPT, REJECTED):
        u = round_.draws[round_.draft_length + position]
    if verdict == REJECTED:
        final = round_.correction
    elif verdict == BONUS:
        final = round_.bonus
        u = round_.draws[2 * round_.draft_length]  # the bonus is drawn with the round's last uniform
    if figures.rule == SAMPLE_MATCH and verdict in (KEPT, REJECTED):
        # y ~ p drawn with u: the kept draft itself, or the y emitted at the mismatch.
        sample = token if verdict == KEPT else round_.correction
    residual = dists.residual if verdict == REJECTED and figures.rule == SPECULATIVE else None

    # Before VERIFY the target has not scored anything: list by q alone.
    listed = [int(t) for t in (top_tokens(p, q, top) if p_shown else top_tokens(q, q, top))]
    marked = [t for t in (token, final, sample, figures.argmax) if t is not None and t not in listed]
    listed.extend(dict.fromkeys(marked))  # a marked token is always listed, after the top ones

    rows = tuple(
        TokenBar(
            t,
            float(p[t]),
            float(q[t]),
            float(min(p[t], q[t])),
            float(residual[t]) if residual is not None else 0.0,
        )
        for t in listed
    )
    other = None
    if len(listed) < len(p):
        # The rest by difference: one pass over the listed rows, not the vocabulary.
        other = TokenBar(
            None,
            max(0.0, float(p.sum()) - sum(row.p for row in rows)),
            max(0.0, float(q.sum()) - sum(row.q for row in rows)),
            max(0.0, dists.beta - sum(row.overlap for row in rows)),
            max(0.0, 1.0 - sum(row.residual for row in rows)) if residual is not None else 0.0,
        )
    return PositionDistributions(
        position=position,
        token=token,
        verdict=verdict,
        rows=rows,
        other=other,
        overlap=dists.beta,
        p_x=round_.target_probs[position] if p_shown and token is not None else None,
        q_x=round_.draft_probs[position] if token is not None else None,
        u=u,
        final=final,
        sample=sample,
        figures=figures,
        p_shown=p_shown,
    )


def default_position(round_: Round, phase: Phase) -> int:
    """The position worth seeing first: the rejected one, else the one after the drafts
    (where the bonus came from) once ACCEPT ran; the first draft before that."""
    if phase is not Phase.ACCEPT:
        return 0
    return round_.accepted


def round_dists(model: ModelPair, history: Sequence[int], prompt_length: int, round_: Round) -> list[ContextDists]:
    """The ContextDists `round_` used at each position: its own list while it holds
    one, else looked up again from the tokens before it (a past round, a replay)."""
    if len(round_.dists) == len(round_.drafted) + 1:
        return round_.dists
    return model.round_dists(_before(model, history, prompt_length, round_), round_.drafted)


def position_dists(
    model: ModelPair, history: Sequence[int], prompt_length: int, round_: Round, position: int
) -> ContextDists:
    """The ContextDists `round_` used at `position` (one lookup, not one per position)."""
    if len(round_.dists) == len(round_.drafted) + 1:
        return round_.dists[position]
    return model.round_dists(_before(model, history, prompt_length, round_), round_.drafted[:position])[-1]


def _before(model: ModelPair, history: Sequence[int], prompt_length: int, round_: Round) -> Sequence[int]:
    # Only the context the model reads: no copy of a million-token history.
    end = prompt_length + round_.start
    return history[max(0, end - model.context_order) : end]
