"""Draft-length policies: how many tokens the draft proposes each round.

The simulation asks `next_length(current, accepted, drafted)` after every round
for the next round's k (before the cut at the target length), and, when
`stops_early` is set, `keep_drafting(dists)` before each draft after the first
(a round always drafts at least one token).
"""

from __future__ import annotations

from specviz.engine import catalog
from specviz.engine.models.pair import ContextDists
from specviz.engine.run.config import MAX_DRAFT_LENGTH, SimConfig
from specviz.engine.verification.methods import ContextMemo


class DraftPolicy:
    name: str = ""
    description: str = ""
    #: True when keep_drafting may stop a round's draft before k tokens
    stops_early: bool = False

    def __init__(self, config: SimConfig) -> None:
        self.initial_length = config.draft_length

    def next_length(self, current: int, accepted: int, drafted: int) -> int:
        """k for the next round, given this round's k and outcome."""
        return current

    def keep_drafting(self, dists: ContextDists) -> bool:
        """Whether the draft should propose another token in this context."""
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
    """Stop drafting where the draft is unsure (HF assistant_confidence_threshold,
    llama.cpp --draft-p-min).

    Like llama.cpp, the draft computes q in the next context, and if its top
    probability max q is below the threshold the round's draft ends there
    without that token (that pass is still spent: `Round.draft_passes`). k is
    the most a round drafts.
    """

    name = "confidence"
    description = (
        "draft up to k tokens; stop early when the draft's top probability max q falls below --confidence-threshold"
    )
    stops_early = True

    def __init__(self, config: SimConfig) -> None:
        super().__init__(config)
        self.threshold = config.confidence_threshold
        self._top_q = ContextMemo(lambda dists: float(dists.q.max()))

    def keep_drafting(self, dists: ContextDists) -> bool:
        return self._top_q(dists) >= self.threshold


_POLICIES: dict[str, type[DraftPolicy]] = {p.name: p for p in (FixedPolicy, HeuristicPolicy, ConfidencePolicy)}


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
