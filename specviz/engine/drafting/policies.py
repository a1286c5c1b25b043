"""Draft-length policies: how many tokens the draft proposes each round.

The simulation asks `next_length(current, accepted, drafted)` after every round
for the next round's k (before the cut at the target length), and, when
`stops_early` is set, `keep_drafting(dists, token)` right after each draft
below k: False ends the round's draft after that token, which stays in the
draft (a round always drafts at least one token, and no pass is wasted).
"""

from __future__ import annotations

from typing import Any

from specviz.engine import catalog
from specviz.engine.models.pair import DraftDists
from specviz.engine.run.config import (
    BATCH_TABLE_POLICY,
    MAX_DRAFT_LENGTH,
    SimConfig,
    starting_draft_length,
)


class DraftPolicy:
    """`initial_length` is the first round's k (the simulation starts from it)."""

    name: str = ""
    description: str = ""
    #: True when keep_drafting may stop a round's draft before k tokens
    stops_early: bool = False
    #: True when next_length keeps k as it is (set per class): the engine then skips the call a round
    fixed_length: bool = True

    def __init__(self, config: SimConfig) -> None:
        self.initial_length = starting_draft_length(config)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.fixed_length = cls.next_length is DraftPolicy.next_length

    def next_length(self, current: int, accepted: int, drafted: int) -> int:
        """k for the next round, given this round's k and outcome."""
        return current

    def keep_drafting(self, dists: DraftDists, token: int) -> bool:
        """Whether the draft goes on after proposing `token` in context `dists`."""
        return True


class FixedPolicy(DraftPolicy):
    name = "fixed"
    description = "k tokens every round"


class HeuristicPolicy(DraftPolicy):
    """HF transformers' `num_assistant_tokens_schedule="heuristic"`.

    After a round where every draft was accepted k grows by 2, otherwise it
    shrinks by 1 (never below 1); it starts at -k and stops at MAX_DRAFT_LENGTH.
    """

    name = "heuristic"
    description = f"start at k; k += 2 after a round with every draft accepted, else k = max(1, k - 1); at most {MAX_DRAFT_LENGTH}"

    def next_length(self, current: int, accepted: int, drafted: int) -> int:
        if drafted == 0:
            # A round cut to k = 0 at the target length says nothing.
            return current
        if accepted == drafted:
            return min(current + 2, MAX_DRAFT_LENGTH)
        return max(1, current - 1)


class ConfidencePolicy(DraftPolicy):
    """Stop drafting after a token the draft was unsure of: HF transformers'
    `assistant_confidence_threshold` rule.

    After drafting x_i the policy tests that token's draft probability
    q_i(x_i): below the threshold the round's draft ends after x_i, which is
    kept and verified like any other draft (transformers' ConfidenceCriteria,
    a stopping criterion on the probability of the token just generated).
    llama.cpp's server (`--draft-p-min`) applies the same test to its greedy
    drafts, where the drafted token is the top one. Nothing is drawn or spent
    beyond the tokens drafted. k is the most a round drafts.
    """

    name = "confidence"
    description = (
        "draft up to k tokens; stop after a drafted token x whose draft probability q(x) is below "
        "--confidence-threshold (transformers' assistant_confidence_threshold: the token is kept)"
    )
    stops_early = True

    def __init__(self, config: SimConfig) -> None:
        super().__init__(config)
        self.threshold = config.confidence_threshold

    def keep_drafting(self, dists: DraftDists, token: int) -> bool:
        return bool(dists.q_view[token] >= self.threshold)


class BatchTablePolicy(DraftPolicy):
    """vLLM's `num_speculative_tokens_per_batch_size`: k looked up by batch size.

    The table `[[lo, hi, k], ...]` (--k-by-batch-size) gives every batch size
    from lo to hi (both included) the draft length k; k = 0 means do not
    speculate: each round drafts nothing and is one plain decoding step. A
    run's batch size is fixed, so its k is too; -k is not read.
    """

    name = BATCH_TABLE_POLICY
    description = (
        "k from a table by batch size (--k-by-batch-size [[lo,hi,k],...], vLLM's "
        "num_speculative_tokens_per_batch_size); k = 0: no speculation, a plain decoding step a round"
    )


_POLICIES: dict[str, type[DraftPolicy]] = {
    p.name: p for p in (FixedPolicy, HeuristicPolicy, ConfidencePolicy, BatchTablePolicy)
}


def register_policy(policy: type[DraftPolicy]) -> None:
    _POLICIES[policy.name] = policy
    if policy.name not in catalog.POLICIES:
        catalog.POLICIES += (policy.name,)


def policy_names() -> tuple[str, ...]:
    return tuple(_POLICIES)


def policy_class(name: str) -> type[DraftPolicy]:
    """The policy's class: its name and description, no config needed."""
    return _POLICIES[name]


def build_policy(config: SimConfig) -> DraftPolicy:
    return _POLICIES[config.draft_policy](config)
