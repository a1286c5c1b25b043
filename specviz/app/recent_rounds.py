"""The last rounds of a run, recorded as they complete (for the timeline view and
for stepping back through past rounds).

A Simulation keeps its statistics and tokens but not its rounds, and a
round's draft length under the confidence policy cannot be recovered from the
tokens. `recent_rounds(simulation)` attaches, once per simulation, a listener
that keeps a compact record of the last few hundred rounds: a deque append or
two per round, whether or not a view is open, so the timeline has the recent
past the moment it is opened.

For stepping back (`<` and `>`), the last CAPACITY rounds are also kept whole,
but without their distributions: a round holds up to three vocabulary-length
arrays per position (megabytes each for a large corpus), its record a few
numbers per position. So memory stays bounded however long the run (a few MB
at k = 64), and a past round's p and q are looked up again from the model and
the run's history when a view shows them (ModelPair.round_dists).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

CAPACITY = 512


@dataclass(frozen=True, slots=True)
class RoundRecord:
    index: int  # 0-based round number
    planned: int  # k planned for the round (after the cut at n)
    drafted: int  # tokens the draft proposed (fewer than planned when the policy stopped early)
    draft_passes: int  # draft forward passes spent (one per drafted token)
    accepted: int  # kept prefix
    rejected: bool

    @property
    def emitted(self) -> int:
        return self.accepted + 1  # the kept prefix plus a correction or a bonus token


def record_of(round_: Any) -> RoundRecord:
    return RoundRecord(
        round_.index, round_.draft_length, len(round_.drafted), round_.draft_passes, round_.accepted, round_.rejected
    )


class RecentRounds:
    """The last `capacity` completed rounds of one simulation."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.rounds: deque[RoundRecord] = deque(maxlen=capacity)
        # The rounds themselves, oldest first; only the newest (the run's current
        # round) still holds its distributions.
        self.past: deque[Any] = deque(maxlen=capacity)

    def record(self, round_: Any) -> None:
        self.rounds.append(record_of(round_))
        past = self.past
        if past and past[-1] is not round_:
            # No longer the run's current round: nothing reads its distributions
            # any more (Round.dists is not part of the record), so let them go.
            past[-1].dists = []
        past.append(round_)

    def last(self, count: int) -> list[RoundRecord]:
        count = max(0, min(count, len(self.rounds)))
        return list(self.rounds)[len(self.rounds) - count :]


_RECORDS: WeakKeyDictionary[Any, RecentRounds] = WeakKeyDictionary()


def recent_rounds(simulation: Any) -> RecentRounds:
    """The record of `simulation`'s recent rounds, started on the first call.

    A round already complete when recording starts (a replay opened mid-way)
    is recorded too, so the record is never empty after a round.
    """
    found = _RECORDS.get(simulation)
    if found is None:
        found = _RECORDS[simulation] = RecentRounds()
        current = simulation.current
        if current is not None and current.completed:
            found.record(current)
        simulation.add_listener(found.record)
    return found
