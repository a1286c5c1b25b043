"""Estimating a job before it runs (issue 20, item 20): the calibration run, the
estimators, and the progress the audit and the comparison report."""

from __future__ import annotations

import pytest

from specviz.engine import SimConfig, Simulation
from specviz.engine.analysis import sweep as sweep_module
from specviz.engine.analysis.audit import audit
from specviz.engine.analysis.compare import CHUNK_ROUNDS, compare, comparison_plan, estimate_comparison
from specviz.engine.analysis.sweep import estimate_engine_sweep, parse_alphas
from specviz.engine.analysis.workload import Pace, measure_pace, per_k_seconds, run_seconds
from specviz.engine.models.pair import build_model


def test_a_calibration_stops_at_its_round_budget_and_changes_no_result():
    config = SimConfig(target_length=400, seed=9)
    model = build_model(config)
    before = Simulation(config, model)
    before.run()
    pace = measure_pace(config, model, seconds=60.0, max_rounds=25)
    assert pace.rounds == 25
    assert pace.seconds_per_round > 0 and 1.0 <= pace.tokens_per_round <= config.draft_length + 1
    after = Simulation(config, model)
    after.run()
    assert after.history == before.history  # the throwaway run shares only the pure model


def test_a_calibration_stops_by_time_when_rounds_are_plenty():
    config = SimConfig(seed=1)
    pace = measure_pace(config, build_model(config), seconds=0.0)
    assert pace.rounds == 1  # one round, then the (zero) time is up


def test_run_seconds_divides_tokens_by_the_tokens_a_round_emits():
    assert run_seconds(Pace(0.002, 4.0, 10), 1000) == pytest.approx(0.5)


def test_a_round_costs_linear_in_k_between_the_two_calibrations():
    assert per_k_seconds(Pace(1.0, 1.0, 1), Pace(4.0, 1.0, 1), 4) == [1.0, 2.0, 3.0, 4.0]
    assert per_k_seconds(Pace(2.0, 1.0, 1), Pace(2.0, 1.0, 1), 1) == [2.0]


def _fake_pace(seconds_at):
    """measure_pace's stand-in: seconds per round by draft length, 3 tokens a round."""
    return lambda config, model, *args, **kwargs: Pace(seconds_at(config.draft_length), 3.0, 1)


def test_an_engine_sweep_is_estimated_cell_by_cell(monkeypatch):
    monkeypatch.setattr(sweep_module, "measure_pace", _fake_pace(lambda k: 1e-5 * k))
    config = SimConfig(method="greedy")
    estimate = estimate_engine_sweep(config, 4, parse_alphas("0.5:0.9:0.1"), 1000, build_model(config))
    # 5 alphas x 1,000 rounds x (1 + 2 + 3 + 4) x 10 us
    assert estimate.seconds == pytest.approx(5 * 1000 * 10 * 1e-5)
    assert estimate.work == "20 engine runs of 1,000 rounds"


def test_a_measured_alpha_sweep_is_one_column(monkeypatch):
    monkeypatch.setattr(sweep_module, "measure_pace", _fake_pace(lambda k: 1e-3))
    config = SimConfig(model="ngram")
    estimate = estimate_engine_sweep(config, 3, parse_alphas("0.1:0.9:0.1"), 100, build_model(config))
    assert estimate.seconds == pytest.approx(3 * 100 * 1e-3) and estimate.work.startswith("3 engine runs")


def test_a_comparison_is_estimated_from_its_rows_and_audits(monkeypatch):
    monkeypatch.setattr("specviz.engine.analysis.workload.measure_pace", _fake_pace(lambda k: 0.01))
    config = SimConfig(target_length=3000)
    plan = comparison_plan()
    methods = len({m for m, _ in plan})
    estimate = estimate_comparison(config, plan, 500, build_model(config))
    # rows x 3,000 tokens / 3 a round x 10 ms, then audits x 500 rounds x 10 ms
    assert estimate.seconds == pytest.approx(len(plan) * 10.0 + methods * 5.0)
    assert estimate.work == f"{len(plan)} runs of 3,000 tokens and {methods} audits of 500 rounds"


# ---- 20: the audit reports its progress ----------------------------------------------


def test_the_audit_reports_every_sample_and_its_result_is_unchanged():
    config = SimConfig(seed=4)
    seen = []
    reported = audit(config, 300, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(done, 300) for done in range(1, 301)]
    assert (reported.counts == audit(config, 300).counts).all()


def test_a_comparison_reports_its_audits_as_they_go():
    reports = []
    compare(
        SimConfig(target_length=60),
        [("speculative", "fixed")],
        600,
        progress=lambda done, total, what: reports.append((done, total, what)),
    )
    auditing = [done for done, _, what in reports if what == "auditing speculative"]
    # As it starts, every CHUNK_ROUNDS samples, and at its end.
    assert auditing == [60, 60 + CHUNK_ROUNDS, 60 + 2 * CHUNK_ROUNDS, 60 + 600]
    assert all(total == 660 for _, total, _ in reports)
