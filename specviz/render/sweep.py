"""The sweep table: speedup by draft length k, closed form beside Monte Carlo (rich only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from specviz.engine.analysis.defaults import ALPHA_MEASURED, ENGINE
from specviz.render.words import counted

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from specviz.engine.analysis.sweep import SweepCell, SweepResult

# The Monte Carlo is called off the closed form beyond this many standard errors.
AGREEMENT_STANDARD_ERRORS = 4.0


def render_sweep(result: SweepResult, console: Console) -> None:
    from rich.text import Text

    if result.batch_sizes is not None:
        render_sweep_by_batch_size(result, console)
        return
    console.print(Text.assemble(("Speedup by draft length k", "bold"), f"  ({_sweep_setting(result)})"))
    if result.alpha_source == ALPHA_MEASURED:
        _render_measured_alpha(result, console)
    else:
        _render_grid(result, console)
    disagree = result.disagreements(AGREEMENT_STANDARD_ERRORS)
    z_values = [abs(c.z_score) for c in result.cells if c.z_score is not None]
    largest = f"; largest |z| = {max(z_values):.2f}" if z_values else ""
    style = "green" if not disagree else "red"
    console.print(
        Text.assemble(
            "agreement: ",
            (f"{len(result.cells) - len(disagree)} of {len(result.cells)} cells", style),
            f" within {AGREEMENT_STANDARD_ERRORS:g} standard errors of the closed form (tokens per round{largest})",
        )
    )
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))


def _sweep_setting(result: SweepResult) -> str:
    kind = "vectorised i.i.d. Monte Carlo" if result.monte_carlo != ENGINE else "engine run per cell"
    return (
        f"c = {result.draft_cost:g}, v = {result.verify_overhead:g}; {result.model} pair, {result.method}, "
        f"{result.draft_policy} k; {counted(result.rounds, 'round', 'rounds')} per cell, seed {result.seed}; {kind}"
    )


def _heat(speedup: float, best: float) -> str:
    """Slower than plain decoding in red; faster shades from yellow to green."""
    if speedup < 1.0:
        return "red"
    share = 0.0 if best <= 1.0 else min((speedup - 1.0) / (best - 1.0), 1.0)
    red, green = int(215 * (1 - share)), 175 + int(40 * share)
    return f"rgb({red},{green},{int(95 * share)})"


def _render_grid(result: SweepResult, console: Console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    columns = result.columns()
    # Per alpha column: the ks each star marks (the best and any that tie with it as shown).
    stars = {
        id(group): (_tied_with_best(group, "expected", 2), _tied_with_best(group, "measured", 2)) for group in columns
    }
    width = max(len(f"{c.expected_speedup:.2f}") for c in result.cells)
    width = max(width, max(len(f"{c.measured_speedup:.2f}") for c in result.cells))
    top = max(c.measured_speedup for c in result.cells)
    label_width = 4  # "best"

    # Wide grids are split into several tables of alpha columns, as many as
    # fit the console, rather than squeezed until rich wraps the numbers.
    def grid_table(chunk: list[list[SweepCell]]) -> Table:
        table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), show_edge=False, pad_edge=False)
        table.add_column("k", justify="right", style="bold", min_width=label_width, no_wrap=True)
        for group in chunk:
            table.add_column(f"α={group[0].alpha:g}", justify="right", no_wrap=True)
        for k in range(1, result.k_max + 1):
            table.add_row(str(k), *(_grid_cell(group[k - 1], width, top, *stars[id(group)]) for group in chunk))
        table.add_section()
        table.add_row("best", *(_best_cell(group, width) for group in chunk))
        return table

    per_table = _columns_that_fit(console, grid_table, columns)
    tables = -(-len(columns) // per_table)
    per_table = -(-len(columns) // tables)  # balance: 5 columns as 3 + 2, not 4 + 1
    for first in range(0, len(columns), per_table):
        console.print(grid_table(columns[first : first + per_table]))
    console.print(
        Text(
            "each cell: closed form (dim) | Monte Carlo; * marks the best k for that alpha by each, and any k "
            "that reads the same at 2 decimals (the best row names the one ahead in full precision); "
            "colour: red below 1x, yellow to green up to the best measured speedup",
            style="dim",
        )
    )


def _columns_that_fit(
    console: Console, grid_table: Callable[[list[list[SweepCell]]], Table], columns: list[list[SweepCell]]
) -> int:
    """How many alpha columns (from the first) one table can show within the console width, at least 1.

    A table's natural width is additive: the k column, then each alpha column's
    own width (its content, padding and separator). So each column is measured
    once, as a table of the k column and that column alone, and the width of
    any run of columns is their sum less the k column counted once too often.
    Re-measuring a whole candidate table per step, as before, was quadratic in
    the number of alphas (1,001 alphas took minutes).
    """
    from rich.measure import Measurement

    unbounded = console.options.update_width(1_000_000)  # measure natural widths

    def natural_width(chunk: list[list[SweepCell]]) -> int:
        return Measurement.get(console, unbounded, grid_table(chunk)).maximum

    k_column = natural_width([])
    width = k_column
    count = 0
    for group in columns:
        width += natural_width([group]) - k_column
        if width > console.width:
            break
        count += 1
    return max(count, 1)


def _tied_with_best(group: list[SweepCell], by: str, digits: int) -> list[int]:
    """The ks of `group` (one alpha) whose speedup `by` ("expected" or
    "measured") reads the same as the best k's at `digits` decimals: two
    equal-looking cells are both marked, not one of them."""
    best = next(c for c in group if (c.best_expected if by == "expected" else c.best_measured))

    def shown(cell: SweepCell) -> str:
        return f"{cell.expected_speedup if by == 'expected' else cell.measured_speedup:.{digits}f}"

    return [c.k for c in group if shown(c) == shown(best)]


def _grid_cell(cell: SweepCell, width: int, top: float, expected_best: list[int], measured_best: list[int]) -> Text:
    from rich.text import Text

    return Text.assemble(
        (f"{cell.expected_speedup:{width}.2f}", "dim"),
        ("*" if cell.k in expected_best else " ", "bold"),
        " ",
        (
            f"{cell.measured_speedup:{width}.2f}",
            _heat(cell.measured_speedup, top) + (" bold" if cell.k in measured_best else ""),
        ),
        ("*" if cell.k in measured_best else " ", "bold"),
    )


def _best_cell(group: list[SweepCell], width: int) -> Text:
    """The best k by the closed form and by Monte Carlo, ahead in full precision
    (the smaller k on an exact tie), of those the stars mark."""
    from rich.text import Text

    expected = next(c for c in group if c.best_expected)
    measured = next(c for c in group if c.best_measured)
    return Text.assemble((f"k={expected.k:<{width - 1}}", "dim"), "  ", (f"k={measured.k:<{width - 1}}", "bold"), " ")


def _render_measured_alpha(result: SweepResult, console: Console) -> None:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("k", justify="right", style="bold")
    table.add_column("alpha\nmeasured", justify="right")
    table.add_column("tokens/round\nclosed form", justify="right", style="dim", min_width=12)
    table.add_column("\nmeasured ± SE", justify="right", no_wrap=True)
    table.add_column("speedup\nclosed form", justify="right", style="dim")
    table.add_column("\nmeasured ± SE", justify="right", no_wrap=True)
    table.add_column("best\nby", no_wrap=True)
    top = max(c.measured_speedup for c in result.cells)
    cells = result.columns()[0]
    expected_best, measured_best = _tied_with_best(cells, "expected", 3), _tied_with_best(cells, "measured", 3)
    for cell in cells:
        marks = [
            name
            for name, marked in (("closed form", cell.k in expected_best), ("measured", cell.k in measured_best))
            if marked
        ]
        table.add_row(
            str(cell.k),
            f"{cell.alpha:.4f}",
            f"{cell.expected_tokens_per_round:.3f}",
            f"{cell.measured_tokens_per_round:.3f} ± {cell.tokens_per_round_standard_error:.3f}",
            f"{cell.expected_speedup:.3f}",
            f"[{_heat(cell.measured_speedup, top)}]{cell.measured_speedup:.3f}[/] ± {cell.speedup_standard_error:.3f}",
            "both" if len(marks) == 2 else (marks[0] if marks else ""),
        )
    console.print(table)


# ---- priced by batch size (--batch-sizes) --------------------------------------


def render_sweep_by_batch_size(result: SweepResult, console: Console) -> None:
    """One k x alpha table per batch size, each with its best k, and the cells
    where speculation is slower than plain decoding named in words (colour may not show)."""
    from rich.text import Text

    assert result.batch_sizes is not None
    console.print(Text.assemble(("Speedup by draft length k and batch size", "bold"), f"  ({_batch_setting(result)})"))
    for b in result.batch_sizes:
        at_b = result.at_batch_size(b)
        console.print()
        console.print(
            Text.assemble(
                (f"batch size {b:,}", "bold"),
                f"  (plain step: one pass of {counted(b, 'token', 'tokens')}, {result.plain_pass_ms[b]:.3g} ms)",
            )
        )
        if at_b.alpha_source == ALPHA_MEASURED:
            _render_measured_alpha(at_b, console)
        else:
            _render_grid(at_b, console)
        console.print(_losses_line(at_b))
    # Every batch size shares the measurement: the agreement and notes are said once.
    first = result.at_batch_size(result.batch_sizes[0])
    disagree = first.disagreements(AGREEMENT_STANDARD_ERRORS)
    style = "green" if not disagree else "red"
    console.print(
        Text.assemble(
            "agreement: ",
            (f"{len(first.cells) - len(disagree)} of {len(first.cells)} cells", style),
            f" within {AGREEMENT_STANDARD_ERRORS:g} standard errors of the closed form (tokens per round, "
            "measured once for every batch size)",
        )
    )
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))


def _batch_setting(result: SweepResult) -> str:
    kind = "vectorised i.i.d. Monte Carlo" if result.monte_carlo != ENGINE else "engine run per cell"
    length = f", L = {result.context_length:,}" if result.context_length else ""
    return (
        f"cost model {result.cost_model}{length}; {result.model} pair, {result.method}, "
        f"{result.draft_policy} k; {counted(result.rounds, 'round', 'rounds')} per cell, seed {result.seed}; {kind}"
    )


def _losses_line(at_b: SweepResult) -> Text:
    """Where speculation loses at this batch size, by the closed form: for which
    alphas even the best k does, and how many cells in all."""
    from rich.text import Text

    losing = [c for c in at_b.cells if c.expected_speedup < 1.0]
    if not losing:
        return Text("speculation pays at every k and alpha here (closed form above 1x)", style="green")
    lost_alphas = [
        group for group in at_b.columns() if next(c for c in group if c.best_expected).expected_speedup < 1.0
    ]
    where = ""
    if lost_alphas and at_b.alpha_source != ALPHA_MEASURED:
        alphas = ", ".join(f"{group[0].alpha:g}" for group in lost_alphas)
        where = f"; at every k for α = {alphas}: decode without speculation there (k = 0)"
    elif lost_alphas:
        where = "; at every k: decode without speculation (k = 0)"
    return Text(
        f"speculation loses (closed form below 1x) in {len(losing)} of {len(at_b.cells)} cells{where}",
        style="red",
    )
