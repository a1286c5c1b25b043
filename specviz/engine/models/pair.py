"""Model pairs: a target and a draft next-token distribution over one vocabulary.

A round asks a pair what a real engine asks its two models:
- DRAFT: `propose_first(history)` then `propose_next(token)` for each further
  draft, one draft forward pass each: q at the next position (`DraftDists`),
  or None where the drafter has nothing to propose (it ends the draft);
- VERIFY: `score(history, drafted, proposals)`, one target forward pass over
  every drafted position and the one after: the round's `ContextDists` (p and
  q together, with what sampling and verification need).
A pair with caches (a neural pair's KV caches) rolls them back to the
committed history on its next call: every call names the history it extends.

A context-keyed pair maps a context (the last `context_order` token ids) to p
and q at once (`dists(context_key)`, cached per context, so each is computed
once per context, not once per token); the base class answers the three calls
above from that cache, so such a pair only writes its two distributions.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from specviz.engine import catalog
from specviz.engine.models.words import PUNCTUATION, tokenize

if TYPE_CHECKING:
    from specviz.engine.models.corpus import Corpus
    from specviz.engine.run.config import SimConfig

ContextKey = tuple[int, ...]
#: The hot path's view of an array: a list of floats, or a memoryview over the
#: array that indexes to floats (typeshed's memoryview is over ints by default).
FloatSequence = Sequence[float]


class DraftDists:
    """q at one draft position: what drafting a token needs (the draft side).

    The array is float64. The hot path reads it through `q_view` and `q_cdf`,
    which index to plain Python floats and work with `bisect` (~6x faster than
    np.searchsorted on one value): Python lists for a small vocabulary (no
    float is allocated per read), memoryviews over the arrays for a large one
    (8 bytes an entry instead of ~32).
    """

    # __weakref__: methods memoise per-context values weakly (methods.ContextMemo).
    __slots__ = ("q", "q_view", "q_cdf", "__weakref__")

    def __init__(self, q: np.ndarray, q_cdf: FloatSequence | None = None):
        # q_cdf: np.cumsum(q) computed once, for pairs whose q is shared by many contexts.
        self.q = q
        self.q_view = _sequence(q)
        self.q_cdf = _sequence(np.cumsum(q)) if q_cdf is None else q_cdf


class ContextDists(DraftDists):
    """p and q in one context, with what sampling and verification need."""

    __slots__ = ("p", "beta", "p_view", "_p_cdf", "_residual_cdf")

    def __init__(self, p: np.ndarray, q: np.ndarray, q_cdf: FloatSequence | None = None):
        super().__init__(q, q_cdf)
        self.p = p
        # beta(p, q) = sum_x min(p, q) = 1 - TV(p, q): the chance a draft from q
        # is accepted here under min(1, p/q) (REFERENCE §2).
        self.beta = float(np.minimum(p, q).sum())
        self.p_view = _sequence(p)
        # Only a bonus token or a correction samples from these: built on
        # first use (most contexts of a real model are never asked).
        self._p_cdf: FloatSequence | None = None
        self._residual_cdf: FloatSequence | None = None

    @property
    def p_cdf(self) -> FloatSequence:
        if self._p_cdf is None:
            self._p_cdf = _sequence(np.cumsum(self.p))
        return self._p_cdf

    @property
    def residual(self) -> np.ndarray:
        """norm(max(0, p - q)): where a correction is drawn after a rejection."""
        return normalize(np.maximum(self.p - self.q, 0.0), fallback=self.p)

    @property
    def residual_cdf(self) -> FloatSequence:
        if self._residual_cdf is None:
            self._residual_cdf = _sequence(np.cumsum(self.residual))
        return self._residual_cdf

    # The two draws a round makes from the target side; a pair that keeps its
    # rows in another form (ngram_sparse.SparseDists) draws without the dense cdf.
    def sample_p(self, u: float) -> int:
        """A token from p by inverse-CDF sampling with uniform u."""
        return sample_index(self.p_cdf, u)

    def sample_residual(self, u: float) -> int:
        """A token from norm(max(0, p - q)) by inverse-CDF sampling with uniform u."""
        return sample_index(self.residual_cdf, u)


# Up to this many entries a Python list (fast reads, ~32 bytes an entry) is
# used; beyond it a memoryview (8 bytes an entry).
LIST_VOCABULARY_LIMIT = 1024


def _sequence(values: np.ndarray) -> FloatSequence:
    """`values` as an indexable sequence of Python floats for the hot path."""
    # values.data is memoryview(values); numpy types ndarray as a buffer only from Python 3.12.
    return values.tolist() if len(values) <= LIST_VOCABULARY_LIMIT else values.data


def normalize(weights: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    total = float(weights.sum())
    if total <= 0.0:
        if fallback is None:
            raise ValueError("cannot normalise an all-zero weight vector")
        return fallback
    return weights / total


def sample_index(cdf: FloatSequence, u: float) -> int:
    """Inverse-CDF sampling: the first index i with u * total < cdf[i].

    Such an i always has positive probability (cdf[i] > cdf[i-1]); only when
    rounding puts u * total at the very end do we clamp, and then step back
    past any zero-probability tail.
    """
    index = bisect_right(cdf, u * cdf[-1])
    if index >= len(cdf):
        index = len(cdf) - 1
        while index > 0 and cdf[index] == cdf[index - 1]:
            index -= 1
    return index


class ModelPair(ABC):
    """A target and a draft model over a shared vocabulary."""

    #: registry name, as given to --model
    name: str = ""
    #: how many trailing tokens the distributions depend on (at least 1)
    context_order: int = 1
    #: how many contexts' ContextDists to keep
    cache_size: int = 4096
    #: True when the acceptance rate is set by the alpha knob, not measured
    uses_acceptance_rate: bool = False
    #: the training text for a pair that reads one, else None; a trace
    #: records its hash (catalog.model_reads_corpus names them)
    corpus: Corpus | None = None

    #: True when token ids are a tokenizer's subword pieces: a run reports the
    #: ids (`token_ids`), and text is decoded from all of them at once
    subword_tokens: bool = False
    #: True when p and q depend on the last `context_order` ids alone, so that
    #: `dists(context_key)` answers for any position (the base class drafts
    #: and verifies from it); False for a pair that runs real models
    context_keyed: bool = True
    #: True when reading a context's target side (p(x), beta) costs real
    #: work that a round may skip: VERIFY then fills its columns on first
    #: read (rounds.DeferredFloats), so the drafts after a rejection cost nothing
    defers_target: bool = False

    def __init__(self, vocab: Sequence[str]):
        self.vocab: Sequence[str] = tuple(vocab)
        self.index: dict[str, int] = {word: i for i, word in enumerate(self.vocab)}
        # Each word as it joins running text: " word", or "," glued to the last.
        self.joined: Sequence[str] = tuple(w if w in PUNCTUATION else " " + w for w in self.vocab)
        self._init_cache()

    def _init_cache(self) -> None:
        self._cache: OrderedDict[ContextKey, ContextDists] = OrderedDict()
        # A cache hit without a method call, for the engine's hot loop.
        self.cached_dists: Callable[[ContextKey], ContextDists | None] = self._cache.get
        #: One draft pass after the round's first: extend the draft by a token,
        #: q at the next position (None: nothing more to propose). An
        #: attribute, not a method, so that a pair may make it a C-level call.
        self.propose_next: Callable[[int], DraftDists | None] = self._propose_after
        # The context key of the draft's last proposal (context-keyed pairs).
        self._draft_key: ContextKey = ()
        # Order-1 pairs whose every context fits the cache: the dists after
        # each token, looked up at C speed (built on the first round).
        self._after_token: _DistsAfterToken | None = None

    @abstractmethod
    def target_distribution(self, context: ContextKey) -> np.ndarray:
        """p(. | context) as a float64 array over the vocabulary, summing to 1."""

    @abstractmethod
    def draft_distribution(self, context: ContextKey) -> np.ndarray:
        """q(. | context) as a float64 array over the vocabulary, summing to 1."""

    def encode_prompt(self, prompt: str) -> list[int]:
        """Token ids for the prompt; words outside the vocabulary are dropped."""
        return [self.index[w] for w in tokenize(prompt) if w in self.index]

    def context_key(self, history: Sequence[int]) -> ContextKey:
        return tuple(history[-self.context_order :])

    def dists(self, context: ContextKey) -> ContextDists:
        cache = self._cache
        found = cache.get(context)
        if found is not None:
            return found
        found = ContextDists(self.target_distribution(context), self.draft_distribution(context))
        cache[context] = found
        if len(cache) > self.cache_size:
            cache.popitem(last=False)
        return found

    def round_dists(self, before: Sequence[int], drafted: Sequence[int]) -> list[ContextDists]:
        """The ContextDists at each of a round's drafted positions and the one
        after them (len(drafted) + 1), given the tokens `before` the round: what
        the round used, looked up again (a replay, or a past round whose record
        no longer holds them)."""
        tokens = list(before[-self.context_order :]) + list(drafted)
        start = len(tokens) - len(drafted)
        return [self.dists(self.context_key(tokens[: start + i])) for i in range(len(drafted) + 1)]

    # ---- a round's calls (the base class: from the per-context cache) ----

    def propose_first(self, history: Sequence[int]) -> DraftDists | None:
        """The round's first draft pass, after the committed `history`: q at
        the first draft position (None: nothing to propose this round)."""
        after = self._after_token
        if after is not None and history:  # the synthetic pair's every round
            return after[history[-1]]
        if self.context_order == 1 and history and self.cache_size > len(self.vocab):
            after = self._after_token = _DistsAfterToken(self.dists)
            self.propose_next = after.__getitem__
            return after[history[-1]]
        key = self._draft_key = tuple(history[-self.context_order :])
        return self.cached_dists(key) or self.dists(key)

    def _propose_after(self, token: int) -> DraftDists | None:
        key = self._draft_key = (self._draft_key + (token,))[-self.context_order :]
        return self.cached_dists(key) or self.dists(key)

    def score(self, history: Sequence[int], drafted: list[int], proposals: list[DraftDists]) -> list[ContextDists]:
        """The round's one target pass: p at every drafted position and at the
        one after the last draft (where the bonus token is drawn), each with
        its draft's q, as `len(drafted) + 1` ContextDists; `proposals[i]` is
        what proposed `drafted[i]`.

        The candidates are a chain here; a tree of candidates is the same call
        with each position's parent given, which a later pair may add.
        """
        after = self._after_token
        if after is not None and (drafted or history):  # order 1, every context cached
            last = after[drafted[-1] if drafted else history[-1]]
        else:
            last = self._dists_after(history, drafted)
        # A context-keyed pair's proposals are its ContextDists already (no
        # typing.cast: it is a call, and this runs every round).
        return [*proposals, last]  # type: ignore[list-item]

    def target_probabilities(self, history: Sequence[int], drafted: list[int]) -> list[np.ndarray]:
        """The target side alone, for a drafter that is not this pair's draft
        (prompt lookup): p after `history` and after each drafted token, one pass."""
        return [dists.p for dists in self.round_dists(history, drafted)]

    def _dists_after(self, history: Sequence[int], drafted: list[int]) -> ContextDists:
        """dists after the last draft (after `history` when none)."""
        order = self.context_order
        if order == 1 and (drafted or history):
            key: ContextKey = (drafted[-1] if drafted else history[-1],)
        else:
            key = tuple((list(history[-order:]) + drafted)[-order:])
        return self.cached_dists(key) or self.dists(key)

    def measured_timing(self, history: Sequence[int], emitted: int) -> dict[str, float | None]:
        """Measured pass times (--timing measured), for a pair that runs real
        models; SimConfig's rules allow the setting only for those."""
        raise NotImplementedError(f"the {self.name} pair measures no pass times")

    def decode(self, token_ids: Sequence[int]) -> str:
        """Text for token ids, punctuation attached (as `detokenize`, but fast
        enough for a million tokens)."""
        joined = self.joined
        return "".join([joined[t] for t in token_ids]).lstrip(" ")


class _DistsAfterToken(dict[int, ContextDists]):
    """token -> dists((token,)): a dict whose lookups run in C, filled on a miss."""

    __slots__ = ("_dists",)

    def __init__(self, dists: Callable[[ContextKey], ContextDists]):
        super().__init__()
        self._dists = dists

    def __missing__(self, token: int) -> ContextDists:
        found = self[token] = self._dists((token,))
        return found


ModelFactory = Callable[["SimConfig"], ModelPair]
_REGISTRY: dict[str, ModelFactory] = {}


def register_model(name: str, factory: ModelFactory) -> None:
    _REGISTRY[name] = factory
    catalog.MODELS.setdefault(name, factory.__module__)


def model_names() -> tuple[str, ...]:
    return catalog.model_names()


def build_model(config: SimConfig) -> ModelPair:
    if config.model not in _REGISTRY:
        # Each model module registers its factory as it is imported.
        importlib.import_module(catalog.MODELS[config.model])
    pair = _REGISTRY[config.model](config)
    if config.draft == catalog.PROMPT_LOOKUP or (pair.context_keyed and config.draft_sampling != "sample"):
        # The drafters real engines use, over any pair's target (the hf pair
        # builds its argmax draft itself: its draft runs on its own caches).
        # Named, not imported, as the model modules are: drafters.py builds on this module.
        pair = importlib.import_module(catalog.DRAFTERS).wrap(pair, config)
    return pair
