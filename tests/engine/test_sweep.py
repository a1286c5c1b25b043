"""The k x alpha sweep: its grid parsing, its vectorised counting against a
plain computation, and its cells against the closed forms within Monte Carlo
error (a check shown to catch wrong formulas)."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from specviz.engine import ConfigError, SimConfig
from specviz.engine.analysis import sweep as sweep_module
from specviz.engine.analysis import theory
from specviz.engine.analysis.sweep import (
    ALPHA_MEASURED,
    ALPHA_SET,
    ENGINE,
    MAX_ALPHAS,
    MAX_ENGINE_ROUNDS,
    MAX_VECTORISED_ROUNDS,
    VECTORISED,
    AlphaGrid,
    engine_sweep,
    kept_prefix_counts,
    monte_carlo_kind,
    parse_alphas,
    parse_k_max,
    parse_rounds,
    run_sweep,
)
from specviz.engine.models.synthetic import SyntheticPair

STANDARD_ERRORS = 4.0


# ---- parsing ---------------------------------------------------------------


def test_default_grid_is_the_issue_s_19_alphas():
    grid = parse_alphas("0.05:0.95:0.05")
    assert len(grid.values) == 19 and grid.regular
    assert grid.values[0] == 0.05 and grid.values[-1] == 0.95
    assert grid.values[2] == 0.15  # rounded, not 0.15000000000000002


@pytest.mark.parametrize(
    "text, values",
    [
        ("0:1:0.25", (0.0, 0.25, 0.5, 0.75, 1.0)),
        ("0.5:0.5:0.1", (0.5,)),
        ("0.1:0.35:0.1", (0.1, 0.2, 0.3)),  # STOP not reached exactly: not exceeded
        ("0.9, 0.6,0.9,0.8", (0.6, 0.8, 0.9)),  # sorted, duplicates dropped
        ("1", (1.0,)),
    ],
)
def test_alpha_grids(text, values):
    assert parse_alphas(text).values == pytest.approx(values)


@pytest.mark.parametrize(
    "text",
    [
        "0.9:0.1:0.1",
        "0:1:0",
        "0:1:-0.1",
        "0:1.5:0.1",
        "-0.1:0.5:0.1",
        "a:b:c",
        "0.1:0.2",
        "0:1:0.1:2",
        "",
        " ",
        "0.5,1.2",
        "nan",
        "0.5,,0.6",
        "inf:1:0.1",
        f"0:1:{1 / (MAX_ALPHAS * 2)}",
    ],
)
def test_bad_alpha_grids_are_one_line_errors(text):
    with pytest.raises(ConfigError) as caught:
        parse_alphas(text)
    message = str(caught.value)
    assert "\n" not in message and "--alphas" in message


@pytest.mark.parametrize("text", ["0", "65", "-3", "two", "1.5"])
def test_k_max_range(text):
    with pytest.raises(ConfigError, match=r"--k-max"):
        parse_k_max(text)
    assert parse_k_max("64") == 64 and parse_k_max("1") == 1


def test_rounds_caps_depend_on_the_measurement():
    assert parse_rounds("1e5", VECTORISED) == 100_000
    assert parse_rounds(str(MAX_VECTORISED_ROUNDS), VECTORISED) == MAX_VECTORISED_ROUNDS
    for text, kind in [
        ("0", VECTORISED),
        (str(MAX_VECTORISED_ROUNDS + 1), VECTORISED),
        (str(MAX_ENGINE_ROUNDS + 1), ENGINE),
        ("ten", ENGINE),
        ("2.5", VECTORISED),
    ]:
        with pytest.raises(ConfigError, match=r"--rounds"):
            parse_rounds(text, kind)


# ---- the vectorised counting against a plain computation ---------------------


def _plain_kept_counts(k_max, alphas, rounds, seed, block):
    """C[j, a] = #{rounds : max(U_1..U_{j+1}) < alpha_a}, drawn in the same blocks."""
    rng = np.random.Generator(np.random.PCG64(seed))
    parts, done = [], 0
    while done < rounds:
        n = min(block, rounds - done)
        parts.append(rng.random((k_max, n)))
        done += n
    running_max = np.maximum.accumulate(np.concatenate(parts, axis=1), axis=0)
    return np.array([[np.count_nonzero(row < a) for a in alphas] for row in running_max])


@pytest.mark.parametrize(
    "grid_text, k_max",
    [
        ("0.05:0.95:0.05", 16),  # the issue's grid: uint8 slots, pairs counted together
        ("0.12:0.9:0.07", 5),  # start not a multiple of the step: a fractional offset; odd k_max
        ("0:1:0.1", 4),  # alpha 0 and 1 included
        ("0:1:0.001", 3),  # fine grid: uint16 slots
        ("0.5:0.500004:0.000001", 2),  # tiny step: too many slots, binned by search
        ("0.3,0.31,0.77,0.9", 7),  # a list: binned by search
    ],
)
def test_vectorised_counts_equal_a_plain_computation(grid_text, k_max, monkeypatch):
    monkeypatch.setattr(sweep_module, "BLOCK_ELEMENTS", 64 * k_max)  # several blocks and a partial one
    grid = parse_alphas(grid_text)
    rounds = 64 * 3 + 17
    fast = kept_prefix_counts(k_max, grid, rounds, np.random.Generator(np.random.PCG64(7)))
    plain = _plain_kept_counts(k_max, grid.values, rounds, 7, 64)
    assert fast.shape == (k_max, len(grid.values))
    np.testing.assert_array_equal(fast, plain)


# ---- cells against the closed forms -------------------------------------------


def _cells_off(result, tokens_formula):
    """Cells whose measured tokens per round lie more than 4 standard errors
    from `tokens_formula(alpha, k)` (or differ at all where there is no spread)."""
    off = []
    for cell in result.cells:
        gap = abs(cell.measured_tokens_per_round - tokens_formula(cell.alpha, cell.k))
        limit = STANDARD_ERRORS * cell.tokens_per_round_standard_error
        if gap > max(limit, 1e-9):
            off.append(cell)
    return off


@pytest.fixture(scope="module")
def issue_grid():
    """The issue's 16 x 19 grid, at fewer rounds to keep the test fast."""
    config = SimConfig(draft_cost=0.05, verify_overhead=0.01, seed=2024)
    return run_sweep(config, 16, parse_alphas("0.05:0.95:0.05"), rounds=20_000)


def test_every_cell_agrees_with_the_closed_forms(issue_grid):
    result = issue_grid
    assert len(result.cells) == 16 * 19
    assert result.monte_carlo == VECTORISED and result.alpha_source == ALPHA_SET
    assert _cells_off(result, theory.expected_tokens_per_round) == []
    assert result.disagreements(STANDARD_ERRORS) == []
    for cell in result.cells:
        cost = cell.k * 0.05 + 1 + 0.01 * cell.k
        assert cell.rounds == 20_000
        assert cell.expected_speedup == pytest.approx(theory.expected_speedup(cell.alpha, cell.k, 0.05, 0.01))
        assert cell.measured_speedup == pytest.approx(cell.measured_tokens_per_round / cost)
        assert cell.speedup_standard_error == pytest.approx(cell.tokens_per_round_standard_error / cost)
        # The standard error is the truncated geometric law's spread over sqrt(rounds).
        dist = theory.acceptance_length_distribution(cell.alpha, cell.k)
        mean = sum(j * p for j, p in enumerate(dist, start=1))
        sd = math.sqrt(sum(j * j * p for j, p in enumerate(dist, start=1)) - mean**2)
        assert cell.tokens_per_round_standard_error == pytest.approx(sd / math.sqrt(20_000), rel=0.05)


@pytest.mark.parametrize(
    "wrong_formula",
    [
        # The seed script emits no bonus token: 1 + alpha + ... + alpha^(k-1).
        lambda alpha, k: (1 - alpha**k) / (1 - alpha),
        # An untruncated geometric law: as if k were unlimited.
        lambda alpha, k: 1 / (1 - alpha),
        # Acceptance lengths off by a little: alpha read as 0.97 alpha.
        lambda alpha, k: theory.expected_tokens_per_round(0.97 * alpha, k),
    ],
    ids=["no-bonus-token", "untruncated", "alpha-3%-low"],
)
def test_the_agreement_check_catches_a_wrong_formula(issue_grid, wrong_formula):
    assert len(_cells_off(issue_grid, wrong_formula)) >= 10


def test_alpha_zero_and_one_are_exact():
    result = run_sweep(SimConfig(seed=1), 6, parse_alphas("0,1"), rounds=1_000)
    for cell in result.cells:
        assert cell.measured_tokens_per_round == (1.0 if cell.alpha == 0 else cell.k + 1)
        assert cell.tokens_per_round_standard_error == 0.0 and cell.z_score is None
        assert cell.measured_speedup == pytest.approx(cell.expected_speedup)


def test_best_k_is_marked_once_per_alpha(issue_grid):
    for group in issue_grid.columns():
        alpha = group[0].alpha
        expected = [c for c in group if c.best_expected]
        measured = [c for c in group if c.best_measured]
        assert len(expected) == 1 and len(measured) == 1
        assert expected[0].k == theory.optimal_k(alpha, 0.05, 16, 0.01)[0]
        assert measured[0].measured_speedup == max(c.measured_speedup for c in group)
    best = issue_grid.best()
    assert [row["alpha"] for row in best] == list(issue_grid.alphas)


def test_same_seed_same_cells_other_seed_other_cells():
    grid = parse_alphas("0.5:0.9:0.2")
    first = run_sweep(SimConfig(seed=5), 4, grid, rounds=5_000).to_dict()
    again = run_sweep(SimConfig(seed=5), 4, grid, rounds=5_000).to_dict()
    other = run_sweep(SimConfig(seed=6), 4, grid, rounds=5_000).to_dict()
    assert first == again
    assert first["cells"] != other["cells"]


def test_the_vectorised_cells_agree_with_the_engine():
    """The shortcut (i.i.d. uniforms) against the real rounds of the engine."""
    config = SimConfig(draft_cost=0.1, seed=3)
    grid = parse_alphas("0.6,0.85")
    fast = run_sweep(config, 4, grid, rounds=20_000)
    slow = engine_sweep(config, 4, grid, 3_000, SyntheticPair(config.acceptance_rate))
    assert slow.monte_carlo == ENGINE and slow.alpha_source == ALPHA_SET
    for a, b in zip(fast.cells, slow.cells):
        assert (a.k, a.alpha) == (b.k, b.alpha)
        combined = math.hypot(a.tokens_per_round_standard_error, b.tokens_per_round_standard_error)
        assert abs(a.measured_tokens_per_round - b.measured_tokens_per_round) <= STANDARD_ERRORS * combined
        assert b.empirical_alpha == pytest.approx(b.alpha)


# ---- the engine path, for pairs whose acceptance is measured ------------------


class MeasuredSynthetic(SyntheticPair):
    """The synthetic pair, but treated like an n-gram pair: alpha is not a knob."""

    uses_acceptance_rate = False


def test_a_pair_whose_alpha_is_measured_gets_one_cell_per_k():
    config = SimConfig(acceptance_rate=0.7, draft_cost=0.05, seed=9)
    reports = []
    result = run_sweep(
        config,
        5,
        parse_alphas("0.1:0.2:0.1"),
        rounds=2_000,
        model_factory=lambda c: MeasuredSynthetic(c.acceptance_rate),
        progress=lambda done, total: reports.append((done, total)),
    )
    assert result.monte_carlo == ENGINE and result.alpha_source == ALPHA_MEASURED
    assert result.alphas is None and [c.k for c in result.cells] == [1, 2, 3, 4, 5]
    assert any("--alphas is ignored" in note for note in result.notes)
    for cell in result.cells:
        assert cell.rounds == 2_000
        assert cell.alpha == pytest.approx(0.7) == cell.empirical_alpha  # measured, not the 0.1 asked for
        assert cell.expected_tokens_per_round == pytest.approx(theory.expected_tokens_per_round(cell.alpha, cell.k))
    assert result.disagreements(STANDARD_ERRORS) == []
    assert sum(c.best_expected for c in result.cells) == 1 == sum(c.best_measured for c in result.cells)
    assert reports[-1] == (5 * 2_000, 5 * 2_000)
    assert all(a[0] < b[0] for a, b in zip(reports, reports[1:]))
    data = result.to_dict()
    assert data["alphas"] is None and data["cells"][0]["empirical_alpha"] == pytest.approx(0.7)


def test_only_iid_acceptance_is_vectorised():
    iid = SimpleNamespace(method="speculative", draft_policy="fixed")
    synthetic, measured = SyntheticPair(0.5), MeasuredSynthetic(0.5)
    assert monte_carlo_kind(iid, synthetic) == VECTORISED
    assert monte_carlo_kind(iid, measured) == ENGINE
    assert monte_carlo_kind(SimpleNamespace(method="greedy", draft_policy="fixed"), synthetic) == ENGINE
    assert monte_carlo_kind(SimpleNamespace(method="speculative", draft_policy="heuristic"), synthetic) == ENGINE


def test_rounds_out_of_range_is_refused_by_run_sweep():
    with pytest.raises(ConfigError, match="--rounds"):
        run_sweep(SimConfig(), 2, AlphaGrid((0.5,)), rounds=0)
