"""`specviz audit`: losslessness, the first M emitted tokens' joint frequencies against the target's law."""

from __future__ import annotations

import argparse

from specviz.cli.options import (
    Commands,
    add_simulation_options,
    config_from_args,
    console,
    print_json,
    redescribe_options,
    wrap,
)
from specviz.cli.progress import add_allow_long_option, pace_check, stderr_progress, throttled
from specviz.engine.analysis.defaults import DEFAULT_SAMPLES, DEFAULT_TOKENS, MAX_SAMPLES, MAX_TOKENS
from specviz.engine.run.config import ConfigError

SUMMARY = "losslessness: the first M emitted tokens' joint frequencies against the target's law"
DEFAULT_TOP_TOKENS = 10
PROGRESS_AFTER_S = 0.5  # an audit shorter than this never shows a bar

EXAMPLES = """examples:
  specviz audit                                   20,000 samples of the first 2 tokens after the prompt
  specviz audit --tokens 1                        the first token only (blind past position 1)
  specviz audit -k 1                              k = 1: token 2 is the bonus, so it is tested too
  specviz audit --context "the old" --samples 50000
  specviz audit --method typical --json           a lossy method: expect it to fail
"""


# The audit ignores -n (see the description); the generic help would say otherwise.
REDESCRIBED = {"target_length": ("not used: each sample runs full rounds of k drafts until M tokens are out", None)}
# Flags an audit does not read, and why (said in a note when one is given).
UNPRICED = "an audit counts tokens and prices no pass"
NOT_READ = {
    "target_length": "each sample runs full rounds of k drafts until --tokens M are out",
    "draft_cost": UNPRICED,
    "target_pass_ms": UNPRICED,
    "verify_overhead": UNPRICED,
    "cost_model": UNPRICED,
    "context_length": UNPRICED,
}


def add_parser(commands: Commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "audit",
        help=SUMMARY,
        description=wrap(
            "From one fixed context, start afresh N times and run rounds until M tokens are emitted; test "
            "the frequencies of those M-token sequences against the target's law there, p(x1) p(x2 | x1) ... computed "
            "exactly from p (greedy: the argmax path), with a chi-square goodness-of-fit test (sequences expected "
            "fewer than 5 times pooled into one cell) and the total-variation distance. A lossless method passes; a "
            "lossy one (typical acceptance) should fail given enough samples. Each sample runs full rounds of k "
            "drafts; -n is not used. A full round's bonus is token k + 1, so it is tested only when M > k."
        ),
        epilog=EXAMPLES,
    )
    add_simulation_options(parser)
    redescribe_options(parser, REDESCRIBED)
    checks = parser.add_argument_group("audit")
    checks.add_argument(
        "--samples",
        default=str(DEFAULT_SAMPLES),
        metavar="N",
        help=f"fresh starts from the context, each run to M tokens, 1 to {MAX_SAMPLES:,} (default: {DEFAULT_SAMPLES:,})",
    )
    checks.add_argument(
        "--tokens",
        default=str(DEFAULT_TOKENS),
        metavar="M",
        help=f"emitted tokens tested jointly, 1 to {MAX_TOKENS} (default: {DEFAULT_TOKENS}); 1 tests the first token "
        "alone, which nothing after position 1 of a round can change; a larger M spreads the samples over more "
        "sequences, so raise --samples with it",
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
        help=f"rows (tokens, or M-token sequences) listed in the table, 1 to 1,000 (default: {DEFAULT_TOP_TOKENS})",
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
    from specviz.engine.analysis.audit import audit, parse_samples, parse_tokens
    from specviz.engine.run.config import parse_int
    from specviz.render.audit import audit_verdict, render_audit

    if args.context is not None and hasattr(args, "prompt"):
        raise ConfigError("context", args.context, "either --context or --prompt, not both (they name the same text)")
    config = config_from_args(args, NOT_READ)
    if args.context is not None:
        config = config.replace(prompt=args.context)
    samples = parse_samples(args.samples)
    tokens = parse_tokens(args.tokens)
    top = parse_int("tokens_shown", args.tokens_shown)
    if not 1 <= top <= 1000:
        raise ConfigError("tokens_shown", top, "an integer from 1 to 1,000")
    check = None if args.allow_long else pace_check("this audit", "samples")
    with stderr_progress("auditing", "samples", enabled=not args.no_progress, delay=PROGRESS_AFTER_S) as report:
        result = audit(config, samples, tokens=tokens, progress=throttled(report, check))
    if args.json:
        data = result.to_dict()
        data["top_tokens"] = result.top_tokens(top)
        data["seed"] = config.seed
        data["verdict"] = audit_verdict(result)
        print_json(data)
    else:
        render_audit(result, config.seed, top, console(highlight=False))
    return 0
