"""The forward-pass cost model (REFERENCE §7): presets reproduce their fits, the constant-ratio model is unchanged."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specviz.engine import SimConfig, Simulation
from specviz.engine.analysis import theory
from specviz.engine.analysis.cost import (
    BATCH_SIZES,
    CostModel,
    CostModelError,
    ForwardPassModel,
    PassCost,
    load_cost_model,
    parse_cost_model,
    preset_names,
)


def test_the_eagle_preset_reproduces_its_published_fit():
    # REFERENCE §7: without the KV term, 5.91 ms for 1 token, 5.97 for 4, 8.58 for 128, 16.64 for 512.
    model = load_cost_model("llama3.1-8b-eagle-h100")
    for tokens, ms in ((1, 5.91), (4, 5.97), (128, 8.58), (512, 16.64)):
        assert round(model.target.ms(tokens, 0), 2) == ms
    assert model.draft_kind == "head" and model.overhead_ms == pytest.approx(1.20683946)


def test_the_llamacpp_preset_is_the_least_squares_fit_of_its_measurements():
    model = load_cost_model("llama-7b-f16-v100-llamacpp")
    tokens, measured = [1, 2, 3], [32.6, 39.0, 39.5]
    mean_t, mean_y = sum(tokens) / 3, sum(measured) / 3
    slope = sum((t - mean_t) * (y - mean_y) for t, y in zip(tokens, measured)) / sum((t - mean_t) ** 2 for t in tokens)
    assert model.target.per_token_ms == pytest.approx(slope)
    assert model.target.fixed_ms == pytest.approx(mean_y - slope * mean_t, abs=1e-6)
    assert model.draft.fixed_ms == pytest.approx(0.30 * 32.6)


def test_every_preset_names_its_source():
    assert len(preset_names()) >= 2
    for name in preset_names():
        model = load_cost_model(name)
        assert model.name == name and len(model.source) > 20


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"verify_overhead": 0.3, "draft_cost": 0.07, "target_pass_ms": 33.3},
        {"draft_policy": "heuristic", "verify_overhead": 0.1},
    ],
)
def test_the_constant_ratio_model_gives_exactly_the_old_figures(changes):
    config = SimConfig(target_length=3000, **changes)
    simulation = Simulation(config)
    simulation.run()
    s, T, c, v = simulation.stats, config.target_pass_ms, config.draft_cost, config.verify_overhead
    cost = simulation.cost()
    # The arithmetic of the model this one replaced, written out.
    assert cost.target_ms == T * (s.rounds + v * s.drafted)
    assert cost.draft_ms == T * c * s.draft_passes
    assert cost.total_ms == cost.target_ms + cost.draft_ms and cost.overhead_ms == 0.0
    assert cost.speedup == (T * s.emitted) / cost.total_ms
    summary = simulation.summary(include_text=False)
    alpha, k = summary["theory_alpha"], config.draft_length
    assert summary["expected_speedup"] == theory.expected_speedup(alpha, k, c, v)


def test_the_batch_size_changes_nothing_under_the_constant_ratio_model():
    one = Simulation(SimConfig(target_length=500))
    many = Simulation(SimConfig(target_length=500, batch_size=64))
    one.run(), many.run()
    assert one.cost() == many.cost()


@settings(max_examples=60, deadline=None)
@given(
    T=st.floats(0.5, 200.0),
    c=st.floats(0.0, 1.0),
    alpha=st.floats(0.0, 0.99),
    k=st.integers(1, 12),
    L=st.integers(0, 4000),
)
def test_batch_1_with_no_per_token_cost_is_the_constant_ratio_model(T, c, alpha, k, L):
    model = ForwardPassModel(PassCost(T), PassCost(c * T), "model").at(1, L)
    tokens = theory.expected_tokens_per_round(alpha, k)
    assert model.expected_speedup(tokens, k) == pytest.approx(theory.expected_speedup(alpha, k, c), rel=1e-12)


@settings(max_examples=80, deadline=None)
@given(
    fixed=st.floats(0.1, 100.0),
    per_token=st.floats(1e-6, 1.0),
    per_kv=st.floats(0.0, 1e-3),
    ratio=st.floats(0.0, 1.0),
    alpha=st.floats(0.0, 0.99),
    k=st.integers(1, 16),
    L=st.integers(0, 8000),
)
def test_speedup_never_grows_with_batch_size_for_a_scaled_draft(fixed, per_token, per_kv, ratio, alpha, k, L):
    # A draft model that is a scaled copy of the target (each of its passes
    # costs `ratio` times the target's on the same tokens) and no per-step
    # overhead: then (and not in general, see below) speedup falls with b.
    target = PassCost(fixed, per_token, per_kv)
    draft = PassCost(ratio * fixed, ratio * per_token, ratio * per_kv)
    model = ForwardPassModel(target, draft, "model")
    tokens = theory.expected_tokens_per_round(alpha, k)
    speedups = [model.at(b, L).expected_speedup(tokens, k) for b in BATCH_SIZES]
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in zip(speedups, speedups[1:]))


def test_a_dear_fixed_draft_cost_is_amortised_over_the_batch():
    # The condition above matters: a head whose proposal is mostly fixed cost
    # gets cheaper per sequence as the batch grows, so speedup at k = 1 rises.
    model = load_cost_model("llama3.1-8b-eagle-h100")
    tokens = theory.expected_tokens_per_round(0.8, 1)
    assert model.at(512, 1024).expected_speedup(tokens, 1) > model.at(1, 1024).expected_speedup(tokens, 1)
    # ... while at k = 5 the compute-bound verify pass wins: speedup falls.
    tokens = theory.expected_tokens_per_round(0.8, 5)
    assert model.at(512, 1024).expected_speedup(tokens, 5) < model.at(1, 1024).expected_speedup(tokens, 5)


def test_a_head_round_costs_its_one_proposal():
    model = load_cost_model("llama3.1-8b-eagle-h100")
    b, L, k = 16, 1000, 4
    at = model.at(b, L)
    plain = model.target.ms(b, b * L)
    assert at.target_pass_ms == pytest.approx(plain)
    round_ms = model.target.ms(b * (k + 1), b * L) + model.draft.ms(b * k, b * L) + model.overhead_ms
    assert at.round_units(k) * at.target_pass_ms == pytest.approx(round_ms)
    # A round that drafts nothing is a plain step.
    assert at.round_units(0) == 1.0


def test_a_run_under_a_cost_model_adds_up_by_its_passes():
    config = SimConfig(target_length=2000, cost_model="llama3.1-8b-eagle-h100", batch_size=32, context_length=500)
    simulation = Simulation(config)
    simulation.run()
    s, model = simulation.stats, load_cost_model("llama3.1-8b-eagle-h100")
    b, L = 32, 500
    drafting = s.rounds - s.drafted_histogram[0]
    verify = s.rounds * model.target.ms(b, b * L) + model.target.per_token_ms * b * s.drafted
    draft = drafting * model.draft.ms(0, b * L) + model.draft.per_token_ms * b * s.drafted
    cost = simulation.cost()
    assert cost.target_ms == pytest.approx(verify) and cost.draft_ms == pytest.approx(draft)
    assert cost.overhead_ms == pytest.approx(drafting * model.overhead_ms)
    assert cost.baseline_ms == pytest.approx(s.emitted * model.target.ms(b, b * L))


GOOD = """
name = "t"
source = "a test"
[target]
fixed_ms = 5.0
per_token_ms = 0.02
[draft]
kind = "model"
fixed_ms = 1.0
"""


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not toml [", "not valid TOML"),
        (GOOD.replace("[target]\n", "[targets]\n"), "unknown key 'targets'"),
        (GOOD.replace('kind = "model"', 'kind = "tree"'), "kind is 'tree'"),
        (GOOD.replace("fixed_ms = 5.0", "fixed_ms = -5.0"), "[target] fixed_ms = -5.0"),
        (GOOD.replace("fixed_ms = 5.0", "fixed_ms = nan"), "[target] fixed_ms = nan"),
        (GOOD.replace("fixed_ms = 5.0", "fixed_ms = 1e300"), "1e+300"),
        (GOOD.replace("per_token_ms = 0.02", 'per_token_ms = "fast"'), "'fast'"),
        (GOOD.replace('[draft]\nkind = "model"\nfixed_ms = 1.0\n', ""), "missing [draft]"),
        (GOOD.replace("fixed_ms = 5.0\nper_token_ms = 0.02", "per_token_ms = 0.02"), "[target] needs fixed_ms"),
        (GOOD.replace("fixed_ms = 5.0\nper_token_ms = 0.02", "fixed_ms = 0.0"), "0 ms"),
        (GOOD + "\nwarp = 9\n", "unknown key"),
    ],
)
def test_a_bad_cost_file_is_one_line_naming_the_key(text, words):
    with pytest.raises(CostModelError) as raised:
        parse_cost_model(text, "cost.toml")
    message = str(raised.value)
    assert words in message and "\n" not in message


def test_a_cost_file_is_read_from_a_path(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(GOOD)
    model = load_cost_model(str(path))
    assert model.target.fixed_ms == 5.0 and model.draft_kind == "model"
    assert math.isfinite(model.at(8, 100).target_pass_ms)


def test_an_unknown_preset_lists_the_presets():
    with pytest.raises(CostModelError, match="one of llama"):
        load_cost_model("h100-magic")


def test_theory_by_batch_size_finds_where_speculation_stops_paying():
    model = load_cost_model("llama-7b-f16-v100-llamacpp").at(1, 0)
    table = theory.by_batch_size(0.7, 5, model, k_max=10)
    best = table["best_speedup_by_batch_size"]
    # Hand-checked from the preset: at b = 8 the best k (1) still wins, at 16 it loses.
    assert best["8"] > 1.0 > best["16"]
    assert table["break_even_batch_size"] == 8
    assert table["speculation_pays_at_batch_sizes"] == [1, 2, 4, 8]
    # The best k never grows with the batch under this model.
    ks = list(table["best_k_by_batch_size"].values())
    assert ks == sorted(ks, reverse=True) and ks[0] == 2


def test_theory_by_batch_size_is_flat_under_the_constant_ratio_model():
    table = theory.by_batch_size(0.8, 5, CostModel(100.0, 0.1, 0.0), k_max=20)
    assert len(set(table["speedup_by_batch_size"].values())) == 1
    assert table["break_even_batch_size"] is None and len(table["speculation_pays_at_batch_sizes"]) == len(BATCH_SIZES)


def test_the_best_k_under_a_forward_pass_model_maximises_its_speedup():
    model = load_cost_model("llama3.1-8b-eagle-h100").at(32, 1024)
    best = theory.best_draft_length_under(0.8, model, k_max=30)
    speedups = {k: model.expected_speedup(theory.expected_tokens_per_round(0.8, k), k) for k in range(1, 31)}
    assert best.speedup == max(speedups.values()) and speedups[best.k] == best.speedup
