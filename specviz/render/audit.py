"""The losslessness audit's report: the verdict, the token table, the test statistics (rich only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from specviz.engine.analysis.defaults import MAX_TOKENS, SIGNIFICANCE
from specviz.render.words import counted

if TYPE_CHECKING:
    from rich.console import Console

    from specviz.engine.analysis.audit import AuditResult


def _tested(result: AuditResult) -> str:
    return "the first tokens" if result.tokens == 1 else f"the first {result.tokens} tokens"


def audit_verdict(result: AuditResult) -> str:
    reference = "the target's greedy choice" if result.reference == "argmax p" else "the target's distribution p"
    if result.tokens > 1:
        reference = "the target's greedy path" if result.reference == "argmax p" else "the target's law under p"
    if result.lossless:
        verdict = f"pass: {_tested(result)} are consistent with {reference}"
        if not result.method_claims_lossless:
            verdict += " (the method is lossy by design; more samples or another context may show it)"
        return verdict
    verdict = f"fail: {_tested(result)} differ from {reference}"
    if not result.method_claims_lossless:
        verdict += ", as expected of a lossy method"
    return verdict


def audit_scope(result: AuditResult) -> str:
    """What the samples cover: full rounds whatever -n says, and whether the bonus is in reach."""
    k = result.draft_length
    scope = f"each sample runs full rounds of k drafts (k = {k}) from the context; -n is not used"
    if result.bonus_tested:
        return scope + f"; a full round's bonus (token {k + 1}) is tested"
    ways = [f"--tokens {k + 1}"] if k + 1 <= MAX_TOKENS else []
    if result.tokens > 1:
        ways.append(f"-k {result.tokens - 1}")
    return (
        scope
        + f"; a full round's bonus is token {k + 1}, not tested"
        + (f" ({' or '.join(ways)} would)" if ways else "")
    )


def render_audit(result: AuditResult, seed: int, top: int, console: Console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    claim = ("lossless by design", "green") if result.method_claims_lossless else ("lossy by design", "yellow")
    tested = "first token" if result.tokens == 1 else f"first {result.tokens} tokens"
    console.print(
        Text.assemble(
            ("Losslessness audit", "bold"),
            f"  ({result.model} pair, {result.method} ",
            claim,
            f"; {counted(result.samples, 'sample', 'samples')} of the {tested}, seed {seed})",
        )
    )
    if result.tokens == 1:
        what = f"the first token a round emits there, against {result.reference}"
    elif result.reference == "argmax p":
        what = f"the first {result.tokens} tokens emitted there, jointly, against the argmax path of p"
    else:
        law = " ".join(["p(x1)", "p(x2 | x1)", "p(x3 | x1 x2)", "p(x4 | x1..x3)"][: result.tokens])
        what = f"the first {result.tokens} tokens emitted there, jointly, against {law}"
    console.print(Text.assemble("context: ", (repr(result.context), "bold"), f"  ({what})"))
    console.print(Text(audit_scope(result), style="dim"))
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("token" if result.tokens == 1 else "tokens")
    table.add_column(f"expected ({result.reference})", justify="right")
    table.add_column("observed", justify="right")
    table.add_column("count", justify="right")
    table.add_column("observed - expected", justify="right")
    for row in result.top_tokens(top):
        gap = row["observed"] - row["expected"]
        # Seen where the reference forbids it: the clearest sign of a lossy rule.
        style = "red" if row["expected"] == 0 and row["count"] else ""
        table.add_row(
            Text(row["token"]),  # model text is data, never markup
            f"{row['expected']:.4f}",
            f"{row['observed']:.4f}",
            f"{row['count']:,}",
            Text(f"{gap:+.4f}", style=style),
        )
    console.print(table)
    # Over M tokens most sequences are rare, so a finite sample's TV is well
    # above 0 even for an exact rule; say so where it matters.
    noise = "" if result.tokens == 1 else " (sampling noise alone keeps it well above 0 over many sequences)"
    console.print(f"total-variation distance: {result.tv_distance:.4f}{noise}")
    console.print(
        f"chi-square: {result.chi2_statistic:.2f} on {result.degrees_of_freedom} degrees of freedom "
        "(cells expected fewer than 5 times pooled), "
        f"p-value {result.chi2_pvalue:.3g} (fails below {SIGNIFICANCE:g})"
    )
    console.print(Text.assemble("verdict: ", (audit_verdict(result), "bold green" if result.lossless else "bold red")))
