"""The compare table and its notes: every method and policy side by side (rich only).

Both front ends draw these: `specviz compare` prints them, the app's compare
view shows them. No statistic is computed here; every number comes from
`specviz.engine.analysis.compare`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specviz.render.words import counted

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

LOSSY_STYLE = "bold red"
PASS_STYLE = "green"
FAIL_STYLE = "red"
BROKEN_STYLE = "bold red reverse"  # a lossless claim the audit refutes


def _claim(row: dict[str, Any]) -> Text:
    from rich.text import Text

    if not row["lossless_claim"]:
        return Text("LOSSY", style=LOSSY_STYLE)
    return Text("argmax p" if row["lossless_against"] == "argmax" else "p")


def _pvalue(value: float) -> str:
    if value == 0.0:
        return "p < 1e-300"
    return f"p = {value:.2g}" if value < 0.01 else f"p = {value:.2f}"


def _audit_cell(row: dict[str, Any]) -> Text:
    from rich.text import Text

    audited = row["audit"]
    if audited is None:
        return Text("-", style="dim")
    if row["lossless_claim"]:
        return Text("pass", style=PASS_STYLE) if audited["lossless"] else Text("FAIL", style=BROKEN_STYLE)
    # A lossy rule failing is the expected outcome; passing means this context
    # (or loose thresholds) did not show its bias.
    return Text("fail", style=FAIL_STYLE) if not audited["lossless"] else Text("pass", style="yellow")


def _figure(value: float | None, spec: str) -> str:
    """A rate, or – where nothing was drafted or tested to divide by."""
    return "–" if value is None else format(value, spec)


def broken_claims(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows whose method claims to be lossless but whose audit found otherwise."""
    return [
        r for r in comparison["rows"] if r["lossless_claim"] and r["audit"] is not None and not r["audit"]["lossless"]
    ]


def _table() -> Table:
    """The look both tables share: it fits 80 columns (a space between columns
    plus one of padding, two-line headers)."""
    from rich import box
    from rich.table import Table

    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")


def _best_lossless_speedup(rows: list[dict[str, Any]]) -> float | None:
    """The speedup shown in bold: the best of the rows that claim to be lossless."""
    return max((r["speedup"] for r in rows if r["lossless_claim"]), default=None)


def comparison_table(comparison: dict[str, Any]) -> Table:
    """The rows as one rich Table (no statistic is recomputed here)."""
    from rich.text import Text

    rows = comparison["rows"]
    best = _best_lossless_speedup(rows)
    table = _table()
    table.add_column("method", no_wrap=True)
    table.add_column("policy", no_wrap=True)
    table.add_column("lossless\nclaim", no_wrap=True)
    table.add_column("audit", no_wrap=True)
    table.add_column("tokens/\npass", justify="right")
    table.add_column("draft\nacc.", justify="right")
    table.add_column("mean\nk", justify="right")
    table.add_column("keep", justify="right")
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
            _policy_label(row),
            _claim(row),
            _audit_cell(row),
            _figure(row["tokens_per_target_pass"], ".2f"),
            _figure(row["draft_acceptance_rate"], ".1%"),
            f"{row['mean_draft_length']:.2f}",
            _figure(row["method_keep_rate"], ".3f"),
            speedup,
        )
    return table


def tree_table(comparison: dict[str, Any]) -> Table:
    """The chain against trees verifying the same number of nodes a pass (compare --trees)."""
    from rich.text import Text

    rows = comparison["tree_rows"]
    best = _best_lossless_speedup(rows)
    table = _table()
    table.add_column("drafting", no_wrap=True)
    table.add_column("audit", no_wrap=True)
    table.add_column("nodes/\npass", justify="right")
    table.add_column("tokens/\npass", justify="right")
    table.add_column("draft\npasses", justify="right")
    table.add_column("speedup", justify="right")
    for row in rows:
        speedup = Text(f"{row['speedup']:.2f}×", style="bold" if row["speedup"] == best else "")
        passes = row["draft_passes"] / row["target_passes"] if row["target_passes"] else 0.0
        table.add_row(
            row["drafting"],
            _audit_cell(row),
            _figure(row["nodes_per_pass"], ".2f"),
            _figure(row["tokens_per_target_pass"], ".2f"),
            f"{passes:.2f}",
            speedup,
        )
    return table


TREE_NOTES = (
    "each row verifies about k nodes a target pass (nodes/pass): a chain spends",
    "them on one candidate a position, a tree on several; draft passes = one per",
    "tree level; the cost model charges the target pass by the nodes it scores",
)


def _policy_label(row: dict[str, Any]) -> str:
    """The policy, and an argmax draft where the row has one (--draft-sampling argmax)."""
    return str(row["policy"]) + (", argmax" if row.get("draft_sampling") == "argmax" else "")


def _method_label(row: dict[str, Any]) -> str:
    return str(row["method"]) + (" (argmax draft)" if row.get("draft_sampling") == "argmax" else "")


def comparison_setting(config: dict[str, Any]) -> str:
    pair = config["model"] + " pair"
    if config["model"] == "synthetic":
        pair += f" (alpha = {config['acceptance_rate']})"
    overhead = f", v = {config['verify_overhead']}" if config["verify_overhead"] else ""
    return (
        f"{pair}, prompt {config['prompt']!r}\n"
        f"k = {config['draft_length']}, c = {config['draft_cost']}{overhead}, "
        f"{config['target_length']:,} {'token' if config['target_length'] == 1 else 'tokens'} a row, seed {config['seed']}"
    )


def audit_lines(comparison: dict[str, Any]) -> list[str]:
    config = comparison["config"]
    samples = config["audit_samples"]
    if not samples:
        return ["audit: not run (--audit-samples 0)"]
    # compare audits the first 2 tokens jointly (engine.analysis.compare.AUDIT_TOKENS).
    lines = [
        f"audit = {counted(samples, 'sample', 'samples')} of each method's first {config['audit_tokens']} tokens from the prompt, against",
        f"p's joint law (greedy: argmax path), chi-square at {config['audit_significance']:g}, one per method:",
    ]
    seen = set()
    for row in comparison["rows"]:
        audited = row["audit"]
        key = (row["method"], row.get("draft_sampling", "sample"))
        if key in seen or audited is None:
            continue
        seen.add(key)
        verdict = "lossless" if audited["lossless"] else "NOT lossless"
        lines.append(
            f"  {_method_label(row)}: {verdict} (TV {audited['tv_distance']:.3f}, {_pvalue(audited['chi2_pvalue'])})"
        )
    return lines


NOTES = (
    "tokens/pass = tokens per target pass = mean acceptance length (vLLM)",
    "draft acc. = accepted / drafted (not alpha); mean k = drafts per round",
    "keep = the method's mean chance of keeping a draft where one was tested",
    "  (alpha = sum_x min(p, q) for speculative; q(argmax p) for greedy)",
    "speedup = plain target decoding time / this run's time, under the cost model",
    "argmax = the draft proposes its most likely token: x kept with probability p(x)",
)
LOSSY_NOTE = "⚠ LOSSY: output does not follow the target's distribution (speed for fidelity)"


def comparison_notes(comparison: dict[str, Any]) -> list[str]:
    """What the table's columns mean, the audit's verdicts, and a LOSSY note where a row is lossy."""
    notes = [*NOTES, *audit_lines(comparison)]
    if any(not row["lossless_claim"] for row in comparison["rows"]):
        notes.append(LOSSY_NOTE)
    return notes


def render_comparison(console: Console, comparison: dict[str, Any]) -> None:
    """Print the comparison (the same dict as `--json`)."""
    from rich.rule import Rule
    from rich.text import Text

    console.print(Rule(Text("specviz compare", style="bold"), align="left", style="dim"))
    console.print(Text(comparison_setting(comparison["config"])), highlight=False)
    console.print(comparison_table(comparison))
    console.print(Text("\n".join(comparison_notes(comparison)), style="dim"), highlight=False)
    if comparison.get("tree_rows"):
        console.print(
            Rule(Text("chain against trees at the same nodes a pass", style="bold"), align="left", style="dim")
        )
        console.print(tree_table(comparison))
        console.print(Text("\n".join(TREE_NOTES), style="dim"), highlight=False)
    for row in broken_claims(comparison):
        audited = row["audit"]
        console.print(
            f"[bold red]warning:[/] {row['method']} claims to be lossless but its audit rejects that "
            f"(TV {audited['tv_distance']:.3f}, {_pvalue(audited['chi2_pvalue'])} < {audited['significance']:g})",
            highlight=False,
        )
