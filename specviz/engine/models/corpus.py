"""Training text for the n-gram pair: the default corpus and a user's own file.

The default corpus is built from `pydoc_data.topics`, the Python language
reference that CPython ships for `help()`: every Python installation carries it,
so the models work offline with nothing downloaded and nothing shipped. Only
prose paragraphs are kept (grammar rules, tables, interactive sessions and code
blocks are dropped), which leaves about 53,000 words of real English on
Python 3.11. Its text changes a little between Python releases, so the models
built from it (and a run's tokens) may differ between Python versions; a user
corpus given with --corpus does not.

A user corpus must be a UTF-8 plain-text file; anything else is a one-line
`ConfigError` naming what was wrong with the file and what is allowed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
from dataclasses import dataclass

from specviz.engine.models.words import PUNCTUATION, tokenize
from specviz.engine.run.config import ConfigError

#: fewer words than this cannot train anything worth sampling from
MIN_CORPUS_WORDS = 20
#: building takes about 0.4 s per MB of text (and ~35 MB of memory per MB);
#: refuse what would take minutes
MAX_CORPUS_BYTES = 20 * 1024 * 1024
#: distinct tokens a corpus may have. Every distribution is a float64 array
#: over the whole vocabulary (1.6 MB each at this bound), the caches keep at
#: least 64 of them and a round holds a few per drafted position, so memory
#: grows with the vocabulary: 2 million words took 2-5 GB and then failed
#: inside numpy. At both bounds (20 MB, 199,500 distinct words) a run peaked
#: at 1.29 GB, at k = 5 and k = 64 alike (1.10 GB with 3,000 words).
MAX_VOCABULARY = 200_000
VOCABULARY_MEMORY = "1.5 GB"
ALLOWED = (
    f"a UTF-8 plain-text file with at least {MIN_CORPUS_WORDS} words, at most {MAX_CORPUS_BYTES // 2**20} MB "
    f"and at most {MAX_VOCABULARY:,} distinct words"
)
# Byte-order marks of encodings that are not UTF-8, longest first (UTF-32's
# little-endian mark starts with UTF-16's).
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)
DEFAULT_CORPUS_NAME = "the Python language reference (pydoc_data.topics)"


@dataclass(frozen=True)
class Corpus:
    """Training text as tokens, and where it came from."""

    name: str  # for people: a path or the default corpus' description
    tokens: tuple[str, ...]
    #: sha256 of the file's bytes (of the default corpus' text as UTF-8): a
    #: trace records it, so a replay can tell it is reading the same text
    sha256: str = ""

    @property
    def word_count(self) -> int:
        return sum(1 for token in self.tokens if token not in PUNCTUATION)


# A block that is a grammar rule, a table, an interactive session or code.
_NOT_PROSE = re.compile(
    r">>>|::=|\+--|\|\s|^\s*\.\.\.|^\s*(def|class|import|from|for|if|while|with|try|return|print)\b.*[:(]",
    re.M,
)
_HEADING_RULE = frozenset("*=-^~")
_LIST_MARKER = re.compile(r"^(?:[*-] |\d+\. |\(\d+\) )")
# Share of letters, spaces and plain punctuation a prose paragraph has at least;
# code and tables fall well below it.
_PROSE_LETTER_SHARE = 0.9


def _prose_paragraphs(text: str) -> list[str]:
    paragraphs = []
    for block in re.split(r"\n\s*\n", text):
        if _NOT_PROSE.search(block):
            continue
        lines = [line.strip() for line in block.split("\n")]
        if lines and set(lines[-1]) <= _HEADING_RULE:
            lines = lines[:-1]  # a heading's underline
        paragraph = _LIST_MARKER.sub("", " ".join(lines))
        plain = sum(c.isalpha() or c.isspace() or c in '.,"' for c in paragraph)
        if paragraph and plain >= _PROSE_LETTER_SHARE * len(paragraph):
            paragraphs.append(paragraph)
    return paragraphs


@functools.lru_cache(maxsize=1)
def default_corpus() -> Corpus:
    """The prose of the Python language reference, as tokens."""
    text = default_corpus_text()
    return Corpus(DEFAULT_CORPUS_NAME, tuple(tokenize(text)), content_hash(text.encode("utf-8")))


def default_corpus_text() -> str:
    """The default corpus as text (a tokenizer can be trained on it)."""
    try:
        from pydoc_data.topics import topics
    except ImportError:  # a stripped-down Python without the help() topics
        raise ConfigError("corpus", None, f"{ALLOWED}; this Python has no pydoc_data, so pass --corpus PATH") from None
    # Sorted so the text does not depend on the dict's order.
    return "\n".join(p for name in sorted(topics) for p in _prose_paragraphs(topics[name]))


class CorpusError(ConfigError):
    """A corpus file that cannot be used; `problem` says what is wrong with it."""

    def __init__(self, path: str, problem: str):
        super().__init__("corpus", path, f"{ALLOWED}; {problem}")
        self.problem = problem


def read_corpus_bytes(path: str) -> bytes:
    """The bytes of a corpus file. Checks what the file is (a regular file under
    the size cap), not what it says, so a caller can compare its hash before
    any of its content shows in an error. Raises CorpusError."""
    full_path = os.path.expanduser(path)
    if not os.path.exists(full_path):
        raise CorpusError(path, "no such file")
    if not os.path.isfile(full_path):
        raise CorpusError(path, "this is not a regular file")
    try:
        size = os.path.getsize(full_path)
        if size > MAX_CORPUS_BYTES:
            raise CorpusError(path, f"this file has {_size_text(size)}")
        # O_NONBLOCK: a FIFO put in the file's place after the check above
        # cannot block open(); fstat then sees it for what it is.
        with open(os.open(full_path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise CorpusError(path, "this is not a regular file")
            return handle.read(MAX_CORPUS_BYTES + 1)
    except OSError as error:
        raise CorpusError(path, f"it cannot be read ({error.strerror or error})") from None


def content_hash(data: bytes) -> str:
    """What a trace records of its corpus: the sha256 of its bytes, in hex."""
    return hashlib.sha256(data).hexdigest()


def corpus_from_bytes(path: str, data: bytes) -> Corpus:
    """A corpus file's bytes as tokens; raises CorpusError for text that cannot train."""
    if not data.strip():
        raise CorpusError(path, "this file is empty")
    for mark, encoding in _OTHER_BOMS:
        if data.startswith(mark):
            raise CorpusError(path, f"this file is {encoding} (byte-order mark found); save it as UTF-8")
    if b"\x00" in data:
        raise CorpusError(path, "this file is binary")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CorpusError(path, "this file is not UTF-8 text (binary?)") from None
    corpus = Corpus(path, tuple(tokenize(text)), content_hash(data))
    if corpus.word_count < MIN_CORPUS_WORDS:
        raise CorpusError(path, f"this file has {corpus.word_count} words")
    distinct = len(set(corpus.tokens))
    if distinct > MAX_VOCABULARY:
        raise CorpusError(
            path,
            f"this file has {distinct:,} distinct words (the bound keeps a run's memory under {VOCABULARY_MEMORY})",
        )
    return corpus


def read_corpus(path: str) -> Corpus:
    """A user's corpus file as tokens; raises CorpusError (a ConfigError) for anything else."""
    return corpus_from_bytes(path, read_corpus_bytes(path))


def _size_text(size: int) -> str:
    """A size over the cap, in MB unless that would read as the cap itself."""
    megabytes = f"{size / 2**20:.1f} MB"
    if megabytes == f"{MAX_CORPUS_BYTES / 2**20:.1f} MB":
        return f"{size:,} bytes, over the {MAX_CORPUS_BYTES:,}-byte limit"
    return megabytes


def load_corpus(path: str | None) -> Corpus:
    """The user's corpus at `path`, or the default corpus when `path` is None."""
    return default_corpus() if path is None else read_corpus(path)
