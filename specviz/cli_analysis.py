"""`specviz sweep` and `specviz audit`: the headless analysis commands.

Registered on the main parser by `add_analysis_commands(subparsers)` and run by
`run_analysis_command(args)`. As in the rest of the CLI, flags are parsed as
text by the engine (`config_from_text`, the sweep's and the audit's parsers),
so bad input raises ConfigError and the CLI's main prints it as one line and
exits 2. rich is imported only to print; textual never.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import TYPE_CHECKING, Any

# numpy-free: this module builds part of the help on every start (the app's
# too); the audit and sweep themselves are imported when they run.
from specviz.engine.analysis_defaults import (
    ALPHA_MEASURED,
    DEFAULT_ALPHAS,
    DEFAULT_ENGINE_ROUNDS,
    DEFAULT_K_MAX,
    DEFAULT_SAMPLES,
    DEFAULT_VECTORISED_ROUNDS,
    ENGINE,
    MAX_ENGINE_ROUNDS,
    MAX_SAMPLES,
    MAX_VECTORISED_ROUNDS,
    SIGNIFICANCE,
)
from specviz.engine.config import MAX_DRAFT_LENGTH, ConfigError

if TYPE_CHECKING:
    from specviz.engine.sweep import SweepCell, SweepResult
from specviz.progress import stderr_progress

ANALYSIS_COMMANDS = ("sweep", "audit")
# The Monte Carlo is called off the closed form beyond this many standard errors.
AGREEMENT_STANDARD_ERRORS = 4.0
DEFAULT_TOP_TOKENS = 10

# Simulation flags that mean nothing to a sweep, and what to use instead.
SWEEP_REJECTS = {
    "draft_length": "not used by sweep, which runs k = 1 to --k-max",
    "acceptance_rate": "not used by sweep; give the alphas with --alphas START:STOP:STEP",
    "target_length": "not used by sweep; give --rounds per cell",
}

SWEEP_EXAMPLES = """examples:
  specviz sweep                                   k = 1..16 x alpha = 0.05..0.95, 100,000 rounds per cell
  specviz sweep --k-max 8 --alphas 0.5:0.9:0.1 --draft-cost 0.02
  specviz sweep --alphas 0.6,0.8,0.9 --json       one JSON object: {"cells": [...], "best": [...]}
  specviz sweep --csv > sweep.csv                 one CSV row per cell
  specviz sweep --method greedy --rounds 2000     runs the engine per cell (acceptance not i.i.d.)
"""

AUDIT_EXAMPLES = """examples:
  specviz audit                                   20,000 first tokens after the prompt, against p
  specviz audit --context "the old" --samples 50000
  specviz audit --method typical --json           a lossy method: expect it to fail
"""


def add_analysis_commands(commands: argparse._SubParsersAction) -> None:
    """Add `sweep` and `audit` to the CLI's subparsers."""
    from specviz import cli

    formatter = getattr(cli, "HelpFormatter", argparse.RawDescriptionHelpFormatter)

    sweep = commands.add_parser(
        "sweep",
        help="speedup over k x alpha: closed form beside Monte Carlo",
        description="Speedup for every draft length k = 1..K and acceptance rate alpha in a grid: the closed "
        "form (Leviathan et al. 2023) beside a Monte Carlo measurement, with the best k for each alpha marked. "
        "With the synthetic pair, speculative sampling and a fixed k, acceptance is i.i.d. Bernoulli(alpha) and "
        "every cell comes from one shared draw of uniforms (common random numbers). Any other model, method or "
        "policy runs the engine for each cell; a model whose acceptance is measured (not set) gets one cell per k.",
        epilog=SWEEP_EXAMPLES,
        formatter_class=formatter,
    )
    cli.add_simulation_options(sweep)
    for action in sweep._actions:
        # Still parsed, so that giving one earns a clear error, but not offered.
        if action.dest in SWEEP_REJECTS:
            action.help = argparse.SUPPRESS
    grid = sweep.add_argument_group("sweep")
    grid.add_argument("--k-max", default=str(DEFAULT_K_MAX), metavar="K",
                      help=f"sweep k = 1..K, K from 1 to {MAX_DRAFT_LENGTH} (default: {DEFAULT_K_MAX})")
    grid.add_argument("--alphas", default=None, metavar="START:STOP:STEP",
                      help="acceptance rates: START:STOP:STEP (STOP included) or a list like 0.6,0.8,0.9, "
                      f"all from 0 to 1 (default: {DEFAULT_ALPHAS})")
    grid.add_argument("--rounds", default=None, metavar="R",
                      help=f"rounds per cell (default: {DEFAULT_VECTORISED_ROUNDS:,}, up to {MAX_VECTORISED_ROUNDS:,}; "
                      f"when the engine runs each cell {DEFAULT_ENGINE_ROUNDS:,}, up to {MAX_ENGINE_ROUNDS:,})")
    output = sweep.add_argument_group("output")
    formats = output.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    formats.add_argument("--csv", action="store_true", help="print one CSV row per cell, with a header")
    output.add_argument("--no-progress", action="store_true",
                        help="no progress bar (one shows on stderr, when it is a terminal, while the engine runs)")

    audit = commands.add_parser(
        "audit",
        help="losslessness: first-token frequencies against the target's distribution",
        description="Run a round from one fixed context N times and test the first emitted token's frequencies "
        "against the target's distribution there (chi-square goodness of fit, total-variation distance). A "
        "lossless method passes; a lossy one (typical acceptance) should fail given enough samples.",
        epilog=AUDIT_EXAMPLES,
        formatter_class=formatter,
    )
    cli.add_simulation_options(audit)
    checks = audit.add_argument_group("audit")
    checks.add_argument("--samples", default=str(DEFAULT_SAMPLES), metavar="N",
                        help=f"rounds to sample, 1 to {MAX_SAMPLES:,} (default: {DEFAULT_SAMPLES:,})")
    checks.add_argument("--context", default=None, metavar="TEXT",
                        help="the fixed context to sample from (default: the prompt, --prompt)")
    checks.add_argument("--tokens-shown", default=str(DEFAULT_TOP_TOKENS), metavar="N",
                        help=f"tokens listed in the table, 1 to 1,000 (default: {DEFAULT_TOP_TOKENS})")
    audit.add_argument("--json", action="store_true", help="print one JSON object instead of the report")


def run_analysis_command(args: argparse.Namespace) -> int:
    """Run `sweep` or `audit`; raises ConfigError for bad input."""
    if args.command == "sweep":
        return command_sweep(args)
    if args.command == "audit":
        return command_audit(args)
    raise ValueError(f"not an analysis command: {args.command}")


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# ---- sweep -------------------------------------------------------------------


def command_sweep(args: argparse.Namespace) -> int:
    from specviz.cli import config_from_args
    from specviz.engine.models import build_model
    from specviz.engine.sweep import (
        default_rounds,
        monte_carlo_kind,
        parse_alphas,
        parse_k_max,
        parse_rounds,
        run_sweep,
    )

    for field_name, why in SWEEP_REJECTS.items():
        if hasattr(args, field_name):
            raise ConfigError(field_name, getattr(args, field_name), why)
    config = config_from_args(args)
    k_max = parse_k_max(args.k_max)
    grid = parse_alphas(DEFAULT_ALPHAS if args.alphas is None else args.alphas)
    model = build_model(config)
    kind = monte_carlo_kind(config, model)
    rounds = default_rounds(kind) if args.rounds is None else parse_rounds(args.rounds, kind)
    if args.alphas is not None and not model.uses_acceptance_rate:
        print(f"specviz sweep: note: --alphas ignored: the {config.model} pair's acceptance rate is measured, not set",
              file=sys.stderr)
    show_progress = kind == ENGINE and not args.no_progress
    with stderr_progress("sweep: rounds", enabled=show_progress) as progress:
        result = run_sweep(config, k_max, grid, rounds, model=model, progress=progress)
    if args.json:
        _print_json(result.to_dict())
    elif args.csv:
        write_sweep_csv(result, sys.stdout)
    else:
        render_sweep(result, _console())
    return 0


def write_sweep_csv(result: SweepResult, stream) -> None:
    rows = [cell.to_dict(result.monte_carlo == ENGINE) for cell in result.cells]
    writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})


def render_sweep(result: SweepResult, console) -> None:
    from rich.text import Text

    console.print(Text.assemble(("Speedup by draft length k", "bold"), f"  ({_sweep_setting(result)})"))
    if result.alpha_source == ALPHA_MEASURED:
        _render_measured_alpha(result, console)
    else:
        _render_grid(result, console)
    disagree = result.disagreements(AGREEMENT_STANDARD_ERRORS)
    z_values = [abs(c.z_score) for c in result.cells if c.z_score is not None]
    largest = f"; largest |z| = {max(z_values):.2f}" if z_values else ""
    style = "green" if not disagree else "red"
    console.print(Text.assemble(
        "agreement: ",
        (f"{len(result.cells) - len(disagree)} of {len(result.cells)} cells", style),
        f" within {AGREEMENT_STANDARD_ERRORS:g} standard errors of the closed form (tokens per round{largest})",
    ))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="dim"))


def _sweep_setting(result: SweepResult) -> str:
    kind = "vectorised i.i.d. Monte Carlo" if result.monte_carlo != ENGINE else "engine run per cell"
    return (f"c = {result.draft_cost:g}, v = {result.verify_overhead:g}; {result.model} pair, {result.method}, "
            f"{result.draft_policy} k; {result.rounds:,} rounds per cell, seed {result.seed}; {kind}")


def _heat(speedup: float, best: float) -> str:
    """Slower than plain decoding in red; faster shades from yellow to green."""
    if speedup < 1.0:
        return "red"
    share = 0.0 if best <= 1.0 else min((speedup - 1.0) / (best - 1.0), 1.0)
    red, green = int(215 * (1 - share)), 175 + int(40 * share)
    return f"rgb({red},{green},{int(95 * share)})"


def _render_grid(result: SweepResult, console) -> None:
    from rich import box
    from rich.measure import Measurement
    from rich.table import Table
    from rich.text import Text

    columns = result.columns()
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
            table.add_row(str(k), *(_grid_cell(group[k - 1], width, top) for group in chunk))
        table.add_section()
        table.add_row("best", *(_best_cell(group, width) for group in chunk))
        return table

    unbounded = console.options.update_width(1_000_000)  # measure the table's natural width

    def natural_width(chunk: list[list[SweepCell]]) -> int:
        return Measurement.get(console, unbounded, grid_table(chunk)).maximum

    per_table = len(columns)
    while per_table > 1 and natural_width(columns[:per_table]) > console.width:
        per_table -= 1
    tables = -(-len(columns) // per_table)
    per_table = -(-len(columns) // tables)  # balance: 5 columns as 3 + 2, not 4 + 1
    for first in range(0, len(columns), per_table):
        console.print(grid_table(columns[first : first + per_table]))
    console.print(Text(
        "each cell: closed form (dim) | Monte Carlo; * marks the best k for that alpha by each; "
        "colour: red below 1x, yellow to green up to the best measured speedup",
        style="dim",
    ))


def _grid_cell(cell: SweepCell, width: int, top: float):
    from rich.text import Text

    return Text.assemble(
        (f"{cell.expected_speedup:{width}.2f}", "dim"),
        ("*" if cell.best_expected else " ", "bold"),
        " ",
        (f"{cell.measured_speedup:{width}.2f}", _heat(cell.measured_speedup, top) + (" bold" if cell.best_measured else "")),
        ("*" if cell.best_measured else " ", "bold"),
    )


def _best_cell(group: list[SweepCell], width: int):
    from rich.text import Text

    expected = next(c for c in group if c.best_expected)
    measured = next(c for c in group if c.best_measured)
    return Text.assemble((f"k={expected.k:<{width - 1}}", "dim"), "  ", (f"k={measured.k:<{width - 1}}", "bold"), " ")


def _render_measured_alpha(result: SweepResult, console) -> None:
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
    for cell in result.columns()[0]:
        marks = [name for name, marked in (("closed form", cell.best_expected), ("measured", cell.best_measured)) if marked]
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


# ---- audit -------------------------------------------------------------------


def command_audit(args: argparse.Namespace) -> int:
    from specviz.cli import config_from_args
    from specviz.engine.audit import audit, parse_samples
    from specviz.engine.config import _parse_int

    if args.context is not None and hasattr(args, "prompt"):
        raise ConfigError("context", args.context, "either --context or --prompt, not both (they name the same text)")
    config = config_from_args(args)
    if args.context is not None:
        config = config.replace(prompt=args.context)
    samples = parse_samples(args.samples)
    top = _parse_int("tokens_shown", args.tokens_shown)
    if not 1 <= top <= 1000:
        raise ConfigError("tokens_shown", top, "an integer from 1 to 1,000")
    result = audit(config, samples)
    if args.json:
        data = result.to_dict()
        data["top_tokens"] = result.top_tokens(top)
        data["seed"] = config.seed
        data["verdict"] = audit_verdict(result)
        _print_json(data)
    else:
        render_audit(result, config.seed, top, _console())
    return 0


def audit_verdict(result) -> str:
    reference = "the target's greedy choice" if result.reference == "argmax p" else "the target's distribution p"
    if result.lossless:
        verdict = f"pass: the first tokens are consistent with {reference}"
        if not result.method_claims_lossless:
            verdict += " (the method is lossy by design; more samples or another context may show it)"
        return verdict
    verdict = f"fail: the first tokens differ from {reference}"
    if not result.method_claims_lossless:
        verdict += ", as expected of a lossy method"
    return verdict


def render_audit(result, seed: int, top: int, console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    claim = ("lossless by design", "green") if result.method_claims_lossless else ("lossy by design", "yellow")
    console.print(Text.assemble(
        ("Losslessness audit", "bold"),
        f"  ({result.model} pair, {result.method} ", claim, f"; {result.samples:,} samples, seed {seed})",
    ))
    console.print(Text.assemble("context: ", (repr(result.context), "bold"),
                                f"  (the first token a round emits there, against {result.reference})"))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("token")
    table.add_column(f"expected ({result.reference})", justify="right")
    table.add_column("observed", justify="right")
    table.add_column("count", justify="right")
    table.add_column("observed - expected", justify="right")
    for row in result.top_tokens(top):
        gap = row["observed"] - row["expected"]
        # Seen where the reference forbids it: the clearest sign of a lossy rule.
        style = "red" if row["expected"] == 0 and row["count"] else ""
        table.add_row(row["token"], f"{row['expected']:.4f}", f"{row['observed']:.4f}", f"{row['count']:,}",
                      Text(f"{gap:+.4f}", style=style))
    console.print(table)
    console.print(f"total-variation distance: {result.tv_distance:.4f}")
    console.print(f"chi-square: {result.chi2_statistic:.2f} on {result.degrees_of_freedom} degrees of freedom, "
                  f"p-value {result.chi2_pvalue:.3g} (fails below {SIGNIFICANCE:g})")
    console.print(Text.assemble("verdict: ", (audit_verdict(result), "bold green" if result.lossless else "bold red")))
