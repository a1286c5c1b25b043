"""`specviz compare`: every verification method and draft policy in one table.

The grid and every number come from `specviz.engine.compare`; this module only
registers the command and renders the rows with rich. Headless: never imports
textual.
"""

from __future__ import annotations

import argparse
from typing import Any

from specviz.cli import (
    _choices,
    _print_json,
    _wrap,
    add_simulation_options,
    config_from_args,
)
from specviz.engine.compare import (
    DEFAULT_AUDIT_SAMPLES,
    DEFAULT_TARGET_LENGTH,
    MAX_AUDIT_SAMPLES,
    compare,
    comparison_plan,
    parse_audit_samples,
)
from specviz.engine.config import MAX_TARGET_LENGTH
from specviz.progress import stderr_progress

# Every example here is run by tests/cli/test_compare_command.py.
COMPARE_EXAMPLES = """examples:
  specviz compare                                  every method and policy
  specviz compare -k 4 -a 0.8 --draft-cost 0.05    other k, alpha, draft cost
  specviz compare --grid --audit-samples 0         all 12 pairs, no audit
  specviz compare --method speculative             one method, every policy
  specviz compare --json                           rows and config as JSON
  specviz compare --model ngram -n 300 --audit-samples 500
                                                   real n-gram models, quickly
"""

HELP = "every method and draft policy side by side"

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
    "draft_policy": ("only this policy's rows, for every method", "fixed for every method, then speculative with each policy"),
    "target_length": (f"tokens each row generates, 1 to {MAX_TARGET_LENGTH:,}", str(DEFAULT_TARGET_LENGTH)),
}


def add_compare_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register `specviz compare` on the `specviz` subparsers."""
    parser = subparsers.add_parser("compare", help=HELP, description=_wrap(DESCRIPTION), epilog=COMPARE_EXAMPLES)
    add_simulation_options(parser)
    for action in parser._actions:
        if action.dest in REDESCRIBED:
            text, default = REDESCRIBED[action.dest]
            names = _choices(action.dest)
            extra = f"; one of {', '.join(names)}" if names else ""
            action.help = f"{text}{extra} (default: {default})"
    rows = parser.add_argument_group("comparison")
    rows.add_argument("--grid", action="store_true", help="run every method with every draft policy")
    rows.add_argument(
        "--audit-samples", default=str(DEFAULT_AUDIT_SAMPLES), metavar="N",
        help=f"first tokens sampled from the prompt per method audit, 0 (no audit) to {MAX_AUDIT_SAMPLES:,} "
             f"(default: {DEFAULT_AUDIT_SAMPLES})",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print one JSON object {\"rows\": [...], \"config\": {...}}")
    output.add_argument(
        "--no-progress", action="store_true",
        help="no progress bar (by default one shows on stderr when stderr is a terminal)",
    )
    return parser


def command_compare(args: argparse.Namespace) -> int:
    audit_samples = parse_audit_samples(args.audit_samples)
    config = config_from_args(args)
    if not hasattr(args, "target_length"):
        config = config.replace(target_length=DEFAULT_TARGET_LENGTH)
    plan = comparison_plan(
        method=config.method if hasattr(args, "method") else None,
        draft_policy=config.draft_policy if hasattr(args, "draft_policy") else None,
        grid=args.grid,
    )
    with stderr_progress("comparing", enabled=not args.no_progress) as report:
        comparison = compare(config, plan, audit_samples, progress=report)
    if args.json:
        _print_json(comparison)
        return 0
    from rich.console import Console

    render_comparison(Console(), comparison)
    return 0


# ---- the table ------------------------------------------------------------------

LOSSY_STYLE = "bold red"
PASS_STYLE = "green"
FAIL_STYLE = "red"
BROKEN_STYLE = "bold red reverse"  # a lossless claim the audit refutes


def _claim(row: dict[str, Any]):
    from rich.text import Text

    if not row["lossless_claim"]:
        return Text("LOSSY", style=LOSSY_STYLE)
    return Text("argmax p" if row["lossless_against"] == "argmax" else "p")


def _pvalue(value: float) -> str:
    if value == 0.0:
        return "p < 1e-300"
    return f"p = {value:.2g}" if value < 0.01 else f"p = {value:.2f}"


def _audit_cell(row: dict[str, Any]):
    from rich.text import Text

    audited = row["audit"]
    if audited is None:
        return Text("-", style="dim")
    if row["lossless_claim"]:
        return Text("pass", style=PASS_STYLE) if audited["lossless"] else Text("FAIL", style=BROKEN_STYLE)
    # A lossy rule failing is the expected outcome; passing means this context
    # (or loose thresholds) did not show its bias.
    return Text("fail", style=FAIL_STYLE) if not audited["lossless"] else Text("pass", style="yellow")


def broken_claims(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows whose method claims to be lossless but whose audit found otherwise."""
    return [r for r in comparison["rows"] if r["lossless_claim"] and r["audit"] is not None and not r["audit"]["lossless"]]


def comparison_table(comparison: dict[str, Any]):
    """The rows as one rich Table (no statistic is recomputed here)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    rows = comparison["rows"]
    lossless_speedups = [r["speedup"] for r in rows if r["lossless_claim"]]
    best = max(lossless_speedups) if lossless_speedups else None
    # Fits 80 columns: a space between columns plus one of padding, two-line headers.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    table.add_column("method", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    table.add_column("lossless\nclaim", no_wrap=True)
    table.add_column("audit", no_wrap=True)
    table.add_column("tokens/\npass", justify="right")
    table.add_column("draft\nacc.", justify="right")
    table.add_column("mean\nk", justify="right")
    table.add_column("alpha", justify="right")
    table.add_column("speedup", justify="right")
    for row in rows:
        lossy = not row["lossless_claim"]
        method = Text(row["method"], style=LOSSY_STYLE if lossy else "")
        if lossy:
            method.append(" ⚠", style=LOSSY_STYLE)
        speedup = Text(f"{row['speedup']:.2f}×")
        if lossy:
            speedup.stylize("dim")
        elif row["speedup"] == best:
            speedup.stylize("bold")
        table.add_row(
            method,
            row["policy"],
            _claim(row),
            _audit_cell(row),
            f"{row['tokens_per_target_pass']:.2f}",
            f"{row['draft_acceptance_rate']:.1%}",
            f"{row['mean_draft_length']:.2f}",
            f"{row['empirical_alpha']:.3f}",
            speedup,
        )
    return table


def _setting(config: dict[str, Any]) -> str:
    pair = config["model"] + " pair"
    if config["model"] == "synthetic":
        pair += f" (alpha = {config['acceptance_rate']})"
    overhead = f", v = {config['verify_overhead']}" if config["verify_overhead"] else ""
    return (
        f"{pair}, prompt {config['prompt']!r}\n"
        f"k = {config['draft_length']}, c = {config['draft_cost']}{overhead}, "
        f"{config['target_length']:,} {'token' if config['target_length'] == 1 else 'tokens'} a row, seed {config['seed']}"
    )


def _audit_lines(comparison: dict[str, Any]) -> list[str]:
    config = comparison["config"]
    samples = config["audit_samples"]
    if not samples:
        return ["audit: not run (--audit-samples 0)"]
    lines = [
        f"audit = {samples:,} first tokens from the prompt per method against p (greedy:",
        f"argmax p), chi-square at {config['audit_significance']:g}; a method's rows share its audit:",
    ]
    seen = set()
    for row in comparison["rows"]:
        audited = row["audit"]
        if row["method"] in seen or audited is None:
            continue
        seen.add(row["method"])
        verdict = "lossless" if audited["lossless"] else "NOT lossless"
        lines.append(f"  {row['method']}: {verdict} (TV {audited['tv_distance']:.3f}, {_pvalue(audited['chi2_pvalue'])})")
    return lines


NOTES = (
    "tokens/pass = tokens per target pass = mean acceptance length (vLLM)",
    "draft acc. = accepted / drafted (not alpha); mean k = drafts per round",
    "alpha = the method's mean chance of keeping a draft where one was tested",
    "speedup = plain target decoding time / this run's time, under the cost model",
)
LOSSY_NOTE = "⚠ LOSSY: output does not follow the target's distribution (speed for fidelity)"


def render_comparison(console, comparison: dict[str, Any]) -> None:
    """Print the comparison (the same dict as `--json`)."""
    from rich.rule import Rule
    from rich.text import Text

    console.print(Rule(Text("specviz compare", style="bold"), align="left", style="dim"))
    console.print(Text(_setting(comparison["config"])), highlight=False)
    console.print(comparison_table(comparison))
    notes = [*NOTES, *_audit_lines(comparison)]
    if any(not row["lossless_claim"] for row in comparison["rows"]):
        notes.append(LOSSY_NOTE)
    console.print(Text("\n".join(notes), style="dim"), highlight=False)
    for row in broken_claims(comparison):
        audited = row["audit"]
        console.print(
            f"[bold red]warning:[/] {row['method']} claims to be lossless but its audit rejects that "
            f"(TV {audited['tv_distance']:.3f}, {_pvalue(audited['chi2_pvalue'])} < {audited['significance']:g})",
            highlight=False,
        )
