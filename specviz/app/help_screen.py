"""The help screen (F1 or ?): every key, and what each part of the screen shows."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from specviz.app import view_catalog


def keys_markdown(bindings: Iterable[Binding], key_display: dict[str, str]) -> str:
    """A Markdown table of the bindings, grouped by their group's description."""
    rows: dict[str, list[str]] = {}
    for binding in bindings:
        if not binding.description:
            continue
        group = binding.group.description if binding.group else "App"
        keys = " ".join(f"`{key_display.get(key, key)}`" for key in binding.key.split(","))
        rows.setdefault(group, []).append(f"| {keys} | {binding.tooltip or binding.description} |")
    lines = ["| Key | Does |", "|---|---|"]
    for group, group_rows in rows.items():
        lines.append(f"| **{group}** | |")
        lines.extend(group_rows)
    return "\n".join(lines)


def views_markdown() -> str:
    """One line per analysis view, read from the view catalog when the help opens
    (so a view added to the catalog is listed without touching the help)."""
    return "\n".join(f"- `{entry.key}` **{entry.title}**: {entry.does}" for entry in view_catalog.VIEW_CATALOG)


def reference_sections() -> tuple[str, str, str]:
    """(methods and policies, the views' list, glossary and the rest): the
    help's reference parts, from the engine and the view catalog at runtime."""
    from specviz.render import glossary  # the engine's classes (numpy): when the help opens

    rules = f"{glossary.methods_markdown()}\n\n{glossary.policies_markdown()}"
    return rules, views_markdown(), glossary.reference_markdown()


class HelpScreen(ModalScreen[None]):
    """Keys and what each widget shows; built from the bindings and each widget's HELP."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [
        Binding("escape,q,f1,question_mark", "dismiss", "Close help", key_display="esc"),
    ]

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self._markdown = markdown

    def compose(self) -> ComposeResult:
        # Imported here: rich.markdown costs ~70 ms, which first paint need not pay.
        from rich.markdown import Markdown

        with Vertical(id="help-frame"):
            with VerticalScroll(id="help-scroll"):
                # One Static holding Rich's Markdown: a Markdown widget mounts a
                # widget per block, which makes opening help slow.
                yield Static(Markdown(self._markdown), id="help-text")
            yield Static("↑ ↓ PgUp PgDn Home End scroll · esc, q, F1 or ? closes", id="help-footer")

    def on_mount(self) -> None:
        self.query_one("#help-frame").border_title = "specviz help"
        self.query_one("#help-scroll").focus()

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
