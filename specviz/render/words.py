"""Small wording helpers every renderer shares (numpy- and rich-free)."""

from __future__ import annotations


def counted(number: int, one: str, many: str) -> str:
    """`number` with the noun that agrees with it: '1 token', '2 tokens', '1,000 rounds'."""
    return f"{number:,} {one if number == 1 else many}"
