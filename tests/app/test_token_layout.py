"""The word-wrap index behind the token stream."""

from __future__ import annotations

import random
from array import array

import pytest

from specviz.app.token_layout import CHUNK_TOKENS, PROMPT_KIND, TokenLayout

JOINED = (" the", " big", ",", " dog", " jumped", ".", " extraordinarily-long-token")
MARKS = {0: 0, 1: 1, 2: 1, PROMPT_KIND: 0}


def _run(seed: int, tokens: int, prompt: int = 3) -> tuple[array, bytearray]:
    rng = random.Random(seed)
    history = array("i", [rng.randrange(len(JOINED) - 1) for _ in range(tokens)])
    kinds = bytearray(rng.choice((0, 0, 0, 1, 2)) for _ in range(tokens - prompt))
    return history, kinds


def _display(token: int, code: int, first_on_line: bool) -> str:
    """A token as the stream draws it: joining space, mark, word."""
    text = JOINED[token]
    mark = {1: "»", 2: "+"}.get(code, "")
    # A marked token gets a space before its mark even where it joins without
    # one (punctuation), so the mark is not read as the end of the word before.
    lead = " " if (text.startswith(" ") or mark) and not first_on_line else ""
    return lead + mark + text.lstrip(" ")


def _line_texts(layout: TokenLayout, history: array, kinds: bytearray) -> list[str]:
    lines = []
    for line in range(layout.line_count):
        start, stop = layout.line_span(line)
        codes = layout.kind_codes(kinds, start, stop)
        lines.append("".join(_display(t, c, i == 0) for i, (t, c) in enumerate(zip(history[start:stop], codes))))
    return lines


@pytest.mark.parametrize("width", [1, 7, 20, 80])
def test_lines_fit_the_width_and_cover_every_token(width):
    history, kinds = _run(1, 500)
    layout = TokenLayout(JOINED, MARKS, 3, width)
    layout.extend(history, kinds, len(history))
    assert layout.line_starts[0] == 0 and layout.end == len(history)
    texts = _line_texts(layout, history, kinds)
    # Wrapping only moves line breaks: joined back, the lines are the whole text.
    whole = "".join(
        _display(t, c, i == 0) for i, (t, c) in enumerate(zip(history, layout.kind_codes(kinds, 0, len(history))))
    )
    assert " ".join(texts).replace(" ", "") == whole.replace(" ", "")
    assert list(layout.line_starts) == sorted(set(layout.line_starts))
    for line, text in enumerate(_line_texts(layout, history, kinds)):
        start, stop = layout.line_span(line)
        # Only a line holding one token may be wider than the width (it is cropped).
        assert len(text) <= width or stop - start == 1, (line, text)
        if line + 1 < layout.line_count:
            # Greedy: the next line's first token would not have fitted here.
            code = layout.kind_codes(kinds, stop, stop + 1)[0]
            assert len(text + _display(history[stop], code, False)) > width


def test_incremental_extension_matches_one_pass():
    history, kinds = _run(2, 3000)
    whole = TokenLayout(JOINED, MARKS, 3, 33)
    whole.extend(history, kinds, len(history))
    pieces = TokenLayout(JOINED, MARKS, 3, 33)
    rng = random.Random(3)
    end = 3
    while end < len(history):
        end = min(len(history), end + rng.randrange(1, 40))
        pieces.extend(history, kinds, end)
    assert list(pieces.line_starts) == list(whole.line_starts)
    assert pieces.open_line_width == whole.open_line_width


def test_chunked_wrap_matches_across_chunk_boundaries():
    history, kinds = _run(4, CHUNK_TOKENS * 2 + 123)
    layout = TokenLayout(JOINED, MARKS, 3, 41)
    layout.extend(history, kinds, len(history))
    small = TokenLayout(JOINED, MARKS, 3, 41)
    for end in range(1000, len(history) + 1000, 1000):
        small.extend(history, kinds, min(end, len(history)))
    assert list(layout.line_starts) == list(small.line_starts)


def test_line_of_token_inverts_line_span():
    history, kinds = _run(5, 400)
    layout = TokenLayout(JOINED, MARKS, 3, 25)
    layout.extend(history, kinds, len(history))
    for line in range(layout.line_count):
        start, stop = layout.line_span(line)
        assert {layout.line_of_token(t) for t in range(start, stop)} == {line}


def test_the_engine_array_can_still_grow_after_a_layout():
    history, kinds = _run(6, 100)
    layout = TokenLayout(JOINED, MARKS, 3, 30)
    layout.extend(history, kinds, len(history))
    history.extend([1, 2, 3])  # would raise BufferError if a numpy view were kept
    kinds.extend(b"\x00\x01\x02")
    layout.extend(history, kinds, len(history))
    assert layout.end == len(history)
