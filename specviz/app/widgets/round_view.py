"""The current round, revealed phase by phase: x, q(x), then p(x) and p/q, then u and the verdict."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.widgets import Static

from specviz.app.columns import Cell, Column, header, lines, row
from specviz.app.recent_rounds import CAPACITY
from specviz.app.round_choice import choice_of
from specviz.app.view import Change, SimulationView
from specviz.engine.run.rounds import Phase

PENDING = "…"  # a figure the phases so far have not produced yet
RUNNING = "running"  # what is shown while many rounds run at once
# Speculative sampling's columns (widths are set when drawn); another rule swaps
# the fifth and sixth for what it reads.
SPECULATIVE_COLUMNS = (
    Column("#", 2, "right"),
    Column("draft x", 0),
    Column("q(x)", 0, "right"),
    Column("p(x)", 0, "right"),
    Column("p/q", 0),
    Column("u", 0),
    Column("verdict", 0),
)
RUNNING_CAPTION = "Running… each round's table shows again when the run stops (any step key stops it)."


def _subscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


class RoundView(SimulationView, Vertical):
    """A table of the shown round (the run's, or a past one) with a one-line
    explanation of the phase that ran."""

    FOLLOWS_CHOICE = True  # redraws when `<` `>` or a chosen position change what it shows

    HELP = """\
**Round view.** The round in progress. After DRAFT: each drafted token x with
the draft's probability q(x). After VERIFY: the target's p(x) and the ratio
p/q. After ACCEPT: the uniform u drawn for each test and the verdict:
`✓ kept` when u < p/q (so a draft is kept with probability min(1, p/q)),
`✗ rejected` at the first u ≥ p/q, `· skipped` for the drafts after it
(never tested), then the `»` correction drawn from norm(max(0, p − q)) or,
when every draft was kept, the `+` bonus token drawn from p at position k+1.
The columns follow the method: greedy shows argmax p (its correction and
bonus are chosen, not drawn) and no u; typical shows H(p) and its threshold
min(ε, δ·exp(−H(p))) instead of p/q and u; sample-match shows the y it drew
from p with u. A click on a row shows that position in the distributions view
(`7`), marked `▸` here. `<` and `>` step back and forth through the last
{CAPACITY} completed rounds (the round table, the distributions view and the
stream's highlight show the chosen one; the run pauses meanwhile); forward
past the newest the run goes on where it was.
""".replace("{CAPACITY}", str(CAPACITY))

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._shown: tuple[Any, ...] | str | None = None
        self.rows: list[tuple[Cell, ...]] = []  # the table as shown (tests read it)
        self.columns: list[Column] = []  # their columns (the method's)
        self._positions: list[int] = []  # the draft position of each row, for a click
        self.border_title = "Round"

    def compose(self) -> ComposeResult:
        yield Static(id="round-caption")
        with VerticalScroll(id="round-scroll", can_focus=False):
            yield Static(id="round-table")

    def show_simulation(self, simulation: Any, change: Change) -> None:
        choice = choice_of(self)
        current, phase = choice.shown(simulation)
        if change is Change.PROGRESS and choice.live:
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
        chosen = choice.chosen(current, phase)
        key = (id(simulation), phase, -1 if current is None else current.index, id(current), chosen)
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
        self.border_title = f"Round {current.index + 1:,}" + ("" if choice.live else " · past (> returns to the run)")
        caption.update(self._caption(simulation, current, phase))
        self.columns, self.rows, self._positions = self._rows(simulation, current, phase, chosen)
        self._draw_table()

    def on_click(self, event: Click) -> None:
        """A click on a row shows its position in the distributions view."""
        table = self.query_one("#round-table", Static)
        line = event.screen_y - table.region.y - 1  # below the header line
        if not 0 <= line < len(self._positions) or self.app is None:
            return
        simulation = getattr(self.app, "run_state", None)
        if simulation is None:
            return
        choice = choice_of(self)
        current, phase = choice.shown(simulation)
        if current is None:
            return
        choice.choose_position(current, phase, self._positions[line])
        show_choice = getattr(self.app, "show_choice", None)
        if show_choice is not None:
            show_choice()

    def on_resize(self) -> None:
        self._draw_table()

    def _draw_table(self) -> None:
        """The rows at the width there is: compact (no #, short verdicts) when narrow."""
        table = self.query_one("#round-table", Static)
        if not self.rows:
            table.update("")
            return
        compact = self.scrollable_content_region.width < 60
        number = 5 if compact else 6
        word_width = min(max([7] + [len(cells[1]) for cells in self.rows]), 6 if compact else 16)
        words = ("draft x", "argmax p", "y ~ p")
        columns = []
        for column in self.columns:
            name = column.header
            if name == "#":
                columns.append(Column("#", 2, "right"))
            elif name == "verdict":
                columns.append(Column("verdict", 9 if compact else 12))
            elif name == "draft x":
                columns.append(Column("x" if compact else name, word_width))
            elif name in words:
                columns.append(Column(name, word_width if compact else max(8, word_width)))
            else:
                columns.append(Column(name, number, "right"))
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

    def _rows(
        self, simulation: Any, current: Any, phase: Phase, chosen: int | None
    ) -> tuple[list[Column], list[tuple[Cell, ...]], list[int]]:
        """The method's columns (widths set when drawn), the rows and each row's draft position."""
        from specviz.engine.analysis.distributions import round_dists, rule_figures, rule_of

        if hasattr(current, "path"):  # a token tree's round: its walk, in the chain's columns
            # No row is a draft position, so a click picks none (positions empty).
            return list(SPECULATIVE_COLUMNS), self._tree_rows(simulation, current, phase), []
        vocab = simulation.model.vocab
        verified = phase is not Phase.DRAFT
        decided = phase is Phase.ACCEPT
        ratios = current.ratios() if verified else []
        k = current.draft_length
        method = simulation.method
        rule = rule_of(method)
        figures = []
        if verified and rule in ("greedy", "typical"):
            dists = round_dists(simulation.model, simulation.history, simulation.prompt_length, current)
            figures = [rule_figures(method, d) for d in dists[: len(current.drafted)]]
        # The fifth and sixth columns: what the method's rule reads.
        extra = {
            "greedy": ("p/q", "argmax p"),
            "typical": ("H(p)", "thresh"),
            "sample-match": ("u", "y ~ p"),
        }.get(rule, ("p/q", "u"))
        columns = [*SPECULATIVE_COLUMNS[:4], Column(extra[0], 0), Column(extra[1], 0), SPECULATIVE_COLUMNS[-1]]
        rows: list[tuple[Cell, ...]] = []
        positions = []
        for i, token in enumerate(current.drafted):
            q = f"{current.draft_probs[i]:.3f}"
            p = f"{current.target_probs[i]:.3f}" if verified else PENDING
            ratio = _ratio_text(ratios[i]) if verified else PENDING
            tested = decided and i < current.decided
            u = f"{current.draws[k + i]:.3f}" if tested else (PENDING if not decided else "")
            if not decided:
                verdict = ("? pending", "italic $text-secondary")
            elif i < current.accepted:
                verdict = ("✓ kept", "bold $text-success")
            elif i == current.accepted and current.rejected:
                verdict = ("✗ rejected", "bold $text-error")
            else:
                verdict = ("· skipped", "$text-muted")
            if rule == "greedy":
                cells: tuple[Cell, Cell] = (ratio, vocab[figures[i].argmax] if figures else PENDING)
            elif rule == "typical":
                cells = (f"{figures[i].entropy:.2f}", f"{figures[i].threshold:.3f}") if figures else (PENDING, PENDING)
            elif rule == "sample-match":
                # y ~ p drawn with u: the draft itself where kept, the y emitted at the mismatch.
                if not decided:
                    y = PENDING
                elif i < current.accepted:
                    y = vocab[token]
                elif i == current.accepted and current.correction is not None:
                    y = vocab[current.correction]
                else:
                    y = ""
                cells = (u, y)
            else:
                cells = (ratio, u)
            number = ("▸" if chosen == i else "") + str(i + 1)
            rows.append((number, vocab[token], q, p, *cells, verdict))
            positions.append(i)
        if decided and current.final_token is not None:
            position = current.accepted + 1
            if current.rejected:
                verdict = ("» correction", "bold $text-warning")
            else:
                verdict = ("+ bonus", "bold $text-primary")
            number = ("▸" if chosen == current.accepted else "") + str(position)
            rows.append((number, vocab[current.final_token], "", "", "", "", verdict))
            positions.append(current.accepted)
        return columns, rows, positions

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
        from specviz.engine.analysis.distributions import position_dists, rule_figures, rule_of

        rule = rule_of(simulation.method)
        lossless_rule = rule == "speculative"
        greedy = rule == "greedy"
        if current.rejected:
            position = current.accepted
            u = current.draws[current.draft_length + position]
            ratio = current.ratios()[position]
            if rule in ("greedy", "typical"):
                dists = position_dists(
                    simulation.model, simulation.history, simulation.prompt_length, current, position
                )
                figures = rule_figures(simulation.method, dists)
            if lossless_rule:
                why = f" (u = {u:.3f} ≥ p/q = {_ratio_text(ratio)})"
            elif greedy:
                why = f" (x ≠ argmax p '{vocab[figures.argmax]}')"
            elif rule == "typical":
                why = f" (p(x) = {current.target_probs[position]:.3f} ≤ threshold {figures.threshold:.3f})"
            elif rule == "sample-match":
                why = f" (y ~ p drawn with u = {u:.3f} is '{vocab[current.correction]}', not x)"
            else:  # another rule: say what it keeps
                why = f" ({simulation.config.method} keeps x only if {simulation.method.keeps_when})"
            skipped = f", {current.skipped} skipped" if current.skipped else ""
            source = " from norm(max(0, p − q))" if lossless_rule else " from p" if rule == "typical" else ""
            how = "chosen (argmax p)" if greedy else "= y, emitted" if rule == "sample-match" else f"drawn{source}"
            return Content.assemble(
                ("ACCEPT ", "bold"),
                f"Kept {current.accepted} of {drafted}; x{_subscript(position + 1)} "
                f"'{vocab[current.drafted[position]]}' rejected{why}{skipped}. "
                f"Correction '{vocab[current.correction]}' {how}.",
            )
        source = f" from p{_subscript(drafted + 1)}" if rule != "other" else ""
        how = "chosen (argmax p)" if greedy else f"drawn{source}"
        kept = {0: "Nothing drafted (one token left to reach n)", 1: "Kept the one draft"}.get(
            drafted, f"Kept all {drafted}"
        )
        return Content.assemble(
            ("ACCEPT ", "bold"),
            f"{kept}; bonus token '{vocab[current.bonus]}' {how}: "
            f"{drafted + 1} token{'s' if drafted else ''} for one target pass.",
        )


def _short_verdict(verdict: Cell) -> Cell:
    text, style = verdict if isinstance(verdict, tuple) else (verdict, "")
    return (text.replace("rejected", "reject").replace("skipped", "skip").replace("correction", "correct"), style)


def _ratio_text(ratio: float) -> str:
    if ratio == float("inf"):
        return "∞"
    return f"{ratio:.2f}"
