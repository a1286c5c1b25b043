"""`specviz replay FILE`: open the app on a recorded run."""

from __future__ import annotations

import argparse

from specviz.cli.options import SIMULATION_OPTIONS, Commands, UsageError, given_simulation_flags, wrap

SUMMARY = "open the app on a recorded run"

EXAMPLES = """examples:
  specviz run -n 500 --trace run.jsonl && specviz replay run.jsonl
"""


def add_parser(commands: Commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "replay",
        help=SUMMARY,
        description=wrap("Open the app on a run recorded with 'specviz run --trace', to step through its rounds."),
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "file", metavar="FILE", help="a trace written by 'specviz run --trace FILE' (JSON lines or .npz)"
    )
    # Accepted here too (`specviz replay run.jsonl -k 5`), not offered, so that
    # run() explains that the trace fixes them rather than argparse calling
    # them unrecognized, as it does for flags given before the command.
    for flags, field_name, _ in SIMULATION_OPTIONS:
        parser.add_argument(*flags, dest=field_name, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def run(args: argparse.Namespace) -> int:
    from specviz.engine.io.trace import ReplaySimulation

    given = given_simulation_flags(args)
    if given:
        raise UsageError(f"{given[0]} cannot be used with replay: the trace fixes the configuration")
    simulation = ReplaySimulation.from_file(args.file)
    import specviz.app

    return specviz.app.run_app(simulation.config, simulation=simulation)
