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

    A figure that divides by a count of zero (nothing drafted or tested yet)
    is None, not 0: a rate nobody measured.
    """

    rounds: int = 0  # = target passes; vLLM num_drafts counts those that drafted (see num_drafts)
    draft_passes: int = 0  # draft forward passes: one per drafted token
    drafted: int = 0  # vLLM num_draft_tokens, llama.cpp n_drafted
    accepted: int = 0  # vLLM num_accepted_tokens, llama.cpp n_accept (kept prefix only)
    rejected: int = 0  # rounds that ended at a rejection
    # Sums over the positions where a draft was tested (Round.decided):
    # the method's chance of keeping a draft there (Round.betas) ...
    keep_chance_sum: float = 0.0
    # ... and beta = sum_x min(p, q) there (Round.overlaps), over the
    # `overlap_tested` positions where it is known (a replayed trace may not
    # have recorded it).
    overlap_sum: float = 0.0
    overlap_tested: int = 0
    #: True when the method keeps a draft with probability sum_x min(p, q)
    #: (speculative sampling): a round's betas are then its overlaps.
    keeps_with_overlap: bool = True
    # Index j: rounds that drafted / kept exactly j tokens; rounds that kept j
    # and rejected the next. Per-position counts and the tokens-per-round
    # histogram derive from these.
    drafted_histogram: list[int] = field(default_factory=list)
    accepted_histogram: list[int] = field(default_factory=list)
    rejected_histogram: list[int] = field(default_factory=list)

    def record(self, round_: Round) -> None:
        """Count a completed chain round (a tree round's stats count their own)."""
        drafted = len(round_.drafted)
        accepted = round_.accepted
        self.rounds += 1
        self.draft_passes += drafted  # one draft pass a drafted token (Round.draft_passes)
        self.drafted += drafted
        self.accepted += accepted
        # Most rounds land in histogram bins that exist already.
        if round_.rejected:
            tested = accepted + 1
            self.rejected += 1
            try:
                self.rejected_histogram[accepted] += 1
            except IndexError:
                _count(self.rejected_histogram, accepted)
        else:
            tested = accepted
        keep_chances = sum(round_.betas[:tested])
        self.keep_chance_sum += keep_chances
        if self.keeps_with_overlap:
            self.overlap_sum += keep_chances
            self.overlap_tested += tested
        elif len(round_.overlaps) == drafted:
            self.overlap_sum += sum(round_.overlaps[:tested])
            self.overlap_tested += tested
        try:
            self.drafted_histogram[drafted] += 1
        except IndexError:
            _count(self.drafted_histogram, drafted)
        try:
            self.accepted_histogram[accepted] += 1
        except IndexError:
            _count(self.accepted_histogram, accepted)

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
    def position_tested(self) -> list[int]:
        """Index i: rounds that tested the draft at position i+1: they kept
        every draft before it and drafted it (kept it or rejected it there)."""
        rejected = self.rejected_histogram
        return [a + (rejected[i] if i < len(rejected) else 0) for i, a in enumerate(self.position_accepted)]

    @property
    def num_drafts(self) -> int:
        """vLLM's num_drafts: rounds that drafted at least one token (a round
        cut to k = 0 at the target length proposes nothing)."""
        drafted = self.position_drafted
        return drafted[0] if drafted else 0

    @property
    def tokens_per_target_pass(self) -> float | None:
        """Emitted tokens / target passes (the seed's "tokens per call")."""
        return self.emitted / self.rounds if self.rounds else None

    @property
    def mean_acceptance_length(self) -> float | None:
        """vLLM: 1 + accepted / rounds (counts the correction or bonus token)."""
        return 1.0 + self.accepted / self.rounds if self.rounds else None

    @property
    def draft_acceptance_rate(self) -> float | None:
        """vLLM/llama.cpp: accepted / drafted. Not alpha: later positions are
        reached less often, so under i.i.d. it is below alpha."""
        return self.accepted / self.drafted if self.drafted else None

    @property
    def effective_acceptance_rate(self) -> float | None:
        """accepted / (accepted + rejected): the kept share of the drafts that
        were tested (the seed script's "effective acceptance rate"). Above the
        draft acceptance rate, which also counts the skipped drafts; under
        i.i.d. acceptance it estimates alpha, as conditional_acceptance does
        position by position."""
        tested = self.verified
        return self.accepted / tested if tested else None

    @property
    def empirical_alpha(self) -> float | None:
        """Mean of beta = sum_x min(p, q) over the positions where a draft was
        tested (REFERENCE §2's alpha = E[beta]), whatever the method. It is the
        chance of keeping a draft only under speculative sampling: see
        method_keep_rate."""
        return self.overlap_sum / self.overlap_tested if self.overlap_tested else None

    @property
    def method_keep_rate(self) -> float | None:
        """Mean over the positions where a draft was tested of the run's method's
        chance of keeping a draft there: beta for speculative sampling,
        q(argmax p) for greedy, sum_x p q for sample-match. The alpha the
        closed forms use for this method."""
        tested = self.verified
        return self.keep_chance_sum / tested if tested else None

    @property
    def per_position_acceptance(self) -> list[float | None]:
        """vLLM's per-position acceptance rate: index i, rounds that kept the
        draft at position i+1 / num_drafts. Unconditional, so non-increasing in
        i; under i.i.d. with a fixed k it estimates alpha^i. One entry per
        position any round drafted; None when no round drafted anything."""
        drafts = self.num_drafts
        return [a / drafts if drafts else None for a in self.position_accepted]

    @property
    def per_position_acceptance_of_drafted(self) -> list[float | None]:
        """Index i: rounds that kept the draft at position i+1 / rounds that
        drafted position i+1. Equals vLLM's rate when every round drafts k;
        larger under a policy that drafts fewer."""
        return [a / d if d else None for a, d in zip(self.position_accepted, self.position_drafted)]

    @property
    def conditional_acceptance(self) -> list[float | None]:
        """Index i: the chance the draft at position i+1 is kept given that the
        position was reached and tested: kept there / tested there. Under
        i.i.d. acceptance it estimates alpha at every position (REFERENCE §2)."""
        return [a / t if t else None for a, t in zip(self.position_accepted, self.position_tested)]

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
            "effective_acceptance_rate": self.effective_acceptance_rate,
            "per_position_acceptance": self.per_position_acceptance,
            "per_position_acceptance_of_drafted": self.per_position_acceptance_of_drafted,
            "conditional_acceptance": self.conditional_acceptance,
            "empirical_alpha": self.empirical_alpha,
            "method_keep_rate": self.method_keep_rate,
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
