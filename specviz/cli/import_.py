"""`specviz import`: read what real engines report, put it under specviz's names, and advise k.

The module is `import_` because `import` is a Python keyword; the command is `specviz import`.
"""

from __future__ import annotations

import argparse
import io
import sys
from typing import Any

from specviz.cli.options import (
    Commands,
    UsageError,
    add_simulation_options,
    config_from_args,
    console,
    print_json,
    wrap,
)
from specviz.engine.run.config import MAX_DRAFT_LENGTH, SimConfig

SUMMARY = "read an engine's speculative-decoding log or metrics and advise k"

# Every example here is run by tests/cli (in a scratch folder, in this order).
EXAMPLES = """examples:
  specviz run -k 4 -a 0.8 -n 5000 --emit vllm --emit-to vllm.log    a log to read (or use your engine's)
  specviz import vllm.log                     the figures, per-position rates and the advice on k
  specviz import vllm.log --draft-cost 0.05 --json
  specviz import vllm.log --cost-model llama3.1-8b-eagle-h100 --batch-size 16
  specviz import vllm.log --open              the app: the log's curves beside the closed forms

Piping works too: specviz run -n 5000 --emit vllm-prometheus | specviz import -
"""


def add_parser(commands: Commands) -> argparse.ArgumentParser:
    from specviz.engine.io.importers import IMPORTERS, format_names
    from specviz.engine.io.importers.derive import EXTRAPOLATIONS

    formats = "\n".join(f"  {importer.name:<20}{importer.reads}" for importer in IMPORTERS)
    parser = commands.add_parser(
        "import",
        help=SUMMARY,
        description=wrap(
            "Read the speculative-decoding figures a real engine printed (vLLM, SGLang, llama.cpp, "
            "TensorRT-LLM, TGI, Spec-Bench), recognising each format by its content; aggregate them "
            "per series (model, engine index, category) by summing counts; derive steps, mean "
            "acceptance length, draft acceptance rate, per-position and conditional rates and the "
            "i.i.d. alpha; and advise the draft length k with the cost model. Lines of no known "
            "format are skipped."
        ),
        epilog=f"formats:\n{formats}\n\n{EXAMPLES}",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="a log, a metrics scrape or JSON; - reads stdin")
    parser.add_argument(
        "--format",
        choices=format_names(),
        metavar="NAME",
        help="read only this format (default: recognise every format by its content); one of "
        + ", ".join(format_names()),
    )
    parser.add_argument(
        "-k",
        "--draft-length",
        dest="engine_draft_length",
        type=int,
        metavar="K",
        help=f"the draft length the engine ran with, for records that do not say (SGLang's "
        f"speculative_num_steps, Spec-Bench), 1 to {MAX_DRAFT_LENGTH}",
    )
    parser.add_argument(
        "--extrapolate",
        choices=EXTRAPOLATIONS,
        default="last",
        help="past the measured positions, each keeps the last measured conditional rate (last) or "
        "alpha_iid (iid) (default: last)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    parser.add_argument(
        "--open",
        action="store_true",
        help="open the app on the import: its per-position and speedup curves beside the closed forms "
        "(views 3 and 1), and i starts a run set up from it (k from the log, alpha from alpha_iid)",
    )
    parser.add_argument(
        "--series",
        metavar="LABEL",
        help="with --open, the series the app shows first, by its label or its number from 1 "
        "(default: the first; the command palette switches)",
    )
    add_simulation_options(parser, parts=("cost",))
    return parser


def run(args: argparse.Namespace) -> int:
    from specviz.engine.analysis.cost import cost_model_for
    from specviz.engine.io.importers import NoRecordError, import_stream
    from specviz.engine.io.importers.derive import summarise

    k = args.engine_draft_length
    if k is not None and not 1 <= k <= MAX_DRAFT_LENGTH:
        raise UsageError(f"invalid draft length -k: {k} (allowed: an integer from 1 to {MAX_DRAFT_LENGTH})")
    if args.files.count("-") > 1:
        raise UsageError("- (standard input) can be given once")
    if args.open and args.json:
        raise UsageError("--open and --json do not go together: --open shows the import in the app")
    if args.open and "-" in args.files:
        raise UsageError("--open cannot read - (standard input): the app reads its keys there; save the log to a file")
    if args.series is not None and not args.open:
        raise UsageError("--series picks the series the app shows: use it with --open")
    config = config_from_args(args)
    cost_model = cost_model_for(config)
    formats = [args.format] if args.format else None
    results = []
    for path in args.files:
        try:
            if path == "-":
                results.append(import_stream(_stdin(), "stdin", formats))
            else:
                with open(path, encoding="utf-8", errors="replace") as stream:
                    results.append(import_stream(stream, path, formats))
        except NoRecordError as error:
            raise UsageError(str(error)) from None
    data = summarise(results, cost_model, k, args.extrapolate)
    if args.open:
        return _open(config, data, args.series)
    if args.json:
        print_json(data)
        return 0
    from specviz.render.importer import render_import

    render_import(console(highlight=False), data)
    return 0


def _open(config: SimConfig, data: dict[str, Any], series: str | None) -> int:
    """The app on the import, at the series asked for; an unknown one is a usage error before the app starts."""
    from specviz.cli.app import launch
    from specviz.engine.io.importers.opened import OpenedImport, SeriesNotFound, find_series

    try:
        shown = 0 if series is None else find_series(data, series)
    except SeriesNotFound as error:
        raise UsageError(f"--series: {error}") from None
    return launch(config, imported=OpenedImport(data, config.section("cost"), shown))


def _stdin() -> Any:
    """Standard input as text that never fails to decode (a log may hold any bytes)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        return sys.stdin
    return io.TextIOWrapper(buffer, encoding="utf-8", errors="replace")
