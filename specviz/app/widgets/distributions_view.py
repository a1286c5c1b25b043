"""Distributions: p against q at one draft position of the shown round, the overlap
min(p, q) that keeps a draft, and the residual a correction is drawn from."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from specviz.app.round_choice import choice_of
from specviz.app.view_catalog import view_title
from specviz.app.widgets.analysis_view import AnalysisView
from specviz.engine.analysis.distributions import TOP_TOKENS, position_distributions, position_dists
from specviz.engine.safe_text import printable

# The bar characters carry the meaning without colour.
OVERLAP, P_ABOVE, Q_ABOVE, THRESHOLD = "█", "▓", "░", "┊"
OVERLAP_STYLE, P_STYLE, Q_STYLE = "$success", "$primary", "$warning"
VERDICT_MARKS = {"kept": "✓", "rejected": "✗", "skipped": "·", "pending": "?"}
VERDICT_STYLES = {
    "kept": "bold $text-success",
    "rejected": "bold $text-error",
    "skipped": "$text-muted",
    "pending": "italic $text-secondary",
}
MIN_TOKENS = 3  # listed by likelihood however short the terminal (TOP_TOKENS where the height allows)
POSITION = Binding.Group("Position", compact=True)
MAX_BAR = 64  # cells for the largest mass: wider bars read no better


def _subscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def bar(p: float | None, q: float, scale: float, width: int) -> list[tuple[str, str]]:
    """One row's bar, `width` cells for `scale`: the overlap min(p, q), then the
    part of p above q or of q above p (only q before VERIFY: p is None)."""
    if scale <= 0 or width <= 0:
        return []

    def cells(mass: float) -> int:
        return min(width, round(mass / scale * width))

    if p is None:
        return [(Q_ABOVE * cells(q), Q_STYLE)]
    overlap = cells(min(p, q))
    top = cells(max(p, q))
    excess, style = (P_ABOVE, P_STYLE) if p > q else (Q_ABOVE, Q_STYLE)
    return [(OVERLAP * overlap, OVERLAP_STYLE), (excess * (top - overlap), style)]


def with_threshold(pieces: list[tuple[str, str]], column: int, width: int) -> list[tuple[str, str]]:
    """`pieces` padded to `width` with the threshold's mark at `column` (0-based)."""
    text = "".join(piece for piece, _ in pieces).ljust(width)
    styles = [style for piece, style in pieces for _ in piece] + [""] * (width - sum(len(p) for p, _ in pieces))
    column = max(0, min(column, width - 1))
    out = []
    for index, (char, style) in enumerate(zip(text, styles)):
        if index == column:
            out.append((THRESHOLD, "bold $text"))
        else:
            out.append((char, style))
    return out


def fit_lines(items: list[Content], width: int, gap: str = "  ") -> Content:
    """`items` in as few lines of `width` cells as fit, never broken inside an item."""
    lines: list[list[Content]] = [[]]
    used = 0
    for item in items:
        cells = item.cell_length
        if lines[-1] and used + len(gap) + cells > width:
            lines.append([])
            used = 0
        used += cells + (len(gap) if lines[-1] else 0)
        lines[-1].append(item)
    return Content("\n").join(Content(gap).join(line) for line in lines)


def line_count(content: Content, width: int) -> int:
    """Lines `content` takes at `width` cells, wrapped."""
    return sum(max(1, -(-line.cell_length // width)) for line in content.split("\n"))


def format_probability(value: float) -> str:
    if value == 0:
        return "0"
    return f"{value:.3f}" if value >= 0.0005 else f"{value:.0e}"


class DistributionsView(AnalysisView, can_focus=True):
    TITLE = view_title("distributions")
    FOLLOWS_CHOICE = True  # redraws when `<` `>` or ←/→ change the shown round or position
    BINDINGS = [
        Binding("left", "position(-1)", "−", key_display="←", tooltip="The previous draft position", group=POSITION),
        Binding("right", "position(1)", "+", key_display="→", tooltip="The next draft position", group=POSITION),
    ]
    HELP = """\
**Distributions** (`7`, the tab `p vs q`). p against q at one draft position of the round
(`←` `→` pick the position, as does a click on a row of the round table; `<`
`>` pick the round): the most likely tokens of p and q (the top 12 by
max(p, q); fewer on a short terminal) and every other token summed in one
`other` row. Each bar is the overlap min(p, q) `█` (summed over the
vocabulary, β = Σ min(p, q) is the chance speculative sampling keeps a draft
x ~ q here; TV = 1 − β) and above it the part of p over q `▓` or of q over
p `░`. Marks: `x` the draft, with `✓` kept, `✗`
rejected, `·` skipped, `?` not yet tested; `»` the correction; `+` the bonus;
`^` argmax p (greedy); `y` the y ~ p drawn with u (sample-match); `┊` the
threshold min(ε, δ·exp(−H(p))) a draft's p(x) must exceed (typical). After a
rejection under speculative sampling the `r` column is the residual
norm(max(0, p − q)) the correction was drawn from. After DRAFT only q is
shown: p comes with VERIFY.
"""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._computed: tuple[tuple[Any, ...], Any] | None = None
        self.shown: Any = None  # the PositionDistributions drawn (tests read it)

    def compose(self) -> ComposeResult:
        yield Static(id="distributions-caption", classes="view-caption")
        with VerticalScroll(id="distributions-scroll", can_focus=False):
            yield Static(id="distributions-table")
        yield Static(id="distributions-legend")

    def on_show(self) -> None:
        super().on_show()
        self.focus()  # so ← → reach the view, not the tabs

    def on_resize(self) -> None:
        if self.simulation is not None and self.displayed:
            self.catch_up()  # the bars' width and the rows that fit depend on the size

    # ---- keys -----------------------------------------------------------------

    def action_position(self, delta: int) -> None:
        simulation = self.simulation
        if simulation is None:
            return
        choice = choice_of(self)
        round_, phase = choice.shown(simulation)
        if round_ is None or phase is None:
            return
        choice.choose_position(round_, phase, choice.position(round_, phase) + delta)
        show_choice = getattr(self.app, "show_choice", None)
        if show_choice is not None:
            show_choice()  # the round table marks the row too
        else:
            self.catch_up()

    # ---- drawing --------------------------------------------------------------

    def draw(self, simulation: Any) -> None:
        caption = self.query_one("#distributions-caption", Static)
        table = self.query_one("#distributions-table", Static)
        legend = self.query_one("#distributions-legend", Static)
        choice = choice_of(self)
        round_, phase = choice.shown(simulation)
        if simulation.model is None or round_ is None or phase is None:
            self.shown = None
            caption.update("No round yet: press space to draft, and see p against q here.")
            table.update("")
            legend.update("")
            return
        position = choice.position(round_, phase)
        width = max(20, self.size.width or 80)
        height = self.size.height or 24
        shown = self._compute(simulation, round_, phase, position, TOP_TOKENS)
        text = self._caption(simulation, round_, shown, choice.live, width)
        key = self._legend(shown, width)
        # As many rows as fit under the caption and over the legend (the
        # column header, the other row and the caption's margin take 3 more).
        spare = height - line_count(text, width) - line_count(key, width) - 3
        marked = len(shown.rows) - min(TOP_TOKENS, len(shown.rows))
        top = max(MIN_TOKENS, min(TOP_TOKENS, spare - marked))
        if top < TOP_TOKENS:
            shown = self._compute(simulation, round_, phase, position, top)
        self.shown = shown
        caption.update(text)
        table.update(self._table(simulation.model.vocab, shown, width))
        legend.update(key)

    def _compute(self, simulation: Any, round_: Any, phase: Any, position: int, top: int) -> Any:
        key = (id(simulation), id(round_), round_.index, phase, position, top)
        if self._computed is not None and self._computed[0] == key:
            return self._computed[1]
        dists = position_dists(simulation.model, simulation.history, simulation.prompt_length, round_, position)
        shown = position_distributions(dists, simulation.method, round_, position, phase, top)
        self._computed = (key, shown)
        return shown

    def _word(self, vocab: Any, token: int | None) -> str:
        return "other" if token is None else printable(vocab[token])

    def _caption(self, simulation: Any, round_: Any, shown: Any, live: bool, width: int) -> Content:
        vocab = simulation.model.vocab
        drafted = len(round_.drafted)
        where = f"Round {round_.index + 1:,}" + ("" if live else " (past)")
        if shown.token is not None:
            at = f"position {shown.position + 1} of {drafted + 1} (← →): x{_subscript(shown.position + 1)} "
            at += f"'{self._word(vocab, shown.token)}'"
        else:
            at = f"position {shown.position + 1} of {drafted + 1} (← →): after the drafts, p{_subscript(drafted + 1)}"
        method = simulation.config.method
        first = Content.assemble((where, "bold"), f" · {method} · {at}")
        rule = shown.figures
        figures = []
        if shown.p_shown:
            figures += [f"β = Σ min(p, q) = {shown.overlap:.3f}", f"TV = 1 − β = {shown.total_variation:.3f}"]
        if shown.q_x is not None:
            figures.append(f"q(x) {format_probability(shown.q_x)}")
        if shown.p_x is not None:
            figures.append(f"p(x) {format_probability(shown.p_x)}")
        if shown.p_shown:
            # The figures the method's rule reads, as the round table shows them.
            if rule.rule == "greedy":
                figures.append(f"argmax p '{self._word(vocab, rule.argmax)}'")
            elif rule.rule == "typical":
                figures.append(f"H(p) {rule.entropy:.2f} nats")
                figures.append(f"threshold {format_probability(rule.threshold)}")
            elif shown.ratio is not None and rule.rule != "sample-match":
                figures.append("p/q ∞" if shown.ratio == float("inf") else f"p/q {shown.ratio:.2f}")
        if shown.u is not None and rule.rule not in ("greedy", "typical"):
            figures.append(f"u {shown.u:.3f}")
        numbers = fit_lines([Content(figure) for figure in figures], width)
        return Content("\n").join([first, numbers, self._verdict_line(simulation, shown)])

    def _verdict_line(self, simulation: Any, shown: Any) -> Content:
        vocab = simulation.model.vocab
        rule = shown.figures.rule
        verdict = shown.verdict
        word = self._word
        if verdict == "pending":
            if not shown.p_shown:
                return Content("DRAFT ran: x drafted from q. p comes with VERIFY, the test with ACCEPT.")
            return Content("VERIFY ran: p scored. The test comes with ACCEPT.")
        if verdict == "skipped":
            return Content.assemble(
                ("· skipped", VERDICT_STYLES["skipped"]), ": after the first rejection, never tested"
            )
        if verdict == "unused":
            return Content("After the drafts: unused, a draft was rejected (no bonus this round).")
        if verdict == "bonus":
            source = "chosen (argmax p)" if rule == "greedy" else "drawn from p with the round's last u"
            return Content.assemble(
                ("+ bonus", "bold $text-primary"), f" '{word(vocab, shown.final)}' {source}: every draft was kept"
            )
        kept = verdict == "kept"
        mark = ("✓ kept", VERDICT_STYLES["kept"]) if kept else ("✗ rejected", VERDICT_STYLES["rejected"])
        if rule == "speculative":
            why = f"u = {shown.u:.3f} {'<' if kept else '≥'} p/q = {shown.ratio:.2f}"
            source = "drawn from the residual norm(max(0, p − q)), column r"
        elif rule == "greedy":
            argmax = word(vocab, shown.figures.argmax)
            why = f"x {'=' if kept else '≠'} argmax p '{argmax}' (^)"
            source = "chosen (argmax p)"
        elif rule == "typical":
            threshold = shown.figures.threshold
            why = (
                f"p(x) {format_probability(shown.p_x)} {'>' if kept else '≤'} threshold "
                f"min(ε, δ·exp(−H(p))) = {format_probability(threshold)} ({THRESHOLD})"
            )
            source = "drawn from p"
        elif rule == "sample-match":
            why = f"y ~ p with u: '{word(vocab, shown.sample)}' (y), x {'=' if kept else '≠'} y"
            source = "= y"
        else:
            why, source = f"{simulation.config.method} keeps x only if {simulation.method.keeps_when}", "emitted"
        parts: list[str | tuple[str, str]] = [mark, f": {why}"]
        if not kept and shown.final is not None:
            parts += [" · correction ", ("»", "bold $text-warning"), f"'{word(vocab, shown.final)}' {source}"]
        return Content.assemble(*parts)

    def _marks(self, shown: Any, token: int | None) -> list[tuple[str, str]]:
        if token is None:
            return []
        marks: list[tuple[str, str]] = []
        if token == shown.token:
            marks.append(("x" + VERDICT_MARKS.get(shown.verdict, ""), VERDICT_STYLES.get(shown.verdict, "bold")))
        if token == shown.final:
            marks.append(("+" if shown.verdict == "bonus" else "»", "bold $text-warning"))
        if token == shown.figures.argmax:
            marks.append(("^", "bold"))
        if token == shown.sample:
            marks.append(("y", "bold"))
        return marks

    def _table(self, vocab: Any, shown: Any, width: int) -> Content:
        rows = list(shown.rows)
        words = [self._word(vocab, row.token) for row in rows]
        word_width = max(5, min(14, max(len(w) for w in words)))
        residual = shown.residual_shown
        number = 6
        mark_width = 4
        fixed = mark_width + 1 + word_width + 2 * (number + 1) + 1 + (number + 1 if residual else 0)
        bar_width = max(8, min(MAX_BAR, width - fixed - 1))
        p_shown = shown.p_shown
        scale = max(max(row.p if p_shown else 0.0, row.q) for row in rows) if rows else 0.0
        threshold_column = None
        if shown.figures.threshold is not None and p_shown and scale > 0:
            threshold_column = round(shown.figures.threshold / scale * bar_width)
        head: list[str | tuple[str, str]] = [
            ("mark".ljust(mark_width), "bold"),
            " ",
            ("token".ljust(word_width), "bold"),
            " ",
            ("p(x)".rjust(number), "bold"),
            " ",
            ("q(x)".rjust(number), "bold"),
            " ",
            ("overlap █, p above q ▓, q above p ░".ljust(bar_width)[:bar_width], "bold"),
        ]
        if residual:
            head += [" ", ("r".rjust(number), "bold")]
        lines = [Content.assemble(*head)]
        listed = [(row, word) for row, word in zip(rows, words)]
        if shown.other is not None:
            listed.append((shown.other, "other"))
        for row, word in listed:
            marks = self._marks(shown, row.token)
            mark_text = "".join(text for text, _ in marks)
            parts: list[str | tuple[str, str]] = [*marks, " " * max(0, mark_width - len(mark_text)), " "]
            if len(word) > word_width:
                word = word[: word_width - 1] + "…"
            parts.append((word.ljust(word_width), "italic $text-muted" if row.token is None else ""))
            parts += [" ", (format_probability(row.p) if p_shown else "…").rjust(number)]
            parts += [" ", format_probability(row.q).rjust(number), " "]
            if row.token is None and max(row.p if p_shown else 0.0, row.q) > scale:
                # The other row runs past the scale of the listed tokens.
                pieces = bar(row.p if p_shown else None, row.q, scale, bar_width - 1) + [("…", "$text-muted")]
            else:
                pieces = bar(row.p if p_shown else None, row.q, scale, bar_width)
            if threshold_column is not None:
                pieces = with_threshold(pieces, threshold_column, bar_width)
            else:
                used = sum(len(text) for text, _ in pieces)
                pieces.append((" " * max(0, bar_width - used), ""))
            parts += pieces
            if residual:
                parts += [" ", format_probability(row.residual).rjust(number)]
            lines.append(Content.assemble(*parts))
        return Content("\n").join(lines)

    def _legend(self, shown: Any, width: int) -> Content:
        rule = shown.figures.rule
        items = [
            Content.assemble((OVERLAP, OVERLAP_STYLE), " min(p, q)"),
            Content.assemble((P_ABOVE, P_STYLE), " p above q"),
            Content.assemble((Q_ABOVE, Q_STYLE), " q above p"),
            Content("x draft ✓✗·?"),
            Content("» correction"),
            Content("+ bonus"),
        ]
        if rule == "greedy":
            items.append(Content("^ argmax p"))
        elif rule == "sample-match":
            items.append(Content("y the y ~ p"))
        elif rule == "typical":
            items.append(Content(f"{THRESHOLD} threshold"))
        if shown.residual_shown:
            items.append(Content("r residual"))
        return fit_lines(items, width)
