"""Draft-length policies: the HF heuristic schedule and confidence-gated drafting,
rule by rule and over whole runs."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from specviz.engine import (
    ConfigError,
    ContextDists,
    ModelPair,
    Round,
    SimConfig,
    Simulation,
    build_model,
)
from specviz.engine.drafting.policies import build_policy, policy_class, policy_names
from specviz.engine.run.config import MAX_DRAFT_LENGTH


@functools.cache
def synthetic_pair(acceptance_rate: float) -> ModelPair:
    """Built once per alpha (~0.1 s each); a model pair holds no run state."""
    return build_model(SimConfig(acceptance_rate=acceptance_rate))


def rounds_of(config: SimConfig) -> tuple[Simulation, list[Round]]:
    sim = Simulation(config, model=synthetic_pair(config.acceptance_rate))
    rounds: list[Round] = []
    sim.add_listener(rounds.append)
    sim.run()
    return sim, rounds


# ---- registry ------------------------------------------------------------


def test_every_policy_is_registered_and_describes_itself():
    assert policy_names() == ("fixed", "heuristic", "confidence", "batch-table")
    for name in policy_names():
        assert policy_class(name).name == name and policy_class(name).description
    assert policy_class("confidence").stops_early
    assert not policy_class("fixed").stops_early and not policy_class("heuristic").stops_early


def test_unknown_policy_is_one_clear_config_error():
    with pytest.raises(ConfigError) as error:
        SimConfig(draft_policy="adaptive")
    message = str(error.value)
    assert "\n" not in message and "--draft-policy" in message
    assert "fixed, heuristic, confidence" in message


# ---- fixed ---------------------------------------------------------------


def test_fixed_drafts_k_every_round_but_the_cut_last_one():
    sim, rounds = rounds_of(SimConfig(draft_length=6, target_length=400, seed=1))
    assert all(r.draft_length == 6 and len(r.drafted) == 6 for r in rounds[:-1])
    assert rounds[-1].draft_length <= 6
    assert sim.stats.draft_passes == sim.stats.drafted


# ---- heuristic -------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "accepted", "drafted", "expected"),
    [
        (5, 5, 5, 7),  # every draft kept: +2
        (5, 4, 5, 4),  # a rejection: -1
        (5, 0, 5, 4),
        (1, 0, 1, 1),  # never below 1
        (2, 0, 2, 1),
        (MAX_DRAFT_LENGTH - 1, MAX_DRAFT_LENGTH - 1, MAX_DRAFT_LENGTH - 1, MAX_DRAFT_LENGTH),  # capped
        (MAX_DRAFT_LENGTH, MAX_DRAFT_LENGTH, MAX_DRAFT_LENGTH, MAX_DRAFT_LENGTH),
        (9, 3, 3, 11),  # a round cut at n that kept all it drafted
        (9, 0, 0, 9),  # a round cut to k = 0 says nothing
    ],
)
def test_heuristic_schedule(current, accepted, drafted, expected):
    policy = build_policy(SimConfig(draft_policy="heuristic"))
    assert policy.next_length(current, accepted, drafted) == expected


def test_heuristic_follows_the_schedule_round_by_round():
    _, rounds = rounds_of(
        SimConfig(draft_policy="heuristic", draft_length=3, acceptance_rate=0.8, target_length=2_000, seed=3)
    )
    assert rounds[0].draft_length == 3  # starts at -k
    grew = shrank = 0
    for before, after in zip(rounds, rounds[1:-1]):  # the last round may be cut at n
        if before.accepted == len(before.drafted):
            assert after.draft_length == min(before.draft_length + 2, MAX_DRAFT_LENGTH)
            grew += 1
        else:
            assert after.draft_length == max(1, before.draft_length - 1)
            shrank += 1
    assert grew and shrank  # both branches were exercised


def mean_planned_k(rounds: list[Round]) -> float:
    return float(np.mean([r.draft_length for r in rounds[:-1]]))


def test_heuristic_grows_k_on_easy_text():
    _, rounds = rounds_of(
        SimConfig(draft_policy="heuristic", draft_length=4, acceptance_rate=0.98, target_length=3_000, seed=2)
    )
    assert mean_planned_k(rounds) > 20
    assert max(r.draft_length for r in rounds) > 40


def test_heuristic_shrinks_k_on_hard_text():
    _, rounds = rounds_of(
        SimConfig(draft_policy="heuristic", draft_length=8, acceptance_rate=0.2, target_length=3_000, seed=2)
    )
    assert mean_planned_k(rounds) < 2
    assert rounds[0].draft_length == 8


def test_heuristic_run_reports_every_position_it_drafted():
    sim, rounds = rounds_of(
        SimConfig(draft_policy="heuristic", draft_length=4, acceptance_rate=0.98, target_length=1_000, seed=2)
    )
    deepest = max(len(r.drafted) for r in rounds)
    assert deepest > 4
    assert len(sim.summary(include_text=False)["per_position_acceptance"]) == deepest


# ---- confidence ------------------------------------------------------------


def test_confidence_judges_the_token_just_drafted_by_its_draft_probability():
    # transformers' ConfidenceCriteria: q(x) of the drafted token, not max q of the next context.
    dists = ContextDists(np.array([0.3, 0.7]), np.array([0.4, 0.6]))
    for threshold, token, keeps in (
        (0.4, 0, True),
        (0.41, 0, False),
        (0.41, 1, True),
        (0.6, 1, True),
        (0.61, 1, False),
    ):
        policy = build_policy(SimConfig(draft_policy="confidence", confidence_threshold=threshold))
        assert policy.keep_drafting(dists, token) is keeps
    assert build_policy(SimConfig(draft_policy="confidence", confidence_threshold=0.0)).keep_drafting(dists, 0)
    # A certain draft (q(x) = 1) is confident enough for any threshold.
    sure = ContextDists(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    assert build_policy(SimConfig(draft_policy="confidence", confidence_threshold=1.0)).keep_drafting(sure, 0)


def test_confidence_threshold_one_drafts_exactly_one_token_per_round_and_wastes_no_pass():
    sim, rounds = rounds_of(
        SimConfig(draft_policy="confidence", confidence_threshold=1.0, draft_length=5, target_length=500, seed=4)
    )
    assert all(len(r.drafted) == 1 for r in rounds[:-1])  # the last is cut at n
    assert all(r.stopped_early and r.draft_passes == 1 for r in rounds if r.draft_length > 1)
    assert sim.stats.draft_passes == sim.stats.drafted == len(rounds) - (len(rounds[-1].drafted) == 0)
    cost = sim.cost()
    assert cost.draft_ms == pytest.approx(sim.config.target_pass_ms * sim.config.draft_cost * sim.stats.drafted)


def test_confidence_threshold_zero_drafts_k_every_round():
    sim, rounds = rounds_of(
        SimConfig(draft_policy="confidence", confidence_threshold=0.0, draft_length=5, target_length=500, seed=4)
    )
    assert all(len(r.drafted) == r.draft_length == 5 for r in rounds[:-1])
    assert not any(r.stopped_early for r in rounds)
    assert sim.stats.draft_passes == sim.stats.drafted


def test_confidence_stops_right_after_the_first_unsure_draft_and_keeps_it():
    threshold = 0.03
    _, rounds = rounds_of(
        SimConfig(
            draft_policy="confidence", confidence_threshold=threshold, draft_length=6, target_length=1_500, seed=8
        )
    )
    lengths = {len(r.drafted) for r in rounds}
    assert len(lengths) > 2  # some rounds stop early, at different depths
    kept_unsure = 0
    for r in rounds:
        drafted = len(r.drafted)
        # Every draft but the last was confident; a stop follows an unsure draft, which stays.
        assert all(q >= threshold for q in r.draft_probs[:-1])
        assert r.draft_probs == [r.dists[i].q[x] for i, x in enumerate(r.drafted)]
        if r.stopped_early:
            assert r.draft_probs[-1] < threshold
            kept_unsure += r.accepted == drafted  # verified like any draft, and sometimes kept
        else:
            assert drafted == r.draft_length
        assert r.draft_passes == drafted
        assert len(r.draws) == 2 * r.draft_length + 1  # the uniform budget keeps the plan
    assert kept_unsure > 0


def test_the_default_threshold_varies_k_on_the_default_pair():
    # The synthetic pair's q(x) is rarely above 0.15: a threshold near 0.5 would stop every draft at one token.
    sim, rounds = rounds_of(SimConfig(draft_policy="confidence", target_length=3_000, seed=1))
    mean_k = sim.stats.drafted / sim.stats.rounds
    assert 1.5 < mean_k < 2.5
    assert {len(r.drafted) for r in rounds} >= {1, 2, 3, 4, 5}


def test_k_per_round_survives_the_round_record():
    _, rounds = rounds_of(
        SimConfig(draft_policy="confidence", confidence_threshold=0.03, draft_length=6, target_length=300, seed=8)
    )
    stopped = next(r for r in rounds if r.stopped_early)
    copy = Round.from_dict(stopped.to_dict())
    assert copy.draft_length == stopped.draft_length == 6
    assert copy.drafted == stopped.drafted and copy.stopped_early and copy.draft_passes == stopped.draft_passes


# ---- batch-table: k by batch size (vLLM's num_speculative_tokens_per_batch_size) ----

VLLM_TABLE = "[[1,16,5],[17,32,4],[33,64,3],[65,128,1],[129,512,0]]"


@pytest.mark.parametrize(
    ("batch_size", "k"),
    [(1, 5), (16, 5), (17, 4), (32, 4), (33, 3), (64, 3), (65, 1), (128, 1), (129, 0), (512, 0)],
)
def test_batch_table_drafts_the_k_of_the_range_holding_the_batch_size(batch_size, k):
    # Both ends of every range: an off-by-one lookup at 16/17 or 128/129 fails here.
    config = SimConfig(
        draft_policy="batch-table", k_by_batch_size=VLLM_TABLE, batch_size=batch_size, target_length=300, seed=3
    )
    assert build_policy(config).initial_length == k
    sim, rounds = rounds_of(config)
    # Every round drafts the table's k, cut near the end so that it cannot pass n.
    assert [r.draft_length for r in rounds] == [min(k, 300 - r.start - 1) for r in rounds]
    assert sum(r.draft_length == k for r in rounds) >= len(rounds) - 3
    assert sim.summary(include_text=False)["per_position_acceptance"][k:] == []


@pytest.mark.parametrize(
    "cost", [{}, {"cost_model": "llama-7b-f16-v100-llamacpp"}, {"cost_model": "llama3.1-8b-eagle-h100"}]
)
def test_a_table_k_of_zero_is_plain_decoding_one_token_a_round(cost):
    config = SimConfig(
        draft_policy="batch-table",
        k_by_batch_size=VLLM_TABLE,
        batch_size=200,
        context_length=512,
        target_length=250,
        **cost,
    )
    sim, rounds = rounds_of(config)
    stats = sim.stats
    assert sim.emitted == stats.emitted == 250 == stats.rounds == len(rounds)
    assert stats.drafted == stats.draft_passes == 0
    assert all(len(r.emitted) == 1 and r.bonus is not None for r in rounds)
    breakdown = sim.cost()
    # A round that drafts nothing costs one plain step: the draft's fixed cost
    # and the per-step overhead are not paid.
    assert breakdown.speedup == 1.0 and breakdown.draft_ms == 0.0 and breakdown.overhead_ms == 0.0
    summary = sim.summary(include_text=False)
    assert summary["speedup"] == 1.0 and summary["expected_speedup"] == 1.0
    assert summary["expected_draft_acceptance_rate"] is None


@pytest.mark.parametrize(
    ("table", "batch_size", "words"),
    [
        ("[[1,16,5],[16,32,4]]", 1, "overlap"),
        ("[[1,16,5],[18,32,4]]", 17, "holds the batch size 17"),
        ("[[2,16,5]]", 1, "holds the batch size 1"),
        ("[[1,16,65]]", 1, "k outside 0 to 64"),
        ("[[1,16,-1]]", 1, "k outside 0 to 64"),
        ("[[0,16,5]]", 1, "1 <= lo <= hi"),
        ("[[9,8,5]]", 1, "1 <= lo <= hi"),
        ("[[1,16,true]]", 1, "three whole numbers"),
        ("[[1,16,2.5]]", 1, "three whole numbers"),
        ("[[1,16]]", 1, "three whole numbers"),
        ("[]", 1, "non-empty list"),
        ("{}", 1, "non-empty list"),
        ("[[1,16,5]", 1, "not JSON"),
        ("[" * 100_000, 1, "at most 10,000 characters"),
    ],
)
def test_a_bad_table_is_one_config_error_naming_what_is_allowed(table, batch_size, words):
    with pytest.raises(ConfigError) as error:
        SimConfig(draft_policy="batch-table", k_by_batch_size=table, batch_size=batch_size)
    message = str(error.value)
    assert error.value.parameter == "k_by_batch_size" and "\n" not in message
    assert words in message and "--k-by-batch-size" in message


def test_the_table_is_required_by_batch_table_and_refused_by_every_other_policy():
    with pytest.raises(ConfigError, match="required with --draft-policy batch-table"):
        SimConfig(draft_policy="batch-table")
    for policy in ("fixed", "heuristic", "confidence"):
        with pytest.raises(ConfigError, match=f"only with --draft-policy batch-table; leave it out with the {policy}"):
            SimConfig(draft_policy=policy, k_by_batch_size="[[1,8,2]]")
    # Ranges may come in any order and leave gaps away from the batch size.
    assert (
        build_policy(SimConfig(draft_policy="batch-table", k_by_batch_size="[[40,50,1],[1,3,7]]")).initial_length == 7
    )
