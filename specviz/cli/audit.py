"""`specviz audit`: losslessness, the emitted tokens' frequencies against the target's distribution."""

from __future__ import annotations

import argparse
from typing import Any

from specviz.cli.options import add_simulation_options, config_from_args, console, print_json
from specviz.cli.progress import add_allow_long_option, pace_check, stderr_progress, throttled
from specviz.engine.analysis.defaults import DEFAULT_SAMPLES, MAX_SAMPLES
from specviz.engine.run.config import ConfigError

SUMMARY = "losslessness: first-token frequencies against the target's distribution"
DEFAULT_TOP_TOKENS = 10
PROGRESS_AFTER_S = 0.5  # an audit shorter than this never shows a bar

EXAMPLES = """examples:
  specviz audit                                   20,000 first tokens after the prompt, against p
  specviz audit --context "the old" --samples 50000
  specviz audit --method typical --json           a lossy method: expect it to fail
"""


def add_parser(commands: Any) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "audit",
        help=SUMMARY,
        description="Run a round from one fixed context N times and test the first emitted token's frequencies "
        "against the target's distribution there (chi-square goodness of fit, total-variation distance). A "
        "lossless method passes; a lossy one (typical acceptance) should fail given enough samples.",
        epilog=EXAMPLES,
    )
    add_simulation_options(parser)
    checks = parser.add_argument_group("audit")
    checks.add_argument(
        "--samples",
        default=str(DEFAULT_SAMPLES),
        metavar="N",
        help=f"rounds to sample, 1 to {MAX_SAMPLES:,} (default: {DEFAULT_SAMPLES:,})",
    )
    checks.add_argument(
        "--context",
        default=None,
        metavar="TEXT",
        help="the fixed context to sample from (default: the prompt, --prompt)",
    )
    checks.add_argument(
        "--tokens-shown",
        default=str(DEFAULT_TOP_TOKENS),
        metavar="N",
        help=f"tokens listed in the table, 1 to 1,000 (default: {DEFAULT_TOP_TOKENS})",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    output.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (by default one shows on stderr when stderr is a terminal and the audit takes "
        "over half a second)",
    )
    add_allow_long_option(output)
    return parser


def run(args: argparse.Namespace) -> int:
    from specviz.engine.analysis.audit import audit, parse_samples
    from specviz.engine.run.config import parse_int
    from specviz.render.audit import audit_verdict, render_audit

    if args.context is not None and hasattr(args, "prompt"):
        raise ConfigError("context", args.context, "either --context or --prompt, not both (they name the same text)")
    config = config_from_args(args)
    if args.context is not None:
        config = config.replace(prompt=args.context)
    samples = parse_samples(args.samples)
    top = parse_int("tokens_shown", args.tokens_shown)
    if not 1 <= top <= 1000:
        raise ConfigError("tokens_shown", top, "an integer from 1 to 1,000")
    check = None if args.allow_long else pace_check("this audit", "samples")
    with stderr_progress("auditing", "samples", enabled=not args.no_progress, delay=PROGRESS_AFTER_S) as report:
        result = audit(config, samples, progress=throttled(report, check))
    if args.json:
        data = result.to_dict()
        data["top_tokens"] = result.top_tokens(top)
        data["seed"] = config.seed
        data["verdict"] = audit_verdict(result)
        print_json(data)
    else:
        render_audit(result, config.seed, top, console(highlight=False))
    return 0
