"""The n-gram pair's distributions as a scaled background plus a few words.

An interpolated Kneser-Ney row is the bottom level's `base` times the backoff
weights of the levels the context has seen, plus gains at the words those
levels saw after it. Every such word follows the context's last word somewhere
in the corpus, so both rows of a context, p (4-gram) and q (bigram), are
`base * scale` except on U, the words seen after the last word: a few hundred
of the default corpus' 2,900. A round reads p(x) at its drafted words, beta =
sum_x min(p, q), and at most one draw from norm(max(0, p - q)) or from p; here
each costs O(|U|) instead of several passes over the vocabulary (issue 18).

Exactness, against `KneserNeyModel.distribution`'s dense row:
- on U the values come from the very same operations in the same order, and
  off U each is base[x] times the same backoffs in the same order (Python
  floats are IEEE doubles, as numpy's): every p(x) and q(x) is bit-identical;
- sums are not: beta and the draws' cumulative sums add the same numbers in
  another order, so they agree with the dense ones to a few units in the last
  place, and a draw lands on another token only when u falls within that
  rounding of a boundary between two tokens (tests/engine/test_ngram_sparse.py);
- the target row is not divided by its sum, which is 1 to within 1e-15 (the
  dense form divided by it; shaped rows, which are not sparse, still do).
q's cumulative sum, which drafting bisects, is the dense one, so drafts are
exactly the dense form's.

`SparseLayout.for_tables` says whether a pair of tables has this form (a bigram
draft over the target's own base, and every target word after a context among
the draft's followers of its last word, checked once over the whole tables).
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, Protocol, TypeVar

import numpy as np

from specviz.engine.models.pair import ContextDists, ContextKey, DraftDists, FloatSequence, sample_index


class CountLevel(Protocol):
    """One level of a Kneser-Ney model's tables, as models/ngram.py keeps it (CSR by context)."""

    @property
    def indptr(self) -> np.ndarray: ...
    @property
    def words(self) -> np.ndarray: ...
    @property
    def gains(self) -> np.ndarray: ...
    @property
    def backoff(self) -> np.ndarray: ...
    @property
    def seen(self) -> np.ndarray: ...


class KneserNeyModel(Protocol):
    """What the sparse form reads of ngram.KneserNeyModel (named, not
    imported: that module builds on this one)."""

    order: int
    vocab_size: int
    base: np.ndarray
    context_last_words: list[np.ndarray]

    @property
    def levels(self) -> Sequence[CountLevel]: ...

    def seen_types(self, context: ContextKey) -> list[int]: ...

    def distribution(self, context: ContextKey, seen_types: list[int] | None = None) -> np.ndarray: ...

    def __hash__(self) -> int: ...  # by identity: the layout's check is cached per pair of tables


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
# What one cached context costs beside its values on U (the object, its lists, the keys).
CONTEXT_OVERHEAD_BYTES = 600


class BoundedCache(Generic[K, V]):
    """The oldest entries go first once the entries' bytes pass `max_bytes` or
    their count passes `max_entries` (a cache bounded by memory, which
    functools.lru_cache cannot be). First in, first out, unless the caller
    `touch`es what it hits: `get` is the dict's own, at C speed."""

    __slots__ = ("_entries", "_sizes", "bytes", "max_bytes", "max_entries", "_on_evict", "get")

    def __init__(self, max_bytes: int, max_entries: int, on_evict: Callable[[V], None] | None = None):
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._sizes: dict[K, int] = {}
        self.bytes = 0
        self.max_bytes, self.max_entries = max_bytes, max_entries
        self._on_evict = on_evict
        self.get: Callable[[K], V | None] = self._entries.get

    def put(self, key: K, value: V, size: int) -> V:
        entries, sizes = self._entries, self._sizes
        if key in entries:
            self.bytes -= sizes[key]
        entries[key] = value
        sizes[key] = size
        self.bytes += size
        if self.bytes > self.max_bytes or len(entries) > self.max_entries:
            while len(entries) > 1 and (self.bytes > self.max_bytes or len(entries) > self.max_entries):
                old, evicted = entries.popitem(last=False)
                self.bytes -= sizes.pop(old)
                if self._on_evict is not None:
                    self._on_evict(evicted)
        return value

    def touch(self, key: K) -> None:
        """Mark `key` as just used, so it goes last (least recently used first out)."""
        self._entries.move_to_end(key)

    def __len__(self) -> int:
        return len(self._entries)


class RowLookup:
    """row[x] for a row that is base * scales / divisor off `words` and
    `values` on them: the value the dense row holds, bit for bit."""

    __slots__ = ("_words", "_values", "_count", "_base", "_scales", "_divisor")

    def __init__(
        self, words: memoryview, values: FloatSequence, base: FloatSequence, scales: list[float], divisor: float
    ):
        self._words, self._values, self._count = words, values, len(words)
        self._base, self._scales, self._divisor = base, scales, divisor

    def __getitem__(self, token: int) -> float:
        words = self._words
        at = bisect_left(words, token)
        if at < self._count and words[at] == token:
            return self._values[at]
        value = self._base[token]
        for scale in self._scales:  # in the dense row's order: one multiply a level
            value *= scale
        return value / self._divisor  # dividing by 1.0 changes nothing

    def __len__(self) -> int:
        return len(self._base)


class Followers(DraftDists):
    """What every context with one last word shares: U (the draft's followers
    of that word), base on U, and q, which depends on that word alone: it is
    the draft side of the round's position after that word (what drafting reads)."""

    __slots__ = (
        "layout",
        "draft_key",
        "last",
        "words",
        "word_view",
        "base_words",
        "base_cdf_words",
        "base_off",
        "q_words",
        "q_background",
        "_q_cdf",
        "_draft",
    )

    def __init__(self, layout: SparseLayout, draft_key: ContextKey):
        draft = layout.draft
        self.layout, self.draft_key, self._draft = layout, draft_key, draft
        follow = draft.levels[1]
        last = self.last = draft_key[-1] if draft_key else None
        if last is not None and follow.seen[last]:
            start, end = int(follow.indptr[last]), int(follow.indptr[last + 1])
            self.words = follow.words[start:end]
            backoff = [float(follow.backoff[last])]
        else:
            self.words, backoff = follow.words[:0], []
        self.word_view = self.words.data
        self.base_words = layout.base[self.words]
        self.base_cdf_words = layout.base_cdf[self.words]
        self.base_off = layout.base_total - float(self.base_words.sum())  # base's mass off U
        # q exactly as the dense pair computes it: the values on U, the divisor
        # and the cumulative sum drafting bisects all come from it.
        q, divisor = self._dense_q()
        self.q_words = q[self.words]
        self.q_view = RowLookup(self.word_view, self.q_words.data, layout.base_view, backoff, divisor)  # type: ignore[assignment]  # indexes like a row
        self.q_background = (backoff[0] if backoff else 1.0) / divisor  # q = base * this off U
        # Emptied again when the layout's cache of cumulative sums lets it go.
        self._q_cdf: FloatSequence | None = None
        layout.keep_q_cdf(self, q)

    @property
    def q(self) -> np.ndarray:  # type: ignore[override]
        return self.dense_q()

    @property
    def q_cdf(self) -> FloatSequence:  # type: ignore[override]
        found = self._q_cdf
        return found if found is not None else self.layout.q_cdf(self)

    def dense_q(self) -> np.ndarray:
        """q over the vocabulary, as the dense pair computes it (not kept: 8 bytes a word)."""
        return self._dense_q()[0]

    def _dense_q(self) -> tuple[np.ndarray, float]:
        """q and the sum it was divided by."""
        dist = self._draft.distribution(self.draft_key)
        divisor = float(dist.sum())
        q = dist / divisor
        q.flags.writeable = False
        return q, divisor

    @property
    def nbytes(self) -> int:
        return 5 * self.words.nbytes + CONTEXT_OVERHEAD_BYTES


@functools.lru_cache(maxsize=2)  # as ngram's tables: the check took 10 ms a pair made
def _positions_in_followers(target: KneserNeyModel, draft: KneserNeyModel) -> list[np.ndarray] | None:
    """Per target level m >= 2: for each entry, the position of its word among
    the draft's followers of its context's last word; None where some word is
    not among them (or the draft is not a bigram over the target's base)."""
    if draft.order != 2 or len(draft.levels) < 2 or not np.array_equal(target.base, draft.base):
        return None
    follow = draft.levels[1]
    size = target.vocab_size
    follow_contexts = np.repeat(np.arange(len(follow.indptr) - 1), np.diff(follow.indptr))
    follow_keys = follow_contexts * size + follow.words  # sorted: CSR by context, words sorted within
    positions = []
    for m in range(2, len(target.levels) + 1):
        level = target.levels[m - 1]
        contexts = np.repeat(np.arange(len(level.indptr) - 1), np.diff(level.indptr))
        last_words = target.context_last_words[m - 1][contexts]
        keys = last_words * size + level.words
        at = np.minimum(follow_keys.searchsorted(keys), max(len(follow_keys) - 1, 0))
        if len(keys) and not (len(follow_keys) and np.array_equal(follow_keys[at], keys)):
            return None
        positions.append(at - follow.indptr[last_words])
    return positions


def _drop_q_cdf(followers: Followers) -> None:
    followers._q_cdf = None


class SparseLayout:
    """The base row, its cumulative sum and the followers of each word, for one pair of tables."""

    def __init__(
        self,
        target: KneserNeyModel,
        draft: KneserNeyModel,
        positions_in_followers: list[np.ndarray],
        cdf_bytes: int,
        values_bytes: int,
    ):
        self.target, self.draft = target, draft
        self.base = target.base
        self.base_view = self.base.data
        self.base_cdf = np.cumsum(self.base)
        self.base_cdf_view = self.base_cdf.data
        self.base_total = float(self.base.sum())
        self.vocab_size = len(self.base)
        self._q_cdfs: BoundedCache[ContextKey, Followers] = BoundedCache(cdf_bytes, 1 << 16, _drop_q_cdf)
        self._rows: BoundedCache[tuple[int, int | None], TargetRow] = BoundedCache(values_bytes, 1 << 16)
        # Per target level m >= 2 (index m - 2): its CSR arrays, and for each
        # entry the position of its word among the followers of the context's
        # last word (for_tables computed them while checking they exist).
        self._levels = [
            (level.indptr.data, level.backoff.data, level.gains, positions)
            for level, positions in zip(target.levels[1:], positions_in_followers)
        ]

    @classmethod
    def for_tables(
        cls, target: KneserNeyModel, draft: KneserNeyModel, cdf_bytes: int, values_bytes: int
    ) -> SparseLayout | None:
        """The layout, or None where these tables do not have the sparse form."""
        positions = _positions_in_followers(target, draft)
        return None if positions is None else cls(target, draft, positions, cdf_bytes, values_bytes)

    def q_cdf(self, followers: Followers) -> FloatSequence:
        """q's cumulative sum after the followers' word (made again once its cache let it go)."""
        found = followers._q_cdf
        return found if found is not None else self.keep_q_cdf(followers, followers.dense_q())

    def keep_q_cdf(self, followers: Followers, q: np.ndarray) -> FloatSequence:
        """Keep q's cumulative sum on `followers` while memory allows."""
        found = followers._q_cdf = np.cumsum(q).data
        self._q_cdfs.put(followers.draft_key, followers, found.nbytes)
        return found

    def target_row(self, followers: Followers, types: list[int]) -> TargetRow:
        """p after a context whose seen types are `types` (its last word's
        followers given): level by level, with KneserNeyModel.distribution's
        operations in its order (base * b, then the level's gains added).

        Each level's row depends on that level's context type alone (the deeper
        type determines the shallower ones), so it is kept under (level, type)
        and shared by every context that reaches it: the followers of "the" are
        scaled once, not once per context ending in "the"."""
        depth = len(types)
        key = (depth, types[-1]) if depth else (0, followers.last)
        found = self._rows.get(key)
        if found is not None:
            self._rows.touch(key)  # recency: hot contexts ("of the") stay
            return found
        if depth:
            shallower = self.target_row(followers, types[:-1])
            indptr, backoff, gains, positions = self._levels[depth - 1]
            context_type = types[-1]
            scale = backoff[context_type]
            values = shallower.values * scale  # a new array: the shallower row stays as it is
            start, end = indptr[context_type], indptr[context_type + 1]
            values[positions[start:end]] += gains[start:end]
            found = TargetRow(self, followers, values, [*shallower.scales, scale], shallower.background * scale)
        else:
            found = TargetRow(self, followers, followers.base_words, [], 1.0)
        self._rows.put(key, found, found.values.nbytes + CONTEXT_OVERHEAD_BYTES)
        return found

    def draw(self, followers: Followers, scale: float, weights: np.ndarray, u: float) -> int | None:
        """Inverse-CDF sampling, in token order, from the row `base * scale`
        off U and `weights` on U (unnormalised): the first token whose
        cumulative weight passes u times the total, as `sample_index` on the
        dense row. None where u lands at the very end (rounding) or the row is
        all zero: the caller then asks the dense row."""
        words = followers.word_view
        count = len(words)
        # On U the weight replaces the background there: cumulative sum of the
        # differences, plus the background's own cumulative sum.
        excess = np.cumsum(weights - scale * followers.base_words) if scale else np.cumsum(weights)
        total = scale * self.base_total + (float(excess[-1]) if count else 0.0)
        if not total > 0.0:
            return None
        threshold = u * total
        at = int((scale * followers.base_cdf_words + excess).searchsorted(threshold, side="right")) if count else 0
        if scale > 0.0:
            # Between U's words the row is the background alone.
            low = words[at - 1] + 1 if at else 0
            high = words[at] if at < count else self.vocab_size
            offset = float(excess[at - 1]) if at else 0.0
            token = bisect_right(self.base_cdf_view, (threshold - offset) / scale, low, high)
            if token < high:
                return token
        return words[at] if at < count else None


class TargetRow:
    """p after the contexts that share one deepest seen context type: p on U,
    the backoffs that scale base off U, and what a round reads from it (p(x),
    beta against q after the same last word, and the two draws)."""

    __slots__ = ("layout", "followers", "values", "scales", "background", "_point", "_overlap")

    def __init__(
        self, layout: SparseLayout, followers: Followers, values: np.ndarray, scales: list[float], background: float
    ):
        self.layout, self.followers, self.values, self.scales = layout, followers, values, scales
        self.background = background  # p = base * this off U: the product of the scales, in their order
        self._point: FloatSequence | None = None
        self._overlap: float | None = None

    @property
    def point(self) -> FloatSequence:
        """p(x) for any x (built when first read: most rows are a deeper row's start)."""
        found = self._point
        if found is None:
            lookup = RowLookup(self.followers.word_view, self.values.data, self.layout.base_view, self.scales, 1.0)
            self._point = lookup  # type: ignore[assignment]  # indexes like a row
            return self._point  # type: ignore[return-value]
        return found

    @property
    def beta(self) -> float:
        found = self._overlap
        if found is None:
            followers = self.followers
            off = min(self.background, followers.q_background) * followers.base_off
            found = self._overlap = float(np.minimum(self.values, followers.q_words).sum()) + off
        return found

    def sample_p(self, u: float) -> int | None:
        return self.layout.draw(self.followers, self.background, self.values, u)

    def sample_residual(self, u: float) -> int | None:
        followers = self.followers
        scale = max(self.background - followers.q_background, 0.0)
        return self.layout.draw(followers, scale, np.maximum(self.values - followers.q_words, 0.0), u)


class SparseDists(ContextDists):
    """p and q after one engine key (up to the last order - 1 ids), in the
    sparse form. q is there at once (drafting reads it); the target side
    (which contexts the target has seen, then their TargetRow) waits until
    something reads it: a round never tests the drafts after its first
    rejection, so most drafted positions never need it. Draws need no dense
    row; the dense p, q and their cumulative sums are computed when asked
    (views, other methods) and not kept."""

    __slots__ = ("_layout", "_followers", "_context", "_row")

    def __init__(self, layout: SparseLayout, context: ContextKey, followers: Followers):
        # followers: the Followers of context[-1:], which the caller has at hand
        self._layout, self._context, self._followers = layout, context, followers
        self.q_view = followers.q_view
        self._row: TargetRow | None = None

    def _fill(self) -> TargetRow:
        layout = self._layout
        row = self._row = layout.target_row(self._followers, layout.target.seen_types(self._context))
        return row

    # The q side depends on the last word alone; its cumulative sum is the layout's to cache.
    @property
    def q(self) -> np.ndarray:  # type: ignore[override]
        return self._followers.dense_q()

    @property
    def q_cdf(self) -> FloatSequence:  # type: ignore[override]
        return self._followers.q_cdf

    # The target side.
    @property
    def p_view(self) -> FloatSequence:  # type: ignore[override]
        row = self._row
        return (row if row is not None else self._fill()).point

    @property
    def p(self) -> np.ndarray:  # type: ignore[override]
        dense = self._layout.target.distribution(self._context)
        dense.flags.writeable = False
        return dense

    @property
    def beta(self) -> float:  # type: ignore[override]
        row = self._row
        return (row if row is not None else self._fill()).beta

    @property
    def p_cdf(self) -> FloatSequence:
        return np.cumsum(self.p).data

    @property
    def residual_cdf(self) -> FloatSequence:
        return np.cumsum(self.residual).data

    def sample_p(self, u: float) -> int:
        row = self._row
        token = (row if row is not None else self._fill()).sample_p(u)
        return sample_index(self.p_cdf, u) if token is None else token

    def sample_residual(self, u: float) -> int:
        row = self._row
        token = (row if row is not None else self._fill()).sample_residual(u)
        return sample_index(self.residual_cdf, u) if token is None else token
