"""Verification methods: how the target decides which drafted tokens to keep.

Drafting is the same for every method (x ~ q). A method answers three
questions for the round state machine, each given one uniform u on [0, 1)
that the round set aside for it (see `Round.draws`):
- `accepts(dists, token, u)`: is drafted `token` kept here? (u is the
  position's acceptance uniform u_i);
- `correction(dists, u)`: the token emitted at the first rejection; it is
  called right after `accepts` returned False at the same position, so a
  method may emit what it drew there (sample-match does);
- `bonus(dists, u)`: the token emitted after every draft was kept.
u for the correction and the bonus is the round's last uniform.

A method is built once per run from the run's config (`build_method`), since
some read their thresholds from it and may keep per-run caches. Its class
attributes (`name`, `lossless`, `lossless_against`, `description`) describe it
without a config: `method_class(name)`.

Ties in argmax p go to the lowest token id (numpy's argmax), everywhere.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from specviz.engine import catalog
from specviz.engine.models.pair import ContextDists

if TYPE_CHECKING:
    from specviz.engine.run.config import SimConfig
    from specviz.engine.run.rounds import Round

T = TypeVar("T")

# What a lossless method's emitted tokens follow, for `lossless_against`.
AGAINST_TARGET = "p"  # the target's distribution p
AGAINST_ARGMAX = "argmax"  # a point mass at argmax p: greedy decoding of the target


class ContextMemo(Generic[T]):
    """`compute(dists)` done once per context instead of once per token.

    Keyed weakly by the ContextDists object: model pairs cache and reuse one
    per context, and a value lives exactly as long as its context stays in the
    model's (memory-bounded) cache. A strong key would keep every context the
    run ever met alive: with the n-gram pair's 2,900-word rows that grew to
    gigabytes over a few thousand short runs.
    """

    __slots__ = ("_compute", "_values")

    def __init__(self, compute: Callable[[ContextDists], T]):
        self._compute = compute
        self._values: weakref.WeakKeyDictionary[ContextDists, T] = weakref.WeakKeyDictionary()

    def __call__(self, dists: ContextDists) -> T:
        values = self._values
        found = values.get(dists)
        if found is None:
            found = values[dists] = self._compute(dists)
        return found

    def __len__(self) -> int:
        return len(self._values)


def argmax_p(dists: ContextDists) -> int:
    """The target's most likely token; the lowest id among ties."""
    return int(np.argmax(dists.p))


def entropy_nats(probabilities: np.ndarray) -> float:
    """H = -sum p log p in nats, with 0 log 0 = 0."""
    positive = probabilities[probabilities > 0.0]
    return float(-(positive * np.log(positive)).sum())


class VerificationMethod:
    name: str = ""
    #: True when the emitted tokens follow `lossless_against` exactly
    lossless: bool = True
    #: what a lossless method preserves: AGAINST_TARGET (p) or AGAINST_ARGMAX
    #: (greedy decoding of the target); None for a lossy method
    lossless_against: str | None = AGAINST_TARGET
    description: str = ""
    #: when a draft is kept, in a few words (the app's round view says why a
    #: draft was rejected with it)
    keeps_when: str = ""
    #: True when acceptance_probability(dists) is dists.beta (lets the engine
    #: skip a call per position)
    acceptance_is_beta: bool = False

    def __init__(self, config: SimConfig) -> None:
        pass

    def accepts(self, dists: ContextDists, token: int, u: float) -> bool:
        raise NotImplementedError

    def kept_prefix(self, round_: Round, uniforms: list[float]) -> int:
        """How many of the round's drafts are kept: the tests run in order and
        stop at the first rejection. `uniforms[i]` is u_i for position i.

        One call per round; a method may override it with a faster loop that
        applies the same test as `accepts`.
        """
        accepts, dists = self.accepts, round_.dists
        for i, token in enumerate(round_.drafted):
            if not accepts(dists[i], token, uniforms[i]):
                return i
        return len(round_.drafted)

    def correction(self, dists: ContextDists, u: float) -> int:
        raise NotImplementedError

    def bonus(self, dists: ContextDists, u: float) -> int:
        """After every draft was kept: a sample from p_{k+1}."""
        return dists.sample_p(u)

    def acceptance_probability(self, dists: ContextDists) -> float:
        """The chance a draft x ~ q is kept in this context: this method's alpha
        for the closed forms (speculative: beta = sum_x min(p, q))."""
        raise NotImplementedError

    def reference_distribution(self, dists: ContextDists) -> np.ndarray:
        """What an audit compares this method's emitted tokens against in this
        context: p, or a point mass at argmax p for greedy. A lossy method is
        compared against p too, and is expected to fail."""
        if self.lossless_against == AGAINST_ARGMAX:
            point_mass = np.zeros_like(dists.p)
            point_mass[int(np.argmax(dists.p))] = 1.0  # ties: lowest id, as everywhere
            return point_mass
        return dists.p


class SpeculativeSampling(VerificationMethod):
    """Leviathan et al. 2023 / Chen et al. 2023: keep x with probability min(1, p/q)."""

    name = "speculative"
    keeps_when = "u < p/q"
    lossless = True
    lossless_against = AGAINST_TARGET
    description = "accept with min(1, p/q); correction from norm(max(0, p - q)); bonus from p"
    acceptance_is_beta = True

    def accepts(self, dists: ContextDists, token: int, u: float) -> bool:
        # u is uniform on [0, 1), so `u < p/q` holds with probability exactly
        # min(1, p/q); multiplying avoids dividing by q.
        return u * dists.q_view[token] < dists.p_view[token]

    # False in a subclass that changes `accepts`: its kept_prefix is the generic loop.
    _accepts_as_here = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._accepts_as_here = cls.accepts is SpeculativeSampling.accepts

    def kept_prefix(self, round_: Round, uniforms: list[float]) -> int:
        # The test of `accepts` on the q(x) and p(x) that DRAFT and VERIFY
        # already looked up: the engine's hottest loop, without a call a token.
        if not self._accepts_as_here:
            return super().kept_prefix(round_, uniforms)
        kept = 0
        for u, q, p in zip(uniforms, round_.draft_probs, round_.target_probs):
            if not u * q < p:
                return kept
            kept += 1
        return kept

    def correction(self, dists: ContextDists, u: float) -> int:
        return dists.sample_residual(u)

    def acceptance_probability(self, dists: ContextDists) -> float:
        return dists.beta


class GreedyVerification(VerificationMethod):
    """Keep drafts while they equal the target's greedy choice (REFERENCE §4).

    Every emitted token is argmax p in its context, whatever the uniforms: the
    output equals greedy decoding of the target, not a sample from p.
    """

    name = "greedy"
    keeps_when = "x = argmax p"
    lossless = True
    lossless_against = AGAINST_ARGMAX
    description = (
        "accept while the draft equals argmax p; correction and bonus are argmax p "
        "(lossless against greedy decoding of the target only, not against sampling from p)"
    )

    def __init__(self, config: SimConfig) -> None:
        self._argmax = ContextMemo(argmax_p)

    def accepts(self, dists: ContextDists, token: int, u: float) -> bool:
        return token == self._argmax(dists)

    def correction(self, dists: ContextDists, u: float) -> int:
        return self._argmax(dists)

    def bonus(self, dists: ContextDists, u: float) -> int:
        return self._argmax(dists)

    def acceptance_probability(self, dists: ContextDists) -> float:
        return dists.q_view[self._argmax(dists)]


class SampleMatch(VerificationMethod):
    """Draw y ~ p at each position and keep the draft while it equals y.

    On a mismatch y itself is emitted, so the token at every position is y ~ p:
    lossless. Acceptance is sum_x q(x) p(x) per position, below min(1, p/q)'s
    sum_x min(p(x), q(x)).
    """

    name = "sample-match"
    keeps_when = "x = y, with y ~ p drawn from u"
    lossless = True
    lossless_against = AGAINST_TARGET
    description = "sample y ~ p at each position, accept while the draft equals y; on a mismatch emit y; bonus from p"

    def __init__(self, config: SimConfig) -> None:
        # (context, y) of the last mismatch, for the correction that follows it.
        self._mismatch: tuple[ContextDists, int] | None = None

    def accepts(self, dists: ContextDists, token: int, u: float) -> bool:
        sample = dists.sample_p(u)
        if sample == token:
            return True
        self._mismatch = (dists, sample)
        return False

    def correction(self, dists: ContextDists, u: float) -> int:
        # Emitting a fresh sample from p here would be lossy: y is the token
        # this position must emit.
        mismatch = self._mismatch
        if mismatch is None or mismatch[0] is not dists:
            raise RuntimeError("sample-match: correction() must follow a rejecting accepts() in the same context")
        self._mismatch = None
        return mismatch[1]

    def acceptance_probability(self, dists: ContextDists) -> float:
        return float(np.dot(dists.p, dists.q))


class TypicalAcceptance(VerificationMethod):
    """Medusa (Cai et al. 2024): keep x if p(x) > min(epsilon, delta * exp(-H(p))).

    H is the entropy of p in nats (Medusa adds 1e-5 inside the log; we use the
    exact entropy). Lossy: confident drafts are kept outright instead of with
    probability min(1, p/q), so the output leans towards q.

    After a rejection Medusa takes the target's own next token. We sample it
    from p with the round's last uniform (Medusa's reference code samples from
    p with the tokens below the same threshold removed); using plain p keeps
    the acceptance rule the only departure from the target. The bonus is a
    sample from p_{k+1} as well.
    """

    name = "typical"
    keeps_when = "p(x) > min(ε, δ·exp(−H(p)))"
    lossless = False
    lossless_against = None
    description = (
        "Medusa typical acceptance: accept x if p(x) > min(epsilon, delta * exp(-H(p))), H in nats; "
        "correction and bonus sampled from p; LOSSY (output does not follow p)"
    )

    def __init__(self, config: SimConfig) -> None:
        self.epsilon = config.typical_epsilon
        self.delta = config.typical_delta
        self._threshold = ContextMemo(self.threshold)

    def threshold(self, dists: ContextDists) -> float:
        """The p(x) a draft must exceed in this context."""
        return min(self.epsilon, self.delta * math.exp(-entropy_nats(dists.p)))

    def accepts(self, dists: ContextDists, token: int, u: float) -> bool:
        return dists.p_view[token] > self._threshold(dists)

    def correction(self, dists: ContextDists, u: float) -> int:
        return dists.sample_p(u)

    def acceptance_probability(self, dists: ContextDists) -> float:
        return float(dists.q[dists.p > self._threshold(dists)].sum())


_METHODS: dict[str, type[VerificationMethod]] = {
    m.name: m for m in (SpeculativeSampling, GreedyVerification, SampleMatch, TypicalAcceptance)
}


def register_method(method: type[VerificationMethod]) -> None:
    _METHODS[method.name] = method
    catalog.METHODS[method.name] = method.lossless


def method_names() -> tuple[str, ...]:
    return tuple(_METHODS)


def method_class(name: str) -> type[VerificationMethod]:
    """The method's class: its name, lossless flags and description, no config needed."""
    return _METHODS[name]


def build_method(config: SimConfig) -> VerificationMethod:
    """A fresh method for one run (methods may keep per-run state and caches)."""
    return _METHODS[config.method](config)
