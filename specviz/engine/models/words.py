"""Words: the token unit of the synthetic and n-gram pairs (lower-cased words, punctuation split off).

Its own module so that the corpus reader and the model-pair interface both
use it without importing each other.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

PUNCTUATION = frozenset({".", ",", ";", ":", "!", "?"})


def tokenize(text: str) -> list[str]:
    """Lower-cased words with punctuation split off, the models' token unit."""
    return re.findall(r"[a-z0-9']+|[.,;:!?]", text.lower())


def detokenize(words: Sequence[str]) -> str:
    """Join words with spaces, attaching punctuation to the word before it."""
    parts: list[str] = []
    for word in words:
        if word in PUNCTUATION and parts:
            parts[-1] += word
        else:
            parts.append(word)
    return " ".join(parts)
