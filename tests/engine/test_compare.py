"""The comparison grid: which rows run, that each row is an honest run, and the audits' verdicts."""

from __future__ import annotations

import json

import pytest

from specviz.engine.analysis.audit import SIGNIFICANCE, audit
from specviz.engine.analysis.compare import (
    AUDIT_TOKENS,
    MAX_AUDIT_SAMPLES,
    compare,
    comparison_plan,
    parse_audit_samples,
)
from specviz.engine.drafting.policies import policy_names
from specviz.engine.models.pair import build_model
from specviz.engine.run.config import ConfigError, SimConfig
from specviz.engine.run.simulation import Simulation
from specviz.engine.verification.methods import GreedyVerification, method_names

METHODS = ("speculative", "greedy", "sample-match", "typical")
POLICIES = ("fixed", "heuristic", "confidence")  # compared by default; batch-table needs a table
BASE = SimConfig(target_length=400, seed=11, draft_length=4, acceptance_rate=0.7)
AUDIT_SAMPLES = 2_000


@pytest.fixture(scope="module")
def comparison():
    return compare(BASE, audit_samples=AUDIT_SAMPLES)


def _by_row(comparison):
    return {(row["method"], row["policy"]): row for row in comparison["rows"]}


# ---- the plan ------------------------------------------------------------------


def test_the_registries_are_what_these_tests_expect():
    assert method_names() == METHODS and policy_names() == (*POLICIES, "batch-table")


def test_the_batch_table_policy_runs_only_when_asked_for_with_its_table():
    assert comparison_plan(draft_policy="batch-table") == [(m, "batch-table") for m in METHODS]
    config = BASE.replace(target_length=40, draft_policy="batch-table", k_by_batch_size="[[1,8,2]]")
    rows = compare(config, [("speculative", "batch-table"), ("speculative", "fixed")], audit_samples=0)["rows"]
    # The table's k = 2 at batch 1 (the last round may be cut); the fixed row drops the table, drafts -k = 4.
    assert [row["policy"] for row in rows] == ["batch-table", "fixed"]
    assert 1.5 < rows[0]["mean_draft_length"] <= 2.0 < 3.0 < rows[1]["mean_draft_length"] <= 4.0


def test_default_plan_runs_every_method_and_every_policy():
    plan = comparison_plan()
    assert plan == [
        ("speculative", "fixed"),
        ("greedy", "fixed"),
        ("sample-match", "fixed"),
        ("typical", "fixed"),
        ("speculative", "heuristic"),
        ("speculative", "confidence"),
    ]
    assert {m for m, _ in plan} == set(METHODS) and {p for _, p in plan} == set(POLICIES)


def test_grid_runs_every_pair_once():
    plan = comparison_plan(grid=True)
    assert len(plan) == len(set(plan)) == len(METHODS) * len(POLICIES)


def test_a_given_method_or_policy_fixes_that_axis():
    assert comparison_plan(method="greedy") == [("greedy", p) for p in POLICIES]
    assert comparison_plan(draft_policy="heuristic") == [(m, "heuristic") for m in METHODS]
    assert comparison_plan(method="typical", draft_policy="confidence") == [("typical", "confidence")]
    assert comparison_plan(method="greedy", grid=True) == comparison_plan(method="greedy")


# ---- the rows ------------------------------------------------------------------


def test_one_row_per_planned_pair_in_plan_order(comparison):
    assert [(r["method"], r["policy"]) for r in comparison["rows"]] == comparison_plan()


def test_counts_are_consistent(comparison):
    k = BASE.draft_length
    for row in comparison["rows"]:
        rounds = row["target_passes"]
        assert row["tokens"] == BASE.target_length
        # Every round emits its kept prefix plus one correction or bonus token.
        assert row["tokens"] == row["accepted"] + rounds
        assert row["corrections"] + row["bonus"] == rounds
        assert row["accepted"] <= row["drafted"] <= row["draft_passes"]
        assert row["tokens_per_target_pass"] == pytest.approx(row["tokens"] / rounds)
        assert row["mean_acceptance_length"] == pytest.approx(1 + row["accepted"] / rounds)
        assert row["tokens_per_target_pass"] == pytest.approx(row["mean_acceptance_length"])
        assert row["draft_acceptance_rate"] == pytest.approx(row["accepted"] / row["drafted"])
        assert row["mean_draft_length"] == pytest.approx(row["drafted"] / rounds)
        assert 0.0 <= row["empirical_alpha"] <= 1.0
        cost = row["cost_ms"]
        assert row["speedup"] == pytest.approx(cost["baseline_ms"] / cost["total_ms"])
        if row["policy"] == "fixed":
            # k every round except near the end, where a round with r tokens
            # left drafts only r - 1 (so the run ends at exactly n): at most
            # 1 + 2 + ... + k drafts short in all.
            assert 0 <= k * rounds - row["drafted"] <= k * (k + 1) // 2
            assert row["draft_passes"] == row["drafted"]


def test_dynamic_policies_move_k(comparison):
    rows = _by_row(comparison)
    fixed = rows[("speculative", "fixed")]["mean_draft_length"]
    assert rows[("speculative", "confidence")]["mean_draft_length"] < fixed
    # The confidence rule keeps the draft it stops after: no pass is thrown away.
    assert rows[("speculative", "confidence")]["draft_passes"] == rows[("speculative", "confidence")]["drafted"]
    assert rows[("speculative", "heuristic")]["mean_draft_length"] != fixed


def test_each_row_is_the_run_the_same_config_gives_alone(comparison):
    # Rows share one model pair; sharing it must not change a single token.
    for row in comparison["rows"]:
        alone = Simulation(BASE.replace(method=row["method"], draft_policy=row["policy"]))
        alone.run()
        summary = alone.summary(include_text=False)
        for key in (
            "tokens",
            "target_passes",
            "draft_passes",
            "drafted",
            "accepted",
            "corrections",
            "bonus",
            "empirical_alpha",
            "method_keep_rate",
            "speedup",
        ):
            assert row[key] == summary[key], (row["method"], row["policy"], key)


def test_same_seed_same_rows():
    config = BASE.replace(target_length=150)
    assert compare(config, audit_samples=300) == compare(config, audit_samples=300)


def test_the_speculative_row_matches_the_knob_on_the_synthetic_pair(comparison):
    # On the synthetic pair sum_x min(p, q) is alpha in every context.
    assert _by_row(comparison)[("speculative", "fixed")]["empirical_alpha"] == pytest.approx(BASE.acceptance_rate)


# ---- the audits -----------------------------------------------------------------


def test_lossless_claims_come_from_the_methods(comparison):
    rows = _by_row(comparison)
    assert [rows[(m, "fixed")]["lossless_claim"] for m in METHODS] == [True, True, True, False]
    assert [rows[(m, "fixed")]["lossless_against"] for m in METHODS] == ["p", "argmax", "p", None]


def test_audit_verdicts(comparison):
    rows = _by_row(comparison)
    for method in ("speculative", "sample-match"):
        audited = rows[(method, "fixed")]["audit"]
        assert audited["reference"] == "p"
        assert audited["lossless"] and audited["chi2_pvalue"] >= SIGNIFICANCE, audited
        assert audited["degrees_of_freedom"] >= 5  # a real test, not one pooled bin
    greedy = rows[("greedy", "fixed")]["audit"]
    assert greedy["reference"] == "argmax p" and greedy["lossless"] and greedy["tv_distance"] == 0.0
    typical = rows[("typical", "fixed")]["audit"]
    assert typical["reference"] == "p"
    assert not typical["lossless"] and typical["chi2_pvalue"] < SIGNIFICANCE and typical["tv_distance"] > 0.1
    for row in comparison["rows"]:
        assert row["audit"]["samples"] == AUDIT_SAMPLES
        assert row["audit"]["tokens"] == AUDIT_TOKENS == 2  # the first 2 tokens, jointly
        assert row["audit"]["method_claims_lossless"] == row["lossless_claim"]


def test_a_methods_rows_share_one_audit(comparison):
    rows = _by_row(comparison)
    first = rows[("speculative", "fixed")]["audit"]
    assert first["policy"] == "fixed"
    assert rows[("speculative", "heuristic")]["audit"] == first
    assert rows[("speculative", "confidence")]["audit"] == first


def test_greedy_passes_only_against_argmax_p(comparison):
    # Greedy's tokens are argmax p, not samples from p: judged against p, the
    # same rule fails. So the argmax reference is what the pass rests on.
    class GreedyJudgedAgainstP(GreedyVerification):
        lossless_against = "p"

    against_p = audit(BASE.replace(method="greedy"), 500, method=GreedyJudgedAgainstP(BASE))
    assert against_p.reference == "p" and not against_p.lossless
    assert _by_row(comparison)[("greedy", "fixed")]["audit"]["lossless"]


def test_audits_on_the_ngram_pair():
    config = SimConfig(model="ngram", target_length=150, draft_length=3, seed=5, prompt="the value of the")
    result = compare(config, [("speculative", "fixed"), ("typical", "fixed")], audit_samples=1_500)
    speculative, typical = result["rows"]
    assert speculative["audit"]["lossless"], speculative["audit"]
    assert not typical["audit"]["lossless"], typical["audit"]


def test_the_audit_drafts_a_full_round_even_when_the_rows_are_short():
    # At n = 1 a row drafts nothing; the audit must still judge k drafts.
    result = compare(BASE.replace(target_length=1), [("typical", "fixed")], audit_samples=AUDIT_SAMPLES)
    row = result["rows"][0]
    assert row["tokens"] == 1 and row["drafted"] == 0
    assert not row["audit"]["lossless"], row["audit"]


def test_no_audit_with_zero_samples():
    result = compare(BASE.replace(target_length=50), audit_samples=0)
    assert all(row["audit"] is None for row in result["rows"])
    assert result["config"]["audit_samples"] == 0


def test_bad_sample_counts_are_config_errors():
    for text in ("-1", "abc", "1.5", str(MAX_AUDIT_SAMPLES + 1)):
        with pytest.raises(ConfigError) as raised:
            parse_audit_samples(text)
        assert "--audit-samples" in str(raised.value) and "\n" not in str(raised.value)
    assert (
        parse_audit_samples("0") == 0 and parse_audit_samples("4,000") == 4000 and parse_audit_samples("1e4") == 10_000
    )
    with pytest.raises(ConfigError):
        compare(BASE, audit_samples=-5)


# ---- the result object ------------------------------------------------------------


def test_result_is_json_ready(comparison):
    data = json.loads(json.dumps(comparison, allow_nan=False))
    assert set(data) == {"rows", "config"}
    config = data["config"]
    assert "method" not in config and "draft_policy" not in config
    assert config["audit_samples"] == AUDIT_SAMPLES and config["audit_significance"] == SIGNIFICANCE
    assert config["audit_tokens"] == AUDIT_TOKENS
    assert config["target_length"] == BASE.target_length and config["seed"] == BASE.seed


def test_progress_counts_up_to_the_total():
    seen = []
    config = BASE.replace(target_length=120)
    compare(config, audit_samples=200, progress=lambda done, total, what: seen.append((done, total, what)))
    dones = [done for done, _, _ in seen]
    total = 6 * 120 + 4 * 200
    assert dones == sorted(dones) and dones[-1] == total
    assert {t for _, t, _ in seen} == {total}
    assert any(what.startswith("auditing typical") for _, _, what in seen)


def test_a_prebuilt_model_is_used_as_given(monkeypatch):
    import specviz.engine.models.pair as models_module  # compare imports build_model from it when it runs

    model = build_model(BASE)
    monkeypatch.setattr(models_module, "build_model", lambda config: pytest.fail("built a second model"))
    result = compare(BASE.replace(target_length=60), [("speculative", "fixed")], audit_samples=100, model=model)
    assert result["rows"][0]["tokens"] == 60


def test_one_model_is_built_for_all_rows(monkeypatch):
    import specviz.engine.models.pair as models_module  # compare imports build_model from it when it runs
    import specviz.engine.run.simulation as simulation_module

    built = []
    monkeypatch.setattr(models_module, "build_model", lambda config: built.append(config) or build_model(config))
    monkeypatch.setattr(simulation_module, "build_model", lambda config: pytest.fail("a row built its own model"))
    compare(BASE.replace(target_length=40), audit_samples=50)
    assert len(built) == 1
