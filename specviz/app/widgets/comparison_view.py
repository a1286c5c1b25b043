"""Every method and draft policy on the current config: the `specviz compare` table, in the app."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import ProgressBar, Static
from textual.worker import get_current_worker

from specviz.app.view_catalog import view_title
from specviz.app.widgets.analysis_view import AnalysisView
from specviz.engine.analysis.compare import AUDIT_TOKENS, DEFAULT_AUDIT_SAMPLES, DEFAULT_TARGET_LENGTH

# Tokens per row: the run's n, but no more than `specviz compare`'s default,
# so the table comes back in seconds whatever n the run has.
MAX_ROW_TOKENS = DEFAULT_TARGET_LENGTH


class ComparisonCancelled(Exception):
    """The config changed (or the app closed) while a comparison ran."""


def comparison_config(config: Any) -> Any:
    return config.replace(target_length=min(config.target_length, MAX_ROW_TOKENS))


class ComparisonView(AnalysisView):
    TITLE = view_title("compare")
    HELP = f"""\
**Comparison** (`6`). The `specviz compare` table for the current settings:
every verification method with the fixed policy, then speculative sampling
with each draft policy, on the same model pair and seed, each row a run of
the run's n tokens (at most {MAX_ROW_TOKENS:,}), each method audited on
{DEFAULT_AUDIT_SAMPLES:,} samples of its first {AUDIT_TOKENS} tokens from the prompt (their joint
law against p's). Lossy methods (`typical`) are marked LOSSY ⚠. It runs in a background thread when the view
is shown and again after the settings change; the run itself is not touched.
When the run drafts a token tree, a second table sets the chain of k against
trees verifying k nodes a pass, as `specviz compare --trees` does.
"""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.compared: Any = None  # the config of the table shown or being computed
        self.comparison: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="compare-caption", classes="view-caption")
        yield ProgressBar(id="compare-progress", show_eta=False)
        with VerticalScroll(id="compare-scroll"):
            yield Static(id="compare-table")

    def draw(self, simulation: Any) -> None:
        config = comparison_config(simulation.config)
        if config == self.compared:
            return  # the table does not depend on how far the run has got
        self.compared = config
        self.comparison = None
        self.query_one("#compare-table", Static).update("")
        progress = self.query_one("#compare-progress", ProgressBar)
        progress.update(total=None, progress=0)
        progress.display = True
        self.update_caption(
            self.query_one("#compare-caption", Static),
            f"Comparing every method and policy on {config.model}, {config.target_length:,} tokens a row, "
            f"seed {config.seed}…",
        )
        self._compare(config)

    @work(thread=True, exclusive=True, group="compare")
    def _compare(self, config: Any) -> None:
        from specviz.engine.analysis.compare import compare

        worker = get_current_worker()

        def report(done: int, total: int, what: str) -> None:
            if worker.is_cancelled:
                raise ComparisonCancelled
            self.app.call_from_thread(self._progress, config, done, total, what)

        try:
            chain, trees = comparison_of(config)
            comparison = compare(chain, audit_samples=DEFAULT_AUDIT_SAMPLES, progress=report, tree_rows=trees)
        except ComparisonCancelled:
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._compared, config, comparison)

    def _progress(self, config: Any, done: int, total: int, what: str) -> None:
        if config == self.compared:
            self.query_one("#compare-progress", ProgressBar).update(total=total, progress=done)

    def _compared(self, config: Any, comparison: dict[str, Any]) -> None:
        if config != self.compared:
            return
        from specviz.render.compare import (
            TREE_NOTES,
            broken_claims,
            comparison_notes,
            comparison_setting,
            comparison_table,
            tree_table,
        )

        self.comparison = comparison
        self.query_one("#compare-progress", ProgressBar).display = False
        self.update_caption(
            self.query_one("#compare-caption", Static), comparison_setting(comparison["config"]).replace("\n", " · ")
        )
        notes = comparison_notes(comparison)
        parts: list[Any] = [comparison_table(comparison), Text("\n".join(notes), style="dim")]
        if comparison.get("tree_rows"):
            parts += [Text("\nThe chain against token trees of k nodes", style="bold"), tree_table(comparison)]
            parts.append(Text("\n".join(TREE_NOTES), style="dim"))
        for row in broken_claims(comparison):
            parts.append(
                Text(f"warning: {row['method']} claims to be lossless but its audit rejects that", style="bold red")
            )
        self.query_one("#compare-table", Static).update(Group(*parts))


def comparison_of(config: Any) -> tuple[Any, bool]:
    """compare()'s arguments for the run's config: the chain's rows, and for a
    tree's run the chain of k against trees of k nodes too (as `specviz compare
    --trees`), every row from the chain's config (the methods and policies a
    tree refuses still run as chains)."""
    from specviz.engine.run.config import TREE_FIELDS, SimConfig, is_tree

    if not is_tree(config):
        return config, False
    defaults = SimConfig()
    chain = config.replace(**{name: getattr(defaults, name) for name in TREE_FIELDS})
    return chain, True
