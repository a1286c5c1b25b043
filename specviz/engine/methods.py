"""Verification methods: how the target decides which drafted tokens to keep.

Drafting is the same for every method (x ~ q). A method answers three
questions for the round state machine, each given one uniform u on [0, 1)
that the round set aside for it (see `Round.draws`):
- `accepts(dists, token, u)`: is drafted `token` kept here?
- `correction(dists, u)`: the token emitted at the first rejection;
- `bonus(dists, u)`: the token emitted after every draft was kept.
Methods are stateless, so one instance serves every run.
"""

from __future__ import annotations

from specviz.engine.models import ContextDists, sample_index


class VerificationMethod:
    name: str = ""
    #: True when the emitted tokens follow the target's distribution exactly
    lossless: bool = True
    description: str = ""

    def accepts(self, dists: ContextDists, token: int, u: float) -> bool:
        raise NotImplementedError

    def correction(self, dists: ContextDists, u: float) -> int:
        raise NotImplementedError

    def bonus(self, dists: ContextDists, u: float) -> int:
        """After every draft was kept: a sample from p_{k+1}."""
        return sample_index(dists.p_cdf, u)


class SpeculativeSampling(VerificationMethod):
    """Leviathan et al. 2023 / Chen et al. 2023: keep x with probability min(1, p/q)."""

    name = "speculative"
    lossless = True
    description = "accept with min(1, p/q); correction from norm(max(0, p - q)); bonus from p"

    def accepts(self, dists, token, u):
        # u is uniform on [0, 1), so `u < p/q` holds with probability exactly
        # min(1, p/q); multiplying avoids dividing by q.
        return u * dists.q_view[token] < dists.p_view[token]

    def correction(self, dists, u):
        return sample_index(dists.residual_cdf, u)


_METHODS: dict[str, VerificationMethod] = {m.name: m for m in (SpeculativeSampling(),)}


def register_method(method: VerificationMethod) -> None:
    _METHODS[method.name] = method


def method_names() -> tuple[str, ...]:
    return tuple(_METHODS)


def get_method(name: str) -> VerificationMethod:
    return _METHODS[name]
