"""The current round's token tree, phase by phase: candidates with q, then p, then each verdict.

One line per node, indented by depth, siblings in the order they are tried.
Marks say what happened, not only colours: `○` a candidate (before ACCEPT),
`✓` kept, `✗` rejected, `·` never tried, and `▶` on the kept path. After
each rejection the line names the residual's most likely tokens, so the
sibling update p <- norm(max(0, p - q_t)) can be followed step by step.

Up to MAX_WIDTH children a node and MAX_DEPTH levels the tree is drawn node
by node (a subtree nobody reached folds into one line once the tree is too
long to scroll comfortably); beyond, one summary line per level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from specviz.app.view_catalog import view_title
from specviz.app.widgets.analysis_view import AnalysisView
from specviz.engine.run.rounds import Phase

MAX_WIDTH = 4  # drawn node by node up to this many children a node ...
MAX_DEPTH = 6  # ... and this many levels
UNFOLDED_NODES = 64  # a tree this small shows every node; a larger one folds subtrees nobody reached
MAX_LINES = 400  # never more lines than this (a scroll of 1,024 nodes says nothing)
WORD_WIDTH = 10
RESIDUAL_SHOWN = 2  # the residual's top tokens named after a rejection

KEPT, REJECTED, UNTRIED, CANDIDATE, ON_PATH = "✓", "✗", "·", "○", "▶"
STYLES = {
    KEPT: "bold $text-success",
    REJECTED: "bold $text-error",
    UNTRIED: "$text-muted",
    CANDIDATE: "$text-secondary",
}
PATH_STYLE = "reverse"

NO_TREE = (
    "This run drafts a chain (tree width 1, i.i.d., no shape or budget). Set a tree width, sampling, "
    "shape or node budget in the control panel (or --tree-width, --tree-budget ...) to see a tree here."
)
NO_ROUND = "No round yet. Press space to run the DRAFT phase of round 1."


def _word(vocab: Any, token: int) -> str:
    word = vocab[token]
    return word if len(word) <= WORD_WIDTH else word[: WORD_WIDTH - 1] + "…"


def _p(value: float) -> str:
    """A probability in 4 cells: .123, 1.00 (the leading zero is noise at 80 columns)."""
    return "1.00" if value >= 0.9995 else f"{value:.3f}"[1:]


def _residual_text(vocab: Any, residual: np.ndarray) -> str:
    top = np.argsort(-residual, kind="stable")[:RESIDUAL_SHOWN]
    return ", ".join(f"{_word(vocab, int(t))} {_p(float(residual[int(t)]))}" for t in top if residual[int(t)] > 0)


def tree_lines(simulation: Any) -> list[Content]:
    """The lines the view shows for `simulation`'s current round (what tests read)."""
    stepper = getattr(simulation, "tree", None)
    if stepper is None:
        return [Content(NO_TREE)]
    round_ = simulation.current
    phase = simulation.last_phase
    if round_ is None or phase is None:
        return [Content(f"{stepper.shape.describe()}."), Content(NO_ROUND)]
    return _Drawing(simulation, stepper, round_, phase).lines()


class _Drawing:
    def __init__(self, simulation: Any, stepper: Any, round_: Any, phase: Phase):
        self.vocab = simulation.model.vocab
        self.stepper = stepper
        self.round = round_
        self.verified = phase is not Phase.DRAFT
        self.decided = phase is Phase.ACCEPT
        self.verdicts = dict(zip(round_.tried, round_.verdicts)) if self.decided else {}
        self.on_path = set(round_.path) if self.decided else set()

    def lines(self) -> list[Content]:
        round_ = self.round
        shape = self.stepper.shape
        head = [self._title(), Content.styled(shape.describe(), "$text-muted")]
        if shape.width > MAX_WIDTH or max(round_.depths, default=0) > MAX_DEPTH:
            return head + self._levels() + self._final()
        body: list[Content] = []
        self._subtree(-1, 0, body, fold=round_.nodes > UNFOLDED_NODES)
        if len(body) > MAX_LINES:
            body = body[:MAX_LINES] + [Content.styled(f"… {len(body) - MAX_LINES:,} more lines", "$text-muted")]
        return head + body + self._final()

    def _title(self) -> Content:
        round_ = self.round
        phase = "ACCEPT" if self.decided else "VERIFY" if self.verified else "DRAFT"
        parts = [(f"Round {round_.index + 1:,} ", "bold"), f"· {phase} · {round_.nodes} nodes"]
        if self.verified and round_.expected_tokens is not None:
            parts.append(f" · E[tokens | tree] {round_.expected_tokens:.2f}")
        if self.decided:
            parts.append(f" · kept {round_.accepted} → {round_.accepted + 1} tokens")
        return Content.assemble(*parts)

    def _mark(self, node: int) -> str:
        if not self.decided:
            return CANDIDATE
        if node not in self.verdicts:
            return UNTRIED
        return KEPT if self.verdicts[node] else REJECTED

    def _node_lines(self, node: int, depth: int) -> list[Content]:
        """The node's line, and after a rejection the residual it left on a line of its own."""
        lines = [self._node_line(node, depth)]
        if self._mark(node) == REJECTED:
            residual = self._residual_after(node)
            if residual is not None:
                text = f"p′ = norm(max(0, p − q_t)): {_residual_text(self.vocab, residual)}"
                lines.append(Content.assemble("  " * depth + "    ", (text, "$text-warning")))
        return lines

    def _node_line(self, node: int, depth: int) -> Content:
        round_ = self.round
        mark = self._mark(node)
        rank = round_.ranks[node]
        word = f"{_word(self.vocab, round_.drafted[node])}" + (f" #{rank + 1}" if rank else "")
        indent = "  " * (depth - 1)
        figures = f"q {_p(round_.draft_probs[node])}"
        if round_.drawn_probs[node] != round_.draft_probs[node]:
            figures += f" q_t {_p(round_.drawn_probs[node])}"
        if self.verified:
            figures += f"  p {_p(round_.target_probs[node])}"
            if round_.residual_probs[node] != round_.target_probs[node]:
                figures += f" p_t {_p(round_.residual_probs[node])}"
            figures += f"  keep {_p(round_.chances[node])}"
        else:
            figures += "  p …"
        path = node in self.on_path
        parts: list[str | tuple[str, str]] = [
            indent,
            (ON_PATH if path else " ", "bold"),
            (f"{mark} ", STYLES[mark]),
            (f"{word:<{WORD_WIDTH + 3}}", PATH_STYLE if path else ""),
            f" {figures}",
        ]
        return Content.assemble(*parts)

    def _residual_after(self, node: int) -> np.ndarray | None:
        """The residual once `node` was rejected (None for a method without residuals)."""
        round_ = self.round
        if not self.stepper.method.uses_residuals:
            return None
        parent = round_.parents[node]
        sequence = self.stepper.residual_sequence(round_, parent)
        return np.asarray(sequence[round_.ranks[node] + 1])

    def _subtree(self, node: int, depth: int, out: list[Content], fold: bool) -> None:
        round_ = self.round
        for child in round_.children[node]:
            out.extend(self._node_lines(child, depth + 1))
            if not round_.children[child]:
                continue
            # A large tree folds the subtrees nobody reached: before ACCEPT all
            # but the first candidates', after it all but the kept path's.
            open_ = not fold or (child in self.on_path if self.decided else round_.ranks[child] == 0)
            if open_:
                self._subtree(child, depth + 1, out, fold)
            else:
                below = self._descendants(child)
                out.append(Content.assemble("  " * (depth + 1), (f"  ⋯ {below:,} nodes below", "$text-muted")))

    def _descendants(self, node: int) -> int:
        children = self.round.children[node]
        return len(children) + sum(self._descendants(child) for child in children)

    def _levels(self) -> list[Content]:
        """One summary line per level, for a tree too wide or deep to draw."""
        round_ = self.round
        lines = [Content.styled("Too wide or deep to draw node by node: one line per level.", "$text-muted")]
        for depth in range(1, max(round_.depths) + 1):
            nodes = [n for n, d in enumerate(round_.depths) if d == depth]
            tried = [n for n in nodes if n in self.verdicts]
            kept = [n for n in tried if self.verdicts[n]]
            text = f"depth {depth}: {len(nodes):,} nodes"
            if self.decided:
                text += f", {len(tried)} tried"
                if kept:
                    node = kept[0]
                    text += f", {KEPT} {_word(self.vocab, round_.drafted[node])} (rank {round_.ranks[node] + 1})"
                elif tried:
                    text += f", {REJECTED} all rejected"
            lines.append(Content(text))
        return lines

    def _final(self) -> list[Content]:
        round_ = self.round
        if not self.decided or round_.final_token is None:
            return []
        word = _word(self.vocab, round_.final_token)
        if round_.rejected:
            return [Content.assemble(("» correction ", "bold $text-warning"), f"'{word}' from the last residual")]
        return [Content.assemble(("+ bonus ", "bold $text-primary"), f"'{word}' from p after the kept leaf")]


class TreeView(AnalysisView):
    NAME = "tree"
    TITLE = view_title("tree")
    HELP = """\
**Tree** (`8`). The current round's token tree (`--tree-width`,
`--tree-shape`, `--tree-budget`): one line per node, indented by depth,
siblings in the order they are tried, with q(x) (and q_t(x), the distribution
the node was actually drawn from, when it differs). After VERIFY: the
target's p(x), the residual's p_t(x) when the node is tried, and its chance
of being kept once reached. After ACCEPT: `✓` kept, `✗` rejected (with the
residual's top tokens after the update p ← norm(max(0, p − q_t))), `·` never
tried, `▶` on the kept path, then the correction or bonus. A large tree folds
the subtrees nobody reached; one wider than 4 or deeper than 6 shows a line
per level. A chain run (width 1) has no tree to show.
"""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="tree-scroll", can_focus=False):
            yield Static(id="tree-lines")

    def draw(self, simulation: Any) -> None:
        self.lines = tree_lines(simulation)
        self.query_one("#tree-lines", Static).update(Content("\n").join(self.lines))
