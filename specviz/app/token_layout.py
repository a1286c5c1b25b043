"""Greedy word wrap of a token sequence into lines, kept as an index of line starts.

The token stream never turns the run into Python objects per token: it keeps
only where each display line starts (one integer a line) and extends that
index as tokens arrive. The widths come from the model's vocabulary (each
token id's text as it joins running text, e.g. " word" or ",") plus the width
of the mark its kind carries; at the start of a line the joining space is
dropped. A marked token that joins without a space (punctuation) gets one
before its mark, so the mark is not read as the end of the word before
(`hand »,`, not `hand»,`): see `spaced`. Pure Python + numpy, no Textual, so
it is tested on its own. numpy is imported with the first layout: the app's
first frame, drawn before the engine loads, has none.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# Kind code for prompt tokens; the engine's TokenKind values are 0, 1, 2.
PROMPT_KIND = 255

# Wrap at most this many tokens per numpy pass, so a rebuild at a million
# tokens never holds more than a few MB of temporaries.
CHUNK_TOKENS = 1 << 16


def spaced(text: str, mark: str) -> str:
    """A token's text as the stream draws it with `mark`: a marked token that
    would join the word before without a space gets one (dropped at a line start)."""
    return " " + text if mark and not text.startswith(" ") else text


class TokenLayout:
    """Line starts for the tokens `history[:end]` wrapped to `width` cells.

    `history` is the run's array of token ids (prompt first), `kinds` the
    bytearray of TokenKind per emitted token, `joined[id]` each id's text as it
    joins running text and `mark_width[kind]` the cells its mark takes.
    The last line is open: tokens appended later may still join it.
    """

    def __init__(self, joined: Sequence[str], mark_width: dict[int, int], prompt_length: int, width: int):
        import numpy as np

        self.width = max(1, width)
        self.prompt_length = prompt_length
        self._token_width = np.array([len(text) for text in joined], dtype=np.int64)
        self._token_lead = np.array([1 if text.startswith(" ") else 0 for text in joined], dtype=np.int64)
        self._mark_width = np.zeros(256, dtype=np.int64)
        for kind, cells in mark_width.items():
            self._mark_width[kind] = cells
        self.line_starts = array("q")  # token index where each line starts
        self.end = 0  # tokens laid out so far
        self.open_line_width = 0  # cells used by the last (open) line

    @property
    def line_count(self) -> int:
        return len(self.line_starts)

    def line_span(self, line: int) -> tuple[int, int]:
        """Token indices [start, stop) of display line `line`."""
        starts = self.line_starts
        stop = starts[line + 1] if line + 1 < len(starts) else self.end
        return starts[line], stop

    def line_of_token(self, token: int) -> int:
        return max(0, bisect_right(self.line_starts, token) - 1)

    def kind_codes(self, kinds: bytes | bytearray, start: int, stop: int) -> np.ndarray:
        """Kind code per token in [start, stop): PROMPT_KIND for prompt tokens."""
        import numpy as np

        codes = np.full(stop - start, PROMPT_KIND, dtype=np.uint8)
        first_emitted = max(start, self.prompt_length)
        if first_emitted < stop:
            emitted = np.frombuffer(
                bytes(kinds[first_emitted - self.prompt_length : stop - self.prompt_length]), dtype=np.uint8
            )
            codes[first_emitted - start :] = emitted
        return codes

    def extend(self, history: array, kinds: bytes | bytearray, end: int) -> None:
        """Lay out tokens up to `end` (which never shrinks for one run)."""
        if end <= self.end:
            return
        # Re-wrap the open last line together with the new tokens.
        start = self.line_starts.pop() if self.line_starts else 0
        while start < end:
            stop = min(end, start + CHUNK_TOKENS)
            start = self._wrap_chunk(history, kinds, start, stop, last=stop == end)
        self.end = end

    def _wrap_chunk(self, history: array, kinds: bytes | bytearray, start: int, stop: int, last: bool) -> int:
        """Wrap tokens [start, stop); returns where the open line starts (to re-wrap next)."""
        import numpy as np

        # Copies of the slices: numpy must not hold a buffer on the engine's
        # array, or the engine could not grow it.
        ids = np.frombuffer(history[start:stop].tobytes(), dtype=np.int32)
        marks = self._mark_width[self.kind_codes(kinds, start, stop)]
        lead = self._token_lead[ids]
        spaced = (marks > 0) & (lead == 0)  # the space `spaced` puts before the mark
        widths = self._token_width[ids] + marks + spaced
        leads = (lead | spaced).tolist()
        cumulative = [0]
        cumulative.extend(np.cumsum(widths).tolist())
        width = self.width
        count = stop - start
        starts = self.line_starts
        i = 0
        while True:
            # Tokens [i, j) fit when their width minus the dropped leading space <= width.
            j = bisect_right(cumulative, cumulative[i] + leads[i] + width, lo=i + 1) - 1
            if j <= i:
                j = i + 1  # a token wider than the line gets a line of its own (cropped)
            starts.append(start + i)
            if j >= count:
                self.open_line_width = cumulative[count] - cumulative[i] - leads[i]
                if last:
                    return stop
                # The open line continues into the next chunk: re-wrap it there.
                starts.pop()
                return start + i
            i = j
