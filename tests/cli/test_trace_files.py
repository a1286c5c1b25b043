"""Trace files as the file system sees them: what a trace may replace, names,
races, free space, what a trace may be read from, and the corpus it names."""

from __future__ import annotations

import collections
import hashlib
import json
import os
import random
import shutil
import socket
import stat
from pathlib import Path

import pytest

from specviz.engine import SimConfig, Simulation
from specviz.engine.io.trace import TraceError, TraceWriter
from specviz.engine.models.corpus import default_corpus
from tests.cli.cli_support import assert_one_line_error, run_cli, run_process

CONFIG = SimConfig(draft_length=4, acceptance_rate=0.7, target_length=120, seed=7)


# ---- what a trace may replace ----------------------------------------------


def _make(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
        listener.close()
    elif kind == "symlink":
        (path.parent / "real.jsonl").write_text("keep\n")
        path.symlink_to(path.parent / "real.jsonl")
    else:
        path.mkdir()


@pytest.mark.parametrize(
    ("kind", "words"),
    [("fifo", "a named pipe (FIFO)"), ("socket", "a socket"), ("symlink", "a symbolic link"), ("dir", "a directory")],
)
@pytest.mark.parametrize("force", [False, True], ids=["", "force"])
def test_only_a_regular_file_is_ever_replaced(tmp_path, kind, words, force):
    target = tmp_path / "target.jsonl"
    _make(kind, target)
    before = sorted(p.name for p in tmp_path.iterdir())
    mode = os.lstat(target).st_mode
    code, out, err = run_cli("run", "-n", "30", "--trace", str(target), *(["--force"] if force else []))
    assert out == ""
    assert_one_line_error(code, err, f"cannot write trace {target}: it is {words}")
    assert os.lstat(target).st_mode == mode  # still what it was
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if kind == "symlink":
        assert (tmp_path / "real.jsonl").read_text() == "keep\n"


def test_force_does_not_replace_what_appears_during_the_run(tmp_path):
    path = tmp_path / "run.jsonl"
    simulation = Simulation(CONFIG)
    with pytest.raises(TraceError, match="it is a named pipe"):
        with TraceWriter(str(path), simulation, force=True):
            simulation.run()
            os.mkfifo(path)
    assert stat.S_ISFIFO(os.lstat(path).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["run.jsonl"]


# ---- names and races ------------------------------------------------------


def test_a_name_of_246_characters_works(tmp_path):
    name = "t" * 240 + ".jsonl"
    code, _, err = run_cli("run", "-n", "30", "--trace", str(tmp_path / name), "--quiet")
    assert code == 0, err
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert (tmp_path / name).read_text().startswith('{"format":"specviz-trace"')


def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path):
    code, _, err = run_cli("run", "-n", "30", "--trace", str(tmp_path / ("t" * 250 + ".jsonl")))
    assert_one_line_error(code, err, "its name has 256 bytes", "allows 255")
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_appears_after_every_check_is_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "run.jsonl"
    simulation = Simulation(CONFIG)
    with pytest.raises(TraceError, match="already exists"):
        with TraceWriter(str(path), simulation):
            simulation.run()
            path.write_text("precious\n")
            # The race: any check of the path before the trace goes in place
            # saw nothing there; only an atomic step can still refuse.
            monkeypatch.setattr(os.path, "lexists", lambda _: False)
    assert path.read_text() == "precious\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.jsonl"]


# ---- free space --------------------------------------------------------------

DiskUsage = collections.namedtuple("DiskUsage", "total used free")


def _free_space(monkeypatch, free: int) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: DiskUsage(10**12, 10**12 - free, free))


def test_a_trace_larger_than_the_free_space_is_refused_before_the_run(tmp_path, monkeypatch):
    _free_space(monkeypatch, 5_000_000)
    code, out, err = run_cli("run", "-n", "1000000", "--trace", str(tmp_path / "run.jsonl"))
    assert out == ""
    line = assert_one_line_error(code, err, "cannot write trace", "it would take about", "has 5.0 MB free")
    need = float(line.split("about ")[1].split(" MB")[0].replace(",", ""))
    assert 150 < need < 300  # ~195 bytes a token at k = 5, alpha = 0.75
    assert list(tmp_path.iterdir()) == []


def test_a_trace_that_fits_in_tight_space_is_written(tmp_path, monkeypatch):
    # 20,000 tokens take ~4 MB; the longest trace the format allows would not fit.
    _free_space(monkeypatch, 20_000_000)
    code, _, err = run_cli("run", "-n", "20000", "--trace", str(tmp_path / "run.jsonl"), "--quiet")
    assert code == 0, err
    assert 2_000_000 < (tmp_path / "run.jsonl").stat().st_size < 20_000_000


# ---- what a trace may be read from ----------------------------------------------


@pytest.mark.parametrize("command", ["run", "replay"])
def test_a_fifo_is_refused_without_blocking(tmp_path, command):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    argv = ["run", "--from-trace", str(fifo)] if command == "run" else ["replay", str(fifo)]
    result = run_process(*argv, timeout=30)  # opening a FIFO to read blocks until a writer comes
    assert_one_line_error(result.returncode, result.stderr, "a named pipe (FIFO), not a regular file")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
@pytest.mark.parametrize("command", ["run", "replay"])
def test_a_device_is_refused_before_reading(command):
    argv = ["run", "--from-trace", "/dev/zero"] if command == "run" else ["replay", "/dev/zero"]
    code, _, err = run_cli(*argv)
    assert_one_line_error(code, err, "/dev/zero: it is a character device, not a regular file")


# ---- the corpus a trace names ----------------------------------------------

_WORDS = "the a fox dog river king old quiet ran saw found under over near bright long road house tree night".split()


def _corpus_text(seed: int) -> str:
    rng = random.Random(seed)
    sentences = (" ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12))) + "." for _ in range(300))
    return " ".join(sentences) + "\n"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ngram_trace(tmp_path, monkeypatch):
    """runs/run.jsonl: an n-gram run trained on data/corpus.txt, recorded from tmp_path."""
    (tmp_path / "data").mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "data" / "corpus.txt").write_text(_corpus_text(1))
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(
        "run", "--model", "ngram", "--corpus", "data/corpus.txt", "-n", "80", "--json", "--trace", "runs/run.jsonl"
    )
    assert code == 0, err
    return tmp_path / "runs" / "run.jsonl", json.loads(out)


def _header(path: Path) -> dict:
    return json.loads(path.read_text().splitlines()[0])


def _rewrite_header(path: Path, edit) -> None:
    lines = path.read_text().splitlines(keepends=True)
    header = json.loads(lines[0])
    edit(header)
    lines[0] = json.dumps(header, separators=(",", ":")) + "\n"
    path.write_text("".join(lines))


def test_the_header_records_the_corpus_by_hash_beside_the_trace(ngram_trace, tmp_path):
    trace, _ = ngram_trace
    header = _header(trace)
    assert header["version"] == 3
    assert header["config"]["corpus"] == "data/corpus.txt"  # as given
    assert header["corpus"] == {"path": "../data/corpus.txt", "sha256": _sha256(tmp_path / "data" / "corpus.txt")}
    # The same run gives the same bytes.
    code, _, err = run_cli(
        "run", "--model", "ngram", "--corpus", "data/corpus.txt", "-n", "80", "--trace", "runs/b.jsonl"
    )
    assert code == 0, err
    assert (tmp_path / "runs" / "b.jsonl").read_bytes() == trace.read_bytes()


def test_a_trace_moved_with_its_corpus_replays_from_any_folder(ngram_trace, tmp_path, monkeypatch):
    trace, live = ngram_trace
    moved = tmp_path / "elsewhere" / "project"
    shutil.copytree(tmp_path / "data", moved / "data")
    shutil.copytree(tmp_path / "runs", moved / "runs")
    shutil.rmtree(tmp_path / "data")
    monkeypatch.chdir(moved / "data")  # neither the recording folder nor the trace's
    code, out, err = run_cli("run", "--from-trace", str(moved / "runs" / "run.jsonl"), "--json")
    assert code == 0, err
    assert json.loads(out) == live


def test_a_changed_corpus_is_refused_naming_both_hashes(ngram_trace, tmp_path):
    trace, _ = ngram_trace
    corpus = tmp_path / "data" / "corpus.txt"
    recorded = _sha256(corpus)
    corpus.write_text(_corpus_text(2))  # another text under the same name
    for argv in (["run", "--from-trace", str(trace)], ["replay", str(trace)]):
        code, _, err = run_cli(*argv)
        assert_one_line_error(
            code,
            err,
            "its corpus",
            "data/corpus.txt is not the file it was recorded with",
            f"sha256 {_sha256(corpus)[:16]} now",
            f"{recorded[:16]} recorded",
        )


def test_a_header_naming_another_file_gets_nothing_of_it_reported(ngram_trace, tmp_path):
    trace, _ = ngram_trace
    secret = tmp_path / "secret.txt"
    secret.write_text("three little words\n")
    _rewrite_header(trace, lambda h: h["corpus"].update(path="../secret.txt"))
    code, _, err = run_cli("run", "--from-trace", str(trace))
    line = assert_one_line_error(code, err, "secret.txt is not the file it was recorded with")
    assert "words" not in line and "vocabulary" not in line


def test_a_corpus_missing_beside_the_trace_is_the_trace_s_error(ngram_trace, tmp_path):
    trace, _ = ngram_trace
    (tmp_path / "data" / "corpus.txt").unlink()
    code, _, err = run_cli("replay", str(trace))
    line = assert_one_line_error(
        code, err, f"cannot replay trace {trace}", "relative to the trace's folder", "no such file"
    )
    assert "--corpus" not in line


def _as_version_1(trace: Path) -> None:
    # What the version 1 writer wrote: no corpus record, no cost-model knobs, no batch table.
    def rewrite(header: dict) -> None:
        header.pop("corpus")
        header.update(version=1)
        for knob in ("cost_model", "batch_size", "context_length", "k_by_batch_size") + V3_KNOBS:
            header["config"].pop(knob)

    _rewrite_header(trace, rewrite)


# What version 3 added (issue 16): a version 1 or 2 header has none of them.
V3_KNOBS = ("target", "draft", "device", "dtype", "timing", "draft_sampling", "prompt_lookup_max")


def test_a_version_2_trace_replays_with_the_new_knobs_at_their_defaults(ngram_trace):
    trace, live = ngram_trace

    def rewrite(header: dict) -> None:
        header.update(version=2)
        for knob in V3_KNOBS:
            header["config"].pop(knob)

    _rewrite_header(trace, rewrite)
    code, out, err = run_cli("run", "--from-trace", str(trace), "--json")
    assert code == 0, err
    assert json.loads(out)["text"] == live["text"]


def test_a_version_1_trace_with_a_corpus_replays_from_its_folder(ngram_trace):
    trace, live = ngram_trace
    _as_version_1(trace)
    code, out, err = run_cli("run", "--from-trace", str(trace), "--json")
    assert code == 0, err
    assert json.loads(out) == live


def test_a_version_1_header_naming_any_file_gets_nothing_of_it_reported(ngram_trace, tmp_path):
    trace, _ = ngram_trace
    _as_version_1(trace)
    (tmp_path / "secret.txt").write_text("three little words\n")
    _rewrite_header(trace, lambda h: h["config"].update(corpus="secret.txt"))
    code, _, err = run_cli("run", "--from-trace", str(trace))
    line = assert_one_line_error(code, err, "its corpus secret.txt is not a text the run could have been trained on")
    assert "3" not in line.split("secret.txt")[1]  # no word count


def test_the_default_corpus_is_recorded_by_hash(tmp_path):
    path = tmp_path / "run.jsonl"
    code, _, err = run_cli("run", "--model", "ngram", "-n", "30", "--trace", str(path), "--quiet")
    assert code == 0, err
    assert _header(path)["corpus"] == {"path": None, "sha256": default_corpus().sha256}
    _rewrite_header(path, lambda h: h["corpus"].update(sha256="0" * 64))
    code, _, err = run_cli("run", "--from-trace", str(path))
    assert_one_line_error(code, err, "recorded with a default corpus of sha256 0000000000000000", "another Python")
