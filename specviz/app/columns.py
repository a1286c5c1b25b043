"""Fixed-width rows as Textual Content: cheap to redraw many times a second.

The round view and the stats sidebar redraw while a run goes; laying their
rows out with plain padding costs far less per frame than a DataTable or a
Rich Table, and the styles stay theme variables ($success, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from textual.content import Content

Cell = str | tuple[str, str]  # text, or (text, style)


@dataclass(frozen=True)
class Column:
    header: str
    width: int
    align: str = "left"  # "left" or "right"


def _pad(text: str, column: Column) -> str:
    if column.width <= 0:
        return ""
    if len(text) > column.width:
        text = text[: max(column.width - 1, 0)] + "…"
    return text.rjust(column.width) if column.align == "right" else text.ljust(column.width)


def row(columns: Sequence[Column], cells: Sequence[Cell], gap: str = " ") -> Content:
    parts: list[str | tuple[str, str]] = []
    for index, (column, cell) in enumerate(zip(columns, cells)):
        if index:
            parts.append(gap)
        if isinstance(cell, tuple):
            parts.append((_pad(cell[0], column), cell[1]))
        else:
            parts.append(_pad(cell, column))
    return Content.assemble(*parts)


def header(columns: Sequence[Column], style: str = "bold", gap: str = " ") -> Content:
    return row(columns, [(column.header, style) for column in columns], gap)


def lines(rows: Sequence[Content]) -> Content:
    return Content("\n").join(rows)
