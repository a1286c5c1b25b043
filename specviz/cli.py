"""The command line: `specviz` opens the app; `specviz run`, `theory`, ... are headless.

Thin by design: flags are parsed as text and handed to the engine's
`config_from_text`, so the rules and the error words are the engine's. Headless
commands never import textual (the app module is imported only to launch it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any, Sequence

from specviz.cli_analysis import ANALYSIS_COMMANDS, add_analysis_commands, run_analysis_command
from specviz.engine.config import MAX_DRAFT_LENGTH, ConfigError, SimConfig, config_from_text

EXIT_USAGE = 2

# (flags, SimConfig field, help). Defaults and ranges come from SimConfig and
# its validation, so the help text cannot drift from the rules.
SIMULATION_OPTIONS: list[tuple[tuple[str, ...], str, str]] = [
    (("-k", "--draft-length"), "draft_length", f"tokens the draft model proposes per round, 1 to {MAX_DRAFT_LENGTH}"),
    (("-a", "--acceptance-rate"), "acceptance_rate", "alpha for the synthetic pair: sum_x min(p, q) in every context, 0 to 1"),
    (("-n", "--target-length"), "target_length", "tokens to generate, >= 1"),
    (("--draft-cost",), "draft_cost", "cost of a draft pass / cost of a target pass (c), >= 0"),
    (("--seed",), "seed", "random seed, an integer >= 0"),
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


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the fix, exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _default_text(field_name: str) -> str:
    default = {f.name: f.default for f in dataclasses.fields(SimConfig)}[field_name]
    return "none" if default is None else str(default)


def add_simulation_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("simulation")
    for flags, field_name, text in SIMULATION_OPTIONS:
        choices = _choices(field_name)
        extra = f"; one of {', '.join(choices)}" if choices else ""
        group.add_argument(
            *flags,
            dest=field_name,
            # SUPPRESS: a flag not given leaves no attribute, so flags given
            # before the command are not overwritten by the command's defaults.
            default=argparse.SUPPRESS,
            metavar=field_name.split("_")[0].upper() if not choices else "NAME",
            help=f"{text}{extra} (default: {_default_text(field_name)})",
        )


def _choices(field_name: str) -> tuple[str, ...]:
    if field_name == "model":
        from specviz.engine.models import model_names

        return model_names()
    if field_name == "method":
        from specviz.engine.methods import method_names

        return method_names()
    if field_name == "draft_policy":
        from specviz.engine.policies import policy_names

        return policy_names()
    return ()


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """SimConfig from the flags given; raises ConfigError."""
    given = {
        field_name: getattr(args, field_name)
        for _, field_name, _ in SIMULATION_OPTIONS
        if getattr(args, field_name, None) is not None
    }
    return config_from_text(SimConfig(), given)


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="specviz",
        description="See and reason about speculative decoding. Without a command, opens the app.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    add_simulation_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)

    run = commands.add_parser("run", help="simulate headless and report", description="Simulate a run headless and report it.")
    add_simulation_options(run)
    run.add_argument("--json", action="store_true", help="print one JSON object instead of the report")

    theory = commands.add_parser(
        "theory", help="closed forms for i.i.d. acceptance", description="Closed-form expectations (Leviathan et al. 2023)."
    )
    add_simulation_options(theory)
    theory.add_argument("--k-max", default=str(MAX_DRAFT_LENGTH), metavar="K",
                        help=f"largest k the optimal-k search tries, 1 to {MAX_DRAFT_LENGTH} (default: {MAX_DRAFT_LENGTH})")
    theory.add_argument("--ops-ratio", default=None, metavar="C_OPS",
                        help="draft/target ratio of operations per token for the operations factor, >= 0 (default: the draft cost)")
    theory.add_argument("--json", action="store_true", help="print one JSON object")
    add_analysis_commands(commands)
    return parser


EXAMPLES = """examples:
  specviz                              open the app with the defaults
  specviz run -k 5 -a 0.8 -n 200       simulate 200 tokens and print the report
  specviz run -n 1000000 --json        one JSON object with every statistic
  specviz theory -k 5 -a 0.8 --json    closed forms: E[tokens], speedup, optimal k
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in ANALYSIS_COMMANDS:
            return run_analysis_command(args)
        config = config_from_args(args)
        if args.command == "run":
            return command_run(args, config)
        if args.command == "theory":
            return command_theory(args, config)
        return command_app(args, config)
    except ConfigError as error:
        prog = f"specviz {args.command}" if args.command else "specviz"
        print(f"{prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("specviz: interrupted", file=sys.stderr)
        return 130


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")


def command_run(args: argparse.Namespace, config: SimConfig) -> int:
    from specviz.engine.simulation import Simulation

    simulation = Simulation(config)
    simulation.run()
    summary = simulation.summary()
    if args.json:
        _print_json(summary)
    else:
        _print_plain_summary(summary)
    return 0


def _print_plain_summary(summary: dict[str, Any]) -> None:
    for key, value in summary.items():
        if key not in ("config", "text", "prompt"):
            print(f"{key}: {value}")
    print(f"text: {summary['prompt']} {summary['text'][:400]}")


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
        for key, value in data.items():
            print(f"{key}: {value}")
    return 0


def command_app(args: argparse.Namespace, config: SimConfig) -> int:
    from specviz.app import run_app

    return run_app(config)


if __name__ == "__main__":
    raise SystemExit(main())
