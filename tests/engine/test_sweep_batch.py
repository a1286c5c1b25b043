"""The sweep priced by batch size (issue 15): one measurement per (k, alpha),
priced at every b by the cost model, with the best k per (b, alpha)."""

import pytest

from specviz.engine import ConfigError, SimConfig, Simulation
from specviz.engine.analysis import theory
from specviz.engine.analysis.cost import cost_model_for, load_cost_model
from specviz.engine.analysis.sweep import ENGINE, parse_alphas, parse_batch_sizes, run_sweep
from specviz.engine.run.config import MAX_TARGET_LENGTH

LLAMACPP = "llama-7b-f16-v100-llamacpp"
EAGLE = "llama3.1-8b-eagle-h100"
BATCH_SIZES = (1, 8, 32, 128)


def _speedup_from_passes(preset: str, tokens: float, k: int, b: int, length: int) -> float:
    """E[tokens] x plain step / (draft + verify + overhead), from the pass times themselves."""
    model = load_cost_model(preset)
    round_ms = model.draft_ms(k, b, length) + model.verify_ms(k, b, length) + (model.overhead_ms if k else 0.0)
    return tokens * model.plain_step_ms(b, length) / round_ms


@pytest.mark.parametrize(("preset", "length"), [(LLAMACPP, 0), (EAGLE, 1024)])
def test_every_cell_is_priced_at_its_own_batch_size(preset, length):
    config = SimConfig(cost_model=preset, context_length=length, seed=4)
    result = run_sweep(config, 6, parse_alphas("0.5,0.7,0.9"), rounds=20_000, batch_sizes=BATCH_SIZES)
    assert result.batch_sizes == BATCH_SIZES and len(result.cells) == 6 * 3 * len(BATCH_SIZES)
    for cell in result.cells:
        b, k = cell.batch_size, cell.k
        expected = _speedup_from_passes(preset, theory.expected_tokens_per_round(cell.alpha, k), k, b, length)
        measured = _speedup_from_passes(preset, cell.measured_tokens_per_round, k, b, length)
        assert cell.expected_speedup == pytest.approx(expected, rel=1e-12)
        assert cell.measured_speedup == pytest.approx(measured, rel=1e-12)
        assert cell.to_dict(False)["loses_expected"] == (expected < 1.0)
    # Measured once: every batch size reads the same tokens per round for a (k, alpha).
    tokens = {(c.k, c.alpha): c.measured_tokens_per_round for c in result.cells if c.batch_size == 1}
    assert all(c.measured_tokens_per_round == tokens[(c.k, c.alpha)] for c in result.cells)


@pytest.mark.parametrize(("preset", "length"), [(LLAMACPP, 0), (EAGLE, 1024)])
def test_the_best_k_per_batch_size_is_theorys(preset, length):
    config = SimConfig(cost_model=preset, context_length=length)
    result = run_sweep(config, 10, parse_alphas("0.7"), rounds=50_000, batch_sizes=BATCH_SIZES)
    best = {row["batch_size"]: row for row in result.to_dict()["best"]}
    assert sorted(best) == list(BATCH_SIZES)
    by_b = theory.by_batch_size(0.7, 1, cost_model_for(config), 10, BATCH_SIZES)
    for b in BATCH_SIZES:
        assert best[b]["expected_k"] == by_b["best_k_by_batch_size"][str(b)]
        assert best[b]["expected_speedup"] == pytest.approx(by_b["best_speedup_by_batch_size"][str(b)], rel=1e-12)
        assert best[b]["loses_expected"] == (best[b]["expected_speedup"] < 1.0)
        # Exactly one best cell per (b, alpha), by each measure.
        cells = [c for c in result.cells if c.batch_size == b]
        assert sum(c.best_expected for c in cells) == sum(c.best_measured for c in cells) == 1
    # The best k does not rise with the batch: verifying b (k + 1) tokens grows dearer.
    ks = [best[b]["expected_k"] for b in BATCH_SIZES]
    assert ks == sorted(ks, reverse=True) and ks[0] > ks[-1]


def test_the_constant_ratio_model_prices_every_batch_size_as_the_plain_sweep_does():
    config = SimConfig(draft_cost=0.05, verify_overhead=0.01, seed=8)
    grid = parse_alphas("0.6,0.8")
    plain = run_sweep(config, 5, grid, rounds=10_000)
    priced = run_sweep(config, 5, grid, rounds=10_000, batch_sizes=(1, 64))
    for b in (1, 64):
        cells = [c for c in priced.cells if c.batch_size == b]
        assert [(c.k, c.alpha) for c in cells] == [(c.k, c.alpha) for c in plain.cells]
        for mine, theirs in zip(cells, plain.cells):
            assert mine.expected_speedup == pytest.approx(theirs.expected_speedup, rel=1e-14)
            assert mine.measured_speedup == pytest.approx(theirs.measured_speedup, rel=1e-14)
            assert mine.best_expected == theirs.best_expected and mine.best_measured == theirs.best_measured
    assert any("does not depend on b" in note for note in priced.notes)
    assert "batch_size" not in plain.to_dict()["cells"][0] and "batch_sizes" not in plain.to_dict()


def test_an_engine_cell_at_each_batch_size_is_what_a_run_at_that_batch_size_measures():
    # The heuristic policy runs the engine; its measured speedup at b must be
    # the speedup a real run at batch size b reports (same seed, same rounds).
    config = SimConfig(cost_model=LLAMACPP, draft_policy="heuristic", seed=6)
    result = run_sweep(config, 3, parse_alphas("0.8"), rounds=300, batch_sizes=(1, 16))
    assert result.monte_carlo == ENGINE
    for cell in result.cells:
        # n never binds, as in the sweep: 300 rounds, none cut short.
        run = Simulation(
            config.replace(
                draft_length=cell.k, acceptance_rate=0.8, batch_size=cell.batch_size, target_length=MAX_TARGET_LENGTH
            )
        )
        run.run(max_rounds=300)
        assert cell.measured_speedup == pytest.approx(run.cost().speedup, rel=1e-12)


def test_the_sweep_refuses_the_batch_table_policy():
    config = SimConfig(draft_policy="batch-table", k_by_batch_size="[[1,8,2]]")
    with pytest.raises(ConfigError, match="a policy other than batch-table"):
        run_sweep(config, 3, parse_alphas("0.7"), rounds=100)


@pytest.mark.parametrize("text", ["", "0", "1,x", "1,65537", "1;8", ",".join(["1"] * 65), "1.5"])
def test_bad_batch_sizes_are_one_config_error(text):
    with pytest.raises(ConfigError, match=r"batch sizes \(--batch-sizes\)"):
        parse_batch_sizes(text)


def test_batch_sizes_are_sorted_and_distinct():
    assert parse_batch_sizes("128, 1,8,8,32") == (1, 8, 32, 128)
