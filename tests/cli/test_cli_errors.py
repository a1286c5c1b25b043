"""Bad input: one line on stderr naming what was wrong and what is allowed,
exit status 2, no traceback, and nothing overwritten."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli.cli_support import assert_one_line_error, run_cli, run_process


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["run", "-k", "0"], ["draft length", "0", "1 to 64"]),
        (["run", "-k", "65"], ["draft length", "1 to 64"]),
        (["run", "-k", "two"], ["draft length", "'two'", "whole number"]),
        (["run", "-k", "2.5"], ["draft length", "whole number"]),
        (["run", "-a", "1.5"], ["acceptance rate", "0 to 1"]),
        (["run", "-a", "nan"], ["acceptance rate", "finite"]),
        (["run", "-n", "0"], ["target length", "1 to 100,000,000"]),
        (["run", "-n", "1e12"], ["target length", "1 to 100,000,000"]),
        (["run", "--draft-cost", "-0.1"], ["draft cost", ">= 0"]),
        (["run", "--seed", "-3"], ["seed", "from 0"]),
        (["run", "--target-ms", "0"], ["target pass time", "> 0"]),
        (["run", "--top-p", "0"], ["top-p", "> 0 and <= 1"]),
        (["run", "--model", "gpt-9"], ["model pair", "'gpt-9'", "synthetic"]),
        (["run", "--method", "guess"], ["verification method", "speculative"]),
        (["run", "--draft-policy", "random"], ["draft-length policy", "fixed"]),
        (["--top-p", "2", "run"], ["top-p"]),  # a flag given before the command
        (["run", "--bogus"], ["unrecognized arguments: --bogus", "--help"]),
        (["run", "--draft", "3"], ["unrecognized arguments: --draft"]),  # no abbreviations
        (["run", "-k"], ["-k/--draft-length", "expected one argument"]),
        (["frobnicate"], ["invalid choice: 'frobnicate'", "run"]),
        (["run", "--json", "--quiet"], ["not allowed with argument --json"]),
        (["run", "--rounds-shown", "many"], ["--rounds-shown", "whole number"]),
        (["run", "--rounds-shown", "-1"], ["--rounds-shown", ">= 0"]),
        (["theory", "--k-max", "0"], ["k_max", "1 to 64"]),
        (["theory", "--ops-ratio", "-1"], ["ops_ratio", ">= 0"]),
        (["theory", "-a", "2"], ["acceptance rate", "0 to 1"]),
        (["replay"], ["required", "FILE"]),
    ],
)
def test_invalid_input_is_one_line(argv, fragments):
    code, out, err = run_cli(*argv)
    assert out == ""
    assert_one_line_error(code, err, *fragments)


def test_error_line_names_the_command():
    _, _, err = run_cli("run", "-k", "0")
    assert err.startswith("specviz run: error: invalid draft length k (-k/--draft-length): 0")


def test_a_process_prints_no_traceback():
    result = run_process("run", "-a", "1.5")
    assert_one_line_error(result.returncode, result.stderr, "acceptance rate")
    assert result.stdout == ""


# ---- traces that cannot be read -------------------------------------------


@pytest.fixture(scope="module")
def good_trace(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("traces") / "good.jsonl"
    code, _, err = run_cli("run", "-n", "60", "--trace", str(path), "--quiet")
    assert code == 0, err
    return path


def _variant(tmp_path: Path, good: Path, name: str, transform) -> Path:
    path = tmp_path / name
    data = good.read_bytes()
    path.write_bytes(transform(data))
    return path


def _edit_line(number: int, edit):
    def transform(data: bytes) -> bytes:
        lines = data.decode().splitlines(keepends=True)
        record = json.loads(lines[number])
        edit(record)
        lines[number] = json.dumps(record, separators=(",", ":")) + "\n"
        return "".join(lines).encode()

    return transform


def _drop_key(key):
    return lambda record: record.pop(key)


def _set(key, value):
    return lambda record: record.__setitem__(key, value)


def _set_config(key, value):
    return lambda record: record["config"].__setitem__(key, value)


TRACE_CASES = [
    ("empty", lambda d: b"", ["is empty", "header line"]),
    ("blank-line", lambda d: b"\n", ["not a specviz trace"]),
    ("not-json", lambda d: b"hello world\n", ["not a specviz trace", "specviz-trace"]),
    ("other-json", lambda d: b'{"format": "something-else", "version": 1}\n', ["not a specviz trace"]),
    ("binary", lambda d: bytes(range(256)) * 4, ["not UTF-8 text"]),
    ("header-cut", lambda d: d[:100], ["not a specviz trace"]),
    ("cut-mid-line", lambda d: d[: len(d) - 40], ["truncated", "cut short"]),
    ("cut-at-line", lambda d: b"".join(d.splitlines(keepends=True)[:4]), ["truncated", "of the 60 tokens"]),
    ("header-only", lambda d: d.splitlines(keepends=True)[0], ["truncated", "0 of the 60 tokens"]),
    ("version-2", _edit_line(0, _set("version", 2)), ["version 2", "reads version 1"]),
    ("no-version", _edit_line(0, _drop_key("version")), ["version None", "reads version 1"]),
    ("bad-config", _edit_line(0, _set_config("draft_length", 0)), ["configuration", "draft length", "1 to 64"]),
    ("unknown-model", _edit_line(0, _set_config("model", "gpt-9")), ["model pair", "synthetic"]),
    ("unknown-field", _edit_line(0, _set_config("colour", "red")), ["colour"]),
    ("no-vocab", _edit_line(0, _drop_key("vocab_size")), ["corrupt", "vocabulary size"]),
    ("round-not-json", lambda d: d.replace(b'"accepted":', b'"accepted"', 1), ["corrupt", "line 2 is not valid JSON"]),
    ("round-missing-key", _edit_line(2, _drop_key("bonus")), ["corrupt", "line 3 has no 'bonus'"]),
    ("round-out-of-order", _edit_line(2, _set("index", 7)), ["corrupt", "line 3", "expected round 1"]),
    ("round-bad-token", _edit_line(1, _set("drafted", [-1, 2, 3, 4, 5])), ["corrupt", "line 2", "drafted tokens"]),
    ("round-bad-verdict", _edit_line(1, _set("rejected", "maybe")), ["corrupt", "line 2", "verdict"]),
    ("round-bad-draws", _edit_line(1, _set("draws", [0.5])), ["corrupt", "line 2", "draws"]),
    (
        "round-text-prob",
        _edit_line(1, _set("draft_probs", ["a", "b", "c", "d", "e"])),
        ["corrupt", "line 2", "draft_probs"],
    ),
    ("round-null-prob", _edit_line(1, _set("target_probs", [0.5, None, 0.5, 0.5, 0.5])), ["corrupt", "target_probs"]),
    ("round-prob-above-1", _edit_line(1, _set("betas", [0.5, 1.5, 0.5, 0.5, 0.5])), ["corrupt", "betas"]),
    ("round-not-object", _edit_line(1, lambda r: r.clear()), ["corrupt", "line 2", "has no 'index'"]),
]


@pytest.mark.parametrize(("name", "transform", "fragments"), TRACE_CASES, ids=[c[0] for c in TRACE_CASES])
@pytest.mark.parametrize("command", ["run", "replay"])
def test_unreadable_trace_is_one_line(tmp_path, good_trace, name, transform, fragments, command, monkeypatch):
    import specviz.app

    # The app must never be reached with a bad trace.
    monkeypatch.setattr(specviz.app, "run_app", lambda *a, **k: pytest.fail("app opened on a bad trace"), raising=False)
    path = _variant(tmp_path, good_trace, f"{name}.jsonl", transform)
    before = path.read_bytes()
    argv = ["run", "--from-trace", str(path)] if command == "run" else ["replay", str(path)]
    code, out, err = run_cli(*argv)
    assert out == ""
    assert_one_line_error(code, err, *fragments)
    assert path.read_bytes() == before


def test_missing_trace(tmp_path):
    code, _, err = run_cli("run", "--from-trace", str(tmp_path / "nope.jsonl"))
    assert_one_line_error(code, err, "nope.jsonl", "no such file")


def test_trace_that_is_a_directory(tmp_path):
    code, _, err = run_cli("replay", str(tmp_path))
    assert_one_line_error(code, err, "is a directory")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_trace_without_read_permission(tmp_path, good_trace):
    path = tmp_path / "private.jsonl"
    path.write_bytes(good_trace.read_bytes())
    path.chmod(0)
    code, _, err = run_cli("run", "--from-trace", str(path))
    assert_one_line_error(code, err, "cannot read trace", "ermission denied")


def test_vocabulary_mismatch(tmp_path, good_trace):
    path = _variant(tmp_path, good_trace, "vocab.jsonl", _edit_line(0, _set("vocab_size", 10**6)))
    code, _, err = run_cli("run", "--from-trace", str(path))
    assert_one_line_error(code, err, "1,000,000-word vocabulary")


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["run", "-k", "3", "--from-trace", "{trace}"], ["--draft-length cannot be used with --from-trace"]),
        (["-a", "0.5", "run", "--from-trace", "{trace}"], ["--acceptance-rate cannot be used with --from-trace"]),
        (["run", "--from-trace", "{trace}", "--trace", "{out}"], ["--trace cannot be used with --from-trace"]),
        (["--seed", "3", "replay", "{trace}"], ["--seed cannot be used with replay"]),
    ],
)
def test_flags_that_conflict_with_a_trace(tmp_path, good_trace, argv, fragments):
    out = tmp_path / "out.jsonl"
    argv = [a.format(trace=good_trace, out=out) for a in argv]
    code, _, err = run_cli(*argv)
    assert_one_line_error(code, err, *fragments)
    assert not out.exists()


# ---- traces that cannot be written ------------------------------------------


@pytest.mark.parametrize(
    ("where", "fragments"),
    [
        ("missing-folder/run.jsonl", ["folder", "does not exist"]),
        (".", ["is a directory"]),
    ],
)
def test_unwritable_trace_path(tmp_path, where, fragments):
    code, out, err = run_cli("run", "-n", "30", "--trace", str(tmp_path / where))
    assert out == ""
    assert_one_line_error(code, err, *fragments)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_system_path():
    # /proc takes no new files, even for root.
    code, _, err = run_cli("run", "-n", "30", "--trace", "/proc/specviz-test.jsonl")
    assert_one_line_error(code, err, "cannot write trace /proc/specviz-test.jsonl")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        code, _, err = run_cli("run", "-n", "30", "--trace", str(folder / "run.jsonl"))
        assert_one_line_error(code, err, "not writable")
    finally:
        folder.chmod(0o700)


def test_existing_trace_is_not_overwritten_without_force(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text("precious\n")
    code, out, err = run_cli("run", "-n", "30", "--trace", str(path))
    assert out == ""
    assert_one_line_error(code, err, "already exists", "--force")
    assert path.read_text() == "precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]


def test_force_overwrites(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text("old\n")
    code, _, err = run_cli("run", "-n", "30", "--trace", str(path), "--force", "--quiet")
    assert code == 0, err
    assert path.read_text().startswith('{"format":"specviz-trace"')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.jsonl"]


def test_bad_value_leaves_existing_trace_alone(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text("precious\n")
    code, _, err = run_cli("run", "-k", "0", "--trace", str(path), "--force")
    assert_one_line_error(code, err, "draft length")
    assert path.read_text() == "precious\n"


def test_the_app_reads_a_named_corpus_before_its_screen_opens(tmp_path, monkeypatch):
    # The app builds its models after its first frame; a bad corpus must still
    # be one line and exit 2 from the command line, with no screen opened.
    import specviz.app

    monkeypatch.setattr(specviz.app, "run_app", lambda *a, **k: pytest.fail("the app was opened"))
    code, _, err = run_cli("--model", "ngram", "--corpus", str(tmp_path / "missing.txt"))
    assert_one_line_error(code, err, "missing.txt")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["run", "--cost-model", "h100-magic"], "unknown cost model 'h100-magic'"),
        (
            ["run", "--cost-model", "llama3.1-8b-eagle-h100", "--draft-cost", "0.2"],
            "--draft-cost cannot be used with --cost-model",
        ),
        (
            ["theory", "--cost-model", "llama3.1-8b-eagle-h100", "--verify-overhead", "0.2"],
            "--verify-overhead cannot be used",
        ),
        (["run", "--batch-size", "0"], "batch size b (--batch-size): 0"),
        (["run", "--context-length", "-1"], "context length L (--context-length)"),
    ],
)
def test_bad_cost_model_input_is_one_line(argv, words):
    code, out, err = run_cli(*argv)
    assert out == ""
    assert_one_line_error(code, err, words)


def test_a_malformed_cost_file_is_one_line_naming_the_key(tmp_path):
    path = tmp_path / "cost.toml"
    path.write_text('[target]\nfixed_ms = 5.0\n[draft]\nkind = "model"\nfixed_ms = -1\n')
    code, _, err = run_cli("run", "--cost-model", str(path))
    assert_one_line_error(code, err, "[draft] fixed_ms = -1")
