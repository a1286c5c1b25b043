"""Running statistics, named as vLLM and llama.cpp name them (REFERENCE §3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from specviz.engine.run.rounds import Round


@dataclass(slots=True)
class RunStats:
    """Counts kept per round; every other figure derives from them.

    Every completed round emits its kept prefix plus exactly one correction
    (after a rejection) or bonus token, which is why so much derives from
    these few counters, and why recording a round is cheap.
    """

    rounds: int = 0  # = target passes = vLLM num_drafts
    draft_passes: int = 0  # draft forward passes: one per drafted token
    drafted: int = 0  # vLLM num_draft_tokens, llama.cpp n_drafted
    accepted: int = 0  # vLLM num_accepted_tokens, llama.cpp n_accept (kept prefix only)
    rejected: int = 0  # rounds that ended at a rejection
    beta_sum: float = 0.0  # sum over verified positions of the acceptance probability (beta)
    # Index j: rounds that drafted / kept exactly j tokens. Per-position counts
    # and the tokens-per-round histogram derive from these.
    drafted_histogram: list[int] = field(default_factory=list)
    accepted_histogram: list[int] = field(default_factory=list)

    def record(self, round_: Round) -> None:
        drafted = len(round_.drafted)
        accepted = round_.accepted
        self.rounds += 1
        self.draft_passes += round_.draft_passes
        self.drafted += drafted
        self.accepted += accepted
        betas = round_.betas
        if round_.rejected:
            self.rejected += 1
            self.beta_sum += sum(betas[: accepted + 1])
        else:
            self.beta_sum += sum(betas)
        histogram = self.drafted_histogram
        if drafted < len(histogram):
            histogram[drafted] += 1
        else:
            _count(histogram, drafted)
        histogram = self.accepted_histogram
        if accepted < len(histogram):
            histogram[accepted] += 1
        else:
            _count(histogram, accepted)

    @property
    def corrections(self) -> int:
        """Correction tokens: one per rejection."""
        return self.rejected

    @property
    def bonus(self) -> int:
        """Bonus tokens: one per round that kept every draft."""
        return self.rounds - self.rejected

    @property
    def emitted(self) -> int:
        """Tokens produced: the kept drafts plus one token per round."""
        return self.accepted + self.rounds

    @property
    def verified(self) -> int:
        """Positions where the acceptance test ran: the kept ones and each rejection."""
        return self.accepted + self.rejected

    @property
    def skipped(self) -> int:
        """Drafts after the first rejection, never tested."""
        return self.drafted - self.verified

    @property
    def length_histogram(self) -> list[int]:
        """Index j: rounds that emitted j tokens (kept j - 1, then one more)."""
        return [0] + self.accepted_histogram

    # Derived figures. Each says exactly what it divides by.

    @property
    def position_drafted(self) -> list[int]:
        """Index i: rounds that drafted position i+1 (drafted more than i tokens)."""
        return _at_least(self.drafted_histogram)[1:]

    @property
    def position_accepted(self) -> list[int]:
        """Index i: rounds that kept the draft at position i+1 (as long as position_drafted)."""
        kept = _at_least(self.accepted_histogram)[1:]
        return kept + [0] * (len(self.drafted_histogram) - 1 - len(kept))

    @property
    def tokens_per_target_pass(self) -> float:
        """Emitted tokens / target passes (the seed's "tokens per call")."""
        return self.emitted / self.rounds if self.rounds else 0.0

    @property
    def mean_acceptance_length(self) -> float:
        """vLLM: 1 + accepted / num_drafts (counts the correction or bonus token)."""
        return 1.0 + self.accepted / self.rounds if self.rounds else 0.0

    @property
    def draft_acceptance_rate(self) -> float:
        """vLLM/llama.cpp: accepted / drafted. Not alpha: later positions are
        reached less often, so under i.i.d. it is below alpha."""
        return self.accepted / self.drafted if self.drafted else 0.0

    @property
    def empirical_alpha(self) -> float:
        """Mean over the positions where a draft was tested of the method's
        acceptance probability there: beta = sum_x min(p, q) for speculative
        sampling (REFERENCE §2's alpha = E[beta])."""
        return self.beta_sum / self.verified if self.verified else 0.0

    @property
    def per_position_acceptance(self) -> list[float]:
        """Position i: rounds that kept the i-th draft / rounds that drafted it.
        With every round drafting k this is vLLM's accepted_at_position[i] / num_drafts,
        and under i.i.d. it estimates alpha^i."""
        return [a / d for a, d in zip(self.position_accepted, self.position_drafted)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "target_passes": self.rounds,
            "draft_passes": self.draft_passes,
            "drafted": self.drafted,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "skipped": self.skipped,
            "corrections": self.corrections,
            "bonus": self.bonus,
            "tokens": self.emitted,
            "tokens_per_target_pass": self.tokens_per_target_pass,
            "mean_acceptance_length": self.mean_acceptance_length,
            "draft_acceptance_rate": self.draft_acceptance_rate,
            "per_position_acceptance": self.per_position_acceptance,
            "empirical_alpha": self.empirical_alpha,
            "acceptance_length_histogram": {str(j): n for j, n in enumerate(self.length_histogram) if n},
        }


def _count(histogram: list[int], value: int) -> None:
    if value >= len(histogram):
        histogram.extend([0] * (value + 1 - len(histogram)))
    histogram[value] += 1


def _at_least(histogram: list[int]) -> list[int]:
    """Suffix sums: index j holds how many entries were >= j."""
    out = [0] * len(histogram)
    running = 0
    for j in range(len(histogram) - 1, -1, -1):
        running += histogram[j]
        out[j] = running
    return out
