"""Bad input: one line on stderr naming what was wrong and what is allowed,
exit status 2, no traceback, and nothing overwritten."""

from __future__ import annotations

import json
import math
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
        (["run", "--draft-len", "3"], ["unrecognized arguments: --draft-len"]),  # no abbreviations
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


def _edit_round(find, edit):
    """Edit the first round line whose record `find` accepts."""

    def transform(data: bytes) -> bytes:
        lines = data.decode().splitlines(keepends=True)
        number = next(i for i, line in enumerate(lines[1:], start=1) if find(json.loads(line)))
        return _edit_line(number, edit)(data)

    return transform


def _rewrite_verdict(find, edit, shift: int):
    """Edit the verdict of the first round `find` accepts, keeping the trace
    consistent in itself: the later rounds' starts and the target length move
    by the `shift` tokens the edit adds, so only the verdict's own numbers
    contradict it."""

    def transform(data: bytes) -> bytes:
        records = [json.loads(line) for line in data.decode().splitlines()]
        number = next(i for i in range(1, len(records)) if find(records[i]))
        edit(records[number])
        for record in records[number + 1 :]:
            record["start"] += shift
        records[0]["config"]["target_length"] += shift
        return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()

    return transform


def _keep_one_more(record) -> None:
    # A rejected draft rewritten as kept.
    record["accepted"] += 1
    if record["accepted"] == len(record["drafted"]):
        record.update(rejected=False, bonus=record["correction"], correction=None)


def _reject_the_last(record) -> None:
    # The last kept draft rewritten as rejected.
    record.update(accepted=record["accepted"] - 1, rejected=True, correction=record["bonus"], bonus=None)


def _shift_list(key, position, change):
    return lambda record: record[key].__setitem__(position, change(record[key][position]))


def _raw_line(number: int, edit):
    def transform(data: bytes) -> bytes:
        lines = data.splitlines(keepends=True)
        lines[number] = edit(lines[number])
        return b"".join(lines)

    return transform


def _header_then(line: bytes):
    return lambda d: d.splitlines(keepends=True)[0] + line


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
    ("version-4", _edit_line(0, _set("version", 4)), ["version 4", "reads versions 1, 2 and 3"]),
    ("no-version", _edit_line(0, _drop_key("version")), ["version None", "reads versions 1, 2 and 3"]),
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
    # Files that are no trace at all, read with bounds (issue 20, items 5 and 6).
    ("zeros", lambda d: bytes(2_000_000), ["not UTF-8 text"]),
    ("nested-header", lambda d: b"[" * 100_000 + b"\n", ["corrupt", "line 1 is nested too deeply"]),
    ("nested-round", _header_then(b"[" * 50_000 + b"\n"), ["corrupt", "line 2 is nested too deeply"]),
    (
        "long-round",
        _raw_line(1, lambda line: line[:-2] + b" " * 70_000 + line[-2:]),
        ["corrupt", "line 2 is longer than 65,536 bytes", "a round line"],
    ),
    (
        "long-header",
        _raw_line(0, lambda line: line[:-2] + b" " * 1_100_000 + line[-2:]),
        ["corrupt", "line 1 is longer than 1,048,576 bytes", "a trace header"],
    ),
    # Rounds checked against the header (item 7).
    ("header-k-below-rounds", _edit_line(0, _set_config("draft_length", 2)), ["line 2 plans 5 drafts", "(k = 2)"]),
    ("round-60-drafts", _edit_line(1, _set("drafted", [1] * 60)), ["line 2 drafts 60 tokens", "the 5 it plans"]),
    (
        "duplicate-round-key",
        _raw_line(1, lambda line: line.replace(b'"accepted":', b'"accepted":0,"accepted":', 1)),
        ["corrupt", "line 2 has the key 'accepted' twice"],
    ),
    (
        "duplicate-header-key",
        lambda d: d.replace(b'"vocab_size":', b'"vocab_size":1,"vocab_size":', 1),
        ["corrupt", "line 1 has the key 'vocab_size' twice"],
    ),
    (
        "missing-config-key",
        _edit_line(0, lambda r: r["config"].pop("seed")),
        ["corrupt", "configuration has no 'seed'"],
    ),
    ("header-unknown-key", _edit_line(0, _set("colour", 1)), ["corrupt", "unknown key 'colour'"]),
    ("round-unknown-key", _edit_line(1, _set("colour", 1)), ["corrupt", "line 2 has an unknown key 'colour'"]),
    # No NaN or infinity anywhere (item 8).
    ("nan-probability", _edit_line(1, _shift_list("target_probs", 1, lambda _: math.nan)), ["line 2 holds NaN"]),
    ("nan-draw", _edit_line(1, _shift_list("draws", 2, lambda _: math.nan)), ["line 2 holds NaN"]),
    ("infinite-beta", _edit_line(1, _shift_list("betas", 1, lambda _: math.inf)), ["line 2 holds Infinity"]),
    ("minus-infinity", _edit_line(1, _shift_list("draws", 0, lambda _: -math.inf)), ["line 2 holds -Infinity"]),
    (
        "overflowing-draw",
        lambda d: _edit_line(1, _shift_list("draws", 0, lambda _: "HUGE"))(d).replace(b'"HUGE"', b"1e999"),
        ["line 2 has invalid draws"],
    ),
    # Every verdict re-derived from its own numbers (item 9).
    ("booleans-as-probabilities", _edit_line(1, _set("draft_probs", [True] * 5)), ["line 2 has invalid draft_probs"]),
    ("version-true", _edit_line(0, _set("version", True)), ["has version True"]),
    ("accepted-true", _edit_line(1, _set("accepted", True)), ["line 2 has an invalid accepted count"]),
    ("q-zero", _edit_line(1, _shift_list("draft_probs", 0, lambda _: 0.0)), ["q(x) = 0"]),
    (
        "rejection-as-acceptance",
        _rewrite_verdict(lambda r: r["rejected"], _keep_one_more, +1),
        ["contradicts its own numbers", "u < p/q"],
    ),
    (
        "acceptance-as-rejection",
        _rewrite_verdict(lambda r: not r["rejected"] and r["accepted"], _reject_the_last, -1),
        ["contradicts its own numbers"],
    ),
    (
        "other-correction",
        _edit_round(lambda r: r["rejected"], lambda r: r.update(correction=(r["correction"] + 1) % 116)),
        ["contradicts its own numbers", "emits token"],
    ),
    (
        "other-draft",
        _edit_line(1, _shift_list("drafted", 0, lambda t: (t + 1) % 116)),
        ["line 2 drafts token", "at position 1", "from the draft model"],
    ),
    ("other-p", _edit_line(1, _shift_list("target_probs", 0, lambda p: p / 2)), ["line 2 records p(x) values"]),
    ("other-q", _edit_line(1, _shift_list("draft_probs", 0, lambda q: q / 2)), ["line 2 records q(x) values"]),
    ("other-draw", _edit_line(1, _shift_list("draws", -1, lambda u: u / 2)), ["line 2 has uniforms", "seed 42"]),
    ("other-seed", _edit_line(0, _set_config("seed", 43)), ["line 2 has uniforms", "seed 43"]),
    # The header's corpus record (item 10).
    ("no-corpus-key", _edit_line(0, _drop_key("corpus")), ["corrupt", "its header has no 'corpus'"]),
    (
        "corpus-for-synthetic",
        _edit_line(0, _set("corpus", {"path": "c.txt", "sha256": "0" * 64})),
        ["corrupt", "records a corpus", "model 'synthetic' reads none"],
    ),
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
