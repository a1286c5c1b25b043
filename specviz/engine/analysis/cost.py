"""The wall-clock cost model of REFERENCE §5."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CostBreakdown:
    target_ms: float  # time in target passes, verify overhead included
    draft_ms: float  # time in draft passes
    total_ms: float  # speculative wall time
    baseline_ms: float  # plain target decoding of the same tokens
    speedup: float  # baseline_ms / total_ms

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class CostModel:
    """A target pass costs `target_pass_ms`; a draft pass `draft_cost` times that.

    Verifying k drafted tokens costs `target_pass_ms * (1 + verify_overhead * k)`:
    scoring k+1 positions in one pass is a little dearer than scoring one.
    """

    target_pass_ms: float = 100.0
    draft_cost: float = 0.1
    verify_overhead: float = 0.0

    def breakdown(self, rounds: int, draft_passes: int, verified_drafts: int, emitted: int) -> CostBreakdown:
        """Cost of a run with `rounds` target passes, `draft_passes` draft passes,
        `verified_drafts` drafted tokens scored by the target, and `emitted` tokens."""
        target_ms = self.target_pass_ms * (rounds + self.verify_overhead * verified_drafts)
        draft_ms = self.target_pass_ms * self.draft_cost * draft_passes
        total_ms = target_ms + draft_ms
        baseline_ms = self.target_pass_ms * emitted
        speedup = baseline_ms / total_ms if total_ms > 0 else 0.0
        return CostBreakdown(target_ms, draft_ms, total_ms, baseline_ms, speedup)
