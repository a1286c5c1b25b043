"""Closed forms against the worked examples in REFERENCE §2."""

import pytest

from specviz.engine.analysis import theory


def test_expected_tokens_per_round():
    assert theory.expected_tokens_per_round(0.8, 5) == pytest.approx(3.68928)
    # The seed script printed 3.36 here; the formula gives 3.69.
    assert round(theory.expected_tokens_per_round(0.8, 5), 2) == 3.69
    assert theory.expected_tokens_per_round(1.0, 5) == 6
    assert theory.expected_tokens_per_round(0.0, 5) == 1


@pytest.mark.parametrize(
    "c, alpha, k, speedup",
    [
        (0.02, 0.6, 6, 2.17),
        (0.02, 0.7, 8, 2.76),
        (0.02, 0.8, 11, 3.82),
        (0.02, 0.9, 19, 6.37),
        (0.1, 0.6, 3, None),
        (0.1, 0.7, 4, None),
        (0.1, 0.8, 6, None),
        (0.1, 0.9, 10, None),
    ],
)
def test_optimal_k_matches_the_paper(c, alpha, k, speedup):
    best_k, best_s = theory.optimal_k(alpha, c)
    assert best_k == k
    if speedup is not None:
        assert round(best_s, 2) == speedup


def test_optimal_k_is_capped_when_drafts_are_free_and_always_accepted():
    assert theory.optimal_k(1.0, 0.0, k_max=20) == (20, 21.0)


def test_k_equal_one_speeds_up_when_alpha_exceeds_c():
    for alpha, c in [(0.3, 0.1), (0.6, 0.5), (0.9, 0.02)]:
        assert theory.expected_speedup(alpha, 1, c) >= (1 + alpha) / (1 + c) - 1e-12
        assert theory.expected_speedup(alpha, 1, c) > 1


def test_ops_factor():
    alpha, k, c_ops = 0.8, 5, 0.05
    expected = (1 - alpha) * (k * c_ops + k + 1) / (1 - alpha ** (k + 1))
    assert theory.ops_factor(alpha, k, c_ops) == pytest.approx(expected)
    assert theory.ops_factor(1.0, 4, 0.0) == pytest.approx(1.0)


def test_draft_acceptance_rate_is_not_alpha():
    alpha, k = 0.8, 5
    expected = (alpha - alpha ** (k + 1)) / (k * (1 - alpha))
    assert theory.draft_acceptance_rate(alpha, k) == pytest.approx(expected)
    assert theory.draft_acceptance_rate(alpha, k) < alpha


def test_acceptance_length_distribution_sums_to_one_and_has_the_right_mean():
    for alpha in (0.0, 0.3, 0.8, 1.0):
        dist = theory.acceptance_length_distribution(alpha, 5)
        assert sum(dist) == pytest.approx(1.0)
        mean = sum(j * pj for j, pj in enumerate(dist, start=1))
        assert mean == pytest.approx(theory.expected_tokens_per_round(alpha, 5))
