"""Which token the run emitted after one fixed context, kept up to date as the run grows.

For a lossless method every emitted token follows the target's distribution
given what came before; the model pairs depend only on the last
`context_order` tokens, so the tokens emitted after one context are
independent draws from p(. | context) (argmax p for greedy). Counting them is
an audit of the run itself, not of a separate experiment.

The fixed context is the one the run has emitted after most often (so the
counts grow fastest); it moves to another only when that one has been seen
10% more often, so the picture does not flicker between near-ties. New
tokens are folded in incrementally (numpy over the new tail only); a change
of context recounts the whole run once.
"""

from __future__ import annotations

from array import array
from typing import Any

import numpy as np

# Another context must be seen this much more often to take over.
SWITCH_MARGIN = 1.10


class ContextCounts:
    """Counts of the token emitted after the run's most frequent context."""

    def __init__(self, vocab_size: int, context_order: int, prompt_length: int) -> None:
        self.vocab_size = vocab_size
        self.order = context_order
        self.first = max(prompt_length, context_order)  # first position whose token is counted
        self.scanned = self.first  # positions below this are counted
        self.context_seen: dict[int, int] = {}  # context code -> emitted tokens after it
        self.context: tuple[int, ...] | None = None
        self._code: int | None = None
        self.counts = np.zeros(vocab_size, dtype=np.int64)

    @property
    def samples(self) -> int:
        return int(self.counts.sum())

    def _codes(self, history: array, start: int, stop: int) -> np.ndarray:
        """Code of the context before each position in [start, stop)."""
        window = np.frombuffer(history[start - self.order : stop], dtype=np.int32).astype(np.int64)
        codes = np.zeros(stop - start, dtype=np.int64)
        for i in range(self.order):
            codes = codes * self.vocab_size + window[i : i + stop - start]
        return codes

    def update(self, history: array) -> None:
        """Fold in the positions emitted since the last update."""
        stop = len(history)
        if stop <= self.scanned:
            return
        codes = self._codes(history, self.scanned, stop)
        tokens = np.frombuffer(history[self.scanned : stop], dtype=np.int32)
        seen = self.context_seen
        unique, counts = np.unique(codes, return_counts=True)
        best = self._code
        best_count = seen.get(best, 0) if best is not None else 0
        leader, leader_count = best, best_count
        for code, count in zip(unique.tolist(), counts.tolist()):
            total = seen[code] = seen.get(code, 0) + count
            if total > leader_count:
                leader, leader_count = code, total
        if best is not None:
            self.counts += np.bincount(tokens[codes == best], minlength=self.vocab_size)
        self.scanned = stop
        if leader != best and (best is None or leader_count > SWITCH_MARGIN * seen.get(best, 0)):
            self._choose(history, leader)

    def _choose(self, history: array, code: int) -> None:
        self._code = code
        context = []
        for _ in range(self.order):
            code, token = divmod(code, self.vocab_size)
            context.append(token)
        self.context = tuple(reversed(context))
        codes = self._codes(history, self.first, self.scanned)
        tokens = np.frombuffer(history[self.first : self.scanned], dtype=np.int32)
        self.counts = np.bincount(tokens[codes == self._code], minlength=self.vocab_size).astype(np.int64)


def counts_for(simulation: Any) -> ContextCounts:
    model = simulation.model
    return ContextCounts(len(model.vocab), model.context_order, simulation.prompt_length)
