"""Text a person gave, printed back: never a terminal escape, never 100 KB."""

from specviz.engine.safe_text import ECHO_LIMIT, WORD_LIMIT, echo, printable, safe_line, shorten

ESCAPES = [
    "x\x1b[2J.jsonl",  # clears the screen
    "nope\x1b]0;PWNED\x07",  # sets the window title
    "a\x9b31mred",  # C1 CSI: an escape on its own to some terminals
    "bidi\u202eflipped",  # reverses what follows
    "line\nbreak\rreturn\ttab\x7fdel",
    "bytes\udcffnot-utf8",  # a file name that is not UTF-8 (surrogateescape)
    "split\u2028line",
]


def _controls(text: str) -> list[str]:
    return [char for char in text if not char.isprintable()]


def test_printable_escapes_every_control_character_and_keeps_the_rest():
    for text in ESCAPES:
        shown = printable(text)
        assert not _controls(shown), (text, shown)
        assert shown.encode("utf-8")  # a lone surrogate would not encode
    assert printable("x\x1b[2J.jsonl") == "x\\x1b[2J.jsonl"
    assert printable("nope\x1b]0;PWNED\x07") == "nope\\x1b]0;PWNED\\x07"
    # Printable text, accents and all, is left alone.
    assert printable("naïve café — 日本語 ok") == "naïve café — 日本語 ok"


def test_shorten_keeps_the_start_and_the_end_and_says_how_long():
    assert shorten("short") == "short"
    path = "/home/someone/" + "a" * 200 + "/corpus.txt"
    shown = shorten(path)
    assert shown.startswith("/home/someone/") and "corpus.txt (" in shown
    assert f"({len(path):,} characters)" in shown
    assert len(shown) < ECHO_LIMIT + 30


def test_echo_quotes_a_value_escaped_and_short():
    assert echo("abc") == "'abc'"
    assert echo(2.5) == "2.5"
    huge = echo("1" * 100_000)
    assert len(huge) < 100 and "(100,000 characters)" in huge
    assert "\x1b" not in echo("\x1b[2J" * 50)
    assert len(echo(10**4000)) < 100  # a huge number is cut too


def test_safe_line_escapes_and_cuts_runs_without_spaces():
    line = safe_line("unrecognized arguments: " + "x" * 100_000 + " nope\x1b]0;PWNED\x07")
    assert not _controls(line)
    assert len(line) < 2 * WORD_LIMIT + 100
    assert "(100,000 characters)" in line and "nope\\x1b]0;PWNED\\x07" in line
    # Ordinary messages pass through as they are.
    assert safe_line("invalid draft length k: 0 (allowed: an integer from 1 to 64)") == (
        "invalid draft length k: 0 (allowed: an integer from 1 to 64)"
    )
