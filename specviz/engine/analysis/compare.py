"""Every verification method and draft policy on one model pair, side by side
(and, when asked, the first row again with an argmax draft).

`specviz compare` (and any front end) asks `comparison_plan` which rows to run
and `compare` to run them: each row is a whole run with the same model pair,
seed and token budget, differing only in its method and draft policy, plus a
losslessness audit (audit.py) of its method: the joint law of its first
AUDIT_TOKENS emitted tokens. Rows are plain dicts, so the
rich table, `--json` and the tests all read the same numbers.

The audit tests the verification rule, so it runs once per method (with the
policy of that method's first row) and its rows share the verdict: a draft
policy only decides how many tokens a round drafts, never which are kept, so
it cannot change what the emitted tokens follow.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from specviz.engine.catalog import method_names, policy_names
from specviz.engine.run.config import (
    BATCH_TABLE_POLICY,
    MAX_TREE_WIDTH,
    ConfigError,
    SimConfig,
    full_tree_nodes,
    parse_int,
)

# The command line reads this module's defaults to build its help, for every
# command (the app too): the engine itself (numpy) is imported when a
# comparison runs, and the audit module (and with it scipy, most of a second
# to import) only when an audit runs.
if TYPE_CHECKING:
    from specviz.engine.analysis.audit import AuditResult
    from specviz.engine.analysis.workload import Estimate
    from specviz.engine.models.pair import ModelPair
    from specviz.engine.run.simulation import Simulation

DEFAULT_TARGET_LENGTH = 2_000  # tokens per row: ~3 s in all on the synthetic pair, ~10 s with --model ngram
DEFAULT_AUDIT_SAMPLES = 2_000  # samples per audit: catches typical's bias many times over
# Each audit tests the joint law of the first 2 emitted tokens, as `specviz
# audit` does by default: ~1.3x the cost of the first token alone on the
# synthetic pair, 1-2x on the n-gram pair (2-4 s a method at 2,000 samples;
# see defaults.py), and it sees a draft kept at position 2, which the first
# token cannot.
AUDIT_TOKENS = 2
MAX_AUDIT_SAMPLES = 1_000_000  # about half an hour per method with --model ngram
# Rounds between progress reports: a few hundred ms of engine time at most.
CHUNK_ROUNDS = 256

AUDIT_SAMPLES_LABEL = "audit sample count (--audit-samples)"

# (units of work done, units in all, what is running), after each chunk.
ProgressCallback = Callable[[int, int, str], None]


def parse_audit_samples(text: str) -> int:
    """The --audit-samples text as a count; 0 skips the audit. Raises ConfigError."""
    value = parse_int(AUDIT_SAMPLES_LABEL, text)
    if not 0 <= value <= MAX_AUDIT_SAMPLES:
        raise ConfigError(AUDIT_SAMPLES_LABEL, value, f"an integer from 0 (no audit) to {MAX_AUDIT_SAMPLES:,}")
    return value


def comparison_plan(
    method: str | None = None, draft_policy: str | None = None, grid: bool = False
) -> list[tuple[str, str]]:
    """The (method, policy) rows to run.

    By default every method with the fixed policy, then speculative sampling
    with each other policy: each method against the same k, and each policy
    against the same (standard) rule. `grid` runs every pair. A given method
    or policy fixes that axis and lets the other one vary. The batch-table
    policy runs only when asked for: it needs a table (--k-by-batch-size).
    """
    methods = method_names() if method is None else (method,)
    policies = tuple(p for p in policy_names() if p != BATCH_TABLE_POLICY) if draft_policy is None else (draft_policy,)
    if grid or method is not None or draft_policy is not None:
        return [(m, p) for m in methods for p in policies]
    first_policy, baseline_method = policies[0], methods[0]  # fixed, speculative
    rows = [(m, first_policy) for m in methods]
    rows += [(baseline_method, p) for p in policies if p != first_policy]
    return rows


# Tree rows (`--trees`): the chain of k drafts against trees that verify the
# same k nodes a pass, so the extra tokens per pass are bought with the same
# verification work, and the cost model says what the node count costs.
TREE_ROW_WIDTH = 4


def tree_plan(config: SimConfig) -> list[tuple[str, dict[str, Any]]]:
    """(label, the SimConfig changes) of each tree row, the chain of k first.

    At k nodes: EAGLE-2's dynamic tree (top-w candidates grown by q's path
    product), the same budget drawn distinct or i.i.d., a static tree with two
    candidates at each depth along the first one (Medusa-style paths), and
    the full tree of width 2 when it has exactly k nodes.
    """
    k = config.draft_length
    width = min(TREE_ROW_WIDTH, MAX_TREE_WIDTH)
    rows: list[tuple[str, dict[str, Any]]] = [(f"chain, k = {k}", {})]
    for sampling, name in (
        ("top", "dynamic top-w (EAGLE-2)"),
        ("distinct", "dynamic distinct"),
        ("iid", "dynamic i.i.d."),
    ):
        rows.append((f"{name}, w = {width}", {"tree_budget": k, "tree_width": width, "tree_sampling": sampling}))
    if k >= 2:
        # [0], [1], [0, 0], [0, 1], [0, 0, 0], ...: k paths.
        paths = [[0] * (i // 2) + [i % 2] for i in range(k)]
        shape = json.dumps(paths, separators=(",", ":"))
        rows.append((f"static, 2 a level, {k} nodes, distinct", {"tree_shape": shape, "tree_sampling": "distinct"}))
    depth = next((d for d in range(1, k + 1) if full_tree_nodes(2, d) == k), None)
    if depth is not None:
        rows.append((f"full w = 2, depth {depth}", {"tree_width": 2, "draft_length": depth}))
    return rows


def estimate_comparison(
    config: SimConfig, plan: Sequence[tuple[str, str]], audit_samples: int, model: ModelPair
) -> Estimate:
    """How long `compare` would take: a short calibration run of the first row
    times a round; each audit sample is one round too."""
    from specviz.engine.analysis.workload import Estimate, measure_pace, run_seconds

    method, policy = plan[0]
    row = config.replace(method=method, draft_policy=policy)
    pace = measure_pace(row, model, max_rounds=config.target_length)
    audits = len(set(m for m, _ in plan)) if audit_samples else 0
    seconds = len(plan) * run_seconds(pace, config.target_length) + audits * audit_samples * pace.seconds_per_round
    work = f"{len(plan)} runs of {config.target_length:,} tokens"
    if audits:
        work += f" and {audits} audits of {audit_samples:,} rounds"
    return Estimate(seconds, work)


def compare(
    config: SimConfig,
    plan: Sequence[tuple[str, str]] | None = None,
    audit_samples: int = DEFAULT_AUDIT_SAMPLES,
    model: ModelPair | None = None,
    progress: ProgressCallback | None = None,
    tree_rows: bool = False,
    argmax_row: bool = False,
) -> dict[str, Any]:
    """Run every row of `plan` on `config`'s model pair, seed and token budget;
    with `argmax_row`, the first row again with an argmax draft.

    Returns {"rows": [row dict, ...], "config": {...}}: the `specviz compare
    --json` object. `config`'s own method and policy are replaced row by row.
    With `tree_rows`, "tree_rows" holds the chain of k against trees of k
    nodes (tree_plan), each audited.
    """
    if plan is None:
        plan = comparison_plan()
    if not 0 <= audit_samples <= MAX_AUDIT_SAMPLES:
        raise ConfigError(AUDIT_SAMPLES_LABEL, audit_samples, f"an integer from 0 (no audit) to {MAX_AUDIT_SAMPLES:,}")
    # One model for every row: the pair does not depend on the method or the
    # policy, and building the n-gram pair is the slow part of a short run.
    from specviz.engine.analysis.audit import audit
    from specviz.engine.models.pair import build_model
    from specviz.engine.run.simulation import Simulation

    if model is None:
        model = build_model(config)

    # The first row again with the draft proposing its most likely token
    # (--draft-sampling argmax, vLLM's default), beside sampling from q: a
    # context-keyed pair's argmax draft is a view of the same pair.
    rows_to_run: list[tuple[str, str, str]] = [(m, p, config.draft_sampling) for m, p in plan]
    if argmax_row and plan and config.draft_sampling == "sample" and config.draft is None and model.context_keyed:
        rows_to_run.append((plan[0][0], plan[0][1], "argmax"))
    audited = list(dict.fromkeys((m, sampling) for m, _, sampling in rows_to_run)) if audit_samples else []
    trees = tree_plan(config) if tree_rows else []
    runs = len(rows_to_run) + len(trees)
    total = runs * config.target_length + (len(audited) + len(trees)) * audit_samples
    done = 0
    audits: dict[tuple[str, str], tuple[str, AuditResult]] = {}
    rows = []
    argmax_model: ModelPair | None = None
    for method, policy, sampling in rows_to_run:
        table = config.k_by_batch_size if policy == BATCH_TABLE_POLICY else None
        row_config = config.replace(method=method, draft_policy=policy, k_by_batch_size=table, draft_sampling=sampling)
        row_model = model
        if sampling != config.draft_sampling:
            if argmax_model is None:
                from specviz.engine.models.drafters import ArgmaxDraftPair

                argmax_model = ArgmaxDraftPair(model)
            row_model = argmax_model
        simulation = Simulation(row_config, row_model)
        label = f"{method} / {policy}" + ("" if sampling == "sample" else f" / {sampling} draft")
        while not simulation.done:
            simulation.run(max_rounds=CHUNK_ROUNDS)
            if progress is not None:
                progress(done + simulation.emitted, total, f"running {label}")
        done += config.target_length
        key = (method, sampling)
        if audit_samples and key not in audits:
            if progress is not None:
                progress(done, total, f"auditing {method}")
            # The audit runs full rounds of k drafts whatever the row's n says
            # (audit.audit_config): at n = 1 a row drafts nothing to judge.
            sampled = _audit_progress(progress, done, total, method)
            audits[key] = (
                policy,
                audit(row_config, audit_samples, model=row_model, tokens=AUDIT_TOKENS, progress=sampled),
            )
            done += audit_samples
            if progress is not None:
                progress(done, total, f"audited {method}")
        rows.append(_row(simulation, audits.get(key)))
    result: dict[str, Any] = {"rows": rows, "config": _config_dict(config, audit_samples)}
    if trees:
        result["tree_rows"] = []
        for label, changes in trees:
            row_config = config.replace(method="speculative", draft_policy="fixed", k_by_batch_size=None, **changes)
            simulation = Simulation(row_config, model)
            while not simulation.done:
                simulation.run(max_rounds=CHUNK_ROUNDS)
                if progress is not None:
                    progress(done + simulation.emitted, total, f"running {label}")
            done += config.target_length
            tree_audit = None
            if audit_samples:
                # Each tree verifies its own way: each gets its own audit.
                sampled = _audit_progress(progress, done, total, label)
                tree_audit = (
                    "fixed",
                    audit(row_config, audit_samples, model=model, tokens=AUDIT_TOKENS, progress=sampled),
                )
                done += audit_samples
            row = _row(simulation, tree_audit)
            stats = simulation.stats
            row["drafting"] = label
            row["tree"] = None if simulation.tree is None else simulation.tree.shape.describe()
            row["nodes_per_pass"] = stats.drafted / stats.rounds if stats.rounds else None
            row["lossless_claim"] = simulation.method.lossless
            result["tree_rows"].append(row)
    return result


def _audit_progress(
    progress: ProgressCallback | None, done: int, total: int, method: str
) -> Callable[[int, int], None] | None:
    """The audit's `progress(samples, samples in all)`, called after every
    sample, passed on as the comparison's every CHUNK_ROUNDS samples (a UI
    thread need not hear of each one)."""
    if progress is None:
        return None

    def sampled(samples: int, samples_in_all: int) -> None:
        if samples % CHUNK_ROUNDS == 0 or samples == samples_in_all:
            progress(done + samples, total, f"auditing {method}")

    return sampled


def _row(simulation: Simulation, audited: tuple[str, AuditResult] | None) -> dict[str, Any]:
    from specviz.engine.verification.methods import method_class

    config, stats = simulation.config, simulation.stats
    cost = simulation.cost()
    method = method_class(config.method)
    row: dict[str, Any] = {
        "method": config.method,
        "policy": config.draft_policy,
        # "sample" (x ~ q) or "argmax" (the draft's most likely token, q a point mass)
        "draft_sampling": config.draft_sampling,
        "lossless_claim": method.lossless,
        # What a lossless method's output follows: "p" or "argmax" (p's greedy
        # decoding); None for a lossy method.
        "lossless_against": method.lossless_against,
        "audit": None if audited is None else _audit_dict(*audited),
        "tokens": stats.emitted,
        "target_passes": stats.rounds,
        "draft_passes": stats.draft_passes,
        "drafted": stats.drafted,
        "accepted": stats.accepted,
        "corrections": stats.corrections,
        "bonus": stats.bonus,
        "tokens_per_target_pass": stats.tokens_per_target_pass,
        "mean_acceptance_length": stats.mean_acceptance_length,
        "draft_acceptance_rate": stats.draft_acceptance_rate,
        # Tokens drafted per round; a dynamic policy moves it away from -k.
        "mean_draft_length": stats.drafted / stats.rounds if stats.rounds else 0.0,
        # Mean sum_x min(p, q), and the method's own chance of keeping a draft,
        # where one was tested: equal under speculative sampling only.
        "empirical_alpha": stats.empirical_alpha,
        "method_keep_rate": stats.method_keep_rate,
        "speedup": cost.speedup,
        "cost_ms": cost.to_dict(),
    }
    return row


def _audit_dict(policy: str, result: AuditResult) -> dict[str, Any]:
    data = result.to_dict()
    data["policy"] = policy  # the policy of the row the audit ran with
    # A token the reference rules out gives an infinite statistic; JSON has no inf.
    if not math.isfinite(data["chi2_statistic"]):
        data["chi2_statistic"] = None
    return data


def _config_dict(config: SimConfig, audit_samples: int) -> dict[str, Any]:
    from specviz.engine.analysis.audit import SIGNIFICANCE

    data = config.to_dict()
    # Each row has its own method, policy and draft sampling; the base config's would mislead.
    del data["method"], data["draft_policy"], data["draft_sampling"]
    data["audit_samples"] = audit_samples
    data["audit_tokens"] = AUDIT_TOKENS
    data["audit_significance"] = SIGNIFICANCE
    return data
