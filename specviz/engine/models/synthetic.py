"""The `synthetic` model pair: the seed script's acceptance-rate knob made exact.

The target is a small word grammar: the next word's class depends on the
previous word's class (a determiner is followed by an adjective or a noun, and
so on), and within a class the words follow a Zipf law whose order depends on
the previous word. That gives a peaked, context-dependent p over real words,
with zero probability on ungrammatical continuations.

The draft q is built from p so that in every context
    beta(p, q) = sum_x min(p(x), q(x)) = alpha     (exactly, up to float rounding)
Construction: let A be the smallest set of p's most likely words with
p(A) >= 1 - alpha. The draft moves mass 1 - alpha off A, scaling p there by
(1 - (1 - alpha) / p(A)), and puts it on words outside A (half on p's other
words, half on words p rules out). Then sum min(p, q) = (p(A) - (1 - alpha)) +
(1 - p(A)) = alpha. The draft is an under-confident model: it doubts the
target's favourites, so its rejected guesses are real, often plausible words.
"""

from __future__ import annotations

import zlib

import numpy as np

from specviz.engine.models.pair import ContextKey, ModelPair, register_model

WORD_CLASSES: dict[str, tuple[str, ...]] = {
    "det": ("the", "a", "this", "that", "every", "some", "no", "each", "my", "his", "her", "their", "its", "our"),
    "adj": (
        "good",
        "bad",
        "big",
        "small",
        "new",
        "old",
        "first",
        "last",
        "long",
        "little",
        "great",
        "young",
        "dark",
        "quiet",
        "bright",
        "strange",
        "early",
        "late",
        "whole",
        "quick",
        "lazy",
        "brown",
    ),
    "noun": (
        "time",
        "way",
        "year",
        "day",
        "thing",
        "man",
        "world",
        "life",
        "hand",
        "eye",
        "night",
        "house",
        "door",
        "road",
        "river",
        "king",
        "child",
        "friend",
        "story",
        "fox",
        "dog",
        "city",
        "tree",
        "word",
        "voice",
        "morning",
    ),
    "verb": (
        "was",
        "had",
        "saw",
        "found",
        "made",
        "took",
        "knew",
        "said",
        "gave",
        "kept",
        "heard",
        "left",
        "felt",
        "told",
        "jumped",
        "watched",
        "opened",
        "followed",
    ),
    "pron": ("he", "she", "it", "they", "we", "i", "you"),
    "prep": ("in", "on", "upon", "over", "under", "with", "from", "into", "through", "near", "by", "of", "to"),
    "conj": ("and", "but", "or", "then", "when", "while", "because"),
    "adv": ("never", "always", "still", "again", "soon", "slowly", "once"),
    "punct": (".", ","),
}

# P(next class | previous class): a crude English word-order grammar.
CLASS_TRANSITIONS: dict[str, dict[str, float]] = {
    "det": {"adj": 0.35, "noun": 0.65},
    "adj": {"noun": 0.85, "adj": 0.15},
    "noun": {"verb": 0.35, "prep": 0.25, "punct": 0.2, "conj": 0.15, "adv": 0.05},
    "verb": {"det": 0.4, "prep": 0.2, "pron": 0.1, "adv": 0.1, "adj": 0.1, "punct": 0.1},
    "pron": {"verb": 0.75, "adv": 0.25},
    "prep": {"det": 0.75, "pron": 0.15, "noun": 0.1},
    "conj": {"pron": 0.5, "det": 0.4, "adv": 0.1},
    "adv": {"verb": 0.8, "punct": 0.2},
    "punct": {"pron": 0.4, "det": 0.4, "conj": 0.2},
}

ZIPF_EXPONENT = 1.1


def _context_rng(token: int, salt: str) -> np.random.Generator:
    # The model is fixed, independent of the run's seed: the same context always
    # gives the same p and q. crc32 is stable across processes (hash() is not).
    return np.random.default_rng(zlib.crc32(f"{salt}:{token}".encode()))


def _zipf_over(indices: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    """Zipf weights over `indices` in a random order, summing to 1."""
    weights = np.zeros(size)
    ranks = np.arange(1, len(indices) + 1, dtype=float) ** -ZIPF_EXPONENT
    weights[rng.permutation(indices)] = ranks / ranks.sum()
    return weights


class SyntheticPair(ModelPair):
    name = "synthetic"
    context_order = 1
    uses_acceptance_rate = True

    def __init__(self, acceptance_rate: float):
        words = [w for cls in WORD_CLASSES.values() for w in cls]
        super().__init__(words)
        self.acceptance_rate = acceptance_rate
        self.word_class = [cls for cls, members in WORD_CLASSES.items() for _ in members]
        self._class_indices = {cls: np.array([self.index[w] for w in members]) for cls, members in WORD_CLASSES.items()}
        size = len(self.vocab)
        self.target_table = np.empty((size, size))
        self.draft_table = np.empty((size, size))
        for token in range(size):
            p = self._target_row(token)
            self.target_table[token] = p
            self.draft_table[token] = self._draft_row(token, p)
        self.cache_size = size + 1  # every context fits

    def encode_prompt(self, prompt: str) -> list[int]:
        ids = super().encode_prompt(prompt)
        # An empty or all-unknown prompt starts as after a full stop.
        return ids or [self.index["."]]

    def _target_row(self, token: int) -> np.ndarray:
        rng = _context_rng(token, "target")
        p = np.zeros(len(self.vocab))
        for cls, weight in CLASS_TRANSITIONS[self.word_class[token]].items():
            p += weight * _zipf_over(self._class_indices[cls], rng, len(self.vocab))
        return p / p.sum()

    def _draft_row(self, token: int, p: np.ndarray) -> np.ndarray:
        shortfall = 1.0 - self.acceptance_rate  # mass the draft must misplace
        if shortfall <= 0.0:
            return p.copy()
        order = np.argsort(-p, kind="stable")
        cumulative = np.cumsum(p[order])
        support = int(np.count_nonzero(p))
        # Smallest prefix A of p's favourites with p(A) >= shortfall; near
        # alpha = 0 that is all of p's support.
        size_a = min(int(np.searchsorted(cumulative, shortfall - 1e-12)) + 1, support)
        in_a = order[:size_a]
        mass_a = float(cumulative[size_a - 1])
        shortfall = min(shortfall, mass_a)
        q = p.copy()
        q[in_a] *= 1.0 - shortfall / mass_a
        rng = _context_rng(token, "draft")
        others = order[size_a:support]  # p's other words
        ruled_out = np.flatnonzero(p == 0.0)  # words the target rules out here
        extra = _zipf_over(ruled_out, rng, len(p))
        if len(others):
            chosen = np.zeros(len(p), dtype=bool)  # the same mask as np.isin(arange, others), at a tenth of its cost
            chosen[others] = True
            extra = 0.5 * extra + 0.5 * (p * chosen) / p[others].sum()
        q += shortfall * extra
        return q / q.sum()

    def target_distribution(self, context: ContextKey) -> np.ndarray:
        return self.target_table[context[-1]]

    def draft_distribution(self, context: ContextKey) -> np.ndarray:
        return self.draft_table[context[-1]]


register_model("synthetic", lambda config: SyntheticPair(config.acceptance_rate))
