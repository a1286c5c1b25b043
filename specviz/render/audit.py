"""The losslessness audit's report: the verdict, the token table, the test statistics (rich only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from specviz.engine.analysis.defaults import SIGNIFICANCE

if TYPE_CHECKING:
    from rich.console import Console

    from specviz.engine.analysis.audit import AuditResult


def audit_verdict(result: AuditResult) -> str:
    reference = "the target's greedy choice" if result.reference == "argmax p" else "the target's distribution p"
    if result.lossless:
        verdict = f"pass: the first tokens are consistent with {reference}"
        if not result.method_claims_lossless:
            verdict += " (the method is lossy by design; more samples or another context may show it)"
        return verdict
    verdict = f"fail: the first tokens differ from {reference}"
    if not result.method_claims_lossless:
        verdict += ", as expected of a lossy method"
    return verdict


def render_audit(result: AuditResult, seed: int, top: int, console: Console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    claim = ("lossless by design", "green") if result.method_claims_lossless else ("lossy by design", "yellow")
    console.print(
        Text.assemble(
            ("Losslessness audit", "bold"),
            f"  ({result.model} pair, {result.method} ",
            claim,
            f"; {result.samples:,} samples, seed {seed})",
        )
    )
    console.print(
        Text.assemble(
            "context: ",
            (repr(result.context), "bold"),
            f"  (the first token a round emits there, against {result.reference})",
        )
    )
    table = Table(box=box.SIMPLE_HEAD, show_edge=False)
    table.add_column("token")
    table.add_column(f"expected ({result.reference})", justify="right")
    table.add_column("observed", justify="right")
    table.add_column("count", justify="right")
    table.add_column("observed - expected", justify="right")
    for row in result.top_tokens(top):
        gap = row["observed"] - row["expected"]
        # Seen where the reference forbids it: the clearest sign of a lossy rule.
        style = "red" if row["expected"] == 0 and row["count"] else ""
        table.add_row(
            row["token"],
            f"{row['expected']:.4f}",
            f"{row['observed']:.4f}",
            f"{row['count']:,}",
            Text(f"{gap:+.4f}", style=style),
        )
    console.print(table)
    console.print(f"total-variation distance: {result.tv_distance:.4f}")
    console.print(
        f"chi-square: {result.chi2_statistic:.2f} on {result.degrees_of_freedom} degrees of freedom, "
        f"p-value {result.chi2_pvalue:.3g} (fails below {SIGNIFICANCE:g})"
    )
    console.print(Text.assemble("verdict: ", (audit_verdict(result), "bold green" if result.lossless else "bold red")))
