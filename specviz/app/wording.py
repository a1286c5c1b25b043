"""Counts in words, singular or plural: "1 round", "2 rounds", "1,000 tokens"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`count` grouped by thousands, then `noun`, made plural unless `count` is 1."""
    word = noun if count == 1 else (plural or noun + "s")
    return f"{count:,} {word}"
