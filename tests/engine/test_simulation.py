"""The round state machine, its invariants and its statistics."""

from hypothesis import given, settings
from hypothesis import strategies as st

from specviz.engine import Phase, SimConfig, Simulation, TokenKind
from tests.budget import budget


def run_rounds(config):
    rounds = []
    simulation = Simulation(config)
    simulation.add_listener(rounds.append)
    simulation.run()
    return simulation, rounds


configs = st.builds(
    SimConfig,
    draft_length=st.integers(1, 12),
    acceptance_rate=st.floats(0.0, 1.0),
    target_length=st.integers(1, 300),
    seed=st.integers(0, 2**32),
)


@settings(max_examples=budget(60, 1000), deadline=None)
@given(configs)
def test_run_invariants(config):
    simulation, rounds = run_rounds(config)
    stats = simulation.stats
    k = config.draft_length
    assert simulation.emitted == config.target_length == stats.emitted
    assert len(simulation.kinds) == simulation.emitted
    for round_ in rounds:
        assert 1 <= len(round_.emitted) <= k + 1
        assert len(round_.drafted) == round_.draft_length <= k
        assert round_.accepted + round_.rejected + round_.skipped == len(round_.drafted)
        assert (round_.correction is None) == (not round_.rejected)
        assert (round_.bonus is None) == round_.rejected
    assert stats.rounds == len(rounds)
    assert stats.drafted == stats.accepted + stats.rejected + stats.skipped
    assert stats.rounds == stats.corrections + stats.bonus
    assert stats.emitted == stats.accepted + stats.rounds
    assert stats.draft_passes == stats.drafted
    assert sum(stats.length_histogram) == stats.rounds
    longest = max((len(r.drafted) for r in rounds), default=0)
    assert stats.position_drafted == [sum(len(r.drafted) > i for r in rounds) for i in range(longest)]
    assert stats.position_accepted == [sum(r.accepted > i for r in rounds) for i in range(longest)]


@settings(max_examples=budget(30, 500), deadline=None)
@given(configs)
def test_stepping_phase_by_phase_equals_running(config):
    stepped = Simulation(config)
    phases = []
    while (event := stepped.step()) is not None:
        phases.append(event.phase)
    ran = Simulation(config)
    ran.run()
    assert stepped.history == ran.history and stepped.kinds == ran.kinds
    assert stepped.stats == ran.stats
    # Phases come in order, a whole number of rounds.
    assert phases == [Phase.DRAFT, Phase.VERIFY, Phase.ACCEPT] * ran.stats.rounds


def test_same_config_same_run_different_seed_different_run():
    a, b, c = (Simulation(SimConfig(target_length=500, seed=s)) for s in (7, 7, 8))
    for sim in (a, b, c):
        sim.run()
    assert a.history == b.history and a.text() == b.text()
    assert a.history != c.history


def test_run_in_chunks_equals_one_run():
    whole = Simulation(SimConfig(target_length=2000))
    whole.run()
    chunked = Simulation(SimConfig(target_length=2000))
    while not chunked.done:
        chunked.run(max_rounds=7)
    assert whole.history == chunked.history


def test_finish_round_mid_round_completes_it():
    simulation = Simulation(SimConfig(target_length=100))
    simulation.step()
    assert simulation.next_phase is Phase.VERIFY
    round_ = simulation.finish_round()
    assert round_.completed and simulation.next_phase is Phase.DRAFT


def test_verify_reveals_target_probabilities_and_accept_the_verdicts():
    simulation = Simulation(SimConfig(target_length=100, acceptance_rate=0.5))
    draft = simulation.step()
    assert draft.phase is Phase.DRAFT and len(draft.round.drafted) == 5 and draft.round.target_probs == []
    verify = simulation.step()
    assert len(verify.round.target_probs) == 5 and not verify.round.completed
    accept = simulation.step()
    round_ = accept.round
    assert round_.completed
    ratios = round_.ratios()
    for i, u in enumerate(round_.uniforms):
        assert (u < ratios[i]) == (i < round_.accepted)


def test_last_round_is_cut_at_the_target_length():
    simulation, rounds = run_rounds(SimConfig(draft_length=5, acceptance_rate=1.0, target_length=14))
    # alpha = 1: every round keeps all drafts and adds a bonus: 6 + 6, then 2 left.
    assert [len(r.emitted) for r in rounds] == [6, 6, 2]
    assert rounds[-1].draft_length == 1
    assert simulation.emitted == 14


def test_alpha_zero_rejects_every_first_draft():
    simulation, rounds = run_rounds(SimConfig(acceptance_rate=0.0, target_length=50))
    # Every round but the last (cut to zero drafts: a plain target step) ends
    # at its first draft with a correction.
    assert all(r.accepted == 0 and r.rejected for r in rounds[:-1])
    assert rounds[-1].draft_length == 0 and rounds[-1].bonus is not None
    assert all(TokenKind(kind) is TokenKind.CORRECTION for kind in simulation.kinds[:-1])


def test_alpha_one_keeps_everything_and_earns_bonus_tokens():
    simulation, rounds = run_rounds(SimConfig(acceptance_rate=1.0, target_length=60, draft_length=5))
    assert simulation.stats.bonus == simulation.stats.rounds == 10
    assert simulation.stats.tokens_per_target_pass == 6.0


def test_cost_counts_k_draft_passes_per_round():
    simulation = Simulation(
        SimConfig(acceptance_rate=1.0, target_length=60, draft_length=5, draft_cost=0.1, target_pass_ms=100.0)
    )
    simulation.run()
    cost = simulation.cost()
    assert cost.target_ms == 10 * 100.0
    assert cost.draft_ms == 50 * 10.0  # 10 rounds x 5 draft passes x 10 ms
    assert cost.baseline_ms == 60 * 100.0
    assert cost.speedup == 6000.0 / 1500.0


def test_verify_overhead_charges_each_drafted_token():
    simulation = Simulation(
        SimConfig(acceptance_rate=1.0, target_length=60, draft_length=5, draft_cost=0.0, verify_overhead=0.1)
    )
    simulation.run()
    assert simulation.cost().target_ms == 100.0 * (10 + 0.1 * 50)


def test_summary_has_the_documented_keys():
    simulation = Simulation(SimConfig(target_length=200))
    simulation.run()
    summary = simulation.summary()
    for key in (
        "config",
        "tokens",
        "rounds",
        "draft_passes",
        "drafted",
        "accepted",
        "rejected",
        "bonus",
        "tokens_per_target_pass",
        "mean_acceptance_length",
        "draft_acceptance_rate",
        "per_position_acceptance",
        "empirical_alpha",
        "speedup",
        "expected_tokens_per_round",
        "expected_speedup",
        "text",
    ):
        assert key in summary
    assert len(summary["per_position_acceptance"]) == 5
    assert summary["tokens"] == 200


# The engine skips per-round calls by class flags (issue 18): a subclass that
# changes the rule must still be asked.


def test_a_speculative_subclass_that_changes_accepts_is_asked_per_draft():
    from specviz.engine.verification.methods import SpeculativeSampling

    class RejectEverything(SpeculativeSampling):
        def accepts(self, dists, token, u):
            return False

    simulation = Simulation(SimConfig(acceptance_rate=0.9, target_length=300, seed=4))
    simulation.method = RejectEverything(simulation.config)
    simulation.run()
    assert simulation.stats.rounds == 300 and simulation.stats.accepted == 0


def test_a_policy_subclass_that_changes_next_length_is_asked_each_round():
    from specviz.engine.drafting.policies import FixedPolicy

    class ShrinkToOne(FixedPolicy):
        def next_length(self, current, accepted, drafted):
            return 1

    simulation = Simulation(SimConfig(draft_length=5, target_length=300, seed=4))
    simulation.policy = ShrinkToOne(simulation.config)
    rounds = []
    simulation.add_listener(rounds.append)
    simulation.run()
    assert rounds[0].draft_length == 5 and {r.draft_length for r in rounds[1:]} == {1}
