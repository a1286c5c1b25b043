"""Speedup over a k x alpha grid: the closed forms beside Monte Carlo.

Two ways to measure a cell:

- vectorised (the synthetic pair with speculative sampling and a fixed k):
  there a draft is kept with probability beta = alpha in every context,
  whatever came before, so acceptance is i.i.d. Bernoulli(alpha) and a round
  needs nothing but uniforms. One matrix U of shape (rounds, k_max) serves
  every cell (common random numbers): draft j is kept iff U_j < alpha, so with
  the running maximum M_j = max(U_1..U_j) the accepted prefix for draft length
  k is L_k(alpha) = #{j <= k : M_j < alpha}, and a round emits L + 1 tokens.
  Counting, per position j, the rounds with M_j below each alpha gives every
  cell's totals at once. Cells are therefore correlated by design: they differ
  only in k and alpha, not in luck, so differences between cells are measured
  far more precisely than each cell alone.
- engine (any other model, method or draft policy): the real `Simulation`
  runs `rounds` rounds per cell. For a model whose acceptance emerges from its
  distributions (`uses_acceptance_rate` False, e.g. an n-gram pair) alpha is
  not a knob: each k gets one cell whose alpha is measured (the mean of
  beta = sum_x min(p, q), as `specviz run` reports it) and the closed forms are
  evaluated there.

Speedup follows the cost model of REFERENCE §5: a round costs k c + 1 + v k
target passes, plain decoding one pass per token.

By batch size (`batch_sizes`): tokens per round do not depend on b, so each
(k, alpha) is measured once as above and priced at every b by the config's
cost model (cost_model_for(config).at(b), REFERENCE §7): the closed form's
tokens through CostModel.expected_speedup; the vectorised measurement's
through the same formula (every round drafts k); an engine run's through its
own cost breakdown (its draft passes, drafted tokens and drafting rounds as
measured) at that b.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from specviz.engine.analysis import theory
from specviz.engine.analysis.cost import cost_model_for
from specviz.engine.analysis.defaults import (  # noqa: F401 (re-exported for the sweep's callers)
    ALPHA_MEASURED,
    ALPHA_SET,
    DEFAULT_ALPHAS,
    DEFAULT_ENGINE_ROUNDS,
    DEFAULT_K_MAX,
    DEFAULT_VECTORISED_ROUNDS,
    ENGINE,
    MAX_ENGINE_ROUNDS,
    MAX_VECTORISED_ROUNDS,
    VECTORISED,
)
from specviz.engine.analysis.workload import CALIBRATION_SECONDS, Estimate, measure_pace, per_k_seconds
from specviz.engine.models.pair import ModelPair, build_model
from specviz.engine.run.config import (
    BATCH_TABLE_POLICY,
    FIELD_LABELS,
    MAX_BATCH_SIZE,
    MAX_DRAFT_LENGTH,
    MAX_TARGET_LENGTH,
    ConfigError,
    SimConfig,
    parse_float,
    parse_int,
)
from specviz.engine.run.simulation import Simulation

# The sweep's own parameters, named in messages the way SimConfig's are.
FIELD_LABELS.update(
    {
        "k_max": "largest draft length k_max (--k-max)",
        "alphas": "acceptance-rate grid (--alphas)",
        "rounds": "rounds per cell (--rounds)",
        "batch_sizes": "batch sizes (--batch-sizes)",
    }
)

MAX_ALPHAS = 1_001
MAX_BATCH_SIZES = 64
# Rounds the engine runs between progress reports.
ENGINE_CHUNK_ROUNDS = 512
# Uniforms drawn per block in the vectorised sweep: big enough that numpy's
# per-call overhead vanishes, small enough to stay in cache.
BLOCK_ELEMENTS = 1 << 18


# ---- the alpha grid ------------------------------------------------------


@dataclass(frozen=True)
class AlphaGrid:
    """Acceptance rates to sweep, ascending and distinct.

    `start` and `step` are set for a START:STOP:STEP grid, which the
    vectorised sweep bins arithmetically; a listed grid is binned by search.
    """

    values: tuple[float, ...]
    start: float | None = None
    step: float | None = None

    @property
    def regular(self) -> bool:
        return self.step is not None


_ALPHAS_ALLOWED = (
    "START:STOP:STEP with 0 <= START <= STOP <= 1 and STEP > 0, or numbers from 0 to 1 separated by commas"
)


def parse_alphas(text: str) -> AlphaGrid:
    """`0.05:0.95:0.05` (STOP included when the steps reach it) or `0.6,0.8,0.9`."""
    cleaned = text.strip()
    if ":" in cleaned:
        parts = cleaned.split(":")
        if len(parts) != 3:
            raise ConfigError("alphas", text, _ALPHAS_ALLOWED)
        start, stop, step = (_parse_number(part, text) for part in parts)
        if not (0.0 <= start <= stop <= 1.0 and step > 0.0):
            raise ConfigError("alphas", text, _ALPHAS_ALLOWED)
        # The 1e-9 lets 0.05:0.95:0.05 include 0.95 despite float rounding.
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count > MAX_ALPHAS:
            raise ConfigError("alphas", text, f"at most {MAX_ALPHAS:,} values; use a larger STEP")
        # Rounded so that 0.15 prints as 0.15, not 0.15000000000000002.
        values = tuple(min(round(start + i * step, 12), stop) for i in range(count))
        if count == 1:
            return AlphaGrid(values)
        return AlphaGrid(values, start, step)
    if not cleaned:
        raise ConfigError("alphas", text, _ALPHAS_ALLOWED)
    listed = sorted({_parse_number(part, text) for part in cleaned.split(",")})
    if listed[0] < 0.0 or listed[-1] > 1.0:
        raise ConfigError("alphas", text, _ALPHAS_ALLOWED)
    if len(listed) > MAX_ALPHAS:
        raise ConfigError("alphas", text, f"at most {MAX_ALPHAS:,} values")
    return AlphaGrid(tuple(listed))


def _parse_number(part: str, whole: str) -> float:
    try:
        return parse_float("alphas", part)
    except ConfigError:
        raise ConfigError("alphas", whole, _ALPHAS_ALLOWED) from None


_BATCH_SIZES_ALLOWED = (
    f"whole numbers from 1 to {MAX_BATCH_SIZE:,} separated by commas, at most {MAX_BATCH_SIZES}, e.g. 1,8,32,128"
)


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    """`1,8,32,128`: distinct batch sizes, ascending."""
    parts = text.split(",")
    if not text.strip() or len(parts) > MAX_BATCH_SIZES:
        raise ConfigError("batch_sizes", text, _BATCH_SIZES_ALLOWED)
    try:
        sizes = sorted({parse_int("batch_sizes", part) for part in parts})
    except ConfigError:
        raise ConfigError("batch_sizes", text, _BATCH_SIZES_ALLOWED) from None
    if sizes[0] < 1 or sizes[-1] > MAX_BATCH_SIZE:
        raise ConfigError("batch_sizes", text, _BATCH_SIZES_ALLOWED)
    return tuple(sizes)


def parse_k_max(text: str) -> int:
    k_max = parse_int("k_max", text)
    if not 1 <= k_max <= MAX_DRAFT_LENGTH:
        raise ConfigError("k_max", k_max, f"an integer from 1 to {MAX_DRAFT_LENGTH}")
    return k_max


def parse_rounds(text: str, kind: str) -> int:
    """Rounds per cell from text, for a VECTORISED or an ENGINE sweep."""
    return check_rounds(parse_int("rounds", text), kind)


def check_rounds(rounds: int, kind: str) -> int:
    cap = MAX_VECTORISED_ROUNDS if kind == VECTORISED else MAX_ENGINE_ROUNDS
    if isinstance(rounds, bool) or not isinstance(rounds, int) or not 1 <= rounds <= cap:
        where = "" if kind == VECTORISED else " when the engine runs each cell"
        raise ConfigError("rounds", rounds, f"an integer from 1 to {cap:,}{where}")
    return rounds


# ---- results ---------------------------------------------------------------


@dataclass
class SweepCell:
    """One (k, alpha): the closed forms and what `rounds` rounds measured."""

    k: int
    alpha: float
    rounds: int
    expected_tokens_per_round: float
    measured_tokens_per_round: float
    tokens_per_round_standard_error: float
    expected_speedup: float
    measured_speedup: float
    speedup_standard_error: float
    empirical_alpha: float | None = None  # engine cells: mean beta where drafts were tested
    best_expected: bool = False  # the k the closed form picks for this alpha (and batch size)
    best_measured: bool = False  # the k with the highest measured speedup for this alpha (and batch size)
    batch_size: int | None = None  # set when the sweep prices by batch size
    # An engine run's (rounds, draft passes, drafted, emitted, drafting rounds): its cost breakdown at any b.
    run_counts: tuple[int, int, int, int, int] | None = field(default=None, repr=False, compare=False)

    @property
    def z_score(self) -> float | None:
        """(measured - expected) / standard error, None when there is no spread."""
        if self.tokens_per_round_standard_error <= 0.0:
            return None
        return (self.measured_tokens_per_round - self.expected_tokens_per_round) / self.tokens_per_round_standard_error

    def to_dict(self, engine: bool) -> dict[str, Any]:
        data: dict[str, Any] = {} if self.batch_size is None else {"batch_size": self.batch_size}
        data |= {
            "k": self.k,
            "alpha": self.alpha,
            "expected_speedup": self.expected_speedup,
            "measured_speedup": self.measured_speedup,
            "speedup_standard_error": self.speedup_standard_error,
            "expected_tokens_per_round": self.expected_tokens_per_round,
            "measured_tokens_per_round": self.measured_tokens_per_round,
            "tokens_per_round_standard_error": self.tokens_per_round_standard_error,
            "z_score": self.z_score,
            "rounds": self.rounds,
            "best_expected": self.best_expected,
            "best_measured": self.best_measured,
        }
        if engine:
            data["empirical_alpha"] = self.empirical_alpha
        if self.batch_size is not None:
            # Where speculation is slower than plain decoding at this batch size.
            data["loses_expected"] = self.expected_speedup < 1.0
            data["loses_measured"] = self.measured_speedup < 1.0
        return data


@dataclass
class SweepResult:
    cells: list[SweepCell]
    k_max: int
    alphas: tuple[float, ...] | None  # None when alpha is measured, not set
    rounds: int
    seed: int
    draft_cost: float
    verify_overhead: float
    model: str
    method: str
    draft_policy: str
    monte_carlo: str  # VECTORISED or ENGINE
    alpha_source: str  # ALPHA_SET or ALPHA_MEASURED
    notes: list[str] = field(default_factory=list)
    # Set by price_by_batch_size: the batch sizes, the cost model's name, and
    # its plain step (one pass of b tokens) at each b, in ms.
    batch_sizes: tuple[int, ...] | None = None
    cost_model: str | None = None
    context_length: int = 0
    plain_pass_ms: dict[int, float] = field(default_factory=dict)

    def columns(self) -> list[list[SweepCell]]:
        """Cells grouped by alpha (one group per set alpha; one group in all when
        alpha is measured), each group in order of k; by batch size first when
        the sweep prices by batch size."""
        groups: dict[tuple[int, float], list[SweepCell]] = {}
        for cell in self.cells:
            alpha = 0.0 if self.alpha_source == ALPHA_MEASURED else cell.alpha
            groups.setdefault((cell.batch_size or 0, alpha), []).append(cell)
        return [sorted(group, key=lambda c: c.k) for _, group in sorted(groups.items())]

    def at_batch_size(self, batch_size: int) -> SweepResult:
        """The cells of one batch size, as a sweep of their own."""
        cells = [cell for cell in self.cells if cell.batch_size == batch_size]
        return dataclasses.replace(self, cells=cells, batch_sizes=(batch_size,))

    def best(self) -> list[dict[str, Any]]:
        """Per alpha (or once, when alpha is measured): the best k by each measure."""
        rows = []
        for group in self.columns():
            expected = next(c for c in group if c.best_expected)
            measured = next(c for c in group if c.best_measured)
            row: dict[str, Any] = {} if group[0].batch_size is None else {"batch_size": group[0].batch_size}
            rows.append(
                row
                | {
                    "alpha": None if self.alpha_source == ALPHA_MEASURED else group[0].alpha,
                    "expected_k": expected.k,
                    "expected_speedup": expected.expected_speedup,
                    "measured_k": measured.k,
                    "measured_speedup": measured.measured_speedup,
                }
            )
            if group[0].batch_size is not None:
                # Even the best k is slower than plain decoding here.
                rows[-1]["loses_expected"] = expected.expected_speedup < 1.0
                rows[-1]["loses_measured"] = measured.measured_speedup < 1.0
        return rows

    def disagreements(self, standard_errors: float = 4.0) -> list[SweepCell]:
        """Cells whose measured tokens per round lie more than `standard_errors`
        from the closed form (or differ at all where there is no spread); by
        batch size, the cells of the first (every b shares the measurement)."""
        out = []
        first = None if self.batch_sizes is None else self.batch_sizes[0]
        for cell in self.cells:
            if cell.batch_size != first:
                continue
            z = cell.z_score
            gap = abs(cell.measured_tokens_per_round - cell.expected_tokens_per_round)
            if (z is None and gap > 1e-9) or (z is not None and abs(z) > standard_errors):
                out.append(cell)
        return out

    def to_dict(self) -> dict[str, Any]:
        engine = self.monte_carlo == ENGINE
        by_batch: dict[str, Any] = {}
        if self.batch_sizes is not None:
            by_batch = {
                "batch_sizes": list(self.batch_sizes),
                "cost_model": self.cost_model,
                "context_length": self.context_length,
                "plain_pass_ms_by_batch_size": {str(b): ms for b, ms in self.plain_pass_ms.items()},
            }
        return by_batch | {
            "k_max": self.k_max,
            "alphas": list(self.alphas) if self.alphas is not None else None,
            "alpha_source": self.alpha_source,
            "rounds": self.rounds,
            "seed": self.seed,
            "draft_cost": self.draft_cost,
            "verify_overhead": self.verify_overhead,
            "model": self.model,
            "method": self.method,
            "draft_policy": self.draft_policy,
            "monte_carlo": self.monte_carlo,
            "common_random_numbers": self.monte_carlo == VECTORISED,
            "notes": list(self.notes),
            "cells": [cell.to_dict(engine) for cell in self.cells],
            "best": self.best(),
        }


def _mark_best(result: SweepResult) -> None:
    for group in result.columns():
        _first_best(group, lambda c: c.expected_speedup).best_expected = True
        _first_best(group, lambda c: c.measured_speedup).best_measured = True


def _first_best(group: list[SweepCell], speedup: Callable[[SweepCell], float]) -> SweepCell:
    """The cell with the highest speedup; near-ties go to the smaller k, as in
    theory.optimal_k (less draft work for the same speedup)."""
    best = group[0]
    for cell in group[1:]:
        if speedup(cell) > speedup(best) * (1 + 1e-12):
            best = cell
    return best


# ---- which measurement applies ---------------------------------------------


def monte_carlo_kind(config: SimConfig, model: ModelPair) -> str:
    """VECTORISED when acceptance is i.i.d. Bernoulli(alpha), else ENGINE."""
    iid = model.uses_acceptance_rate and config.method == "speculative" and config.draft_policy == "fixed"
    return VECTORISED if iid else ENGINE


def default_rounds(kind: str) -> int:
    return DEFAULT_VECTORISED_ROUNDS if kind == VECTORISED else DEFAULT_ENGINE_ROUNDS


ProgressCallback = Callable[[int, int], None]  # (rounds done, rounds in all)


def run_sweep(
    config: SimConfig,
    k_max: int,
    grid: AlphaGrid,
    rounds: int | None = None,
    model: ModelPair | None = None,
    model_factory: Callable[[SimConfig], ModelPair] = build_model,
    progress: ProgressCallback | None = None,
    batch_sizes: tuple[int, ...] | None = None,
) -> SweepResult:
    """Sweep k = 1..k_max over `grid` (ignored when alpha is measured), priced
    at each of `batch_sizes` when given (price_by_batch_size).

    `config` gives the model, method, policy, draft cost, verify overhead and
    seed; its draft length and acceptance rate are replaced cell by cell.
    `model` is the pair built from `config` (built here when None);
    `model_factory` rebuilds it for each alpha when the engine runs a pair
    whose distributions depend on alpha. `rounds` None takes the default for
    the kind of measurement that applies.
    """
    if model is None:
        model = model_factory(config)
    kind = monte_carlo_kind(config, model)
    rounds = default_rounds(kind) if rounds is None else check_rounds(rounds, kind)
    if config.draft_policy == BATCH_TABLE_POLICY:
        raise ConfigError(
            "draft_policy", config.draft_policy, "a policy other than batch-table: sweep sets k = 1 to --k-max itself"
        )
    if batch_sizes is not None:
        cost_model_for(config).at(batch_sizes[-1])  # a bad cost model fails before the Monte Carlo
    if kind == VECTORISED:
        result = vectorised_sweep(config, k_max, grid, rounds)
    else:
        result = engine_sweep(config, k_max, grid, rounds, model, model_factory, progress)
    return result if batch_sizes is None else price_by_batch_size(result, config, batch_sizes)


def price_by_batch_size(result: SweepResult, config: SimConfig, batch_sizes: tuple[int, ...]) -> SweepResult:
    """`result`'s measurements priced at each batch size by `config`'s cost model (see the module's notes)."""
    cost = cost_model_for(config)
    cells = []
    for b in batch_sizes:
        at = cost.at(b)
        result.plain_pass_ms[b] = at.target_pass_ms
        for cell in result.cells:
            tokens = cell.measured_tokens_per_round
            if cell.run_counts is not None:
                measured = at.breakdown(*cell.run_counts).speedup
            else:
                measured = at.expected_speedup(tokens, cell.k)
            cells.append(
                dataclasses.replace(
                    cell,
                    batch_size=b,
                    expected_speedup=at.expected_speedup(cell.expected_tokens_per_round, cell.k),
                    measured_speedup=measured,
                    # Delta method with the cost per round held fixed, as for b = 1.
                    speedup_standard_error=measured * cell.tokens_per_round_standard_error / tokens if tokens else 0.0,
                    best_expected=False,
                    best_measured=False,
                )
            )
    result.cells, result.batch_sizes = cells, batch_sizes
    result.cost_model, result.context_length = cost.name, config.context_length
    _mark_best(result)
    how = (
        "each run's own cost breakdown (its draft passes, drafted tokens and drafting rounds) at that b"
        if result.monte_carlo == ENGINE
        else "the measured tokens per round over the round time at that b (every round drafts k)"
    )
    result.notes.append(
        f"batch sizes: each (k, alpha) is measured once (tokens per round do not depend on b) and priced at every b "
        f"by the {cost.name} cost model: the closed form's tokens per round, and {how}"
    )
    if cost.forward_pass is None:
        result.notes.append(
            "the constant-ratio model (--draft-cost, --verify-overhead) does not depend on b, so every batch size "
            "shows the same speedups; give --cost-model for one that does"
        )
    return result


# ---- vectorised: common random numbers --------------------------------------


class _AlphaBinner:
    """Maps uniforms to small integer slots, monotone in u, such that the slot
    decides how many grid alphas are <= u.

    Regular grid: #{i : a0 + i s <= u} = clip(floor((u - a0) / s) + 1, 0, A),
    computed as trunc(u / s + frac) + shift with frac in [0, 1), so a multiply,
    maybe an add, and the cast to uint8 do it in one or two passes. Thresholds
    are exact up to float rounding (~1e-16 in alpha). Other grids: searchsorted.
    """

    def __init__(self, grid: AlphaGrid):
        self.alphas = np.asarray(grid.values, dtype=float)
        count = len(self.alphas)
        self.scale: float | None = None
        if grid.regular:
            assert grid.start is not None and grid.step is not None  # parse_alphas sets both or neither
            scale = 1.0 / grid.step
            offset = 1.0 - grid.start * scale
            shift = math.floor(offset)
            frac = offset - shift
            if frac > 1.0 - 1e-9:  # offset is an integer up to rounding
                shift, frac = shift + 1, 0.0
            elif frac < 1e-9:
                frac = 0.0
            slots = int(scale + frac) + 2  # u < 1, plus a guard slot
            if slots <= 65_536:
                self.scale, self.frac, self.shift, self.slots = scale, frac, shift, slots
        if self.scale is None:
            self.frac, self.shift, self.slots = 0.0, 0, count + 1
        self.dtype = np.uint8 if self.slots <= 256 else np.uint16
        # slot -> number of alphas <= u, as a 0/1 matrix for one matmul at the end
        alpha_bins = np.clip(np.arange(self.slots) + self.shift, 0, count)
        self.to_bins = np.zeros((self.slots, count + 1), dtype=np.int64)
        self.to_bins[np.arange(self.slots), alpha_bins] = 1

    def slot(self, uniforms: np.ndarray, out: np.ndarray) -> None:
        """Write each uniform's slot into `out` (same shape); `uniforms` is clobbered."""
        if self.scale is None:
            out[...] = np.searchsorted(self.alphas, uniforms, side="right")
        elif self.frac == 0.0:
            # float -> unsigned int truncates, and every value is >= 0 here
            np.multiply(uniforms, self.scale, out=out, casting="unsafe")
        else:
            np.multiply(uniforms, self.scale, out=uniforms)
            np.add(uniforms, self.frac, out=out, casting="unsafe")


def _running_max(rows: np.ndarray) -> None:
    """rows[j] = max(rows[0..j]) in place. One contiguous ufunc per row:
    np.maximum.accumulate along axis 0 is ~10x slower on these shapes."""
    for j in range(1, len(rows)):
        np.maximum(rows[j - 1], rows[j], out=rows[j])


def _row_histograms(slots: np.ndarray, size: int) -> np.ndarray:
    """Counts of each value 0..size-1 in each row of `slots`.

    Rows are counted in pairs through one bincount over value_j * size +
    value_{j+1}: bincount's cost is per element, so pairing halves it.
    """
    rows = len(slots)
    out = np.zeros((rows, size), dtype=np.int64)
    pairs = rows // 2 if slots.dtype == np.uint8 else 0
    if pairs:
        packed = np.multiply(slots[0 : 2 * pairs : 2], size, dtype=np.uint16)
        np.add(packed, slots[1 : 2 * pairs : 2], out=packed)
        for m in range(pairs):
            joint = np.bincount(packed[m], minlength=size * size).reshape(size, size)
            out[2 * m] = joint.sum(axis=1)
            out[2 * m + 1] = joint.sum(axis=0)
    for j in range(2 * pairs, rows):
        out[j] = np.bincount(slots[j], minlength=size)
    return out


def kept_prefix_counts(k_max: int, grid: AlphaGrid, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """C[j, a] = rounds whose first j+1 drafts are all kept at alphas[a]
    (M_{j+1} < alpha_a), shape (k_max, len(alphas)), from one draw of
    rounds x k_max uniforms shared by every alpha."""
    binner = _AlphaBinner(grid)
    histogram = np.zeros((k_max, binner.slots), dtype=np.int64)
    block = max(1, min(rounds, BLOCK_ELEMENTS // k_max))
    uniforms = np.empty((k_max, block))
    slots = np.empty((k_max, block), dtype=binner.dtype)
    done = 0
    while done < rounds:
        n = min(block, rounds - done)
        if n < block:
            uniforms, slots = np.empty((k_max, n)), np.empty((k_max, n), dtype=binner.dtype)
        rng.random(out=uniforms)  # row j: position j+1's uniform in n rounds
        binner.slot(uniforms, slots)
        # slot is monotone in u, so slot(max(u_1..u_j)) = max(slot(u_1)..slot(u_j)):
        # the running maximum is taken on one-byte slots, not on floats.
        _running_max(slots)
        histogram += _row_histograms(slots, binner.slots)
        done += n
    # below[j, b]: rounds with exactly b alphas <= M_{j+1}; M < alpha_a iff b <= a.
    below = histogram @ binner.to_bins
    return np.cumsum(below, axis=1)[:, : len(grid.values)]


def vectorised_sweep(config: SimConfig, k_max: int, grid: AlphaGrid, rounds: int) -> SweepResult:
    rng = np.random.Generator(np.random.PCG64(config.seed))
    kept = kept_prefix_counts(k_max, grid, rounds, rng).astype(float)
    # L_k = #{j <= k : M_j < alpha} is a prefix count, so L_k >= j iff M_j < alpha:
    # sum L_k = sum_{j<=k} C_j and sum L_k^2 = sum_{j<=k} (2j - 1) C_j.
    positions = np.arange(1, k_max + 1, dtype=float)[:, None]
    sum_length = np.cumsum(kept, axis=0)
    sum_length_sq = np.cumsum((2 * positions - 1) * kept, axis=0)
    mean_length = sum_length / rounds
    variance = np.maximum(sum_length_sq / rounds - mean_length**2, 0.0)
    if rounds > 1:
        variance *= rounds / (rounds - 1)
    standard_error = np.sqrt(variance / rounds)
    c, v = config.draft_cost, config.verify_overhead
    # Plain floats from here: indexing numpy arrays cell by cell costs more
    # than the whole count for a 16 x 19 grid.
    mean_rows, error_rows = mean_length.T.tolist(), standard_error.T.tolist()
    cells = []
    for alpha, means, errors in zip(grid.values, mean_rows, error_rows):
        for k, mean, error in zip(range(1, k_max + 1), means, errors):
            cost = k * c + 1.0 + v * k  # target passes per round
            tokens = 1.0 + mean
            cells.append(
                SweepCell(
                    k=k,
                    alpha=alpha,
                    rounds=rounds,
                    expected_tokens_per_round=theory.expected_tokens_per_round(alpha, k),
                    measured_tokens_per_round=tokens,
                    tokens_per_round_standard_error=error,
                    expected_speedup=theory.expected_speedup(alpha, k, c, v),
                    measured_speedup=tokens / cost,
                    speedup_standard_error=error / cost,
                )
            )
    result = _result(config, k_max, grid.values, rounds, cells, VECTORISED, ALPHA_SET)
    result.notes.append(
        "common random numbers: every cell reuses the same rounds x k_max uniforms, so cells are "
        "correlated; differences between cells are more precise than each cell's own standard error"
    )
    return result


# ---- engine: the real Simulation per cell -------------------------------------


def engine_sweep(
    config: SimConfig,
    k_max: int,
    grid: AlphaGrid,
    rounds: int,
    model: ModelPair,
    model_factory: Callable[[SimConfig], ModelPair] = build_model,
    progress: ProgressCallback | None = None,
) -> SweepResult:
    alpha_set = model.uses_acceptance_rate
    alphas: tuple[float | None, ...] = grid.values if alpha_set else (None,)
    total = len(alphas) * k_max * rounds
    done = 0
    cells = []
    for alpha in alphas:
        base = config if alpha is None else config.replace(acceptance_rate=alpha)
        # A pair whose distributions depend on alpha is rebuilt for each alpha;
        # any other pair is built once and shared by every k.
        pair = model if alpha is None or alpha == config.acceptance_rate else model_factory(base)
        for k in range(1, k_max + 1):
            # n never binds: the run stops after `rounds` rounds.
            simulation = Simulation(base.replace(draft_length=k, target_length=MAX_TARGET_LENGTH), pair)
            while simulation.stats.rounds < rounds:
                before = simulation.stats.rounds
                simulation.run(max_rounds=min(ENGINE_CHUNK_ROUNDS, rounds - before))
                done += simulation.stats.rounds - before
                if progress is not None:
                    progress(done, total)
            cells.append(_engine_cell(simulation, k, alpha))
    result = _result(
        config,
        k_max,
        grid.values if alpha_set else None,
        rounds,
        cells,
        ENGINE,
        ALPHA_SET if alpha_set else ALPHA_MEASURED,
    )
    if not alpha_set:
        result.notes.append(
            f"the {config.model} pair's acceptance rate is measured, not set: --alphas is ignored, and "
            "each k's closed forms use the alpha measured in its run (mean of sum_x min(p, q))"
        )
    if config.method != "speculative":
        result.notes.append(
            f"the closed forms assume min(1, p/q) acceptance at rate alpha; {config.method} accepts "
            "differently, so the gap between them is the method's effect"
        )
    if config.draft_policy != "fixed":
        result.notes.append(
            f"k is the starting draft length; the {config.draft_policy} policy changes it between rounds"
        )
    return result


def estimate_engine_sweep(config: SimConfig, k_max: int, grid: AlphaGrid, rounds: int, model: ModelPair) -> Estimate:
    """How long `engine_sweep` would take: two short calibration runs time a
    round at k = 1 and at k = k_max, and a round's cost is taken as linear in k."""
    columns = len(grid.values) if model.uses_acceptance_rate else 1
    half = CALIBRATION_SECONDS / 2
    shortest = measure_pace(config.replace(draft_length=1), model, half, rounds)
    longest = shortest if k_max == 1 else measure_pace(config.replace(draft_length=k_max), model, half, rounds)
    seconds = columns * rounds * sum(per_k_seconds(shortest, longest, k_max))
    return Estimate(seconds, f"{columns * k_max:,} engine runs of {rounds:,} rounds")


def _engine_cell(simulation: Simulation, k: int, alpha: float | None) -> SweepCell:
    stats, config = simulation.stats, simulation.config
    theory_alpha = alpha if alpha is not None else stats.empirical_alpha
    # A cell runs at least one round of k >= 1 drafts, so a draft was tested.
    assert theory_alpha is not None
    rounds = stats.rounds
    lengths = np.arange(len(stats.length_histogram), dtype=float)
    counts = np.asarray(stats.length_histogram, dtype=float)
    mean = float((lengths * counts).sum() / rounds)
    variance = max(float((lengths**2 * counts).sum() / rounds) - mean**2, 0.0)
    if rounds > 1:
        variance *= rounds / (rounds - 1)
    standard_error = math.sqrt(variance / rounds)
    speedup = simulation.cost().speedup
    c, v = config.draft_cost, config.verify_overhead
    return SweepCell(
        k=k,
        alpha=theory_alpha,
        rounds=rounds,
        expected_tokens_per_round=theory.expected_tokens_per_round(theory_alpha, k),
        measured_tokens_per_round=mean,
        tokens_per_round_standard_error=standard_error,
        expected_speedup=theory.expected_speedup(theory_alpha, k, c, v),
        measured_speedup=speedup,
        # Delta method with the cost per round held fixed (exact for a fixed k).
        speedup_standard_error=speedup * standard_error / mean if mean else 0.0,
        empirical_alpha=stats.empirical_alpha,
        run_counts=simulation.cost_counts(),
    )


def _result(
    config: SimConfig,
    k_max: int,
    alphas: tuple[float, ...] | None,
    rounds: int,
    cells: list[SweepCell],
    kind: str,
    alpha_source: str,
) -> SweepResult:
    result = SweepResult(
        cells=cells,
        k_max=k_max,
        alphas=alphas,
        rounds=rounds,
        seed=config.seed,
        draft_cost=config.draft_cost,
        verify_overhead=config.verify_overhead,
        model=config.model,
        method=config.method,
        draft_policy=config.draft_policy,
        monte_carlo=kind,
        alpha_source=alpha_source,
    )
    _mark_best(result)
    return result
