"""The current round, revealed phase by phase: x, q(x), then p(x) and p/q, then u and the verdict."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from specviz.app.columns import Cell, Column, header, lines, row
from specviz.app.view import Change, SimulationView
from specviz.engine.run.rounds import Phase

PENDING = "…"  # a figure the phases so far have not produced yet
RUNNING = "running"  # what is shown while many rounds run at once
RUNNING_CAPTION = "Running… each round's table shows again when the run stops (any step key stops it)."


def _subscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


class RoundView(SimulationView, Vertical):
    """A table of the current round with a one-line explanation of the phase that ran."""

    HELP = """\
**Round view.** The round in progress. After DRAFT: each drafted token x with
the draft's probability q(x). After VERIFY: the target's p(x) and the ratio
p/q. After ACCEPT: the uniform u drawn for each test and the verdict:
`✓ kept` when u < p/q (so a draft is kept with probability min(1, p/q)),
`✗ rejected` at the first u ≥ p/q, `· skipped` for the drafts after it
(never tested), then the `»` correction drawn from norm(max(0, p − q)) or,
when every draft was kept, the `+` bonus token drawn from p at position k+1.
"""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: tuple[int, Phase | None, int] | str | None = None
        self.rows: list[tuple[Cell, ...]] = []  # the table as shown (tests read it)
        self.border_title = "Round"

    def compose(self) -> ComposeResult:
        yield Static(id="round-caption")
        with VerticalScroll(id="round-scroll", can_focus=False):
            yield Static(id="round-table")

    def show_simulation(self, simulation: Any, change: Change) -> None:
        current = simulation.current
        phase = simulation.last_phase
        if change is Change.PROGRESS:
            # Many rounds a second: too fast to read, and a table rebuild per
            # update would slow the run. The App sends a STEP when it stops;
            # until then no earlier round's table (or "no round yet") stays up
            # under the running title.
            if current is not None:
                self.border_title = f"Round {current.index + 1:,} (running)"
                if self._shown != RUNNING:
                    self._shown = RUNNING
                    self.rows = []
                    self.query_one("#round-caption", Static).update(RUNNING_CAPTION)
                    self.query_one("#round-table", Static).update("")
            return
        key = (id(simulation), phase, -1 if current is None else current.index)
        if key == self._shown and change is not Change.RESET:
            return  # nothing new to reveal
        self._shown = key
        caption = self.query_one("#round-caption", Static)
        table = self.query_one("#round-table", Static)
        if current is None or phase is None:
            self.border_title = "Round"
            self.rows = []
            caption.update("No round yet. Press space to run the DRAFT phase of round 1.")
            table.update("")
            return
        self.border_title = f"Round {current.index + 1:,}"
        caption.update(self._caption(simulation, current, phase))
        self.rows = self._rows(simulation, current, phase)
        self._draw_table()

    def on_resize(self) -> None:
        self._draw_table()

    def _draw_table(self) -> None:
        """The rows at the width there is: compact (no #, short verdicts) when narrow."""
        table = self.query_one("#round-table", Static)
        if not self.rows:
            table.update("")
            return
        compact = self.scrollable_content_region.width < 60
        word_width = min(max([7] + [len(cells[1]) for cells in self.rows]), 6 if compact else 16)
        number = 5 if compact else 6
        columns = [
            Column("#", 2, "right"),
            Column("x" if compact else "draft x", word_width),
            Column("q(x)", number, "right"),
            Column("p(x)", number, "right"),
            Column("p/q", number, "right"),
            Column("u", number, "right"),
            Column("verdict", 9 if compact else 12),
        ]
        rows = self.rows
        gap = "  "
        if compact:
            columns, gap = columns[1:], " "
            rows = [cells[1:-1] + (_short_verdict(cells[-1]),) for cells in rows]
        table.update(lines([header(columns, "bold", gap)] + [row(columns, cells, gap) for cells in rows]))

    # ---- content -----------------------------------------------------------

    def _tree_rows(self, simulation: Any, current: Any, phase: Phase) -> list[tuple[Cell, ...]]:
        """A tree round as its walk: the first candidates while pending, then
        every node tried, in order (# is the depth; q and p are q_t and p_t)."""
        vocab = simulation.model.vocab
        verified, decided = phase is not Phase.DRAFT, phase is Phase.ACCEPT
        if decided:
            shown = list(current.tried)
        else:
            shown, node = [], -1
            while current.children[node]:
                node = current.children[node][0]
                shown.append(node)
        verdicts = dict(zip(current.tried, current.verdicts))
        rows = []
        for node in shown:
            q, p = current.drawn_probs[node], current.residual_probs[node] if verified else 0.0
            word = vocab[current.drafted[node]] + (f" #{current.ranks[node] + 1}" if current.ranks[node] else "")
            if not decided:
                u, verdict = PENDING, ("? pending", "italic $text-secondary")
            else:
                u = f"{current.draws[current.slot_count + current.slots[node]]:.3f}"
                verdict = ("✓ kept", "bold $text-success") if verdicts[node] else ("✗ rejected", "bold $text-error")
            rows.append(
                (
                    str(current.depths[node]),
                    word,
                    f"{q:.3f}",
                    f"{p:.3f}" if verified else PENDING,
                    _ratio_text(p / q if q > 0 else float("inf")) if verified else PENDING,
                    u,
                    verdict,
                )
            )
        if decided and current.final_token is not None:
            verdict = ("» correction", "bold $text-warning") if current.rejected else ("+ bonus", "bold $text-primary")
            rows.append((str(current.accepted + 1), vocab[current.final_token], "", "", "", "", verdict))
        return rows

    def _rows(self, simulation: Any, current: Any, phase: Phase) -> list[tuple[Cell, ...]]:
        if hasattr(current, "path"):  # a token tree's round
            return self._tree_rows(simulation, current, phase)
        vocab = simulation.model.vocab
        verified = phase is not Phase.DRAFT
        decided = phase is Phase.ACCEPT
        ratios = current.ratios() if verified else []
        k = current.draft_length
        rows = []
        for i, token in enumerate(current.drafted):
            q = f"{current.draft_probs[i]:.3f}"
            p = f"{current.target_probs[i]:.3f}" if verified else PENDING
            ratio = _ratio_text(ratios[i]) if verified else PENDING
            if not decided:
                u, verdict = PENDING, ("? pending", "italic $text-secondary")
            elif i < current.accepted:
                u, verdict = f"{current.draws[k + i]:.3f}", ("✓ kept", "bold $text-success")
            elif i == current.accepted and current.rejected:
                u, verdict = f"{current.draws[k + i]:.3f}", ("✗ rejected", "bold $text-error")
            else:
                u, verdict = "", ("· skipped", "$text-muted")
            rows.append((str(i + 1), vocab[token], q, p, ratio, u, verdict))
        if decided and current.final_token is not None:
            position = current.accepted + 1
            if current.rejected:
                verdict = ("» correction", "bold $text-warning")
            else:
                verdict = ("+ bonus", "bold $text-primary")
            rows.append((str(position), vocab[current.final_token], "", "", "", "", verdict))
        return rows

    def _tree_caption(self, current: Any, phase: Phase) -> Content:
        levels = current.draft_passes
        if phase is Phase.DRAFT:
            text = f"A tree of {current.nodes} nodes in {levels} levels, one draft pass a level. Next: VERIFY."
        elif phase is Phase.VERIFY:
            text = f"One target pass scored all {current.nodes} nodes. Next: ACCEPT, walking from the root."
        else:
            end = "every child of the last kept node rejected" if current.rejected else "a kept leaf, then the bonus"
            text = f"Tried {len(current.tried)} nodes: kept {current.accepted}, {end}."
        return Content.assemble((f"{phase.label} ", "bold"), text, (" View 8 draws the whole tree.", "$text-muted"))

    def _caption(self, simulation: Any, current: Any, phase: Phase) -> Content:
        if hasattr(current, "path"):  # a token tree's round
            return self._tree_caption(current, phase)
        drafted = len(current.drafted)
        plural = "" if drafted == 1 else "s"
        if phase is Phase.DRAFT:
            return Content.assemble(
                ("DRAFT ", "bold"),
                f"The draft model proposed {drafted} token{plural} x ~ q, one draft pass each. Next: VERIFY.",
            )
        if phase is Phase.VERIFY:
            return Content.assemble(
                ("VERIFY ", "bold"),
                f"One target pass scored all {drafted + 1} positions: p(x) for each draft, "
                f"and p{_subscript(drafted + 1)} for a bonus. Next: ACCEPT.",
            )
        vocab = simulation.model.vocab
        lossless_rule = simulation.config.method == "speculative"
        if current.rejected:
            position = current.accepted
            u = current.draws[current.draft_length + position]
            ratio = current.ratios()[position]
            if lossless_rule:
                why = f" (u = {u:.3f} ≥ p/q = {_ratio_text(ratio)})"
            else:  # another rule: say what it keeps
                why = f" ({simulation.config.method} keeps x only if {simulation.method.keeps_when})"
            skipped = f", {current.skipped} skipped" if current.skipped else ""
            source = " from norm(max(0, p − q))" if lossless_rule else ""
            return Content.assemble(
                ("ACCEPT ", "bold"),
                f"Kept {current.accepted} of {drafted}; x{_subscript(position + 1)} "
                f"'{vocab[current.drafted[position]]}' rejected{why}{skipped}. "
                f"Correction '{vocab[current.correction]}' drawn{source}.",
            )
        source = f" from p{_subscript(drafted + 1)}" if lossless_rule else ""
        kept = f"Kept all {drafted}" if drafted else "Nothing drafted (one token left to reach n)"
        return Content.assemble(
            ("ACCEPT ", "bold"),
            f"{kept}; bonus token '{vocab[current.bonus]}' drawn{source}: "
            f"{drafted + 1} token{'s' if drafted else ''} for one target pass.",
        )


def _short_verdict(verdict: Cell) -> Cell:
    text, style = verdict if isinstance(verdict, tuple) else (verdict, "")
    return (text.replace("rejected", "reject").replace("skipped", "skip").replace("correction", "correct"), style)


def _ratio_text(ratio: float) -> str:
    if ratio == float("inf"):
        return "∞"
    return f"{ratio:.2f}"
