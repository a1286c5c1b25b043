"""A trace is checked round by round against what the engine derives from its
header: legitimate traces of every method and policy replay, version 1 files
still replay, and damaged or edited ones are refused rather than replayed wrong."""

from __future__ import annotations

import itertools
import random
import re
from pathlib import Path

import pytest

from specviz.engine import SimConfig, Simulation
from specviz.engine.io import trace as traces
from specviz.engine.io.trace import ReplaySimulation, TraceError, TraceWriter, read_trace
from specviz.engine.run.config import MAX_DRAFT_LENGTH, MAX_TARGET_LENGTH
from specviz.engine.verification.methods import method_class
from tests.budget import budget

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def record(path: Path, config: SimConfig) -> Simulation:
    simulation = Simulation(config)
    with TraceWriter(str(path), simulation):
        simulation.run()
    return simulation


# ---- what must replay ----------------------------------------------------------


@pytest.mark.parametrize("name", ["trace_v1_speculative.jsonl", "trace_v1_sample_match.jsonl"])
def test_version_1_files_still_replay(name):
    # Written by the version 1 writer (before the corpus record).
    trace = read_trace(str(FIXTURES / name))
    assert trace.version == 1 and trace.corpus is None
    replay = ReplaySimulation(trace)
    replay.run()
    live = Simulation(trace.config)
    live.run()
    assert replay.history == live.history and replay.kinds == live.kinds
    assert replay.summary() == live.summary()


@pytest.mark.parametrize(
    ("method", "policy"),
    list(itertools.product(["speculative", "greedy", "sample-match", "typical"], ["fixed", "heuristic", "confidence"])),
)
def test_every_method_and_policy_replays(tmp_path, method, policy):
    config = SimConfig(method=method, draft_policy=policy, target_length=300, draft_length=4, seed=5)
    live = record(tmp_path / "run.jsonl", config)
    replay = ReplaySimulation.from_file(str(tmp_path / "run.jsonl"))
    replay.run()
    assert replay.history == live.history and replay.summary() == live.summary()


@pytest.mark.parametrize(("method", "policy"), [("speculative", "confidence"), ("typical", "heuristic")])
def test_ngram_traces_replay(tmp_path, method, policy):
    config = SimConfig(
        model="ngram", method=method, draft_policy=policy, target_length=200, temperature=0.7, top_p=0.9, seed=3
    )
    live = record(tmp_path / "run.jsonl", config)
    replay = ReplaySimulation.from_file(str(tmp_path / "run.jsonl"))
    replay.run()
    assert replay.history == live.history and replay.summary() == live.summary()


# ---- verdicts re-derived from their own numbers ---------------------------------


def _keep_one_more(trace, number: int) -> None:
    """Rewrite round `number`'s first rejected draft as kept, and move the
    later rounds and the target length along, so the trace stays consistent
    in itself and only the verdict contradicts its numbers."""
    round_ = trace.rounds[number]
    round_.accepted += 1
    if round_.accepted == len(round_.drafted):
        round_.rejected, round_.bonus, round_.correction = False, round_.correction, None
    for later in trace.rounds[number + 1 :]:
        later.start += 1
    trace.config = trace.config.replace(target_length=trace.config.target_length + 1)


@pytest.mark.parametrize("method", ["speculative", "greedy", "sample-match", "typical"])
def test_a_verdict_its_numbers_contradict_is_refused_under_every_method(tmp_path, method):
    record(tmp_path / "run.jsonl", SimConfig(method=method, target_length=200, acceptance_rate=0.6, seed=9))
    trace = read_trace(str(tmp_path / "run.jsonl"))
    number = next(i for i, r in enumerate(trace.rounds) if r.rejected)
    _keep_one_more(trace, number)
    with pytest.raises(TraceError) as refused:
        ReplaySimulation(trace)
    message = str(refused.value)
    assert f"line {number + 2} contradicts its own numbers" in message
    assert f"method '{method}'" in message and method_class(method).keeps_when in message


# ---- bit flips ------------------------------------------------------------------

FUZZ_CONFIG = SimConfig(draft_length=4, acceptance_rate=0.7, target_length=60, seed=7)
# The values that decide which tokens a replay emits.
_TOKEN_FIELDS = re.compile(rb'"(?:drafted|accepted|rejected|correction|bonus)":(\[[^\]]*\]|[^,}]*)')


def _flip_outcomes(tmp_path: Path, positions: list[int], flips: int, seed: int) -> dict[str, int]:
    """Replay `flips` copies of the fuzz trace, each with one bit flipped at a
    position drawn from `positions`: how many were refused, replayed the
    original tokens, or replayed other tokens (silently wrong)."""
    original = tmp_path / "run.jsonl"
    live = record(original, FUZZ_CONFIG)
    data = original.read_bytes()
    rng = random.Random(seed)
    outcomes = {"refused": 0, "same tokens": 0, "silently wrong": 0}
    flipped = tmp_path / "flipped.jsonl"
    for _ in range(flips):
        mutated = bytearray(data)
        mutated[rng.choice(positions)] ^= 1 << rng.randrange(8)
        flipped.write_bytes(mutated)
        try:
            replay = ReplaySimulation.from_file(str(flipped))
        except TraceError:
            outcomes["refused"] += 1
            continue
        replay.run()
        outcomes["same tokens" if replay.history == live.history else "silently wrong"] += 1
    return outcomes


def _fuzz_trace(tmp_path: Path) -> bytes:
    record(tmp_path / "fuzz.jsonl", FUZZ_CONFIG)
    return (tmp_path / "fuzz.jsonl").read_bytes()


def test_no_single_bit_flip_replays_other_tokens(tmp_path):
    flips = budget(300, 3_000)
    outcomes = _flip_outcomes(tmp_path, list(range(len(_fuzz_trace(tmp_path)))), flips, seed=20)
    # A flip that still replays is in a float's last digits (within the
    # tolerance p, q and beta are compared to) or a cost parameter.
    assert outcomes["silently wrong"] == 0, outcomes
    assert outcomes["refused"] >= 0.9 * flips, outcomes


def test_no_bit_flip_in_the_token_fields_replays_other_tokens(tmp_path):
    data = _fuzz_trace(tmp_path)
    positions = [p for match in _TOKEN_FIELDS.finditer(data) for p in range(*match.span(1))]
    outcomes = _flip_outcomes(tmp_path, positions, 300, seed=21)
    assert outcomes["silently wrong"] == 0, outcomes


# ---- bounds and estimates ---------------------------------------------------------


def test_the_round_line_bound_holds_the_longest_round_the_format_allows(tmp_path):
    assert traces._longest_round_bytes(MAX_TARGET_LENGTH, 10**8) <= traces.MAX_ROUND_BYTES
    # And a real round at the largest k.
    record(tmp_path / "run.jsonl", SimConfig(draft_length=MAX_DRAFT_LENGTH, acceptance_rate=0.99, target_length=500))
    longest = max(len(line) for line in (tmp_path / "run.jsonl").read_bytes().splitlines(keepends=True)[1:])
    assert longest <= traces._longest_round_bytes(500, 116) <= traces.MAX_ROUND_BYTES


@pytest.mark.parametrize(
    "config",
    [
        SimConfig(target_length=40_000, seed=1),
        SimConfig(target_length=40_000, draft_length=8, acceptance_rate=0.9, draft_policy="heuristic", seed=2),
    ],
    ids=["k5", "heuristic"],
)
def test_the_size_estimate_is_near_the_real_size(tmp_path, config):
    estimate = traces.estimated_round_bytes(Simulation(config))
    live = record(tmp_path / "run.jsonl", config)
    header = len((tmp_path / "run.jsonl").read_bytes().split(b"\n", 1)[0]) + 1
    actual = (tmp_path / "run.jsonl").stat().st_size - header
    assert live.done and 1.0 <= estimate / actual <= 1.25


def test_the_estimate_of_a_short_run_is_exact(tmp_path):
    config = SimConfig(target_length=traces.SPACE_SAMPLE_TOKENS // 2)
    estimate = traces.estimated_round_bytes(Simulation(config))
    record(tmp_path / "run.jsonl", config)
    data = (tmp_path / "run.jsonl").read_bytes()
    assert estimate == len(data) - len(data.split(b"\n", 1)[0]) - 1


def test_a_header_over_its_bound_is_refused_before_the_run(tmp_path, monkeypatch):
    # specviz never writes a trace it would not read back.
    header = len(traces.header_line(SimConfig(), 116)) + 1
    monkeypatch.setattr(traces, "MAX_HEADER_BYTES", header - 1)
    with pytest.raises(TraceError, match=f"its header would take {header:,} bytes"):
        TraceWriter(str(tmp_path / "run.jsonl"), Simulation(SimConfig()))
    assert list(tmp_path.iterdir()) == []


def test_a_version_1_header_cannot_carry_knobs_that_came_later(tmp_path):
    import json

    from specviz.engine.io.trace import read_trace
    from specviz.engine.run.config import TraceError

    source = (FIXTURES / "trace_v1_speculative.jsonl").read_text().splitlines()
    header = json.loads(source[0])
    header["config"]["batch_size"] = 8
    path = tmp_path / "v1.jsonl"
    path.write_text("\n".join([json.dumps(header), *source[1:]]) + "\n")
    with pytest.raises(TraceError, match="version 1 header has a 'batch_size'"):
        read_trace(str(path))


@pytest.mark.parametrize(("batch_size", "k"), [(16, 5), (17, 4), (129, 0)])
def test_batch_table_traces_replay_at_the_tables_k(tmp_path, batch_size, k):
    table = "[[1,16,5],[17,32,4],[33,128,1],[129,512,0]]"
    config = SimConfig(draft_policy="batch-table", k_by_batch_size=table, batch_size=batch_size, target_length=120)
    live = record(tmp_path / "run.jsonl", config)
    trace = read_trace(str(tmp_path / "run.jsonl"))
    assert trace.config.k_by_batch_size == table
    replay = ReplaySimulation(trace)
    replay.run()
    assert replay.history == live.history and replay.summary() == live.summary()
    assert live.stats.drafted_histogram[k] == live.stats.rounds - (1 if k else 0)
