"""A user corpus' bounds (issue 20, items 21 and 22): its vocabulary, its size
in words people read, and other encodings named."""

from __future__ import annotations

import codecs

import pytest

from specviz.cli import main
from specviz.engine.models import corpus as corpus_module
from specviz.engine.models.corpus import MAX_CORPUS_BYTES, MAX_VOCABULARY, read_corpus
from specviz.engine.run.config import ConfigError


def _write(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _distinct_words(count: int) -> bytes:
    # Letters only (the tokenizer's words), each word once: "aaaa", "aaab", ...
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = []
    for i in range(count):
        word = ""
        for _ in range(4):
            i, digit = divmod(i, 26)
            word = letters[digit] + word
        words.append(word)
    return " ".join(words).encode()


def test_a_corpus_past_the_vocabulary_bound_is_one_line(tmp_path, monkeypatch):
    # The bound itself (200,000 words, a 1 MB file) is checked the same way;
    # a smaller bound keeps the test fast.
    monkeypatch.setattr(corpus_module, "MAX_VOCABULARY", 2_000)
    path = _write(tmp_path, "many.txt", _distinct_words(2_001))
    with pytest.raises(ConfigError) as caught:
        read_corpus(path)
    message = str(caught.value)
    assert "2,001 distinct words" in message and "memory" in message and "\n" not in message
    assert len(read_corpus(_write(tmp_path, "enough.txt", _distinct_words(2_000))).tokens) == 2_000


def test_the_real_vocabulary_bound_refuses_before_any_table_is_built(tmp_path, capsys):
    path = _write(tmp_path, "huge-vocabulary.txt", _distinct_words(MAX_VOCABULARY + 1))
    assert main(["run", "--model", "ngram", "--corpus", path, "-n", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{MAX_VOCABULARY + 1:,} distinct words" in err
    assert f"at most {MAX_VOCABULARY:,} distinct words" in err and "GB" in err


def test_a_corpus_one_byte_over_the_cap_says_so_in_bytes(tmp_path):
    path = tmp_path / "big.txt"
    with open(path, "wb") as handle:
        handle.truncate(MAX_CORPUS_BYTES + 1)  # sparse: nothing is written
    with pytest.raises(ConfigError) as caught:
        read_corpus(str(path))
    message = str(caught.value)
    assert f"{MAX_CORPUS_BYTES + 1:,} bytes" in message and "20.0 MB" not in message


def test_a_corpus_well_over_the_cap_says_so_in_megabytes(tmp_path):
    path = tmp_path / "bigger.txt"
    with open(path, "wb") as handle:
        handle.truncate(MAX_CORPUS_BYTES * 3 // 2)
    with pytest.raises(ConfigError) as caught:
        read_corpus(str(path))
    assert "this file has 30.0 MB" in str(caught.value)


@pytest.mark.parametrize(
    "mark, codec, name",
    [
        (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
        (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    ],
)
def test_a_corpus_with_another_encodings_byte_order_mark_is_named(tmp_path, mark, codec, name):
    text = "the cat sat on the mat and the dog sat on the log. " * 5
    path = _write(tmp_path, "wide.txt", mark + text.encode(codec))
    with pytest.raises(ConfigError) as caught:
        read_corpus(path)
    message = str(caught.value)
    assert f"this file is {name} (byte-order mark found); save it as UTF-8" in message
    assert "binary" not in message
