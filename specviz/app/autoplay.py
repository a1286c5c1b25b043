"""Autoplay speeds: how much of the run one tick advances, and how often ticks come."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class AutoplaySpeed:
    label: str
    unit: Literal["phase", "round"]  # what one step of a tick runs
    per_tick: int  # steps per tick
    interval: float  # seconds between ticks

    def describe(self) -> str:
        return self.label


# Slow speeds walk phase by phase so a person can read the round view; fast
# speeds run whole rounds, a bounded number per tick so keys stay answered.
SPEEDS: tuple[AutoplaySpeed, ...] = (
    AutoplaySpeed("1 phase/s", "phase", 1, 1.0),
    AutoplaySpeed("2 phases/s", "phase", 1, 0.5),
    AutoplaySpeed("5 phases/s", "phase", 1, 0.2),
    AutoplaySpeed("10 rounds/s", "round", 1, 0.1),
    AutoplaySpeed("100 rounds/s", "round", 5, 0.05),
    AutoplaySpeed("1,000 rounds/s", "round", 50, 0.05),
    AutoplaySpeed("10,000 rounds/s", "round", 500, 0.05),
)
DEFAULT_SPEED = 1
