"""The `specviz import` report: what an engine's log says, under specviz's names, and the advice on k.

Drawn from the same dict `specviz import --json` prints, so the two cannot
disagree. Everything that came from a log (labels, figure names, warnings)
is drawn as plain Text with control characters already escaped by the
importers: a log's "[bold]" or escape sequence stays data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from specviz.engine.io.importers.base import printable

BAR_CELLS = 20  # a rate of 1 fills this many cells
BLOCKS = " ▏▎▍▌▋▊▉█"
POSITIONS_SHOWN = 16
ADVICE_ROWS_SHOWN = 24
# Conditional rates falling by more than this from the first measured
# position to the last is worth saying: the i.i.d. closed forms miss it.
FALL_WORTH_SAYING = 0.05


def _text(value: Any) -> Text:
    """Text from a log, safe whatever it holds (no markup, no control characters)."""
    return Text(printable(str(value), 300))


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _figure(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) >= 1000 else f"{value:.4f}".rstrip("0").rstrip(".")
    if isinstance(value, list):
        shown = ", ".join(_figure(item) for item in value[:POSITIONS_SHOWN])
        return shown + (", …" if len(value) > POSITIONS_SHOWN else "")
    return printable(str(value), 120)


def bar(rate: float, cells: int = BAR_CELLS) -> str:
    """A horizontal bar `rate` of `cells` long, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, rate)) * cells * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(cells)


def _section(title: str | Text) -> Rule:
    return Rule(title if isinstance(title, Text) else Text(title, style="bold"), align="left", style="dim")


def _indent(renderable: RenderableType, bottom: int = 1) -> Padding:
    return Padding(renderable, (0, 0, bottom, 2), expand=False)


def _pairs(rows: Sequence[tuple[str, RenderableType | str, str]]) -> Padding:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(style="dim")
    for label, value, note in rows:
        table.add_row(label, value, note)
    return _indent(table)


def figures_section(series: dict[str, Any], definitions: dict[str, str]) -> Padding:
    k = series["draft_length"]
    rows = [
        ("steps (num_drafts)", _count(series["num_drafts"]), definitions["num_drafts"]),
        ("drafted", _count(series["num_draft_tokens"]), definitions["num_draft_tokens"]),
        ("accepted", _count(series["num_accepted_tokens"]), definitions["num_accepted_tokens"]),
        ("draft length k", _count(k), "the most a step drafts"),
        ("mean acceptance length", _num(series["mean_acceptance_length"]), definitions["mean_acceptance_length"]),
        (
            "draft acceptance rate",
            "n/a" if series["draft_acceptance_rate"] is None else f"{series['draft_acceptance_rate']:.1%}",
            definitions["draft_acceptance_rate"],
        ),
        (
            "α (i.i.d. fit)",
            _num(series["alpha_iid"], 4),
            f"reproduces the mean acceptance length at k = {k}" if series["alpha_iid"] is not None else "needs k",
        ),
    ]
    return _pairs(rows)


def positions_section(series: dict[str, Any]) -> RenderableType | None:
    rates = series["per_position_acceptance"]
    if not rates:
        return None
    iid, conditional = series["iid_per_position"], series["conditional_acceptance"]
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="dim")
    table.add_column("position", justify="right")
    table.add_column("measured: reaches i / steps", no_wrap=True)
    table.add_column("α_iidⁱ", justify="right")
    table.add_column("conditional", justify="right")
    for i, rate in enumerate(rates[:POSITIONS_SHOWN]):
        cell = Text.assemble((bar(rate), "green"), f" {rate:.3f}")
        table.add_row(str(i + 1), cell, _num(iid[i]) if iid else "n/a", _num(conditional[i]))
    parts: list[RenderableType] = [table]
    if len(rates) > POSITIONS_SHOWN:
        parts.append(Text(f"… {len(rates) - POSITIONS_SHOWN} more positions (see --json)", style="dim"))
    measured = [c for c in conditional if c is not None]
    if len(measured) >= 2 and measured[0] - measured[-1] > FALL_WORTH_SAYING:
        parts.append(
            Text(
                f"The conditional rate falls from {measured[0]:.3f} at position 1 to {measured[-1]:.3f} at "
                f"position {len(measured)}: acceptance is not i.i.d., so the closed forms at α_iid "
                "misjudge other k.",
                style="yellow",
            )
        )
    elif len(measured) >= 2:
        parts.append(Text("The conditional rate holds steady: the i.i.d. closed forms fit these counts.", style="dim"))
    distribution = series["tokens_per_step_distribution"]
    if distribution:
        law = "  ".join(f"{tokens}: {share:.1%}" for tokens, share in list(distribution.items())[:POSITIONS_SHOWN])
        parts.append(Text.assemble(("tokens per step  ", "bold"), law))
    return _indent(Group(*parts))


def definitions_section(series: dict[str, Any]) -> RenderableType | None:
    figures = series["engine_figures"]
    if not figures:
        return None
    table = Table(box=None, padding=(0, 2), pad_edge=False, header_style="dim")
    table.add_column(f"{printable(series['engine'])}'s figure", style="bold", min_width=16, max_width=30)
    table.add_column("value", justify="right", max_width=28, overflow="ellipsis")
    table.add_column("what it means (specviz's figures above)", style="dim")
    for name, value in figures.items():
        table.add_row(_text(name), _figure(value), _text(series["engine_definitions"].get(name, "")))
    return _indent(table)


def advice_section(advice: dict[str, Any] | None, measured_k: int | None) -> RenderableType:
    if advice is None:
        return _indent(Text("No advice: it needs per-position rates, or a mean acceptance length and k.", style="dim"))
    model = advice["cost_model"]
    table = Table(box=None, padding=(0, 2), pad_edge=False, header_style="dim")
    table.add_column("k", justify="right")
    table.add_column("tokens / step", justify="right")
    table.add_column("speedup", justify="right")
    table.add_column("")
    rows = advice["speedup_by_k"]
    for row in rows[:ADVICE_ROWS_SHOWN]:
        marks = []
        if row["k"] == advice["best_k"]:
            marks.append(("best", "bold green"))
        if row["k"] == measured_k:
            marks.append(("measured", "bold"))
        if row["extrapolated"]:
            marks.append(("extrapolated", "dim"))
        style = "bold" if row["k"] == advice["best_k"] else ""
        table.add_row(
            str(row["k"]),
            f"{row['tokens_per_step']:.3f}",
            Text(f"{row['speedup']:.2f}×", style=style),
            Text("  ").join(Text(text, style=mark_style) for text, mark_style in marks),
        )
    tail = advice["extrapolation"]
    lines = [
        Text(advice["verdict"], style="bold" if advice["beats_plain_decoding"] else "bold yellow"),
        Text(
            f"Cost model: {_cost_text(model)}. Past position {advice['measured_positions']}, each position keeps "
            f"{_num(tail['rate'])} ({tail['rule']}).",
            style="dim",
        ),
    ]
    return _indent(Group(table, Text(), *lines))


def _cost_text(model: dict[str, Any]) -> str:
    if "draft_kind" in model:
        return (
            f"{printable(model['name'])} ({model['draft_kind']} draft) at batch {model['batch_size']:,}, "
            f"context {model['context_length']:,}"
        )
    text = f"constant ratio, c = {model.get('draft_cost')}"
    if model.get("verify_overhead"):
        text += f", v = {model['verify_overhead']}"
    return text + " (--draft-cost, --verify-overhead; or --cost-model)"


def _list_section(title: str, items: Sequence[str], style: str) -> Group:
    return Group(_section(title), _indent(Group(*(Text(f"- {printable(item, 300)}", style=style) for item in items))))


def series_title(series: dict[str, Any]) -> Text:
    where = f"{series['records']:,} record{'s' if series['records'] != 1 else ''}"
    if series["first"]:
        where += f", {series['first']}" + (f" to {series['last']}" if series["last"] != series["first"] else "")
    title = Text.assemble((printable(series["engine"]), "bold"), " · ", printable(series["format"]))
    if series["label"]:
        title.append(f" · {printable(series['label'])}")
    title.append(f"  ({printable(series['source'])}: {where})", style="dim")
    return title


def render_import(console: Console, data: dict[str, Any]) -> None:
    """Print `specviz import`'s report (the same dict as its --json)."""
    console.print(Rule(Text("specviz import: what the engine reported, under specviz's names", style="bold")))
    for series in data["series"]:
        console.print(_section(series_title(series)))
        console.print(figures_section(series, data["definitions"]))
        positions = positions_section(series)
        if positions is not None:
            console.print(Text("  Per position", style="bold"))
            console.print(positions)
        definitions = definitions_section(series)
        if definitions is not None:
            console.print(Text("  Definitions side by side", style="bold"))
            console.print(definitions)
        console.print(Text("  Advice: k from 1 to twice the measured k", style="bold"))
        console.print(advice_section(series["advice"], series["draft_length"]))
        if series["notes"]:
            console.print(_list_section("Notes", series["notes"], "dim"))
        if series["warnings"]:
            console.print(_list_section("Warnings", series["warnings"], "yellow"))
    if data["warnings"]:
        console.print(_list_section("Warnings about lines of no series", data["warnings"], "yellow"))
