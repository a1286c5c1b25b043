"""`specviz sweep`: speedup over k x alpha, the closed form beside Monte Carlo."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import TYPE_CHECKING, TextIO

# numpy-free: this module builds part of the help on every start (the app's
# too); the sweep itself is imported when it runs.
from specviz.cli.options import (
    Commands,
    UsageError,
    add_simulation_options,
    config_from_args,
    console,
    print_json,
    rounded_output,
)
from specviz.cli.progress import add_allow_long_option, refuse_long_work, stderr_progress
from specviz.engine.analysis.defaults import (
    DEFAULT_ALPHAS,
    DEFAULT_ENGINE_ROUNDS,
    DEFAULT_K_MAX,
    DEFAULT_VECTORISED_ROUNDS,
    ENGINE,
    MAX_ENGINE_ROUNDS,
    MAX_VECTORISED_ROUNDS,
)
from specviz.engine.catalog import readers_of
from specviz.engine.run.config import MAX_DRAFT_LENGTH, TREE_FIELDS, ConfigError, unread_knob

if TYPE_CHECKING:
    from specviz.engine.analysis.sweep import SweepResult

SUMMARY = "speedup over k x alpha: closed form beside Monte Carlo"

# Simulation flags that mean nothing to a sweep, and what to use instead.
SWEEP_REJECTS = {
    "draft_length": "not used by sweep, which runs k = 1 to --k-max",
    "acceptance_rate": "not used by sweep; give the alphas with --alphas START:STOP:STEP",
    "target_length": "not used by sweep; give --rounds per cell",
    # Sweeps are of chains; `compare --trees` sets a chain against trees.
    **{
        name: "not used by sweep, which sweeps chains of k drafts; compare --trees sets chains against trees"
        for name in TREE_FIELDS
    },
}

EXAMPLES = """examples:
  specviz sweep                                   k = 1..16 x alpha = 0.05..0.95, 100,000 rounds per cell
  specviz sweep --k-max 8 --alphas 0.5:0.9:0.1 --draft-cost 0.02
  specviz sweep --alphas 0.6,0.8,0.9 --json       one JSON object: {"cells": [...], "best": [...]}
  specviz sweep --csv > sweep.csv                 one CSV row per cell
  specviz sweep --method greedy --rounds 2000     runs the engine per cell (acceptance not i.i.d.)
  specviz sweep --cost-model llama3.1-8b-eagle-h100 --batch-sizes 1,8,32,128 --context-length 1024
                                                  k x alpha priced at each batch size; best k per b
"""


def add_parser(commands: Commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "sweep",
        help=SUMMARY,
        description="Speedup for every draft length k = 1..K and acceptance rate alpha in a grid: the closed "
        "form (Leviathan et al. 2023) beside a Monte Carlo measurement, with the best k for each alpha marked. "
        "With the synthetic pair, speculative sampling and a fixed k, acceptance is i.i.d. Bernoulli(alpha) and "
        "every cell comes from one shared draw of uniforms (common random numbers). Any other model, method or "
        "policy runs the engine for each cell; a model whose acceptance is measured (not set) gets one cell per k.",
        epilog=EXAMPLES,
    )
    add_simulation_options(parser)
    for action in parser._actions:
        # Still parsed, so that giving one earns a clear error, but not offered.
        if action.dest in SWEEP_REJECTS:
            action.help = argparse.SUPPRESS
    grid = parser.add_argument_group("sweep")
    grid.add_argument(
        "--k-max",
        default=str(DEFAULT_K_MAX),
        metavar="K",
        help=f"sweep k = 1..K, K from 1 to {MAX_DRAFT_LENGTH} (default: {DEFAULT_K_MAX})",
    )
    grid.add_argument(
        "--alphas",
        default=None,
        metavar="START:STOP:STEP",
        help="acceptance rates: START:STOP:STEP (STOP included) or a list like 0.6,0.8,0.9, "
        f"all from 0 to 1 (default: {DEFAULT_ALPHAS})",
    )
    grid.add_argument(
        "--rounds",
        default=None,
        metavar="R",
        help=f"rounds per cell (default: {DEFAULT_VECTORISED_ROUNDS:,}, up to {MAX_VECTORISED_ROUNDS:,}; "
        f"when the engine runs each cell {DEFAULT_ENGINE_ROUNDS:,}, up to {MAX_ENGINE_ROUNDS:,})",
    )
    grid.add_argument(
        "--batch-sizes",
        default=None,
        metavar="B,B,...",
        help="price every cell at each of these batch sizes by the cost model (--cost-model), "
        "with the best k and where speculation loses marked per batch size, e.g. 1,8,32,128 "
        "(default: none)",
    )
    output = parser.add_argument_group("output")
    formats = output.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    formats.add_argument("--csv", action="store_true", help="print one CSV row per cell, with a header")
    output.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (one shows on stderr, when it is a terminal, while the engine runs)",
    )
    add_allow_long_option(output)
    return parser


def run(args: argparse.Namespace) -> int:
    from specviz.engine.analysis.sweep import (
        default_rounds,
        estimate_engine_sweep,
        monte_carlo_kind,
        parse_alphas,
        parse_batch_sizes,
        parse_k_max,
        parse_rounds,
        run_sweep,
    )
    from specviz.engine.models.pair import build_model

    for field_name, why in SWEEP_REJECTS.items():
        if hasattr(args, field_name):
            raise ConfigError(field_name, getattr(args, field_name), why)
    if args.batch_sizes is not None and hasattr(args, "batch_size"):
        raise UsageError("--batch-size cannot be used with --batch-sizes: give every batch size in --batch-sizes")
    config = config_from_args(args)
    batch_sizes = None if args.batch_sizes is None else parse_batch_sizes(args.batch_sizes)
    if batch_sizes is None and config.cost_model is not None:
        # A forward-pass model prices every pass by what it scores: a sweep
        # priced without it would quietly use --draft-cost instead.
        batch_sizes = (config.batch_size,)
    if args.alphas is not None and config.model not in readers_of("acceptance_rate"):
        # The alphas stand for -a, which such a pair refuses too: a refusal, not a note.
        raise unread_knob(config.model, "acceptance_rate", args.alphas, parameter="alphas", flags="--alphas")
    k_max = parse_k_max(args.k_max)
    grid = parse_alphas(DEFAULT_ALPHAS if args.alphas is None else args.alphas)
    model = build_model(config)
    kind = monte_carlo_kind(config, model)
    rounds = default_rounds(kind) if args.rounds is None else parse_rounds(args.rounds, kind)
    if kind == ENGINE and not args.allow_long:
        estimate = estimate_engine_sweep(config, k_max, grid, rounds, model)
        refuse_long_work("this sweep", estimate.seconds, estimate.work, "timed by a short calibration run")
    show_progress = kind == ENGINE and not args.no_progress
    with stderr_progress("sweep: rounds", enabled=show_progress) as progress:
        result = run_sweep(config, k_max, grid, rounds, model=model, progress=progress, batch_sizes=batch_sizes)
    if args.json:
        print_json(result.to_dict())
    elif args.csv:
        write_sweep_csv(result, sys.stdout)
    else:
        from specviz.render.sweep import render_sweep

        render_sweep(result, console(highlight=False))
    return 0


def write_sweep_csv(result: SweepResult, stream: TextIO) -> None:
    rows = [cell.to_dict(result.monte_carlo == ENGINE) for cell in result.cells]
    writer = csv.DictWriter(stream, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else rounded_output(value) for key, value in row.items()})
