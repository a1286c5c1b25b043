"""Verification methods on hand-made distributions where the right answer is known,
then the distribution of what whole runs emit (the losslessness audit in small)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from specviz.engine import (
    ConfigError,
    ContextDists,
    ModelPair,
    SimConfig,
    Simulation,
    build_model,
)
from specviz.engine.drafting.policies import policy_names
from specviz.engine.run.config import MAX_DRAFT_LENGTH
from specviz.engine.verification.methods import (
    AGAINST_ARGMAX,
    AGAINST_TARGET,
    build_method,
    entropy_nats,
    method_class,
    method_names,
)

P = np.array([0.2, 0.5, 0.3])
Q = np.array([0.4, 0.25, 0.35])
# u values spread evenly over [0, 1): a deterministic stand-in for "all u".
U_GRID = (np.arange(10_000) + 0.5) / 10_000


def dists(p, q=None) -> ContextDists:
    p = np.asarray(p, dtype=float)
    return ContextDists(p, p.copy() if q is None else np.asarray(q, dtype=float))


def method(name: str, **config):
    return build_method(SimConfig(method=name, **config))


class ConstantPair(ModelPair):
    """The same p and q in every context: every emitted token of a lossless
    method is then an independent draw from p."""

    def __init__(self, p, q):
        super().__init__([f"w{i}" for i in range(len(p))])
        self.p, self.q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)

    def target_distribution(self, context):
        return self.p

    def draft_distribution(self, context):
        return self.q


@functools.cache
def synthetic_pair(acceptance_rate: float) -> ModelPair:
    """Built once per alpha (~0.1 s each); a model pair holds no run state."""
    return build_model(SimConfig(acceptance_rate=acceptance_rate))


def run(config: SimConfig) -> Simulation:
    sim = Simulation(config, model=synthetic_pair(config.acceptance_rate))
    sim.run()
    return sim


# ---- registry ------------------------------------------------------------


def test_every_method_is_registered_and_describes_itself():
    assert method_names() == ("speculative", "greedy", "sample-match", "typical")
    for name in method_names():
        cls = method_class(name)
        assert cls.name == name and cls.description
    assert method_class("speculative").lossless_against == AGAINST_TARGET
    assert method_class("sample-match").lossless_against == AGAINST_TARGET
    assert method_class("greedy").lossless and method_class("greedy").lossless_against == AGAINST_ARGMAX
    assert "argmax" in method_class("greedy").description
    assert not method_class("typical").lossless and method_class("typical").lossless_against is None
    assert "LOSSY" in method_class("typical").description


def test_each_run_gets_its_own_method_instance():
    config = SimConfig(method="sample-match")
    assert build_method(config) is not build_method(config)
    model = synthetic_pair(config.acceptance_rate)
    assert Simulation(config, model=model).method is not Simulation(config, model=model).method


def test_unknown_method_is_one_clear_config_error():
    with pytest.raises(ConfigError) as error:
        SimConfig(method="medusa")
    message = str(error.value)
    assert "\n" not in message and "--method" in message and "'medusa'" in message
    assert "speculative, greedy, sample-match, typical" in message


# ---- speculative: min(1, p/q) ----------------------------------------------


def test_speculative_accepts_below_the_ratio_p_over_q():
    d = dists(P, Q)
    spec = method("speculative")
    # token 0: p/q = 0.5, so u < 0.5 keeps it and u >= 0.5 does not.
    assert spec.accepts(d, 0, 0.499) and not spec.accepts(d, 0, 0.501)
    # token 1: p/q = 2, kept for every u.
    assert spec.accepts(d, 1, 0.999999)
    accepted = sum(spec.accepts(d, 0, u) for u in U_GRID) / len(U_GRID)
    assert accepted == pytest.approx(0.5, abs=1e-4)
    accepted = sum(spec.accepts(d, 2, u) for u in U_GRID) / len(U_GRID)
    assert accepted == pytest.approx(0.3 / 0.35, abs=1e-4)


def test_speculative_corrects_from_the_residual_and_bonuses_from_p():
    d = dists(P, Q)
    spec = method("speculative")
    # max(0, p - q) = [0, 0.25, 0]: the only possible correction is token 1.
    assert {spec.correction(d, u) for u in (0.0, 0.3, 0.9999)} == {1}
    # bonus is inverse-CDF sampling from p: cdf = [0.2, 0.7, 1.0].
    assert [spec.bonus(d, u) for u in (0.1, 0.3, 0.95)] == [0, 1, 2]


# ---- greedy ----------------------------------------------------------------


def test_greedy_accepts_exactly_the_argmax_of_p():
    d = dists(P, Q)
    greedy = method("greedy")
    for u in (0.0, 0.5, 0.9999):
        assert greedy.accepts(d, 1, u)
        assert not greedy.accepts(d, 0, u) and not greedy.accepts(d, 2, u)
        assert greedy.correction(d, u) == 1 and greedy.bonus(d, u) == 1
    assert list(greedy.reference_distribution(d)) == [0.0, 1.0, 0.0]


def test_greedy_breaks_ties_towards_the_lowest_token_id():
    d = dists([0.1, 0.4, 0.1, 0.4])
    greedy = method("greedy")
    assert greedy.correction(d, 0.7) == 1
    assert greedy.accepts(d, 1, 0.0) and not greedy.accepts(d, 3, 0.0)


# ---- sample-match ----------------------------------------------------------


def test_sample_match_accepts_iff_the_draft_equals_y_sampled_from_p():
    d = dists(P, Q)
    sm = method("sample-match")
    # y = inverse-CDF sample of p with the position's u: cdf = [0.2, 0.7, 1.0].
    for u, y in ((0.1, 0), (0.3, 1), (0.69, 1), (0.95, 2)):
        for token in range(3):
            assert sm.accepts(d, token, u) == (token == y)
    # Over all u, token x is kept with probability p(x).
    assert sum(sm.accepts(d, 2, u) for u in U_GRID) / len(U_GRID) == pytest.approx(0.3, abs=1e-4)


def test_sample_match_emits_y_after_a_mismatch_whatever_the_last_uniform():
    d = dists(P, Q)
    sm = method("sample-match")
    assert not sm.accepts(d, 0, 0.95)  # y = 2
    assert sm.correction(d, 0.01) == 2  # not a fresh sample (0.01 would give 0)
    assert not sm.accepts(d, 2, 0.3)  # y = 1
    assert sm.correction(d, 0.99) == 1


def test_sample_match_correction_out_of_sequence_is_refused():
    d, other = dists(P, Q), dists(P, Q)
    sm = method("sample-match")
    with pytest.raises(RuntimeError, match="must follow"):
        sm.correction(d, 0.5)
    assert not sm.accepts(d, 0, 0.95)
    with pytest.raises(RuntimeError, match="must follow"):
        sm.correction(other, 0.5)


# ---- typical ---------------------------------------------------------------


def test_entropy_is_in_nats_and_ignores_zero_probabilities():
    assert entropy_nats(np.array([0.5, 0.25, 0.25])) == pytest.approx(1.5 * math.log(2))
    assert entropy_nats(np.array([0.5, 0.5, 0.0])) == pytest.approx(math.log(2))
    assert entropy_nats(np.array([1.0, 0.0])) == 0.0


@pytest.mark.parametrize(
    ("epsilon", "delta", "threshold", "kept"),
    [
        # H = 1.5 ln 2, so exp(-H) = 2 ** -1.5 = 0.35355.
        (1.0, 0.8, 0.8 * 2**-1.5, [True, False, False]),  # entropy term: 0.2828
        (1.0, 0.6, 0.6 * 2**-1.5, [True, True, True]),  # entropy term: 0.2121
        (0.3, 1.0, 0.3, [True, False, False]),  # epsilon is the smaller
        (0.09, 0.3, 0.09, [True, True, True]),  # Medusa's defaults
        (0.25, 1.0, 0.25, [True, False, False]),  # p(x) must exceed it strictly
    ],
)
def test_typical_threshold_arithmetic(epsilon, delta, threshold, kept):
    d = dists([0.5, 0.25, 0.25], [0.1, 0.1, 0.8])
    typical = method("typical", typical_epsilon=epsilon, typical_delta=delta)
    assert typical.threshold(d) == pytest.approx(threshold)
    # u plays no part in the rule.
    assert [typical.accepts(d, token, u) for token, u in ((0, 0.99), (1, 0.0), (2, 0.5))] == kept


def test_typical_never_keeps_a_token_the_target_rules_out():
    d = dists([0.5, 0.5, 0.0], [0.0, 0.0, 1.0])
    typical = method("typical", typical_epsilon=0.0, typical_delta=0.0)
    assert typical.threshold(d) == 0.0
    assert not typical.accepts(d, 2, 0.0)
    # correction and bonus: samples from p.
    assert [typical.correction(d, u) for u in (0.2, 0.7)] == [0, 1]
    assert [typical.bonus(d, u) for u in (0.2, 0.7)] == [0, 1]


def test_acceptance_probability_per_method_on_hand_made_dists():
    d = dists(P, Q)
    expected = {
        "speculative": 0.2 + 0.25 + 0.3,  # sum_x min(p, q)
        "greedy": 0.25,  # q(argmax p)
        "sample-match": 0.2 * 0.4 + 0.5 * 0.25 + 0.3 * 0.35,  # sum_x p(x) q(x)
        "typical": 1.0,  # every p(x) > min(0.09, 0.3 exp(-H))
    }
    for name, alpha in expected.items():
        assert method(name).acceptance_probability(d) == pytest.approx(alpha)
    strict = method("typical", typical_epsilon=0.25, typical_delta=1.0)
    assert strict.acceptance_probability(d) == pytest.approx(0.25 + 0.35)  # p = 0.5 and 0.3 pass


# ---- whole runs: what each method emits ------------------------------------

# A draft far from the target: 0.55 total-variation distance.
P_RUN = np.array([0.35, 0.25, 0.2, 0.1, 0.07, 0.03])
Q_RUN = np.array([0.05, 0.1, 0.15, 0.2, 0.2, 0.3])


def emitted_counts(method_name: str, n: int = 12_000, seed: int = 7, **config) -> np.ndarray:
    sim = Simulation(
        SimConfig(method=method_name, target_length=n, draft_length=4, seed=seed, **config),
        model=ConstantPair(P_RUN, Q_RUN),
    )
    sim.run()
    return np.bincount(np.asarray(sim.tokens), minlength=len(P_RUN))


def chi_square_pvalue(counts: np.ndarray, probabilities: np.ndarray) -> float:
    """Pearson chi-square goodness of fit, merging bins expected below 5.

    A token the distribution rules out but the run emitted is a certain misfit: 0.
    """
    if counts[probabilities == 0.0].any():
        return 0.0
    expected = probabilities * counts.sum()
    observed_bins, expected_bins = [], []
    observed_run = expected_run = 0.0
    for obs, exp in sorted(zip(counts, expected), key=lambda pair: -pair[1]):
        observed_run += obs
        expected_run += exp
        if expected_run >= 5:
            observed_bins.append(observed_run)
            expected_bins.append(expected_run)
            observed_run = expected_run = 0.0
    if expected_run > 0.0:  # the small bins left over join the last full one
        if observed_bins:
            observed_bins[-1] += observed_run
            expected_bins[-1] += expected_run
        else:
            observed_bins.append(observed_run)
            expected_bins.append(expected_run)
    if len(observed_bins) < 2:
        return 1.0  # a single bin cannot misfit
    return float(scipy_stats.chisquare(observed_bins, expected_bins).pvalue)


def test_chi_square_helper_can_fail():
    # The same counts fit their own distribution and not the draft's.
    counts = np.round(P_RUN * 5000).astype(int)
    assert chi_square_pvalue(counts, P_RUN) > 0.99
    assert chi_square_pvalue(counts, Q_RUN) < 1e-12
    # Small expected counts are merged, and a ruled-out token is a misfit.
    assert chi_square_pvalue(np.array([50, 48, 2, 0]), np.array([0.5, 0.48, 0.01, 0.01])) > 0.5
    assert chi_square_pvalue(np.array([50, 49, 1]), np.array([0.5, 0.5, 0.0])) == 0.0


@pytest.mark.parametrize("method_name", ["speculative", "sample-match"])
def test_lossless_methods_emit_exactly_p(method_name):
    counts = emitted_counts(method_name)
    assert chi_square_pvalue(counts, P_RUN) > 0.001
    assert chi_square_pvalue(counts, Q_RUN) < 1e-12  # the draft's own mix would be caught


@pytest.mark.parametrize("method_name", method_names())
def test_first_draft_is_kept_as_often_as_acceptance_probability_says(method_name):
    sim = Simulation(
        SimConfig(method=method_name, target_length=4_000, draft_length=2, seed=13), model=ConstantPair(P_RUN, Q_RUN)
    )
    sim.run()
    alpha = sim.method.acceptance_probability(sim.model.dists(()))
    first = sim.stats.per_position_acceptance[0]
    rounds = sim.stats.rounds
    assert abs(first - alpha) < 4 * math.sqrt(alpha * (1 - alpha) / rounds) + 1e-9


def test_greedy_emits_only_the_argmax_of_p():
    counts = emitted_counts("greedy", n=3_000)
    assert counts[0] == counts.sum()


def test_typical_is_caught_being_lossy():
    # Every word but the last has p above min(0.09, 0.3 exp(-H)) = 0.063, so
    # drafts from q are kept outright: the output leans hard towards q.
    counts = emitted_counts("typical")
    assert chi_square_pvalue(counts, P_RUN) < 1e-12


def typical_run_with_a_perfect_draft(**thresholds) -> np.ndarray:
    sim = Simulation(
        SimConfig(method="typical", target_length=6_000, seed=3, **thresholds), model=ConstantPair(P_RUN, P_RUN)
    )
    sim.run()
    return np.bincount(np.asarray(sim.tokens), minlength=len(P_RUN))


def test_typical_is_lossy_even_when_the_draft_is_the_target():
    # The last word (p = 0.03) is below the threshold: drafted, it is always
    # rejected, so it appears only when a correction or bonus draws it.
    counts = typical_run_with_a_perfect_draft()
    assert counts[5] / counts.sum() < 0.01
    assert chi_square_pvalue(counts, P_RUN) < 1e-12


def test_typical_with_zero_thresholds_and_a_perfect_draft_keeps_p():
    # Threshold 0 keeps every draft the target allows; with q = p that is p.
    counts = typical_run_with_a_perfect_draft(typical_epsilon=0.0, typical_delta=0.0)
    assert chi_square_pvalue(counts, P_RUN) > 0.001


@pytest.mark.parametrize("method_name", ["speculative", "sample-match"])
def test_lossless_methods_follow_p_in_each_context_of_the_synthetic_pair(method_name):
    # The synthetic target is first order: after word c the next word follows
    # p(. | c). The corrections' residuals differ per context, so this checks
    # them where a constant pair cannot.
    sim = run(SimConfig(method=method_name, acceptance_rate=0.5, target_length=12_000, seed=11))
    history = np.asarray(sim.history)
    previous, following = history[:-1], history[1:]
    contexts, seen = np.unique(previous, return_counts=True)
    for context in contexts[np.argsort(-seen)][:3]:
        counts = np.bincount(following[previous == context], minlength=len(sim.model.vocab))
        assert chi_square_pvalue(counts, sim.model.target_table[context]) > 0.001


def test_greedy_on_the_synthetic_pair_is_greedy_decoding_of_the_target():
    sim = run(SimConfig(method="greedy", target_length=500, seed=5))
    history = list(sim.history)
    table = sim.model.target_table
    emitted_positions = range(sim.prompt_length, len(history))
    assert all(history[i] == int(np.argmax(table[history[i - 1]])) for i in emitted_positions)


# ---- every method x policy: the round invariants --------------------------


@pytest.mark.parametrize("policy", policy_names())
@pytest.mark.parametrize("method_name", method_names())
def test_round_invariants_and_counts_hold(method_name, policy):
    config = SimConfig(
        method=method_name,
        draft_policy=policy,
        acceptance_rate=0.8,
        target_length=600,
        seed=9,
        confidence_threshold=0.05,
        k_by_batch_size="[[1,4,3]]" if policy == "batch-table" else None,
    )
    sim = Simulation(config, model=synthetic_pair(config.acceptance_rate))
    rounds = []
    sim.add_listener(rounds.append)
    stats = sim.run()
    assert sim.emitted == config.target_length == stats.emitted
    assert stats.rounds == len(rounds) == stats.corrections + stats.bonus
    assert stats.drafted == stats.accepted + stats.rejected + stats.skipped
    assert stats.draft_passes == sum(r.draft_passes for r in rounds) == stats.drafted
    assert len(sim.kinds) == sim.emitted
    for r in rounds:
        k = r.draft_length
        assert 0 <= k <= MAX_DRAFT_LENGTH and len(r.draws) == 2 * k + 1
        assert len(r.drafted) <= k and r.accepted <= len(r.drafted)
        assert 1 <= len(r.emitted) <= k + 1
        assert r.emitted[: r.accepted] == r.drafted[: r.accepted]
    assert sum(len(r.emitted) for r in rounds) == sim.emitted


@pytest.mark.parametrize("method_name", method_names())
def test_stepping_and_running_emit_the_same_tokens(method_name):
    config = SimConfig(method=method_name, draft_policy="heuristic", target_length=300, seed=21)
    ran, again = run(config), run(config)
    stepped = Simulation(config, model=synthetic_pair(config.acceptance_rate))
    while stepped.step() is not None:
        pass
    assert list(ran.history) == list(stepped.history) == list(again.history)
    assert ran.kinds == stepped.kinds
    assert ran.stats == stepped.stats


def test_methods_see_the_same_drafts_from_the_same_seed():
    # Drafting uses the round's first k uniforms whatever the method, so with
    # the same seed the first round proposes the same tokens.
    first = {}
    for name in method_names():
        config = SimConfig(method=name, target_length=50, seed=4)
        sim = Simulation(config, model=synthetic_pair(config.acceptance_rate))
        first[name] = sim.finish_round().drafted
    assert len({tuple(d) for d in first.values()}) == 1


def test_a_methods_per_context_memo_lets_contexts_go_with_the_models_cache():
    # A memo holding its contexts strongly kept every context a run met alive
    # (gigabytes with the n-gram pair); it must stay within the model's cache.
    from specviz.engine.models.pair import build_model
    from specviz.engine.run.simulation import Simulation

    config = SimConfig(model="ngram", method="greedy", draft_length=3, target_length=600, seed=3)
    model = build_model(config)
    model.cache_size = 16  # both of the pair's caches of ContextDists
    simulation = Simulation(config, model)
    simulation.run()
    memo = simulation.method._argmax
    assert simulation.stats.rounds > 100  # many more contexts than the cache holds
    assert 0 < len(memo) <= 2 * 16 + config.draft_length + 1
