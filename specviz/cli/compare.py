"""`specviz compare`: every verification method and draft policy in one table.

The grid and every number come from `specviz.engine.analysis.compare`, the
table from `specviz.render.compare`; this module registers the command and
runs it.
"""

from __future__ import annotations

import argparse

from specviz.cli.options import (
    Commands,
    UsageError,
    add_simulation_options,
    config_from_args,
    console,
    given_simulation_flags,
    print_json,
    redescribe_options,
    wrap,
)
from specviz.cli.progress import add_allow_long_option, refuse_long_work, stderr_progress
from specviz.engine.analysis.compare import (
    AUDIT_TOKENS,
    DEFAULT_AUDIT_SAMPLES,
    DEFAULT_TARGET_LENGTH,
    MAX_AUDIT_SAMPLES,
    compare,
    comparison_plan,
    estimate_comparison,
    parse_audit_samples,
)
from specviz.engine.run.config import MAX_TARGET_LENGTH

# Every example here is run by tests/cli/test_compare_command.py.
EXAMPLES = """examples:
  specviz compare                                  every method and policy
  specviz compare -k 4 -a 0.8 --draft-cost 0.05    other k, alpha, draft cost
  specviz compare --grid --audit-samples 0         all 12 pairs, no audit
  specviz compare --method speculative             one method, every policy
  specviz compare --json                           rows and config as JSON
  specviz compare --model ngram -n 300 --audit-samples 500
                                                   real n-gram models, quickly
  specviz compare --method speculative --trees -k 4 -n 200 --audit-samples 200
                                                   chain vs trees of k nodes
"""

SUMMARY = "every method and draft policy side by side"

DESCRIPTION = (
    "Run every verification method (and draft-length policy) on the same model pair, seed and "
    "token budget, audit each method for losslessness, and print one table: tokens per target "
    "pass, draft acceptance rate, mean k per round, measured alpha and the speedup under the cost "
    "model. By default: every method with the fixed policy, then speculative sampling with each "
    "other policy. Lossy methods (typical) are marked LOSSY."
)

# How compare reads the simulation options that describe one run: the
# generic help would state the wrong meaning or default. (text, default)
REDESCRIBED = {
    "method": ("only this method's rows, under every draft policy", "every method"),
    "draft_policy": (
        "only this policy's rows, for every method",
        "fixed for every method, then speculative with each policy",
    ),
    "target_length": (f"tokens each row generates, 1 to {MAX_TARGET_LENGTH:,}", str(DEFAULT_TARGET_LENGTH)),
}


def add_parser(commands: Commands) -> argparse.ArgumentParser:
    parser = commands.add_parser("compare", help=SUMMARY, description=wrap(DESCRIPTION), epilog=EXAMPLES)
    add_simulation_options(parser)
    redescribe_options(parser, REDESCRIBED)
    rows = parser.add_argument_group("comparison")
    rows.add_argument("--grid", action="store_true", help="run every method with every draft policy")
    rows.add_argument(
        "--trees",
        action="store_true",
        help="also the chain of k drafts against token trees verifying k nodes a pass "
        "(EAGLE-2's dynamic tree, distinct and i.i.d. dynamic trees, a full tree of width 2), each audited",
    )
    rows.add_argument(
        "--argmax-row",
        action="store_true",
        help="also the first row with an argmax draft (--draft-sampling argmax), beside sampling from q",
    )
    rows.add_argument(
        "--audit-samples",
        default=str(DEFAULT_AUDIT_SAMPLES),
        metavar="N",
        help=f"samples of the first {AUDIT_TOKENS} tokens from the prompt per method audit, 0 (no audit) to "
        f"{MAX_AUDIT_SAMPLES:,} "
        f"(default: {DEFAULT_AUDIT_SAMPLES})",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help='print one JSON object {"rows": [...], "config": {...}}')
    output.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (by default one shows on stderr when stderr is a terminal)",
    )
    add_allow_long_option(output)
    return parser


def run(args: argparse.Namespace) -> int:
    audit_samples = parse_audit_samples(args.audit_samples)
    given = [flag for flag in given_simulation_flags(args) if flag.startswith("--tree-")]
    if given:
        raise UsageError(f"{given[0]} cannot be used with compare: --trees builds its own trees of k nodes (-k)")
    # Without --method (--draft-policy) every method (policy) runs: each one's own knobs are read.
    config = config_from_args(args, every=[name for name in ("method", "draft_policy") if not hasattr(args, name)])
    if not hasattr(args, "target_length"):
        config = config.replace(target_length=DEFAULT_TARGET_LENGTH)
    plan = comparison_plan(
        method=config.method if hasattr(args, "method") else None,
        draft_policy=config.draft_policy if hasattr(args, "draft_policy") else None,
        grid=args.grid,
    )
    from specviz.engine.models.pair import build_model

    model = build_model(config)
    if not args.allow_long:
        estimate = estimate_comparison(config, plan, audit_samples, model)
        refuse_long_work("this comparison", estimate.seconds, estimate.work, "timed by a short calibration run")
    with stderr_progress("comparing", enabled=not args.no_progress) as report:
        comparison = compare(
            config, plan, audit_samples, model=model, progress=report, tree_rows=args.trees, argmax_row=args.argmax_row
        )
    if args.json:
        print_json(comparison)
        return 0
    from specviz.render.compare import render_comparison

    render_comparison(console(), comparison)
    return 0
