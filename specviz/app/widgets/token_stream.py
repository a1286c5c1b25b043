"""The live token stream: every emitted token, styled and marked by how it was made.

A line-API ScrollView in the manner of Toolong: the tokens stay in the
engine's compact storage (`history`, an array of ids, and `kinds`, a
bytearray); this widget keeps only a `TokenLayout` (one integer per display
line) and an LRU of rendered lines, and renders only the lines on screen.

The round in progress is drawn after the committed tokens, in place: its
drafts as pending (?) until ACCEPT, then kept (✓), rejected (✗) and skipped
(·) drafts, then the correction (») or bonus (+) token. When the next round
starts, that round joins the plain history, where only corrections and bonus
tokens keep a mark.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from specviz.app.round_choice import choice_of
from specviz.app.token_layout import PROMPT_KIND, TokenLayout, spaced
from specviz.app.view import Change, SimulationView
from specviz.engine.run.rounds import Phase, TokenKind

# Marks in the committed history: a plain token is an accepted draft.
HISTORY_MARKS = {PROMPT_KIND: "", TokenKind.ACCEPTED: "", TokenKind.CORRECTION: "»", TokenKind.BONUS: "+"}
HISTORY_CLASSES = {
    PROMPT_KIND: "token-stream--prompt",
    TokenKind.ACCEPTED: "token-stream--accepted",
    TokenKind.CORRECTION: "token-stream--correction",
    TokenKind.BONUS: "token-stream--bonus",
}

LEGEND = "»correction +bonus ?pending ✓kept ✗rejected ·skipped"
# Shorter words for a narrower stream (80 columns): the longest that fits is shown whole.
LEGENDS = (LEGEND, "»correct +bonus ?pending ✓kept ✗reject ·skip", "»corr +bonus ?pend ✓kept ✗rej ·skip")


class Piece(NamedTuple):
    """One token of the live lines: its joined text, its mark and style class."""

    text: str  # as it joins running text (" word" or ",")
    mark: str
    style_class: str


class TokenStream(SimulationView, ScrollView, can_focus=True):
    """Scrollable, word-wrapped stream of the run's tokens."""

    HELP = """\
**Token stream.** The prompt (dim italic), then every emitted token. Plain
tokens are accepted drafts; `»` marks a correction drawn after a rejection,
`+` a bonus token drawn when every draft was kept. The current round is shown
in place: `?` pending drafts, then `✓` kept, `✗` rejected and `·` skipped
drafts. Scroll with the arrow keys, PgUp/PgDn, Home/End when it has focus;
it follows the end of the run while you are at the bottom. A past round
chosen with `<` `>` is highlighted in place (and scrolled to). With subword
tokens (the hf pair) every other token is shaded, so each token's boundaries show.
"""
    FOLLOWS_CHOICE = True  # highlights the past round `<` `>` choose

    COMPONENT_CLASSES = {
        "token-stream--prompt",
        "token-stream--accepted",
        "token-stream--correction",
        "token-stream--bonus",
        "token-stream--kept",
        "token-stream--rejected",
        "token-stream--skipped",
        "token-stream--pending",
        "token-stream--chosen",
        "token-stream--boundary",
    }

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._simulation: Any = None
        self._layout: TokenLayout | None = None
        self._joined: tuple[str, ...] = ()
        self._committed = 0  # history tokens laid out as plain history
        self._tail: list[Piece] = []  # the round in progress, drawn in place
        self._live: list[Strip] = []  # the open last line plus the tail, wrapped
        self._strips: LRUCache[int, Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}
        # Follow the end of the run until the person scrolls away from it.
        self._follow = True
        # History indices [start, stop) of the past round shown (`<` `>`), else None.
        self._highlight: tuple[int, int] | None = None
        self._subword = False
        self.border_title = "Token stream"
        self.border_subtitle = LEGEND

    # ---- what the App calls ------------------------------------------------

    def show_simulation(self, simulation: Any, change: Change) -> None:
        if change is Change.RESET or simulation is not self._simulation:
            self._simulation = simulation
            # No model yet (the first frame, before it loads): no prompt tokens to show.
            self._joined = simulation.model.joined if simulation.model is not None else ()
            # Subword pieces (the hf pair) join without spaces: every other one is shaded.
            self._subword = simulation.model is not None and simulation.model.subword_tokens
            self._layout = None
            self._follow = True
        self._committed, self._tail = self._split(simulation)
        highlight = self._chosen_span(simulation)
        if highlight != self._highlight:
            self._highlight = highlight
            self._strips.clear()
            self._follow = highlight is None
            self.border_subtitle = LEGEND if highlight is None else "past round highlighted · > returns to the run"
        self._update_layout()
        if highlight is not None and self._layout is not None:
            line = self._layout.line_of_token(highlight[0])
            self.scroll_to(y=max(0, line - self.size.height // 2), animate=False)

    def _chosen_span(self, simulation: Any) -> tuple[int, int] | None:
        past = choice_of(self).past
        if past is None or simulation.model is None:
            return None
        start = simulation.prompt_length + past.start
        return start, start + len(past.emitted)

    @property
    def line_count(self) -> int:
        """Display lines, committed and live (for tests and the benchmark)."""
        layout = self._layout
        return 0 if layout is None else max(layout.line_count - 1, 0) + len(self._live)

    @property
    def layout(self) -> TokenLayout | None:
        return self._layout

    # ---- model ---------------------------------------------------------------

    def _split(self, simulation: Any) -> tuple[int, list[Piece]]:
        """How many history tokens are plain history, and the pieces of the live round."""
        prompt_length = simulation.prompt_length
        # kinds is extended after history; the shorter of the two is complete.
        emitted = min(len(simulation.history) - prompt_length, len(simulation.kinds))
        current = simulation.current
        phase = simulation.last_phase
        joined = self._joined
        if current is None or phase is None:
            return prompt_length + emitted, []
        if hasattr(current, "path"):  # a token tree's round (view 8 draws the tree)
            return self._tree_split(current, phase, prompt_length, emitted)
        if phase is not Phase.ACCEPT:
            pending = [Piece(joined[token], "?", "token-stream--pending") for token in current.drafted]
            return prompt_length + emitted, pending
        pieces = [Piece(joined[token], "✓", "token-stream--kept") for token in current.drafted[: current.accepted]]
        if current.rejected:
            pieces.append(Piece(joined[current.drafted[current.accepted]], "✗", "token-stream--rejected"))
            pieces.extend(
                Piece(joined[token], "·", "token-stream--skipped") for token in current.drafted[current.accepted + 1 :]
            )
            if current.correction is not None:
                pieces.append(Piece(joined[current.correction], "»", "token-stream--correction"))
        elif current.bonus is not None:
            pieces.append(Piece(joined[current.bonus], "+", "token-stream--bonus"))
        return prompt_length + current.start, pieces

    def _tree_split(self, current: Any, phase: Phase, prompt_length: int, emitted: int) -> tuple[int, list[Piece]]:
        """A tree round as a line of tokens: its first candidates while pending;
        then the kept path, the last level's rejected children, the final token."""
        joined = self._joined
        tokens = current.drafted
        if phase is not Phase.ACCEPT:
            first, node = [], -1
            while current.children[node]:
                node = current.children[node][0]
                first.append(Piece(joined[tokens[node]], "?", "token-stream--pending"))
            return prompt_length + emitted, first
        pieces = [Piece(joined[tokens[node]], "✓", "token-stream--kept") for node in current.path]
        if current.rejected:
            last = current.path[-1] if current.path else -1
            pieces.extend(Piece(joined[tokens[node]], "✗", "token-stream--rejected") for node in current.children[last])
            if current.correction is not None:
                pieces.append(Piece(joined[current.correction], "»", "token-stream--correction"))
        elif current.bonus is not None:
            pieces.append(Piece(joined[current.bonus], "+", "token-stream--bonus"))
        return prompt_length + current.start, pieces

    def _wrap_width(self) -> int:
        return self.scrollable_content_region.width

    def _update_layout(self) -> None:
        simulation = self._simulation
        width = self._wrap_width()
        if simulation is None or width <= 0:
            return  # laid out on the first resize, once the width is known
        if simulation.model is None:
            return  # the first frame, before the engine loads: no tokens to lay out
        if self._layout is None or self._layout.width != width:
            self._layout = TokenLayout(
                self._joined, {k: len(m) for k, m in HISTORY_MARKS.items()}, simulation.prompt_length, width
            )
            self._strips.clear()
        self._layout.extend(simulation.history, simulation.kinds, self._committed)
        self._live = self._render_live()
        self.virtual_size = Size(width, self.line_count)
        if self._follow:
            # After the refresh, when the new height and the viewport are known.
            self.scroll_end(animate=False, x_axis=False)
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._follow = new_value >= self.max_scroll_y

    # ---- rendering -------------------------------------------------------------

    def on_resize(self, event: Resize) -> None:
        # The legend in the bottom border, whole: shorter words where the full one would be cut.
        self.border_subtitle = next((text for text in LEGENDS if len(text) + 6 <= event.size.width), LEGENDS[-1])
        self._update_layout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()
        if self._layout is not None:
            self._live = self._render_live()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name)
        return style

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        strip = self._line(scroll_y + y)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def _line(self, line: int) -> Strip:
        layout = self._layout
        if layout is None:
            return Strip.blank(0)
        closed = max(layout.line_count - 1, 0)  # the last committed line is open: live
        if line < closed:
            strip = self._strips.get(line)
            if strip is None:
                strip = self._strips[line] = self._strip(self._history_segments(*layout.line_span(line)))
            return strip
        live_index = line - closed
        if 0 <= live_index < len(self._live):
            return self._live[live_index]
        return Strip.blank(0)

    def _history_segments(self, start: int, stop: int) -> list[Segment]:
        """Segments for history tokens [start, stop) forming one line."""
        highlight = self._highlight
        if highlight is not None and highlight[0] < stop and start < highlight[1]:
            # The chosen past round on this line: its tokens in their own segments, highlighted.
            first, last = max(start, highlight[0]), min(stop, highlight[1])
            chosen = self._style("token-stream--chosen")
            segments = self._history_segments_plain(start, first, start)
            segments += [
                Segment(segment.text, (segment.style or Style()) + chosen)
                for segment in self._history_segments_plain(first, last, start)
            ]
            return segments + self._history_segments_plain(last, stop, start)
        return self._history_segments_plain(start, stop, start)

    def _history_segments_plain(self, start: int, stop: int, line_start: int) -> list[Segment]:
        """Segments for history tokens [start, stop) of the line starting at `line_start`."""
        if start >= stop:
            return []
        simulation = self._simulation
        layout = self._layout
        ids = simulation.history[start:stop]
        codes = layout.kind_codes(simulation.kinds, start, stop).tolist()
        joined = self._joined
        segments: list[Segment] = []
        run: list[str] = []  # consecutive unmarked tokens of one kind share a segment
        run_code = None
        subword = self._subword
        for offset, (token, code) in enumerate(zip(ids, codes)):
            mark = HISTORY_MARKS[code]
            text = spaced(joined[token], mark)
            if offset == 0 and start == line_start and text.startswith(" "):
                text = text[1:]
            if mark or code != run_code or subword:
                if run:
                    segments.append(Segment("".join(run), self._style(HISTORY_CLASSES[run_code])))
                run, run_code = [], code
            if mark:
                segments.extend(self._marked(text, mark, HISTORY_CLASSES[code]))
                run_code = None
            elif subword:
                # One segment a token, every other (by history index) shaded: its boundaries show.
                style = self._style(HISTORY_CLASSES[code])
                if (start + offset) & 1:
                    style += self._style("token-stream--boundary")
                segments.append(Segment(text, style))
                run_code = None
            else:
                run.append(text)
        if run:
            segments.append(Segment("".join(run), self._style(HISTORY_CLASSES[run_code])))
        return segments

    def _marked(self, text: str, mark: str, style_class: str) -> list[Segment]:
        # The joining space stays unstyled so underline and strike-through
        # cover the token only.
        if text.startswith(" "):
            return [Segment(" "), Segment(mark + text[1:], self._style(style_class))]
        return [Segment(mark + text, self._style(style_class))]

    def _render_live(self) -> list[Strip]:
        """The open last history line and the live round, wrapped like the history."""
        layout = self._layout
        if layout is None:
            return []
        if layout.line_count:
            lines: list[list[Segment]] = [self._history_segments(*layout.line_span(layout.line_count - 1))]
            column = layout.open_line_width
        else:  # nothing committed yet (an empty prompt): the round starts the first line
            lines, column = [[]], 0
        width = layout.width
        for piece in self._tail:
            text = spaced(piece.text, piece.mark)
            cells = len(text) + len(piece.mark)
            if column and column + cells > width:
                lines.append([])
                column = 0
            if column == 0 and text.startswith(" "):
                text, cells = text[1:], cells - 1
            lines[-1].extend(self._marked(text, piece.mark, piece.style_class))
            column += cells
        if lines == [[]]:
            return []
        return [self._strip(segments) for segments in lines]

    def _strip(self, segments: list[Segment]) -> Strip:
        # The widget's own style under every segment, so the joining spaces
        # get its background too.
        return Strip(segments).apply_style(self.rich_style)
