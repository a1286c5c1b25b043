"""The exact rule of REFERENCE §1 on hand-made distributions."""

import numpy as np
import pytest

from specviz.engine.models.pair import ContextDists, sample_index
from specviz.engine.run.config import SimConfig
from specviz.engine.verification.methods import SpeculativeSampling

P = np.array([0.5, 0.3, 0.2, 0.0])
Q = np.array([0.25, 0.6, 0.1, 0.05])
rule = SpeculativeSampling(SimConfig())


def test_a_token_the_target_likes_more_is_always_kept():
    dists = ContextDists(P, Q)
    # p(0)/q(0) = 2 >= 1: kept whatever u is.
    assert all(rule.accepts(dists, 0, u) for u in (0.0, 0.5, 0.999999))


def test_a_token_is_kept_exactly_when_u_is_below_p_over_q():
    dists = ContextDists(P, Q)
    ratio = 0.3 / 0.6
    assert rule.accepts(dists, 1, ratio - 1e-9)
    assert not rule.accepts(dists, 1, ratio)
    assert not rule.accepts(dists, 1, 0.9)


def test_a_token_the_target_rules_out_is_never_kept():
    dists = ContextDists(P, Q)
    assert not rule.accepts(dists, 3, 0.0)


def test_correction_comes_from_the_normalised_residual():
    dists = ContextDists(P, Q)
    # max(0, p - q) = [0.25, 0, 0.1, 0] -> [5/7, 0, 2/7, 0]
    np.testing.assert_allclose(dists.residual, [5 / 7, 0, 2 / 7, 0])
    assert rule.correction(dists, 0.0) == 0
    assert rule.correction(dists, 5 / 7 - 1e-9) == 0
    assert rule.correction(dists, 5 / 7 + 1e-9) == 2
    assert rule.correction(dists, 0.999999) == 2
    assert {rule.correction(dists, u) for u in np.linspace(0, 0.9999, 1000)} == {0, 2}


def test_bonus_comes_from_the_target():
    dists = ContextDists(P, Q)
    assert rule.bonus(dists, 0.49) == 0
    assert rule.bonus(dists, 0.51) == 1
    assert rule.bonus(dists, 0.81) == 2
    # Never a zero-probability token, even at the very top of [0, 1).
    assert rule.bonus(dists, np.nextafter(1.0, 0.0)) == 2


def test_sampling_never_returns_a_zero_probability_index():
    cdf = memoryview(np.cumsum([0.0, 0.5, 0.0, 0.5, 0.0]))
    seen = {sample_index(cdf, u) for u in np.linspace(0, np.nextafter(1.0, 0.0), 10001)}
    assert seen == {1, 3}


def test_beta_is_one_minus_total_variation():
    dists = ContextDists(P, Q)
    assert dists.beta == pytest.approx(1 - 0.5 * np.abs(P - Q).sum())
