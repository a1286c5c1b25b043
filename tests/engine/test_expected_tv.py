"""The total-variation distance a lossless run shows by chance alone (the lossless view's yardstick)."""

from __future__ import annotations

import numpy as np
import pytest

from specviz.engine.analysis.audit import expected_tv_distance


def test_small_cases_by_hand():
    coin = np.array([0.5, 0.5])
    assert expected_tv_distance(coin, 1) == pytest.approx(0.5)  # one draw: always (1, 0) against (.5, .5)
    assert expected_tv_distance(coin, 2) == pytest.approx(0.25)  # half the time (1, 1): TV 0
    # Three outcomes, one draw: TV = 1 - p(drawn), so E = 1 - sum p^2.
    p = np.array([0.2, 0.3, 0.5])
    assert expected_tv_distance(p, 1) == pytest.approx(1 - (p**2).sum())
    assert expected_tv_distance(np.array([0.0, 1.0]), 7) == 0.0  # a certain token never strays


def test_matches_sampling_and_shrinks_with_more_tokens():
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.full(30, 0.5))
    previous = 1.0
    for m in (3, 20, 200):
        draws = rng.multinomial(m, p, size=4000) / m
        tv = 0.5 * np.abs(draws - p).sum(axis=1)
        expected = expected_tv_distance(p, m)
        # Within 4 standard errors of the sample mean (a factor or a term wrong is far outside).
        assert abs(expected - tv.mean()) < 4 * tv.std() / np.sqrt(len(tv)), m
        assert expected < previous
        previous = expected
