"""Text a person gave (a value, a file name, an argument), made safe to print back.

A value is echoed in errors and reports. Echoed raw, it can be huge (a 100 KB
paste) or carry terminal escapes (a file named `x\\e[2J.jsonl` clears the
screen; `\\e]0;...\\a` sets the window title). Every front end prints such text
through these functions: the engine's own errors (ConfigError), the command
line's error lines and argparse's, the report and the app's control panel.
Pure Python and in the engine, so the engine, the renderers and both front
ends can all import it.
"""

from __future__ import annotations

import math
import re
from typing import Any

# Characters of a value shown in a message. Enough for any number and most
# file paths; a whole error line then stays within about two 80-column rows.
ECHO_LIMIT = 60
# A run of characters without a space in an error line is cut beyond this: no
# flag, option list or quoted value is this long, only pasted junk or a very
# long path (which keeps its first 120 characters).
WORD_LIMIT = 120

_LONG_WORD = re.compile(rf"\S{{{WORD_LIMIT + 1},}}")


def printable(text: str) -> str:
    """`text` with every character the terminal would act on written as an escape.

    Escaped as Python's repr does, for the characters repr escapes: C0 and C1
    controls (ESC, BEL, newline, ...), DEL, format characters (bidi overrides,
    zero-width marks), line and paragraph separators and lone surrogates (from
    file names that are not UTF-8). Everything else is left as it is.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def shorten(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text`, or its start and end (`limit` characters in all) and how long it was.

    The end is kept too: a file's name is at the end of its path.
    """
    if len(text) <= limit:
        return text
    return f"{_elide(text, limit)} ({len(text):,} characters)"


def echo(value: Any, limit: int = ECHO_LIMIT) -> str:
    """A value as a message quotes it: its repr (quoted and escaped for text),
    cut to `limit` characters of the value."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{_elide(value, limit)!r} ({len(value):,} characters)"
    if isinstance(value, int) and value.bit_length() > 4 * limit:
        # Far longer than `limit` digits (and past 4,300, repr refuses).
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    return shorten(repr(value), limit)


def _elide(text: str, limit: int) -> str:
    tail = limit // 3
    return f"{text[: limit - tail]}…{text[len(text) - tail :]}"


def safe_line(message: str) -> str:
    """An error or report line built from others' words (argparse's, a file
    name inside a message): control characters escaped, runs of more than
    WORD_LIMIT characters without a space shortened."""
    return _LONG_WORD.sub(lambda match: shorten(match.group(), WORD_LIMIT), printable(message))
