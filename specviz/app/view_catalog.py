"""The analysis views by name, key and title.

What the main screen needs to bind the view keys and list them, without
importing the views themselves (they pull in plotext and the comparison
engine, which would slow the app's first paint): `analysis_screen` imports
them when a view is first opened.
"""

from __future__ import annotations

from typing import NamedTuple


class ViewEntry(NamedTuple):
    name: str
    key: str
    title: str
    does: str  # what the key does, for the footer tooltip and the palette


VIEW_CATALOG: tuple[ViewEntry, ...] = (
    ViewEntry("speedup", "1", "Speedup", "Speedup against k: theory curve, optimal k, this run"),
    ViewEntry("lengths", "2", "Lengths", "Acceptance-length histogram beside theory"),
    ViewEntry("positions", "3", "Positions", "Per-position acceptance beside α^i"),
    ViewEntry("timeline", "4", "Timeline", "Timeline of draft and target passes, and k per round"),
    ViewEntry("lossless", "5", "Lossless", "Losslessness: emitted tokens against the target, live"),
    ViewEntry("compare", "6", "Compare", "Compare every method and draft policy"),
    ViewEntry("distributions", "7", "p vs q", "Distributions p and q at one draft position: overlap, residual, marks"),
    ViewEntry("tree", "8", "Tree", "The current round's token tree: candidates, verdicts, residuals"),
)
VIEW_NAMES = tuple(entry.name for entry in VIEW_CATALOG)


def view_title(name: str) -> str:
    return next(entry.title for entry in VIEW_CATALOG if entry.name == name)
