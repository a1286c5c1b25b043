"""Running statistics, named as vLLM and llama.cpp name them (REFERENCE §3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from specviz.engine.rounds import Round


@dataclass
class RunStats:
    rounds: int = 0  # = target passes = vLLM num_drafts
    draft_passes: int = 0  # one per drafted token
    drafted: int = 0  # vLLM num_draft_tokens, llama.cpp n_drafted
    accepted: int = 0  # vLLM num_accepted_tokens, llama.cpp n_accept (kept prefix only)
    rejected: int = 0  # rounds that ended at a rejection
    skipped: int = 0  # drafts after the first rejection, never tested
    corrections: int = 0  # = rejected: one correction token per rejection
    bonus: int = 0  # rounds in which every draft was kept
    emitted: int = 0  # tokens produced
    beta_sum: float = 0.0  # sum over verified positions of sum_x min(p, q)
    verified: int = 0  # positions where the acceptance test ran
    # Index j: rounds that drafted / kept / emitted exactly j tokens. Per-position
    # counts derive from these, so recording a round is O(1).
    drafted_histogram: list[int] = field(default_factory=list)
    accepted_histogram: list[int] = field(default_factory=list)
    length_histogram: list[int] = field(default_factory=list)

    def record(self, round_: Round) -> None:
        drafted = len(round_.drafted)
        accepted = round_.accepted
        decided = accepted + 1 if round_.rejected else accepted
        emitted = accepted + 1  # every completed round ends with a correction or a bonus
        self.rounds += 1
        self.draft_passes += drafted
        self.drafted += drafted
        self.accepted += accepted
        if round_.rejected:
            self.rejected += 1
            self.corrections += 1
        else:
            self.bonus += 1
        self.skipped += drafted - decided
        self.emitted += emitted
        betas = round_.betas
        self.beta_sum += sum(betas) if decided == drafted else sum(betas[:decided])
        self.verified += decided
        _count(self.drafted_histogram, drafted)
        _count(self.accepted_histogram, accepted)
        _count(self.length_histogram, emitted)

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
        """Mean of beta = sum_x min(p, q) over the positions where a draft was tested."""
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
    try:
        histogram[value] += 1
    except IndexError:
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
