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


@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.8, 0.9])
def test_free_drafts_have_no_optimal_k_only_a_supremum(alpha):
    # c = 0: S(k) = (1 - alpha^(k+1)) / (1 - alpha) rises towards 1/(1 - alpha), never reaching it.
    supremum = 1 / (1 - alpha)
    assert all(
        theory.expected_speedup(alpha, k + 1, 0.0) > theory.expected_speedup(alpha, k, 0.0) for k in range(1, 12)
    )
    best = theory.best_draft_length(alpha, 0.0)
    assert not best.maximises and best.supremum == pytest.approx(supremum)
    # The smallest k within 1%: alpha^(k+1) <= 0.01.
    k = next(k for k in range(1, 65) if alpha ** (k + 1) <= 0.01)
    assert best.k == k and theory.optimal_k(alpha, 0.0) == (k, theory.expected_speedup(alpha, k, 0.0))
    assert theory.expected_speedup(alpha, k - 1, 0.0) < 0.99 * supremum <= best.speedup < supremum
    assert "no maximiser" in best.note and f"{supremum:.3f}×" in best.note


def test_free_drafts_near_alpha_one_need_more_than_k_max_to_get_within_one_percent():
    best = theory.best_draft_length(0.95, 0.0)  # 0.95^(k+1) <= 0.01 needs k >= 89
    assert best.k == 64 and best.supremum == pytest.approx(20.0) and best.speedup < 0.99 * 20
    assert "no k up to 64 is within 1%" in best.note


def test_optimal_k_at_half_alpha_and_free_drafts_is_six_not_a_tolerance_artefact():
    assert theory.optimal_k(0.5, 0.0) == (6, pytest.approx(1.984375))


def test_a_real_maximiser_has_no_note_and_no_supremum():
    best = theory.best_draft_length(0.8, 0.02)
    assert best.maximises and best.note is None and best.supremum is None and best.k == 11
    # A verify overhead alone also makes long drafts cost: a maximiser exists.
    assert theory.best_draft_length(0.8, 0.0, verify_overhead=0.02).maximises


def test_always_accepted_drafts_rise_towards_one_over_the_draft_cost():
    best = theory.best_draft_length(1.0, 0.1, k_max=20)
    assert best.supremum == pytest.approx(10.0) and best.k == 20  # (k+1)/(0.1 k + 1) < 9.9 for k <= 20
    assert "no k up to 20" in best.note
    unbounded = theory.best_draft_length(1.0, 0.0, k_max=20)
    assert unbounded.unbounded and unbounded.supremum is None and "without bound" in unbounded.note
