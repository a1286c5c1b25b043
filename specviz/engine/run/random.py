"""The run's single source of randomness."""

from __future__ import annotations

from typing import Protocol

import numpy as np

_BLOCK = 8192


class UniformSource(Protocol):
    """Where a run's phases take their uniforms: a UniformStream, or a replay's
    check that hands out a trace's recorded uniforms (io.trace._Rederivation)."""

    def take(self, count: int) -> list[float]: ...


class UniformStream:
    """Uniforms on [0, 1) from numpy's PCG64, handed out one at a time.

    Drawn in blocks for speed; PCG64 gives the same sequence whatever the block
    size, so a run is reproducible from its seed alone.
    """

    __slots__ = ("_rng", "_block", "_next")

    def __init__(self, seed: int):
        self._rng = np.random.Generator(np.random.PCG64(seed))
        self._block: list[float] = []
        self._next = 0

    def take(self, count: int) -> list[float]:
        """The next `count` uniforms."""
        start = self._next
        end = start + count
        if end > len(self._block):
            self._block = self._block[start:] + self._rng.random(max(_BLOCK, count)).tolist()
            start, end = 0, count
        self._next = end
        return self._block[start:end]
