"""The lossless view's yardsticks: the total-variation distance a lossless run shows
by chance alone, and when the chi-square test can judge at all."""

from __future__ import annotations

import numpy as np
import pytest

from specviz.engine.analysis.audit import enough_to_judge, expected_tv_distance, goodness_of_fit


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


def test_enough_to_judge_is_when_the_pooled_test_has_a_degree_of_freedom():
    flat = np.full(10, 0.1)
    assert not enough_to_judge(flat, 49) and enough_to_judge(flat, 50)  # 4.9 a bin, all pooled: one bin
    skewed = np.array([0.9, 0.1])
    assert not enough_to_judge(skewed, 49) and enough_to_judge(skewed, 50)
    assert enough_to_judge(np.array([0.0, 1.0, 0.0]), 1)  # greedy's point mass: the first token judges
    assert not enough_to_judge(flat, 0)
    # Below the line the test cannot tell: any counts get p-value 1.
    counts = np.zeros(10)
    counts[0] = 49
    assert goodness_of_fit(counts, flat)[1] == 1.0
