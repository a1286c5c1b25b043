"""Draft-length policies: how many tokens the draft proposes each round."""

from __future__ import annotations

from specviz.engine.models import ContextDists


class DraftPolicy:
    name: str = ""
    description: str = ""
    #: True when keep_drafting may stop a round's draft before k tokens
    stops_early: bool = False

    def __init__(self, config) -> None:
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


_POLICIES: dict[str, type[DraftPolicy]] = {FixedPolicy.name: FixedPolicy}


def register_policy(policy: type[DraftPolicy]) -> None:
    _POLICIES[policy.name] = policy


def policy_names() -> tuple[str, ...]:
    return tuple(_POLICIES)


def build_policy(config) -> DraftPolicy:
    return _POLICIES[config.draft_policy](config)
