"""The `ngram` model pair: Kneser-Ney n-gram language models trained on real text.

The target is an interpolated Kneser-Ney 4-gram model, the draft an
interpolated Kneser-Ney bigram model of the same text, over one shared word
vocabulary. Nobody sets the acceptance rate: beta(p, q) = sum_x min(p, q)
differs from context to context (high where the last word alone predicts the
next, low where the two words before it matter), and the run measures it.

Interpolated Kneser-Ney (Chen & Goodman 1998, section 3.5), for an order-N
model and a context h = (h_1 .. h_{m-1}) at level m:

    P_m(w | h) = max(c_m(h w) - D_m, 0) / c_m(h .)  +  D_m N1+(h .) / c_m(h .) * P_{m-1}(w | h_2..)

where c_N is the raw count at the top level and, below it, the continuation
count c_m(h w) = N1+(. h w), the number of distinct words seen before h w.
D_m = n1 / (n1 + 2 n2) from the count-of-counts at that level. A context never
seen at a level passes its lower level's distribution through unchanged. The
bottom level interpolates with the uniform distribution over the corpus' words,
so every word has some probability in every context.

All count tables are numpy arrays built at once from the token ids (each
level's entries in CSR form by context), so one distribution costs a few
vector operations over the vocabulary. Tables are cached in the process,
keyed by the corpus tokens themselves, so nothing stale is ever read back.

Temperature, then top-k, then top-p (the order Hugging Face applies them)
reshape p and q alike, so the pair the engine verifies is the pair the user
asked for and speculative sampling reproduces the reshaped target exactly.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from specviz.engine.models.corpus import Corpus, load_corpus
from specviz.engine.models.ngram_sparse import Followers, SparseDists, SparseLayout
from specviz.engine.models.pair import (
    LIST_VOCABULARY_LIMIT,
    ContextDists,
    ContextKey,
    DraftDists,
    FloatSequence,
    ModelPair,
    register_model,
)

if TYPE_CHECKING:
    from specviz.engine.run.config import SimConfig

UNKNOWN = "<unk>"
TARGET_ORDER = 4
DRAFT_ORDER = 2
# Kneser-Ney discounts are estimated per level, but kept inside these bounds:
# a tiny corpus has no count-of-counts to estimate from.
MIN_DISCOUNT, MAX_DISCOUNT = 0.1, 0.9
# Memory for cached distributions, half for the ContextDists (each holds about
# three vocabulary-length float64 arrays of its own: p, its cumulative sum and
# the residual's) and half for the draft's q with its cumulative sum.
CACHE_BYTES = 64 * 2**20
CACHE_ENTRIES = (64, 4096)
# The sparse form's budgets (120 MB in all; a 100,000-token run peaks at
# about 190 MB): p on the followers of the last word per context the target
# has seen (half the rows of a 100,000-token run are made again at 24 MB), the
# followers themselves, and q's cumulative sums (8 bytes a word each: what
# drafting bisects); and at most this many engine keys' SparseDists (a few
# hundred bytes until verified, then sharing p on U with the first budget).
SPARSE_CONTEXT_BYTES = 48 * 2**20
SPARSE_FOLLOWER_BYTES = 8 * 2**20
SPARSE_CDF_BYTES = 64 * 2**20
SPARSE_CONTEXTS = 1 << 13


@dataclass(frozen=True)
class _Level:
    """One level m of a Kneser-Ney model: entries (context, word, count) in CSR form."""

    indptr: np.ndarray  # entries of context r are [indptr[r], indptr[r+1])
    words: np.ndarray
    gains: np.ndarray  # (count - D) / total, per entry
    backoff: np.ndarray  # D * N1+(context .) / total, per context; 1.0 for unseen contexts
    seen: np.ndarray  # bool per context: has at least one entry
    discount: float


class KneserNeyModel:
    """An interpolated Kneser-Ney model of one order over token ids 0..V-1.

    Id V-1 is the unknown word: it never occurs in training, so it gets no
    probability and, in a context, makes that level unseen (the model backs off).
    """

    def __init__(self, ids: np.ndarray, vocab_size: int, order: int):
        if order < 1:
            raise ValueError("order must be at least 1")
        self.order = order
        self.vocab_size = vocab_size
        size = len(ids)
        # ranks[m-1][i]: type id of the m-gram starting at position i. Types are
        # ranked level by level (key = type of the (m-1)-gram prefix * V + last
        # word) so keys stay far below 2**63 for any corpus we accept.
        ranks = [ids]
        prefixes = [np.zeros(vocab_size, dtype=np.int64)]  # per type: its context's type
        last_words = [np.arange(vocab_size, dtype=np.int64)]
        # Level 1 needs no positions and no keys (a word is its own type):
        # an empty array holds its place in the lists indexed by level.
        unused = np.zeros(0, dtype=np.int64)
        firsts = [unused]  # per type: a position where it occurs (for m >= 2)
        # Sorted keys of the m-gram types (m >= 2): the type id is the index.
        type_keys = [unused, unused]
        raw_counts = [np.bincount(ids, minlength=vocab_size)]
        for m in range(2, order + 1):
            if size < m:
                break
            keys = ranks[-1][: size - m + 1] * vocab_size + ids[m - 1 :]
            types, first, inverse, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
            type_keys.append(types)
            ranks.append(inverse.reshape(-1))
            prefixes.append(types // vocab_size)
            last_words.append(types % vocab_size)
            firsts.append(first)
            raw_counts.append(counts)
        top = len(ranks)  # the highest level the corpus supports
        self.levels: list[_Level] = []
        for m in range(1, top + 1):
            if m == order:
                values = raw_counts[m - 1]
            elif m < top:
                # Continuation count of each m-gram type: how many (m+1)-gram
                # types have it as their suffix, i.e. distinct words before it.
                suffixes = ranks[m - 1][firsts[m] + 1]
                values = np.bincount(suffixes, minlength=len(raw_counts[m - 1]))
            else:  # the corpus is shorter than the order: top level as raw counts
                values = raw_counts[m - 1]
            contexts = len(raw_counts[m - 2]) if m >= 2 else 1
            self.levels.append(_build_level(prefixes[m - 1], last_words[m - 1], values, contexts))
        # Looking a context's type up in these sorted arrays keeps the model
        # to numpy arrays only (a dict of tuples would cost ~200 bytes a context).
        self._type_keys = type_keys
        # The same arrays as memoryviews: `bisect` and scalar reads on them run
        # at C speed and give Python ints and floats (a numpy scalar read costs
        # ~100 ns, searchsorted on one value ~1.5 us: seen_types ran 4x slower).
        self._type_key_views = [keys.data for keys in type_keys]
        self._seen_views = [level.seen.data for level in self.levels]
        #: per level m (index m - 1): the last word of each context type
        #: (a context of level m is an (m-1)-gram; level 1's one context is ())
        self.context_last_words = [np.zeros(1, dtype=np.int64), *last_words[: top - 1]]
        # The bottom level, interpolated with the uniform distribution over
        # the corpus' words (not the unknown word).
        bottom = self.levels[0]
        base = np.zeros(vocab_size)
        base[bottom.words] = bottom.gains
        uniform = np.zeros(vocab_size)
        uniform[: vocab_size - 1] = 1.0 / (vocab_size - 1)
        base += bottom.backoff[0] * uniform
        self.base = base / base.sum()
        self.base.flags.writeable = False

    def seen_types(self, context: ContextKey) -> list[int]:
        """Per level m = 2, 3, ...: the type id of the context's last m - 1
        words, for as long as the model has seen them as a context. P(. | context)
        depends on these alone; where the chain stops, the model backs off."""
        types: list[int] = []
        seen, keys, size = self._seen_views, self._type_key_views, self.vocab_size
        length = len(context)
        for m in range(2, min(len(self.levels), length + 1) + 1):
            # The type of the last m - 1 words: an n-gram's key is its
            # (n-1)-gram prefix's type * V + its last word, in sorted keys.
            type_id = context[length - m + 1]
            for n in range(2, m):
                key = type_id * size + context[length - m + n]
                level_keys = keys[n]
                type_id = bisect_left(level_keys, key)
                if type_id == len(level_keys) or level_keys[type_id] != key:
                    return types
            if not seen[m - 1][type_id]:
                return types
            types.append(type_id)
        return types

    def distribution(self, context: ContextKey, seen_types: list[int] | None = None) -> np.ndarray:
        """P(. | context) over the vocabulary, float64, summing to 1.

        Uses as many trailing words of `context` as the order allows; a
        shorter context (the start of a short prompt) uses the lower orders.
        `seen_types`, if given, is `self.seen_types(context)`.
        """
        if seen_types is None:
            seen_types = self.seen_types(context)
        p = self.base.copy()
        for level, context_type in zip(self.levels[1:], seen_types):
            start, end = level.indptr[context_type], level.indptr[context_type + 1]
            p *= level.backoff[context_type]
            p[level.words[start:end]] += level.gains[start:end]
        return p


def _build_level(contexts: np.ndarray, words: np.ndarray, values: np.ndarray, context_count: int) -> _Level:
    keep = values > 0
    contexts, words, values = contexts[keep], words[keep], values[keep].astype(np.float64)
    order = np.argsort(contexts, kind="stable")
    contexts, words, values = contexts[order], words[order], values[order]
    n1 = np.count_nonzero(values == 1)
    n2 = np.count_nonzero(values == 2)
    discount = n1 / (n1 + 2 * n2) if n1 + n2 else MIN_DISCOUNT
    discount = min(max(discount, MIN_DISCOUNT), MAX_DISCOUNT)
    totals = np.bincount(contexts, weights=values, minlength=context_count)
    followers = np.bincount(contexts, minlength=context_count)
    seen = totals > 0
    safe_totals = np.where(seen, totals, 1.0)
    backoff = np.where(seen, discount * followers / safe_totals, 1.0)
    indptr = np.zeros(context_count + 1, dtype=np.int64)
    np.cumsum(followers, out=indptr[1:])
    gains = (values - discount) / safe_totals[contexts]
    return _Level(indptr, words, gains, backoff, seen, discount)


@dataclass(frozen=True)
class NgramTables:
    """Both models of one corpus and their shared vocabulary."""

    corpus_name: str
    corpus_words: int
    corpus_tokens: int
    vocab: tuple[str, ...]
    target: KneserNeyModel
    draft: KneserNeyModel


def build_tables(corpus: Corpus, target_order: int = TARGET_ORDER, draft_order: int = DRAFT_ORDER) -> NgramTables:
    """Train the target and the draft on `corpus` (cached in this process)."""
    return _cached_tables(corpus.name, corpus.tokens, target_order, draft_order)


@functools.lru_cache(maxsize=2)
def _cached_tables(name: str, tokens: tuple[str, ...], target_order: int, draft_order: int) -> NgramTables:
    # Most frequent first (ties alphabetical): ids are frequency ranks, and the
    # vocabulary does not depend on set or dict order.
    frequencies = Counter(tokens)
    vocab = tuple(sorted(frequencies, key=lambda word: (-frequencies[word], word))) + (UNKNOWN,)
    index = {word: i for i, word in enumerate(vocab)}
    ids = np.fromiter((index[t] for t in tokens), dtype=np.int64, count=len(tokens))
    words = sum(count for word, count in frequencies.items() if word[0].isalnum() or word[0] == "'")
    return NgramTables(
        corpus_name=name,
        corpus_words=words,
        corpus_tokens=len(tokens),
        vocab=vocab,
        target=KneserNeyModel(ids, len(vocab), target_order),
        draft=KneserNeyModel(ids, len(vocab), draft_order),
    )


def shape_distribution(dist: np.ndarray, temperature: float, top_k: int, top_p: float) -> np.ndarray:
    """dist reshaped by temperature, then top-k, then top-p, normalised to sum to 1.

    Top-k follows transformers' TopKLogitsWarper: it removes only what scores
    below the k-th largest, so every token tied with the k-th is kept (more
    than k survive; Kneser-Ney rows are full of ties).
    """
    if temperature == 1.0 and top_k == 0 and top_p >= 1.0:
        return dist / dist.sum()
    weights = dist
    if temperature != 1.0:
        positive = dist > 0
        logits = np.log(dist[positive]) / temperature
        weights = np.zeros_like(dist)
        # Shift by the max before exp: at low temperature the powers underflow.
        weights[positive] = np.exp(logits - logits.max())
    support = np.count_nonzero(weights)
    if 0 < top_k < support or top_p < 1.0:
        ranked = np.argsort(-weights, kind="stable")  # stable: ties keep id order
        keep = int(support)
        if 0 < top_k < support:
            # Ties with the k-th are contiguous in the ranking: count them all.
            keep = int(np.count_nonzero(weights >= weights[ranked[top_k - 1]]))
        if top_p < 1.0:
            mass = np.cumsum(weights[ranked[:keep]])
            # The smallest prefix whose mass reaches top_p of the total.
            keep = min(int(np.searchsorted(mass, top_p * mass[-1])) + 1, keep)
        filtered = np.zeros_like(weights)
        filtered[ranked[:keep]] = weights[ranked[:keep]]
        weights = filtered
    return weights / weights.sum()


# The slots ContextDists keeps p, its view and beta in, which _LazyDists fills on first use.
_P_SLOT, _P_VIEW_SLOT, _BETA_SLOT = (ContextDists.__dict__[name] for name in ("p", "p_view", "beta"))


class _LazyDists(ContextDists):
    """ContextDists whose target side (p, its view, beta) is computed on first
    use, from `compute_p`: drafting reads only q, and a round never tests the
    drafts after its first rejection. The same numbers as ContextDists(p, q)."""

    __slots__ = ("_compute_p",)

    def __init__(self, compute_p: Callable[[], np.ndarray], q: np.ndarray, q_cdf: FloatSequence, q_view: FloatSequence):
        self._compute_p: Callable[[], np.ndarray] | None = compute_p
        self.q, self.q_cdf, self.q_view = q, q_cdf, q_view
        self._p_cdf = self._residual_cdf = None

    def _fill(self) -> None:
        assert self._compute_p is not None  # filled once
        p = self._compute_p()
        self._compute_p = None
        _P_SLOT.__set__(self, p)
        _P_VIEW_SLOT.__set__(self, p.tolist() if len(p) <= LIST_VOCABULARY_LIMIT else p.data)
        _BETA_SLOT.__set__(self, float(np.minimum(p, self.q).sum()))  # as ContextDists.__init__

    # Slots in ContextDists, filled here on first use.
    @property
    def p(self) -> np.ndarray:  # type: ignore[override]
        if self._compute_p is not None:
            self._fill()
        found: np.ndarray = _P_SLOT.__get__(self)
        return found

    @property
    def p_view(self) -> FloatSequence:  # type: ignore[override]
        if self._compute_p is not None:
            self._fill()
        found: FloatSequence = _P_VIEW_SLOT.__get__(self)
        return found

    @property
    def beta(self) -> float:  # type: ignore[override]
        if self._compute_p is not None:
            self._fill()
        found: float = _BETA_SLOT.__get__(self)
        return found


class NgramPair(ModelPair):
    """Target: Kneser-Ney 4-gram. Draft: Kneser-Ney bigram. Same text, same vocabulary."""

    name = "ngram"
    uses_acceptance_rate = False

    def __init__(
        self,
        tables: NgramTables,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        corpus: Corpus | None = None,
        sparse: bool = True,
    ):
        """`sparse=False` keeps the dense rows even where the sparse form
        applies (the tests compare the two)."""
        super().__init__(tables.vocab)
        self.tables = tables
        self.corpus = corpus  # what the tables were trained on
        self.temperature = temperature
        self.top_k = top_k
        self.top_p = top_p
        self.context_order = max(tables.target.order, tables.draft.order) - 1 or 1
        self.unknown_id = self.index[UNKNOWN]
        # Bounded by memory, not by count: large vocabularies get fewer entries.
        # Two caches hold ContextDists (by the engine's key and by the context
        # the models really use), so each gets half of their budget.
        low, high = CACHE_ENTRIES
        row_bytes = 8 * len(self.vocab)
        self.cache_size = min(max(CACHE_BYTES // 2 // (2 * 3 * row_bytes), low), high)
        self._dists_by_seen: OrderedDict[ContextKey, ContextDists] = OrderedDict()
        # q depends on far fewer words than p, so it has its own small cache.
        self._draft_cache: OrderedDict[ContextKey, tuple[np.ndarray, FloatSequence, FloatSequence]] = OrderedDict()
        self._draft_context = tables.draft.order - 1
        self._draft_cache_size = min(max(CACHE_BYTES // 2 // (2 * row_bytes), low), high)
        # Unshaped rows are a scaled base plus a few words (ngram_sparse.py):
        # contexts cost O(followers) there, so far more of them are kept.
        self._sparse = None
        if sparse and temperature == 1.0 and top_k == 0 and top_p >= 1.0:
            self._sparse = SparseLayout.for_tables(tables.target, tables.draft, SPARSE_CDF_BYTES, SPARSE_CONTEXT_BYTES)
        if self._sparse is not None:
            # Engine keys (the last three ids) -> their SparseDists: small until
            # verified, and their p on U is shared through the layout's cache.
            self._contexts: OrderedDict[ContextKey, SparseDists] = OrderedDict()
            self.cache_size = SPARSE_CONTEXTS
            self.cached_dists = cast(Callable[[ContextKey], ContextDists | None], self._contexts.get)
            self.defers_target = True
            # Drafting reads q alone, which depends on the last token alone: each
            # draft pass is one dict lookup at C speed (score builds the contexts).
            self._followers_after = _FollowersAfter(self._sparse, SPARSE_FOLLOWER_BYTES)
            self.propose_next = self._followers_after.__getitem__

    @property
    def cache_size(self) -> int:
        return self._cache_size

    @cache_size.setter
    def cache_size(self, size: int) -> None:
        # Both caches of ContextDists follow it (a test shrinks them).
        self._cache_size = size

    @property
    def description(self) -> str:
        t = self.tables
        return (
            f"target: Kneser-Ney {t.target.order}-gram, draft: Kneser-Ney {t.draft.order}-gram; "
            f"trained on {t.corpus_name} ({t.corpus_words:,} words, vocabulary {len(self.vocab):,})"
        )

    def _shape(self, dist: np.ndarray) -> np.ndarray:
        shaped = shape_distribution(dist, self.temperature, self.top_k, self.top_p)
        shaped.flags.writeable = False  # shared between cached ContextDists
        return shaped

    def target_distribution(self, context: ContextKey) -> np.ndarray:
        if self._sparse is not None:  # the sparse form's p: not divided by its sum (ngram_sparse.py)
            return self.dists(context).p
        return self._shape(self.tables.target.distribution(context))

    def draft_distribution(self, context: ContextKey) -> np.ndarray:
        return self._draft(context)[0]

    def _draft(self, context: ContextKey) -> tuple[np.ndarray, FloatSequence, FloatSequence]:
        """q, its cumulative sum and its view as ContextDists reads it, shared
        by every context with the same last words (a bigram draft has at most V of them)."""
        key = tuple(context[len(context) - self._draft_context :]) if self._draft_context else ()
        cache = self._draft_cache
        found = cache.get(key)
        if found is None:
            q = self._shape(self.tables.draft.distribution(key))
            # .data: memoryview(array), typed as one
            found = cache[key] = (q, np.cumsum(q).data, q.tolist() if len(q) <= LIST_VOCABULARY_LIMIT else q.data)
            if len(cache) > self._draft_cache_size:
                cache.popitem(last=False)
        else:
            cache.move_to_end(key)
        return found

    def _model_context(self, context: ContextKey, seen_types: list[int]) -> ContextKey:
        # The target's longest seen suffix, or the draft's context where that is longer.
        length = max(len(seen_types), self._draft_context)
        return tuple(context[len(context) - length :]) if length else ()

    def model_context(self, context: ContextKey) -> ContextKey:
        """What p and q in `context` depend on. Text the target never saw in
        this order falls back to shorter contexts, so many of the engine's
        keys share one pair of distributions."""
        return self._model_context(context, self.tables.target.seen_types(context))

    def dists(self, context: ContextKey) -> ContextDists:
        if self._sparse is not None:
            key = tuple(context)
            return self._contexts.get(key) or self._new_context(key)
        seen_types = self.tables.target.seen_types(context)
        model_context = self._model_context(context, seen_types)
        by_seen = self._dists_by_seen
        found = by_seen.get(model_context)
        if found is None:
            q, q_cdf, q_view = self._draft(model_context)
            target = self.tables.target

            def compute_p() -> np.ndarray:
                return self._shape(target.distribution(model_context, seen_types))

            found = by_seen[model_context] = _LazyDists(compute_p, q, q_cdf, q_view)
            if len(by_seen) > self.cache_size:
                by_seen.popitem(last=False)
        else:
            by_seen.move_to_end(model_context)
        # The engine looks keys up in self._cache (via cached_dists) first.
        cache = self._cache
        cache[tuple(context)] = found
        if len(cache) > self.cache_size:
            cache.popitem(last=False)
        return found

    def propose_first(self, history: Sequence[int]) -> DraftDists | None:
        if self._sparse is None:
            return super().propose_first(history)
        return self._followers_after[history[-1] if history else None]

    def score(self, history: Sequence[int], drafted: list[int], proposals: list[DraftDists]) -> list[ContextDists]:
        if self._sparse is None:
            return super().score(history, drafted, proposals)
        # The sparse form drafts from the followers of each last token: the
        # round's contexts (each drafted position and the one after) are made here.
        order = self.context_order
        tokens = [*history[-order:], *drafted]
        start = len(tokens) - len(drafted)
        cached, new_context = self._contexts.get, self._new_context
        found: list[ContextDists] = []
        for end in range(start, len(tokens) + 1):
            key = tuple(tokens[max(end - order, 0) : end])
            found.append(cached(key) or new_context(key))
        return found

    def _new_context(self, key: ContextKey) -> SparseDists:
        """The SparseDists after engine key `key`, kept among the last `cache_size`."""
        assert self._sparse is not None  # only the sparse form makes them
        followers = self._followers_after[key[-1] if key else None]
        found = self._contexts[key] = SparseDists(self._sparse, key, followers)
        if len(self._contexts) > self._cache_size:
            self._contexts.popitem(last=False)
        return found

    def encode_prompt(self, prompt: str) -> list[int]:
        """Prompt words as ids; a word the corpus never has becomes <unk>, which
        the models treat as an unseen context (they back off past it)."""
        from specviz.engine.models.words import tokenize

        ids = [self.index.get(word, self.unknown_id) for word in tokenize(prompt)]
        if not ids and "." in self.index:
            ids = [self.index["."]]  # an empty prompt starts as after a sentence
        return ids


class _FollowersAfter(dict[int | None, Followers]):
    """token (None: no token yet) -> the followers after it (q there): a dict
    whose lookups run in C, filled on a miss and emptied when its entries pass
    `max_bytes` (the pair's one cache of them)."""

    __slots__ = ("_layout", "bytes", "max_bytes")

    def __init__(self, layout: SparseLayout, max_bytes: int):
        super().__init__()
        self._layout, self.bytes, self.max_bytes = layout, 0, max_bytes

    def __missing__(self, token: int | None) -> Followers:
        found = Followers(self._layout, () if token is None else (token,))
        if self.bytes + found.nbytes > self.max_bytes:
            self.clear()
            self.bytes = 0
        self[token] = found
        self.bytes += found.nbytes
        return found


def build_ngram_pair(config: SimConfig) -> NgramPair:
    """The registry's factory: trains on --corpus (or the default) and applies
    --temperature, --top-k and --top-p. Raises ConfigError for a bad corpus."""
    corpus = load_corpus(config.corpus)
    return NgramPair(build_tables(corpus), config.temperature, config.top_k, config.top_p, corpus)


register_model("ngram", build_ngram_pair)
