"""Statistical tests with fixed seeds: the output follows the target, and the
measured rates match the closed forms. Each threshold is shown to catch a
broken rule."""

import math

import numpy as np
import pytest

from specviz.engine import SimConfig, Simulation
from specviz.engine.analysis import theory
from specviz.engine.analysis.audit import SIGNIFICANCE, audit
from specviz.engine.models.pair import sample_index
from specviz.engine.verification.methods import SpeculativeSampling

SAMPLES = 20_000


class CorrectionFromTarget(SpeculativeSampling):
    """A plausible bug: after a rejection, resample from p instead of the residual."""

    def correction(self, dists, u):
        return sample_index(dists.p_cdf, u)


class SeedScriptCorrection(SpeculativeSampling):
    """The seed script's "correction": a uniformly random token."""

    def correction(self, dists, u):
        return int(u * len(dists.p))


class AcceptByTargetProbability(SpeculativeSampling):
    """Another plausible bug: keep x with probability p(x) rather than min(1, p/q)."""

    def accepts(self, dists, token, u):
        return u < dists.p_view[token]


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.8])
def test_emitted_tokens_follow_the_target_distribution(alpha):
    # The first token alone: its TV from p is small at this sample count
    # (test_audit_joint.py tests the first 2 jointly).
    result = audit(SimConfig(acceptance_rate=alpha, seed=3), SAMPLES, tokens=1)
    assert result.lossless, result.to_dict()
    assert result.chi2_pvalue >= SIGNIFICANCE
    assert result.tv_distance < 0.03


@pytest.mark.parametrize("broken", [CorrectionFromTarget, SeedScriptCorrection, AcceptByTargetProbability])
def test_the_same_test_fails_a_broken_rule(broken):
    result = audit(SimConfig(acceptance_rate=0.5, seed=3), SAMPLES, method=broken(SimConfig()))
    assert not result.lossless, result.to_dict()
    assert result.chi2_pvalue < SIGNIFICANCE


def _run(alpha, k, n, seed=11, method=None):
    simulation = Simulation(SimConfig(acceptance_rate=alpha, draft_length=k, target_length=n, seed=seed))
    if method is not None:
        simulation.method = method
    simulation.run()
    return simulation.stats


def _mean_length_within_tolerance(stats, alpha, k):
    dist = theory.acceptance_length_distribution(alpha, k)
    mean = sum(j * pj for j, pj in enumerate(dist, start=1))
    var = sum(j * j * pj for j, pj in enumerate(dist, start=1)) - mean**2
    tolerance = 4 * math.sqrt(var / stats.rounds)  # 4 standard errors
    return abs(stats.mean_acceptance_length - mean) <= tolerance


@pytest.mark.parametrize("alpha, k", [(0.8, 5), (0.5, 3), (0.95, 8)])
def test_mean_acceptance_length_matches_the_closed_form(alpha, k):
    stats = _run(alpha, k, 100_000)
    assert _mean_length_within_tolerance(stats, alpha, k)
    assert stats.empirical_alpha == pytest.approx(alpha, abs=1e-9)


def test_mean_acceptance_length_check_catches_a_broken_rule():
    stats = _run(0.8, 5, 100_000, method=AcceptByTargetProbability(SimConfig()))
    assert not _mean_length_within_tolerance(stats, 0.8, 5)


@pytest.mark.parametrize("alpha, k", [(0.8, 5), (0.6, 4)])
def test_per_position_acceptance_matches_alpha_to_the_i(alpha, k):
    stats = _run(alpha, k, 100_000)
    # n is not a multiple of the round length, so the last round may be cut;
    # every full round drafted all k positions.
    measured = stats.per_position_acceptance
    for i, rate in enumerate(measured, start=1):
        expected = alpha**i
        tolerance = 4 * math.sqrt(expected * (1 - expected) / stats.position_drafted[i - 1])
        assert abs(rate - expected) <= tolerance, (i, rate, expected)
    assert stats.draft_acceptance_rate == pytest.approx(theory.draft_acceptance_rate(alpha, k), abs=0.01)


def test_tokens_per_round_histogram_matches_the_truncated_geometric_law():
    from scipy import stats as scipy_stats

    alpha, k = 0.7, 4
    stats = _run(alpha, k, 50_000)
    full_rounds = stats.length_histogram[1 : k + 2]
    # The cut last round may emit fewer than usual; drop one count at most.
    expected = np.array(theory.acceptance_length_distribution(alpha, k)) * sum(full_rounds)
    assert scipy_stats.chisquare(full_rounds, expected).pvalue > SIGNIFICANCE
