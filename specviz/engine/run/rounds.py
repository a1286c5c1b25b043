"""One round of speculative decoding as a record, filled in phase by phase."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:  # numpy stays out of a plain `import rounds` (see catalog)
    from specviz.engine.models.pair import ContextDists, DraftDists


class Phase(enum.Enum):
    DRAFT = "draft"  # the draft model proposes up to k tokens
    VERIFY = "verify"  # the target scores every drafted position (+1) in one pass
    ACCEPT = "accept"  # keep a prefix, then a correction or a bonus token

    @property
    def label(self) -> str:
        return self.name

    def next(self) -> Phase:
        order = list(Phase)
        return order[(order.index(self) + 1) % len(order)]


class TokenKind(enum.IntEnum):
    """How an emitted token was produced."""

    ACCEPTED = 0  # a draft token the target kept
    CORRECTION = 1  # drawn from the residual at the first rejection
    BONUS = 2  # drawn from p_{k+1} after every draft was kept


class DeferredFloats(Sequence[float]):
    """A round's column (p(x) or beta per drafted position) whose entries are
    computed when first read, for a pair whose target side costs real work
    (ModelPair.defers_target): a round never tests the drafts after its
    first rejection, so a plain run reads only the tested entries, while a
    view, a trace or a comparison reads them all and sees the same numbers.
    Compares equal to a list with the same entries."""

    __slots__ = ("_compute", "_values")

    def __init__(self, compute: Callable[[int], float], length: int):
        self._compute = compute
        self._values: list[float | None] = [None] * length

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, index: int) -> float: ...
    @overload
    def __getitem__(self, index: slice) -> list[float]: ...
    def __getitem__(self, index: int | slice) -> float | list[float]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._values)))]
        value = self._values[index]
        if value is None:
            value = self._values[index] = self._compute(index % len(self._values))
        return value

    def __iter__(self) -> Iterator[float]:
        for index in range(len(self._values)):
            yield self[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DeferredFloats | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return repr(list(self))


_new_object = object.__new__

_ACCEPTED = bytes([TokenKind.ACCEPTED])
_CORRECTION = bytes([TokenKind.CORRECTION])
_BONUS = bytes([TokenKind.BONUS])


@dataclass(slots=True, init=False)
class Round:
    """What one round did. Lists are indexed by draft position (0-based)."""

    index: int  # 0-based round number
    start: int  # how many tokens were emitted before this round
    draft_length: int  # k planned for this round (after the cut at n)
    # The 2k + 1 uniforms the round set aside when it started: u_draft[i] at
    # [i], the acceptance test's u_i at [k + i], the correction/bonus draw last.
    draws: list[float] = field(default_factory=list, repr=False)
    # DRAFT
    drafted: list[int] = field(default_factory=list)
    draft_probs: list[float] = field(default_factory=list)  # q_i(x_i)
    # VERIFY
    target_probs: Sequence[float] = field(default_factory=list)  # p_i(x_i); a list, or DeferredFloats
    # The method's chance of keeping a draft at each drafted position (for
    # speculative sampling beta_i = sum_x min(p_i, q_i), REFERENCE §2; for
    # greedy q_i(argmax p_i)). The name is the trace format's.
    betas: Sequence[float] = field(default_factory=list)
    # sum_x min(p_i, q_i) per drafted position, whatever the method: the very
    # list `betas` when the method keeps with that probability; empty when not
    # known (a replayed round whose trace did not record it).
    overlaps: Sequence[float] = field(default_factory=list)
    # ACCEPT
    accepted: int = 0  # length of the kept prefix
    rejected: bool = False  # True when a draft was rejected (then `correction` is set)
    correction: int | None = None
    bonus: int | None = None
    completed: bool = False
    # Not part of the record: per position (drafted + 1 entries, from VERIFY
    # on) the distributions used, kept so a view can show p and q without
    # recomputing (a round kept after it completed may drop them:
    # ModelPair.round_dists looks them up again); and the draft side's q at
    # each drafted position (DRAFT's).
    dists: list[ContextDists] = field(default_factory=list, repr=False, compare=False)
    proposals: list[DraftDists] = field(default_factory=list, repr=False, compare=False)

    # Written out (not generated) because the engine makes one Round per round
    # and dataclass default factories cost a call per list.
    def __init__(
        self,
        index: int,
        start: int,
        draft_length: int,
        draws: list[float] | None = None,
        drafted: list[int] | None = None,
        draft_probs: list[float] | None = None,
        target_probs: Sequence[float] | None = None,
        betas: Sequence[float] | None = None,
        overlaps: Sequence[float] | None = None,
        accepted: int = 0,
        rejected: bool = False,
        correction: int | None = None,
        bonus: int | None = None,
        completed: bool = False,
    ) -> None:
        self.index = index
        self.start = start
        self.draft_length = draft_length
        self.draws = [] if draws is None else draws
        self.drafted = [] if drafted is None else drafted
        self.draft_probs = [] if draft_probs is None else draft_probs
        self.target_probs = [] if target_probs is None else target_probs
        self.betas = [] if betas is None else betas
        self.overlaps = [] if overlaps is None else overlaps
        self.accepted = accepted
        self.rejected = rejected
        self.correction = correction
        self.bonus = bonus
        self.completed = completed
        self.dists = []
        self.proposals = []

    @classmethod
    def opened(
        cls,
        index: int,
        start: int,
        draft_length: int,
        draws: list[float],
        drafted: list[int],
        draft_probs: list[float],
        proposals: list[DraftDists],
    ) -> Round:
        """A round its DRAFT just filled: Round(index, start, draft_length,
        draws, drafted, draft_probs) with `proposals`, built without the
        keyword defaults (the engine opens one a round; this is ~40% cheaper)."""
        round_ = _new_object(cls)
        round_.index = index
        round_.start = start
        round_.draft_length = draft_length
        round_.draws = draws
        round_.drafted = drafted
        round_.draft_probs = draft_probs
        # VERIFY replaces these three with the round's own lists; until then
        # they share one empty list (nothing appends to them).
        round_.target_probs = round_.betas = round_.overlaps = []
        round_.accepted = 0
        round_.rejected = False
        round_.correction = None
        round_.bonus = None
        round_.completed = False
        round_.dists = []
        round_.proposals = proposals
        return round_

    @property
    def decided(self) -> int:
        """Positions where the acceptance test ran (kept prefix + the rejection)."""
        return self.accepted + (1 if self.rejected else 0)

    @property
    def uniforms(self) -> list[float]:
        """u_i for each position where the acceptance test ran."""
        return self.draws[self.draft_length : self.draft_length + self.decided]

    @property
    def skipped(self) -> int:
        """Drafted tokens after the first rejection: never tested, thrown away."""
        return len(self.drafted) - self.decided

    @property
    def stopped_early(self) -> bool:
        """True when the draft-length policy ended the draft before k tokens."""
        return len(self.drafted) < self.draft_length

    @property
    def draft_passes(self) -> int:
        """Draft forward passes spent: one per drafted token (a policy that stops
        early keeps the token it stopped after, so no pass is thrown away)."""
        return len(self.drafted)

    @property
    def final_token(self) -> int | None:
        return self.correction if self.rejected else self.bonus

    @property
    def emitted(self) -> list[int]:
        final = self.final_token
        return self.drafted[: self.accepted] + ([] if final is None else [final])

    @property
    def emitted_kinds(self) -> bytes:
        """TokenKind per emitted token, as bytes (the compact form runs store)."""
        if not self.completed:
            return b""
        return _ACCEPTED * self.accepted + (_CORRECTION if self.rejected else _BONUS)

    def ratios(self) -> list[float]:
        """p(x)/q(x) per drafted position (inf where q(x) = 0, which a draft never samples)."""
        return [p / q if q > 0 else float("inf") for p, q in zip(self.target_probs, self.draft_probs)]

    def to_dict(self) -> dict[str, Any]:
        data = {
            "index": self.index,
            "start": self.start,
            "draft_length": self.draft_length,
            "drafted": list(self.drafted),
            "draft_probs": list(self.draft_probs),
            "target_probs": list(self.target_probs),
            "betas": list(self.betas),
            "draws": list(self.draws),
            "accepted": self.accepted,
            "rejected": self.rejected,
            "correction": self.correction,
            "bonus": self.bonus,
        }
        # Only where they differ from the betas (not under speculative sampling).
        if self.overlaps and self.overlaps is not self.betas:
            data["overlaps"] = list(self.overlaps)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Round:
        return cls(
            index=data["index"],
            start=data["start"],
            draft_length=data["draft_length"],
            drafted=list(data["drafted"]),
            draft_probs=list(data["draft_probs"]),
            target_probs=list(data["target_probs"]),
            betas=list(data["betas"]),
            overlaps=list(data.get("overlaps", ())),
            draws=list(data["draws"]),
            accepted=data["accepted"],
            rejected=data["rejected"],
            correction=data["correction"],
            bonus=data["bonus"],
            completed=True,
        )
