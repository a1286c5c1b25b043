"""`specviz run`: simulate headless and print the report (or --json); also records and reads traces."""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import TYPE_CHECKING

from specviz.cli.options import (
    Commands,
    UsageError,
    add_simulation_options,
    config_from_args,
    console,
    count_at_least,
    given_simulation_flags,
    print_json,
    wrap,
)
from specviz.cli.progress import add_allow_long_option, pace_check, stderr_progress
from specviz.engine.io.emit import EMIT_FORMATS  # numpy-free

if TYPE_CHECKING:
    from specviz.engine.run.rounds import Round
    from specviz.engine.run.simulation import Simulation

SUMMARY = "simulate headless and print the report (or --json)"
DEFAULT_ROUNDS_SHOWN = 20
# The listing is for reading; a whole run is what --trace records. Each listed
# round is kept until the report prints, and rich takes about a millisecond a
# row to lay the table out.
MAX_ROUNDS_SHOWN = 10_000
# Rounds run between progress updates: ~20 ms of engine time at k = 5. Chunks
# start at one round and double while a chunk takes under CHUNK_SECONDS, so a
# slow pair (a large vocabulary) still reports, and is paced, early.
CHUNK_ROUNDS = 4096
CHUNK_SECONDS = 0.05
PROGRESS_AFTER_S = 0.5  # a run shorter than this never shows a bar

# Every example here is run by tests/cli (in a scratch folder, in this order).
EXAMPLES = """examples:
  specviz run                                 the defaults: k = 5, alpha = 0.75, 50 tokens
  specviz run -k 5 -a 0.8 -n 200              200 tokens; lists the first 20 rounds
  specviz run -k 8 -a 0.9 --rounds-shown 5    list only the first 5 rounds
  specviz run -n 20000 --quiet                only the summary
  specviz run -n 20000 --json                 one JSON object with every statistic
  specviz run -n 500 --trace run.jsonl        also record the run, round by round
  specviz run --from-trace run.jsonl          reprint the recorded run's report
  specviz run -n 2000 --trace run.npz         the compact binary form (for long runs)
  specviz run -k 4 -a 0.8 -n 2000 --emit vllm   the run's statistics as vLLM would log them
  specviz run -n 2000 --emit sglang --emit-to sglang.log   ... as SGLang would, into a file
  specviz run --tree-width 3 -k 3 -n 200 --quiet   a token tree: 3 candidates a node, 3 deep
  specviz run --tree-budget 8 --tree-sampling top --json   EAGLE-2's dynamic tree of 8 nodes
"""


def add_parser(commands: Commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "run",
        help=SUMMARY,
        description=wrap(
            "Simulate a run headless and print its report: the configuration, each round's "
            "drafts and verdicts, the summary, the cost breakdown and the closed forms beside "
            "the measured values."
        ),
        epilog=EXAMPLES,
    )
    add_simulation_options(parser)
    output = parser.add_argument_group("output")
    formats = output.add_mutually_exclusive_group()
    formats.add_argument(
        "--json", action="store_true", help="print one JSON object with every statistic instead of the report"
    )
    formats.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    formats.add_argument(
        "--emit",
        choices=EMIT_FORMATS,
        metavar="FORMAT",
        help="print the run's statistics as an engine would log them, instead of the report; one of "
        + ", ".join(EMIT_FORMATS)
        + " (`specviz import` reads them back)",
    )
    output.add_argument("--emit-to", metavar="FILE", help="write --emit's output to FILE instead of standard output")
    output.add_argument(
        "--rounds-shown",
        type=rounds_shown,
        default=DEFAULT_ROUNDS_SHOWN,
        metavar="N",
        help=f"list the first N rounds, 0 to {MAX_ROUNDS_SHOWN:,}; --trace records every round "
        f"(default: {DEFAULT_ROUNDS_SHOWN})",
    )
    output.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (by default one shows on stderr when stderr is a terminal and the run takes over half a second)",
    )
    add_allow_long_option(output)
    traces = parser.add_argument_group("traces")
    traces.add_argument(
        "--trace",
        metavar="FILE",
        help="also record the run to FILE (written only when the run completes): FILE ending in .npz is "
        "the compact binary form (numpy arrays, for long runs; np.load, pandas and polars read it), "
        "any other name JSON lines (one line a round, to read by eye)",
    )
    traces.add_argument("--force", action="store_true", help="let --trace or --emit-to overwrite an existing FILE")
    traces.add_argument(
        "--from-trace",
        metavar="FILE",
        help="report a recorded run from its trace, JSON lines or .npz, instead of simulating "
        "(no simulation options then)",
    )
    return parser


def rounds_shown(text: str) -> int:
    """An argparse type: how many rounds the listing shows, 0 to MAX_ROUNDS_SHOWN."""
    value = count_at_least(0)(text)
    if value > MAX_ROUNDS_SHOWN:
        raise argparse.ArgumentTypeError(
            f"{value:,} is too large (allowed: 0 to {MAX_ROUNDS_SHOWN:,}; --trace FILE records every round)"
        )
    return value


def run(args: argparse.Namespace) -> int:
    from specviz.engine.io.trace import ReplaySimulation, TraceWriter
    from specviz.engine.run.simulation import Simulation

    source = None
    simulation: Simulation
    if args.from_trace is not None:
        given = given_simulation_flags(args)
        if given:
            raise UsageError(f"{given[0]} cannot be used with --from-trace: the trace fixes the configuration")
        if args.trace is not None:
            raise UsageError("--trace cannot be used with --from-trace: the trace is already recorded")
        simulation = ReplaySimulation.from_file(args.from_trace)
        source = args.from_trace
    else:
        simulation = Simulation(config_from_args(args))
    if args.emit_to is not None:
        if args.emit is None:
            raise UsageError("--emit-to needs --emit FORMAT: it names where the emitted log goes")
        _check_writable(args.emit_to, args.force)
    recorder = None
    if args.emit is not None:
        from specviz.engine.io.emit import EmitRecorder  # only for --emit: a run need not import it

        recorder = EmitRecorder(simulation)
    listing = 0 if (args.json or args.quiet or args.emit) else args.rounds_shown
    # The writer checks the path before the run starts, not after an hour.
    writer = TraceWriter(args.trace, simulation, args.force) if args.trace is not None else nullcontext()
    check = None if args.allow_long else pace_check("this run", "tokens")
    with writer:
        shown = run_to_end(simulation, keep=listing, progress=not args.no_progress, check=check)
    if recorder is not None:
        from specviz.engine.io.emit import emit

        text = emit(args.emit, recorder)
        if args.emit_to is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            with open(args.emit_to, "w", encoding="utf-8") as log:
                log.write(text)
        return 0
    summary = simulation.summary()
    if args.json:
        print_json(summary)
        return 0
    from specviz.render.report import render_report

    out = console()
    # A long listing takes rich seconds to lay out, so it reports progress;
    # meanwhile the report is captured (text on stdout would tear a bar on
    # stderr on the same terminal) and written out once the bar is gone.
    with stderr_progress("listing rounds", "rounds", enabled=not args.no_progress, delay=PROGRESS_AFTER_S) as report:
        with out.capture() as captured:
            render_report(
                out,
                simulation,
                summary,
                shown,
                rounds_shown=args.rounds_shown,
                quiet=args.quiet,
                source=source,
                progress=report,
            )
    out.file.write(captured.get())
    out.file.flush()
    return 0


def run_to_end(
    simulation: Simulation, keep: int = 0, progress: bool = False, check: Callable[[int, int], None] | None = None
) -> list[Round]:
    """Run `simulation` to its target length; return its first `keep` rounds.

    Only the first `keep` rounds are kept (the listing shows no more), without
    their distributions (vocabulary-length arrays the listing never reads), and
    the rest runs in chunks through `Simulation.run`, the engine's fast path. A
    progress bar on stderr appears once the run, listing included, has taken
    PROGRESS_AFTER_S; `check(tokens, target)` runs after every chunk (the
    long-work guard: it may raise to stop the run).
    """
    shown: list[Round] = []
    target = simulation.config.target_length
    from specviz.engine.io.trace import ReplaySimulation

    chunk = 1
    with stderr_progress("simulating", "tokens", enabled=progress, delay=PROGRESS_AFTER_S) as report:
        while not simulation.done:
            started = time.perf_counter()
            if len(shown) < keep:
                for _ in range(min(chunk, keep - len(shown))):
                    round_ = simulation.finish_round()
                    if round_ is None:
                        break
                    shown.append(_listed(round_))
            elif isinstance(simulation, ReplaySimulation) and simulation.finishes_at_once:
                simulation.run()  # a binary trace's replay: checked by running it, so its end is known
            else:
                simulation.run(max_rounds=chunk)
            if report is not None:
                report(simulation.emitted, target)
            if check is not None:
                check(simulation.emitted, target)
            if time.perf_counter() - started < CHUNK_SECONDS:
                chunk = min(2 * chunk, CHUNK_ROUNDS)
    return shown


def _check_writable(path: str, force: bool) -> None:
    """Refuse before the run, not after it: an existing file without --force, a missing folder."""
    if os.path.isdir(path):
        raise UsageError(f"--emit-to {path}: a directory (allowed: a file path)")
    if os.path.exists(path) and not force:
        raise UsageError(f"--emit-to {path}: the file exists (add --force to overwrite it)")
    folder = os.path.dirname(path) or "."
    if not os.path.isdir(folder):
        raise UsageError(f"--emit-to {path}: no folder {folder}")


def _listed(round_: Round) -> Round:
    """A finished round as the listing keeps it: its record without the
    distributions (up to 3 vocabulary-length arrays per position: with an
    n-gram pair 10,000 listed rounds held 2 GB)."""
    kept = copy.copy(round_)
    kept.dists = []
    # Columns a pair fills on first read (rounds.DeferredFloats) hold the
    # distributions too: read them now, into plain lists.
    kept.target_probs, kept.overlaps = list(round_.target_probs), list(round_.overlaps)
    kept.betas = kept.overlaps if round_.betas is round_.overlaps else list(round_.betas)
    return kept
