"""Figures named by what they are (issue 12 items 3, 4 and 7): sum_x min(p, q)
apart from the method's own keep chance, no rate where nothing was tested, and
per-position rates by whose definition they are, each recomputed here from the
rounds themselves."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from specviz.engine import RunStats, SimConfig, Simulation, build_model


@functools.cache
def synthetic_pair(acceptance_rate: float = 0.75):
    return build_model(SimConfig(acceptance_rate=acceptance_rate))


def run_with_rounds(config: SimConfig, model=None):
    simulation = Simulation(config, model=model if model is not None else synthetic_pair(config.acceptance_rate))
    rounds = []
    simulation.add_listener(rounds.append)
    simulation.run()
    return simulation, rounds


def typical_keep_chance(dists, epsilon=0.09, delta=0.3) -> float:
    p = dists.p
    entropy = -float((p[p > 0] * np.log(p[p > 0])).sum())
    return float(dists.q[p > min(epsilon, delta * math.exp(-entropy))].sum())


# Each method's chance of keeping a draft x ~ q in a context, written out from its rule.
KEEP_CHANCE = {
    "speculative": lambda d: float(np.minimum(d.p, d.q).sum()),
    "greedy": lambda d: float(d.q[int(np.argmax(d.p))]),
    "sample-match": lambda d: float(np.dot(d.p, d.q)),
    "typical": typical_keep_chance,
}


# ---- item 3: sum_x min(p, q) and the method's keep chance, each under its name ----


@pytest.mark.parametrize("method", ["speculative", "greedy", "sample-match", "typical"])
def test_empirical_alpha_is_sum_min_and_the_keep_chance_is_the_methods_own(method):
    simulation, rounds = run_with_rounds(SimConfig(method=method, target_length=2000, seed=42))
    tested = [d for r in rounds for d in r.dists[: r.decided]]
    assert len(tested) == simulation.stats.verified > 1000
    summary = simulation.summary(include_text=False)
    # The synthetic pair's promise: sum_x min(p, q) = alpha in every context, whatever the method.
    assert summary["empirical_alpha"] == pytest.approx(0.75, abs=1e-9)
    assert summary["empirical_alpha"] == pytest.approx(np.mean([KEEP_CHANCE["speculative"](d) for d in tested]))
    keep = np.mean([KEEP_CHANCE[method](d) for d in tested])
    assert summary["method_keep_rate"] == pytest.approx(keep, rel=1e-9)
    # The closed forms use the method's keep chance where alpha is measured.
    assert summary["theory_alpha"] == pytest.approx(0.75 if method == "speculative" else keep)


def test_greedy_keeps_far_less_often_than_sum_min_says():
    simulation, _ = run_with_rounds(SimConfig(method="greedy", target_length=2000, seed=42))
    stats = simulation.stats
    assert stats.empirical_alpha == pytest.approx(0.75)
    assert stats.method_keep_rate < 0.06  # about 0.036: the synthetic draft doubts p's favourite
    # The keep chance, not sum_x min(p, q), predicts how often greedy keeps a tested draft.
    assert stats.accepted / stats.verified == pytest.approx(stats.method_keep_rate, abs=0.015)


def test_the_ngram_pair_measures_sum_min_apart_from_greedys_keep_chance():
    model = build_model(SimConfig(model="ngram"))
    simulation, rounds = run_with_rounds(SimConfig(model="ngram", method="greedy", target_length=600, seed=3), model)
    tested = [d for r in rounds for d in r.dists[: r.decided]]
    stats = simulation.stats
    assert stats.empirical_alpha == pytest.approx(np.mean([d.beta for d in tested]), rel=1e-12)
    assert stats.method_keep_rate == pytest.approx(np.mean([KEEP_CHANCE["greedy"](d) for d in tested]), rel=1e-12)
    assert abs(stats.empirical_alpha - stats.method_keep_rate) > 0.05


# ---- item 4: a rate with nothing tested is None, and so is theory at it ----------


def test_an_empty_run_has_no_rates():
    stats = RunStats()
    for name in (
        "tokens_per_target_pass",
        "mean_acceptance_length",
        "draft_acceptance_rate",
        "empirical_alpha",
        "method_keep_rate",
    ):
        assert getattr(stats, name) is None, name
    assert stats.per_position_acceptance == stats.conditional_acceptance == []


def test_ngram_one_token_tests_nothing_and_reports_null_rates_and_closed_forms():
    simulation = Simulation(SimConfig(model="ngram", target_length=1))
    simulation.run()
    summary = simulation.summary(include_text=False)
    assert summary["rounds"] == 1 and summary["drafted"] == 0
    for key in (
        "empirical_alpha",
        "method_keep_rate",
        "draft_acceptance_rate",
        "theory_alpha",
        "expected_tokens_per_round",
        "expected_speedup",
        "expected_draft_acceptance_rate",
    ):
        assert summary[key] is None, key
    k = simulation.config.draft_length
    for key in ("per_position_acceptance", "per_position_acceptance_of_drafted", "conditional_acceptance"):
        assert summary[key] == [None] * k, key
    assert summary["tokens_per_target_pass"] == 1.0  # one token, one target pass: measured


def test_a_set_alpha_still_gives_closed_forms_when_nothing_was_tested():
    simulation = Simulation(SimConfig(target_length=1, acceptance_rate=0.8))
    simulation.run()
    summary = simulation.summary(include_text=False)
    assert summary["empirical_alpha"] is None and summary["draft_acceptance_rate"] is None
    assert summary["theory_alpha"] == 0.8
    assert summary["expected_tokens_per_round"] == pytest.approx(3.68928, abs=1e-5)


# ---- item 7: per-position rates by whose definition they are ---------------------


def per_position_from_rounds(rounds, positions):
    """(vLLM's, of drafted, conditional) at positions 1..positions, counted from the rounds."""
    drafts = sum(1 for r in rounds if r.drafted)
    vllm, of_drafted, conditional = [], [], []
    for i in range(1, positions + 1):
        kept = sum(1 for r in rounds if r.accepted >= i)
        drafted = sum(1 for r in rounds if len(r.drafted) >= i)
        tested = sum(1 for r in rounds if r.decided >= i)
        vllm.append(kept / drafts)
        of_drafted.append(kept / drafted if drafted else None)
        conditional.append(kept / tested if tested else None)
    return vllm, of_drafted, conditional


def test_heuristic_policy_per_position_rates_follow_their_definitions_and_differ():
    simulation, rounds = run_with_rounds(SimConfig(draft_policy="heuristic", target_length=5000, seed=42))
    summary = simulation.summary(include_text=False)
    positions = len(summary["per_position_acceptance"])
    vllm, of_drafted, conditional = per_position_from_rounds(rounds, positions)
    assert summary["per_position_acceptance"] == pytest.approx(vllm)
    assert summary["per_position_acceptance_of_drafted"] == pytest.approx(of_drafted)
    assert summary["conditional_acceptance"] == pytest.approx(conditional)
    # vLLM's rate divides by every drafting round: below kept / drafted once rounds draft fewer.
    assert summary["per_position_acceptance"][4] < 0.7 * summary["per_position_acceptance_of_drafted"][4]
    assert all(a >= b for a, b in zip(vllm, vllm[1:]))  # unconditional: non-increasing


def test_one_draft_a_round_gives_vllm_zeros_but_no_conditional_rates_past_position_one():
    simulation, _ = run_with_rounds(
        SimConfig(draft_policy="confidence", confidence_threshold=1.0, target_length=500, seed=4)
    )
    summary = simulation.summary(include_text=False)
    first = summary["per_position_acceptance"][0]
    assert 0.6 < first < 0.9
    assert summary["per_position_acceptance"] == [first, 0.0, 0.0, 0.0, 0.0]  # as vLLM reports them
    assert summary["per_position_acceptance_of_drafted"] == [pytest.approx(first), None, None, None, None]
    assert summary["conditional_acceptance"] == [pytest.approx(first), None, None, None, None]


@pytest.mark.parametrize("alpha", [0.5, 0.75])
def test_conditional_acceptance_estimates_alpha_at_every_position(alpha):
    # i.i.d. acceptance: position i is kept with probability alpha given it was tested,
    # while vLLM's rate falls as alpha^i. 20,000 tokens give ~7,000 rounds: the standard
    # error at position 3 is below 0.015, and alpha^2 is 0.19 or more away from alpha.
    simulation, _ = run_with_rounds(SimConfig(acceptance_rate=alpha, target_length=20_000, seed=11))
    stats = simulation.stats
    for i in range(3):
        assert stats.conditional_acceptance[i] == pytest.approx(alpha, abs=0.05)
        assert stats.per_position_acceptance[i] == pytest.approx(alpha ** (i + 1), abs=0.05)


# ---- issue 13: the seed script's "effective acceptance rate", under its name ----


def test_effective_acceptance_rate_is_kept_over_tested_drafts():
    # accepted / (accepted + rejected): the skipped drafts are not in it, so it
    # sits above the draft acceptance rate; under i.i.d. acceptance it estimates alpha.
    simulation, rounds = run_with_rounds(SimConfig(target_length=3000, seed=11))
    kept = sum(r.accepted for r in rounds)
    rejected = sum(1 for r in rounds if r.rejected)
    summary = simulation.summary(include_text=False)
    assert summary["effective_acceptance_rate"] == pytest.approx(kept / (kept + rejected), rel=1e-12)
    assert summary["effective_acceptance_rate"] > summary["draft_acceptance_rate"] + 0.2
    assert summary["effective_acceptance_rate"] == pytest.approx(0.75, abs=0.03)
    assert RunStats().effective_acceptance_rate is None  # nothing tested: not measured
