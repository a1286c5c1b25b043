"""`specviz theory`: the closed forms for i.i.d. acceptance."""

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
    wrap,
)
from specviz.engine.catalog import model_sets_alpha
from specviz.engine.run.config import (
    BATCH_TABLE_POLICY,
    MAX_DRAFT_COST,
    MAX_DRAFT_LENGTH,
    ConfigError,
    SimConfig,
    starting_draft_length,
)

SUMMARY = "closed forms for i.i.d. acceptance"

EXAMPLES = """examples:
  specviz theory -k 5 -a 0.8                  expected tokens per round, speedup, optimal k
  specviz theory -a 0.8 --draft-cost 0.02 --json
"""


def add_parser(commands: Commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "theory",
        help=SUMMARY,
        description=wrap(
            "Closed-form expectations for i.i.d. acceptance (Leviathan et al. 2023): tokens per "
            "round, speedup, draft acceptance rate, per-position acceptance, optimal k and the "
            "operations factor."
        ),
        epilog=EXAMPLES,
    )
    add_simulation_options(parser)
    parser.add_argument(
        "--k-max",
        default=str(MAX_DRAFT_LENGTH),
        metavar="K",
        help=f"largest k the optimal-k search tries, 1 to {MAX_DRAFT_LENGTH} (default: {MAX_DRAFT_LENGTH})",
    )
    parser.add_argument(
        "--ops-ratio",
        default=None,
        metavar="C_OPS",
        help="draft/target ratio of operations per token for the operations factor, >= 0 (default: the draft cost)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


# What the closed forms never read: they take alpha, k and the cost options only.
CLOSED_FORMS = "the closed forms take only alpha, k and the cost options"
NOT_READ = {
    "seed": CLOSED_FORMS + " (no run, no random numbers)",
    "target_length": CLOSED_FORMS + " (per round, for any length)",
    "method": CLOSED_FORMS + " (speculative sampling's i.i.d. acceptance); `specviz run --method` measures one",
    "prompt": CLOSED_FORMS,
    "corpus": CLOSED_FORMS,
    "temperature": CLOSED_FORMS,
    "top_k": CLOSED_FORMS,
    "top_p": CLOSED_FORMS,
    "confidence_threshold": CLOSED_FORMS + " (a fixed k every round)",
    "typical_epsilon": CLOSED_FORMS,
    "typical_delta": CLOSED_FORMS,
}


def not_read(config: SimConfig) -> dict[str, str]:
    """NOT_READ, and the model pair and the policy where the closed forms ignore them."""
    unread = dict(NOT_READ)
    if not model_sets_alpha(config.model):
        unread["model"] = f"the closed forms take alpha from -a; the {config.model} pair's is measured by a run"
    if config.draft_policy != BATCH_TABLE_POLICY:
        unread["draft_policy"] = CLOSED_FORMS + " (a fixed k every round)"
    return unread


def run(args: argparse.Namespace) -> int:
    from specviz.engine.analysis import theory
    from specviz.engine.analysis.cost import cost_model_for
    from specviz.engine.run.config import parse_float, parse_int

    tree = [flag for flag in given_simulation_flags(args) if flag.startswith("--tree-")]
    if tree:
        raise UsageError(
            f"{tree[0]} cannot be used with theory: its closed forms are the chain's; a tree's expected "
            "length needs each node's acceptance chance, which a run measures (specviz run --tree-... --json)"
        )
    config = config_from_args(args, not_read)
    k_max = parse_int("k_max", args.k_max)
    if not 1 <= k_max <= MAX_DRAFT_LENGTH:
        raise ConfigError("k_max", k_max, f"an integer from 1 to {MAX_DRAFT_LENGTH}")
    ops_ratio = config.draft_cost if args.ops_ratio is None else parse_float("ops_ratio", args.ops_ratio)
    if not 0 <= ops_ratio <= MAX_DRAFT_COST:  # a cost ratio like c, bounded like it
        raise ConfigError("ops_ratio", ops_ratio, f"a number >= 0 and <= {MAX_DRAFT_COST:,.0f}")
    # Under the batch-table policy, the table's k at --batch-size (0: no speculation).
    k = starting_draft_length(config)
    alpha, c, v = config.acceptance_rate, config.draft_cost, config.verify_overhead
    cost = cost_model_for(config)
    best = theory.best_draft_length_under(alpha, cost, k_max)
    tokens = theory.expected_tokens_per_round(alpha, k)
    data = {
        "alpha": alpha,
        "k": k,
        "draft_cost": c,
        "verify_overhead": v,
        "expected_tokens_per_round": tokens,
        # At the chosen batch size (the constant-ratio model does not depend on it).
        "expected_speedup": cost.expected_speedup(tokens, k),
        "expected_draft_acceptance_rate": theory.draft_acceptance_rate(alpha, k) if k else None,
        "per_position_acceptance": theory.per_position_acceptance(alpha, k),
        # Where no k maximises S (free drafts), optimal_k is the smallest k within
        # 1% of the supremum and the note says so; both null for a true maximiser.
        "optimal_k": best.k,
        "optimal_speedup": best.speedup,
        "speedup_supremum": best.supremum,
        "optimal_k_note": best.note,
        "k_max": k_max,
        "ops_ratio": ops_ratio,
        "ops_factor": theory.ops_factor(alpha, k, ops_ratio),
        "cost_model": cost.describe(),
        "plain_pass_ms": cost.target_pass_ms,
        "verify_pass_ms": cost.verify_pass_ms(k),
        "draft_ms_per_round": cost.draft_ms_per_round(k),
        **theory.by_batch_size(alpha, k, cost, k_max),
    }
    if args.json:
        print_json(data)
    else:
        from specviz.render.report import render_theory

        render_theory(console(), data)
    return 0
