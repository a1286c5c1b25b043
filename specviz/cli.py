"""The command line: `specviz` opens the app; `specviz run`, `theory`, ... are headless.

Thin by design: flags are parsed as text and handed to the engine's
`config_from_text`, so the rules and the error words are the engine's. Headless
commands never import textual (the app module is imported only to launch it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from contextlib import nullcontext
from typing import Any, Sequence

from specviz.cli_analysis import (
    ANALYSIS_COMMANDS,
    add_analysis_commands,
    run_analysis_command,
)
from specviz.engine import catalog
from specviz.engine.config import (
    MAX_DRAFT_LENGTH,
    MAX_TARGET_LENGTH,
    ConfigError,
    SimConfig,
    TraceError,
    config_from_text,
)
from specviz.progress import stderr_progress

EXIT_USAGE = 2  # bad input: a value, a flag, a file
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C
DEFAULT_ROUNDS_SHOWN = 20

# (flags, SimConfig field, help). Defaults and ranges come from SimConfig and
# its validation, so the help text cannot drift from the rules.
SIMULATION_OPTIONS: list[tuple[tuple[str, ...], str, str]] = [
    (("-k", "--draft-length"), "draft_length", f"tokens the draft model proposes per round, 1 to {MAX_DRAFT_LENGTH}"),
    (("-a", "--acceptance-rate"), "acceptance_rate", "alpha for the synthetic pair: sum_x min(p, q) in every context, 0 to 1"),
    (("-n", "--target-length"), "target_length", f"tokens to generate, 1 to {MAX_TARGET_LENGTH:,}"),
    (("--draft-cost",), "draft_cost", "cost of a draft pass / cost of a target pass (c), >= 0"),
    (("--seed",), "seed", "random seed, an integer from 0 to 2**63 - 1"),
    (("--model",), "model", "model pair"),
    (("--method",), "method", "verification method"),
    (("--draft-policy",), "draft_policy", "how k is chosen each round"),
    (("--target-ms",), "target_pass_ms", "time of one target pass in ms, > 0"),
    (("--verify-overhead",), "verify_overhead", "extra target-pass cost per drafted token verified (v), >= 0"),
    (("--prompt",), "prompt", "text the generation starts from"),
    (("--corpus",), "corpus", "plain-text file to train the n-gram pair on"),
    (("--temperature",), "temperature", "sampling temperature for target and draft, > 0"),
    (("--top-k",), "top_k", "keep only the k most likely words (0 = off)"),
    (("--top-p",), "top_p", "keep the smallest set of words with this much mass, (0, 1]"),
    (("--confidence-threshold",), "confidence_threshold", "confidence policy: stop drafting below this top q, 0 to 1"),
    (("--typical-epsilon",), "typical_epsilon", "typical acceptance: hard threshold epsilon, 0 to 1"),
    (("--typical-delta",), "typical_delta", "typical acceptance: entropy factor delta, >= 0"),
]


class UsageError(ValueError):
    """Flags that do not go together. The message is one line."""


# Metavars by field; a field missing here (an option another part adds to the
# table) falls back to its name in capitals.
METAVARS: dict[str, str] = {
    "draft_length": "K",
    "acceptance_rate": "ALPHA",
    "target_length": "N",
    "draft_cost": "C",
    "seed": "SEED",
    "target_pass_ms": "MS",
    "verify_overhead": "V",
    "prompt": "TEXT",
    "corpus": "FILE",
    "temperature": "T",
    "top_k": "K",
    "top_p": "P",
    "confidence_threshold": "Q",
    "typical_epsilon": "EPS",
    "typical_delta": "DELTA",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' layout; a wider option column so help lines stay short."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, exit status 2.

    Abbreviated flags are off: `--draft` would otherwise mean --draft-length
    today and become ambiguous the day another --draft-... option is added.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _default_text(field_name: str) -> str:
    default = {f.name: f.default for f in dataclasses.fields(SimConfig)}[field_name]
    if default is None:
        return "none"
    return repr(default) if isinstance(default, str) else str(default)


def add_simulation_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("simulation options")
    for flags, field_name, text in SIMULATION_OPTIONS:
        choices = _choices(field_name)
        extra = f"; one of {', '.join(choices)}" if choices else ""
        group.add_argument(
            *flags,
            dest=field_name,
            # SUPPRESS: a flag not given leaves no attribute, so flags given
            # before the command are not overwritten by the command's defaults.
            default=argparse.SUPPRESS,
            metavar="NAME" if choices else METAVARS.get(field_name, field_name.upper()),
            help=f"{text}{extra} (default: {_default_text(field_name)})",
        )


def _choices(field_name: str) -> tuple[str, ...]:
    # From the numpy-free catalog: the parser is built on every start, the app's too.
    if field_name == "model":
        return catalog.model_names()
    if field_name == "method":
        return catalog.method_names()
    if field_name == "draft_policy":
        return catalog.policy_names()
    return ()


def given_simulation_flags(args: argparse.Namespace) -> list[str]:
    """The simulation flags given on the command line, by their long name."""
    return [flags[-1] for flags, field_name, _ in SIMULATION_OPTIONS if hasattr(args, field_name)]


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """SimConfig from the flags given; raises ConfigError."""
    given = {
        field_name: getattr(args, field_name)
        for _, field_name, _ in SIMULATION_OPTIONS
        if getattr(args, field_name, None) is not None
    }
    return config_from_text(SimConfig(), given)


def _count_at_least(low: int):
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (allowed: an integer >= {low})") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small (allowed: an integer >= {low})")
        return value

    return parse


def _wrap(text: str) -> str:
    # The formatter keeps descriptions as written (for the examples), so wrap here.
    import textwrap

    return textwrap.fill(text, width=78)


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="specviz",
        description=_wrap("See and reason about speculative decoding. Without a command, opens the app "
                          "with the simulation options given."),
        epilog=EXAMPLES,
    )
    add_simulation_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    run = commands.add_parser(
        "run",
        help="simulate headless and print the report (or --json)",
        description=_wrap("Simulate a run headless and print its report: the configuration, each round's "
                          "drafts and verdicts, the summary, the cost breakdown and the closed forms beside "
                          "the measured values."),
        epilog=RUN_EXAMPLES,
    )
    add_simulation_options(run)
    output = run.add_argument_group("output")
    formats = output.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print one JSON object with every statistic instead of the report")
    formats.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    output.add_argument(
        "--rounds-shown", type=_count_at_least(0), default=DEFAULT_ROUNDS_SHOWN, metavar="N",
        help=f"list the first N rounds, an integer >= 0 (default: {DEFAULT_ROUNDS_SHOWN})",
    )
    output.add_argument(
        "--no-progress", action="store_true",
        help="no progress bar (by default one shows on stderr when stderr is a terminal and the run takes over half a second)",
    )
    traces = run.add_argument_group("traces")
    traces.add_argument("--trace", metavar="FILE", help="also record the run to FILE as JSON lines (written only when the run completes)")
    traces.add_argument("--force", action="store_true", help="let --trace overwrite an existing FILE")
    traces.add_argument(
        "--from-trace", metavar="FILE",
        help="report a recorded run from its trace instead of simulating (no simulation options then)",
    )

    theory = commands.add_parser(
        "theory",
        help="closed forms for i.i.d. acceptance",
        description=_wrap("Closed-form expectations for i.i.d. acceptance (Leviathan et al. 2023): tokens per "
                          "round, speedup, draft acceptance rate, per-position acceptance, optimal k and the "
                          "operations factor."),
        epilog=THEORY_EXAMPLES,
    )
    add_simulation_options(theory)
    theory.add_argument("--k-max", default=str(MAX_DRAFT_LENGTH), metavar="K",
                        help=f"largest k the optimal-k search tries, 1 to {MAX_DRAFT_LENGTH} (default: {MAX_DRAFT_LENGTH})")
    theory.add_argument("--ops-ratio", default=None, metavar="C_OPS",
                        help="draft/target ratio of operations per token for the operations factor, >= 0 (default: the draft cost)")
    theory.add_argument("--json", action="store_true", help="print one JSON object")

    replay = commands.add_parser(
        "replay",
        help="open the app on a recorded run",
        description=_wrap("Open the app on a run recorded with 'specviz run --trace', to step through its rounds."),
        epilog=REPLAY_EXAMPLES,
    )
    replay.add_argument("file", metavar="FILE", help="a trace written by 'specviz run --trace FILE'")
    add_analysis_commands(commands)

    from specviz.cli_compare import add_compare_command

    add_compare_command(commands)
    return parser


# Every example here is run by tests/cli (in a scratch folder, in this order).
RUN_EXAMPLES = """examples:
  specviz run                                 the defaults: k = 5, alpha = 0.75, 50 tokens
  specviz run -k 5 -a 0.8 -n 200              200 tokens; lists the first 20 rounds
  specviz run -k 8 -a 0.9 --rounds-shown 5    list only the first 5 rounds
  specviz run -n 20000 --quiet                only the summary
  specviz run -n 20000 --json                 one JSON object with every statistic
  specviz run -n 500 --trace run.jsonl        also record the run, round by round
  specviz run --from-trace run.jsonl          reprint the recorded run's report
"""

THEORY_EXAMPLES = """examples:
  specviz theory -k 5 -a 0.8                  expected tokens per round, speedup, optimal k
  specviz theory -a 0.8 --draft-cost 0.02 --json
"""

REPLAY_EXAMPLES = """examples:
  specviz run -n 500 --trace run.jsonl && specviz replay run.jsonl
"""

EXAMPLES = """commands:
  run       simulate headless and print the report (or --json)
  theory    closed forms for i.i.d. acceptance
  replay    open the app on a recorded run
  compare   every method and draft policy side by side

examples:
  specviz                                     open the app with the defaults
  specviz -k 8 -a 0.9                         open the app with k = 8, alpha = 0.9
  specviz run -k 5 -a 0.8 -n 200              simulate 200 tokens and print the report
  specviz run -n 20000 --json                 one JSON object with every statistic
  specviz theory -k 5 -a 0.8 --json           closed forms: E[tokens], speedup, optimal k

'specviz COMMAND --help' lists each command's options.
"""


def _prog(args: argparse.Namespace) -> str:
    command = getattr(args, "command", None)
    return f"specviz {command}" if command else "specviz"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)

    try:
        if args.command in ANALYSIS_COMMANDS:
            return run_analysis_command(args)
        if args.command == "run":
            return command_run(args)
        if args.command == "theory":
            return command_theory(args, config_from_args(args))
        if args.command == "replay":
            return command_replay(args)
        if args.command == "compare":
            from specviz.cli_compare import command_compare

            return command_compare(args)
        return command_app(args, config_from_args(args))
    except (ConfigError, TraceError, UsageError) as error:
        print(f"{_prog(args)}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`specviz run | head`): stop quietly. Point
        # stdout at devnull so the interpreter's final flush does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        # A file a model needs (a corpus) that cannot be read.
        where = f" {error.filename}" if error.filename else ""
        print(f"{_prog(args)}: error: cannot read{where}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{_prog(args)}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
    sys.stdout.flush()


def command_run(args: argparse.Namespace) -> int:
    from specviz.engine.simulation import Simulation
    from specviz.engine.trace import ReplaySimulation, TraceWriter

    source = None
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
    listing = 0 if (args.json or args.quiet) else args.rounds_shown
    # The writer checks the path before the run starts, not after an hour.
    writer = TraceWriter(args.trace, simulation, args.force) if args.trace is not None else nullcontext()
    with writer:
        shown = run_to_end(simulation, keep=listing, progress=not args.no_progress)
    summary = simulation.summary()
    if args.json:
        _print_json(summary)
        return 0
    from rich.console import Console

    from specviz.report import render_report

    render_report(Console(), simulation, summary, shown, rounds_shown=args.rounds_shown, quiet=args.quiet, source=source)
    return 0


# Rounds run between progress updates: ~20 ms of engine time at k = 5.
CHUNK_ROUNDS = 4096
PROGRESS_AFTER_S = 0.5  # a run shorter than this never shows a bar


def run_to_end(simulation, keep: int = 0, progress: bool = False) -> list:
    """Run `simulation` to its target length; return its first `keep` rounds.

    Only the first `keep` rounds are kept (the listing shows no more), and the
    rest runs in chunks through `Simulation.run`, the engine's fast path. A
    progress bar on stderr appears once the run has taken PROGRESS_AFTER_S.
    """
    shown = []
    while len(shown) < keep and not simulation.done:
        shown.append(simulation.finish_round())
    with stderr_progress("simulating", "tokens", enabled=progress, delay=PROGRESS_AFTER_S) as report:
        while not simulation.done:
            simulation.run(max_rounds=CHUNK_ROUNDS)
            if report is not None:
                report(simulation.emitted, simulation.config.target_length)
    return shown


def command_theory(args: argparse.Namespace, config: SimConfig) -> int:
    from specviz.engine import theory
    from specviz.engine.config import _parse_float, _parse_int

    k_max = _parse_int("k_max", args.k_max)
    if not 1 <= k_max <= MAX_DRAFT_LENGTH:
        raise ConfigError("k_max", k_max, f"an integer from 1 to {MAX_DRAFT_LENGTH}")
    ops_ratio = config.draft_cost if args.ops_ratio is None else _parse_float("ops_ratio", args.ops_ratio)
    if ops_ratio < 0:
        raise ConfigError("ops_ratio", ops_ratio, "a finite number >= 0")
    alpha, k, c, v = config.acceptance_rate, config.draft_length, config.draft_cost, config.verify_overhead
    best_k, best_speedup = theory.optimal_k(alpha, c, k_max, v)
    data = {
        "alpha": alpha,
        "k": k,
        "draft_cost": c,
        "verify_overhead": v,
        "expected_tokens_per_round": theory.expected_tokens_per_round(alpha, k),
        "expected_speedup": theory.expected_speedup(alpha, k, c, v),
        "expected_draft_acceptance_rate": theory.draft_acceptance_rate(alpha, k),
        "per_position_acceptance": theory.per_position_acceptance(alpha, k),
        "optimal_k": best_k,
        "optimal_speedup": best_speedup,
        "k_max": k_max,
        "ops_ratio": ops_ratio,
        "ops_factor": theory.ops_factor(alpha, k, ops_ratio),
    }
    if args.json:
        _print_json(data)
    else:
        from rich.console import Console

        from specviz.report import render_theory

        render_theory(Console(), data)
    return 0


def command_replay(args: argparse.Namespace) -> int:
    from specviz.engine.trace import ReplaySimulation

    given = given_simulation_flags(args)
    if given:
        raise UsageError(f"{given[0]} cannot be used with replay: the trace fixes the configuration")
    simulation = ReplaySimulation.from_file(args.file)
    from specviz.app import run_app

    return run_app(simulation.config, simulation=simulation)


def command_app(args: argparse.Namespace, config: SimConfig) -> int:
    from specviz.app import run_app

    # The app builds its models after its first frame. A corpus the person
    # named is read here first, so a bad file is one line and exit 2, as for
    # every other command, not an error inside the app.
    simulation = None
    if config.corpus is not None:
        from specviz.engine.simulation import Simulation

        simulation = Simulation(config)
    return run_app(config, simulation=simulation)


if __name__ == "__main__":
    raise SystemExit(main())
