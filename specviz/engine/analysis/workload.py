"""How long a job will take, before it runs: a short calibration run's pace times the rounds.

A round's cost depends on the pair (an n-gram round does vector work over the
whole vocabulary), the method, the draft length and the machine, so no fixed
rate would do: `measure_pace` times a throwaway `Simulation` of the job's own
configuration for a fraction of a second (or the job's own rounds, if fewer),
and the estimators below multiply. The throwaway run shares only the model
pair, whose caches are pure, so the job's results do not change.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from specviz.engine.run.config import MAX_TARGET_LENGTH, SimConfig

if TYPE_CHECKING:
    from specviz.engine.models.pair import ModelPair

CALIBRATION_SECONDS = 0.2
# The first chunk is one round (it may be slow: a new context on a large
# vocabulary); chunks double so the clock's overhead vanishes.
_LARGEST_CHUNK = 1024


@dataclass(frozen=True)
class Pace:
    """What a calibration run measured."""

    seconds_per_round: float
    tokens_per_round: float
    rounds: int  # rounds it ran


def measure_pace(
    config: SimConfig, model: ModelPair, seconds: float = CALIBRATION_SECONDS, max_rounds: int | None = None
) -> Pace:
    """Run `config` on `model` for about `seconds` (at most `max_rounds` rounds) and time it."""
    from specviz.engine.run.simulation import Simulation

    # n never binds: the calibration stops by time or by rounds.
    simulation = Simulation(config.replace(target_length=MAX_TARGET_LENGTH), model)
    chunk, elapsed = 1, 0.0
    started = time.perf_counter()
    budget = MAX_TARGET_LENGTH if max_rounds is None else max(max_rounds, 1)
    while True:
        simulation.run(max_rounds=min(chunk, budget - simulation.stats.rounds))
        elapsed = time.perf_counter() - started
        if elapsed >= seconds or simulation.stats.rounds >= budget:
            break
        chunk = min(2 * chunk, _LARGEST_CHUNK)
    rounds = simulation.stats.rounds
    return Pace(elapsed / rounds, simulation.emitted / rounds, rounds)


@dataclass(frozen=True)
class Estimate:
    """How long a job would take, and the work that makes it up (for people)."""

    seconds: float
    work: str  # e.g. "64,064 engine runs of 1,000,000 rounds"


def run_seconds(pace: Pace, tokens: int) -> float:
    """A run of `tokens` tokens at `pace`."""
    return tokens / pace.tokens_per_round * pace.seconds_per_round


def per_k_seconds(shortest: Pace, longest: Pace, k_max: int) -> list[float]:
    """Seconds a round takes at k = 1..k_max, linear in k between the paces
    measured at k = 1 and k = k_max (a round drafts k tokens, then verifies)."""
    slope = (longest.seconds_per_round - shortest.seconds_per_round) / max(k_max - 1, 1)
    return [shortest.seconds_per_round + slope * (k - 1) for k in range(1, k_max + 1)]
