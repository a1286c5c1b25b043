"""Drafters real engines use in place of a pair's own draft, over any target.

- `ArgmaxDraftPair` (--draft-sampling argmax, vLLM's default for a draft
  model): the draft proposes its most likely token; q is then a point mass
  there, so speculative sampling keeps a draft x with probability p(x) and
  corrects from p without x. The hf pair does the same on its own draft.
- `PromptLookupPair` (--draft prompt-lookup, vLLM's `ngram` method,
  transformers' `prompt_lookup_num_tokens`): no draft model. The last n ids
  (n from --prompt-lookup-max down to 1) are looked up earlier in the prompt
  and output; the ids that followed their first occurrence are the drafts,
  each a point mass, until the text runs out. With no match the round drafts
  nothing and is one plain decoding step.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from specviz.engine.catalog import PROMPT_LOOKUP
from specviz.engine.models.pair import ContextDists, ContextKey, DraftDists, ModelPair

if TYPE_CHECKING:
    from specviz.engine.run.config import SimConfig


def point_mass(size: int, token: int) -> np.ndarray:
    q = np.zeros(size)
    q[token] = 1.0
    q.flags.writeable = False
    return q


class _Wrapper(ModelPair):
    """A pair that answers for another: its vocabulary, text and target."""

    def __init__(self, inner: ModelPair):
        self.inner = inner
        self.vocab, self.index, self.joined = inner.vocab, inner.index, inner.joined
        self.name, self.corpus = inner.name, inner.corpus
        self.uses_acceptance_rate = inner.uses_acceptance_rate
        self.subword_tokens = inner.subword_tokens
        self.context_order, self.cache_size = inner.context_order, inner.cache_size
        self._init_cache()

    def __getattr__(self, name: str) -> Any:
        # What only the inner pair has (a description, its tables, its pass counts).
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def encode_prompt(self, prompt: str) -> list[int]:
        return self.inner.encode_prompt(prompt)

    def decode(self, token_ids: Sequence[int]) -> str:
        return self.inner.decode(token_ids)

    def measured_timing(self, history: Sequence[int], emitted: int) -> dict[str, float | None]:
        return self.inner.measured_timing(history, emitted)

    def target_distribution(self, context: ContextKey) -> np.ndarray:
        return self.inner.dists(self.inner.context_key(context)).p


class ArgmaxDraftPair(_Wrapper):
    """The inner pair with q replaced by a point mass at argmax q (lowest id among ties)."""

    def draft_distribution(self, context: ContextKey) -> np.ndarray:
        q = self.inner.dists(self.inner.context_key(context)).q
        return point_mass(len(q), int(np.argmax(q)))

    def dists(self, context: ContextKey) -> ContextDists:
        cache = self._cache
        found = cache.get(context)
        if found is None:
            inner = self.inner.dists(context)
            found = cache[context] = ContextDists(inner.p, point_mass(len(inner.q), int(np.argmax(inner.q))))
            if len(cache) > self.cache_size:
                cache.popitem(last=False)
        return found


class _NgramIndex:
    """The first position of every n-gram (n = 1..most) of a growing id list."""

    def __init__(self, most: int):
        self.most = most
        self.ids: list[int] = []
        self.first: list[dict[tuple[int, ...], int]] = [{} for _ in range(most + 1)]

    def follow(self, history: Sequence[int]) -> list[int]:
        """Index `history`, which usually extends what was indexed (else start over)."""
        ids = self.ids
        known = len(ids)
        # A run only appends, except when it starts again from the prompt
        # (the audit): then the history is shorter, or differs at the end.
        if known > len(history) or (known and history[known - 1] != ids[-1]):
            self.ids, self.first = [], [{} for _ in range(self.most + 1)]
            ids, known = self.ids, 0
        ids.extend(history[known:])
        for end in range(known + 1, len(ids) + 1):
            for n in range(1, min(self.most, end) + 1):
                self.first[n].setdefault(tuple(ids[end - n : end]), end - n)
        return ids

    def continuation(self, history: Sequence[int]) -> int | None:
        """Where the ids after the first earlier match of the longest suffix start."""
        ids = self.follow(history)
        length = len(ids)
        for n in range(min(self.most, length), 0, -1):
            start = self.first[n].get(tuple(ids[length - n :]))
            if start is not None and start + n < length:
                return start + n
        return None


class PromptLookupPair(_Wrapper):
    """Drafts copied from earlier in the text; the inner pair's target verifies them."""

    # The drafts depend on the whole text, not on the last few ids.
    context_keyed = False

    def __init__(self, inner: ModelPair, most: int):
        super().__init__(inner)
        self.context_order = sys.maxsize
        self._index = _NgramIndex(most)
        self._next = 0  # where the next draft is copied from
        self._points: dict[int, DraftDists] = {}
        self.propose_next = self._copy_next

    def _proposal(self, token: int) -> DraftDists:
        found = self._points.get(token)
        if found is None:
            found = self._points[token] = DraftDists(point_mass(len(self.vocab), token))
        return found

    def propose_first(self, history: Sequence[int]) -> DraftDists | None:
        start = self._index.continuation(history)
        if start is None:
            return None
        self._next = start
        return self._proposal(self._index.ids[start])

    def _copy_next(self, token: int) -> DraftDists | None:
        # `token` is the draft just proposed (a point mass): copy the one after it.
        self._next += 1
        ids = self._index.ids
        return self._proposal(ids[self._next]) if self._next < len(ids) else None

    def score(self, history: Sequence[int], drafted: list[int], proposals: list[DraftDists]) -> list[ContextDists]:
        p = self.inner.target_probabilities(history, drafted)
        dists = [ContextDists(p[i], proposal.q, proposal.q_cdf) for i, proposal in enumerate(proposals)]
        dists.append(ContextDists(p[-1], p[-1]))  # no draft after the last: p stands in for q
        return dists

    def draft_distribution(self, context: ContextKey) -> np.ndarray:
        """The lookup's proposal after `context` as a point mass; p where it has none."""
        index = _NgramIndex(self._index.most)
        start = index.continuation(context)
        if start is None:
            return self.target_distribution(context)
        return point_mass(len(self.vocab), index.ids[start])

    def target_distribution(self, context: ContextKey) -> np.ndarray:
        inner = self.inner
        if inner.context_keyed:
            return inner.dists(inner.context_key(context)).p
        return inner.target_distribution(context)


def wrap(pair: ModelPair, config: SimConfig) -> ModelPair:
    """`pair` with the drafter `config` asks for."""
    if config.draft == PROMPT_LOOKUP:
        return PromptLookupPair(pair, config.prompt_lookup_max)
    return ArgmaxDraftPair(pair)
