"""Run traces: the format, byte-identical files, atomic writes, and replay."""

from __future__ import annotations

import json

import pytest

from specviz.engine import Phase, SimConfig, Simulation
from specviz.engine.io.trace import (
    TRACE_FORMAT,
    TRACE_VERSION,
    ReplaySimulation,
    TraceError,
    TraceWriter,
    read_trace,
)
from tests.cli.cli_support import run_cli

CONFIG = SimConfig(draft_length=4, acceptance_rate=0.7, target_length=120, seed=7)


def record(path, config=CONFIG) -> Simulation:
    simulation = Simulation(config)
    with TraceWriter(str(path), simulation):
        simulation.run()
    return simulation


def test_header_then_one_line_per_round(tmp_path):
    path = tmp_path / "run.jsonl"
    live = Simulation(CONFIG)
    rounds = []
    live.add_listener(lambda r: rounds.append(r.to_dict()))
    with TraceWriter(str(path), live):
        live.run()
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header == {
        "format": TRACE_FORMAT,
        "version": TRACE_VERSION,
        "config": CONFIG.to_dict(),
        "vocab_size": len(live.model.vocab),
        "corpus": None,  # the synthetic pair reads no corpus
    }
    assert [json.loads(line) for line in lines[1:]] == rounds
    assert len(lines) == 1 + live.stats.rounds


def test_same_config_and_seed_give_the_same_bytes(tmp_path):
    record(tmp_path / "a.jsonl")
    record(tmp_path / "b.jsonl")
    record(tmp_path / "c.jsonl", CONFIG.replace(seed=8))
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert (tmp_path / "a.jsonl").read_bytes() != (tmp_path / "c.jsonl").read_bytes()


def test_cli_traces_are_byte_identical(tmp_path):
    for name in ("a.jsonl", "b.jsonl"):
        code, _, err = run_cli(
            "run", "-n", "200", "-k", "3", "--seed", "11", "--trace", str(tmp_path / name), "--quiet"
        )
        assert code == 0, err
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_a_failed_run_leaves_no_file(tmp_path):
    path = tmp_path / "run.jsonl"
    simulation = Simulation(CONFIG)
    with pytest.raises(KeyboardInterrupt):
        with TraceWriter(str(path), simulation):
            simulation.run(max_rounds=3)
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_failed_run_keeps_the_old_file(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text("old\n")
    simulation = Simulation(CONFIG)
    with pytest.raises(RuntimeError):
        with TraceWriter(str(path), simulation, force=True):
            simulation.run(max_rounds=3)
            raise RuntimeError("boom")
    assert path.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [path]


def test_an_unfinished_run_is_not_written(tmp_path):
    path = tmp_path / "run.jsonl"
    simulation = Simulation(CONFIG)
    with pytest.raises(TraceError, match="stopped before its target length"):
        with TraceWriter(str(path), simulation):
            simulation.run(max_rounds=2)
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_file_sits_beside_the_destination(tmp_path):
    path = tmp_path / "run.jsonl"
    simulation = Simulation(CONFIG)
    with TraceWriter(str(path), simulation):
        simulation.run(max_rounds=1)
        partial = [p.name for p in tmp_path.iterdir()]
        simulation.run()
    assert len(partial) == 1 and partial[0].startswith(".run.jsonl.") and partial[0].endswith(".partial")
    assert [p.name for p in tmp_path.iterdir()] == ["run.jsonl"]


def test_read_trace_round_trips(tmp_path):
    live = record(tmp_path / "run.jsonl")
    trace = read_trace(str(tmp_path / "run.jsonl"))
    assert trace.config == CONFIG
    assert trace.tokens == CONFIG.target_length == live.emitted
    assert len(trace.rounds) == live.stats.rounds


def test_replay_steps_like_the_live_run(tmp_path):
    record(tmp_path / "run.jsonl")
    live = Simulation(CONFIG)
    replay = ReplaySimulation.from_file(str(tmp_path / "run.jsonl"))
    assert replay.config == live.config and replay.prompt_length == live.prompt_length
    assert replay.next_phase is live.next_phase is Phase.DRAFT
    while not live.done:
        expected, got = live.step(), replay.step()
        assert got.phase is expected.phase
        assert replay.last_phase is live.last_phase and replay.next_phase is live.next_phase
        assert got.round.to_dict() == expected.round.to_dict()
        assert got.round.completed is expected.round.completed
        if got.phase is Phase.DRAFT:
            # q at every drafted position, as the draft proposed it
            assert [d.q_view for d in got.round.proposals] == [d.q_view for d in expected.round.proposals]
            assert got.round.dists == expected.round.dists == []
        if got.phase is Phase.VERIFY:
            # p and q at every drafted position (+1), for a viewer to draw
            assert len(got.round.dists) == len(expected.round.dists) == len(got.round.drafted) + 1
            assert [d.beta for d in got.round.dists] == [d.beta for d in expected.round.dists]
    assert replay.done and replay.step() is None and replay.finish_round() is None
    assert replay.history == live.history and replay.kinds == live.kinds
    assert replay.text() == live.text()
    assert replay.stats == live.stats
    assert replay.cost() == live.cost()
    assert replay.summary() == live.summary()


def test_replay_finish_round_and_run_mix(tmp_path):
    live = record(tmp_path / "run.jsonl")
    replay = ReplaySimulation.from_file(str(tmp_path / "run.jsonl"))
    replay.step()  # DRAFT of round 1
    first = replay.finish_round()
    assert first.index == 0 and first.completed
    replay.run(max_rounds=2)
    assert replay.stats.rounds == 3
    replay.run()
    assert replay.summary() == live.summary()


def test_replay_draws_nothing(tmp_path):
    live = record(tmp_path / "run.jsonl")
    replay = ReplaySimulation.from_file(str(tmp_path / "run.jsonl"))
    # Without a random stream or a verification method a re-simulation would fail.
    replay.draws = None
    replay.method = None
    replay.policy = None
    replay.run()
    assert replay.summary() == live.summary()


def test_replay_listeners_see_every_round(tmp_path):
    live = record(tmp_path / "run.jsonl")
    replay = ReplaySimulation.from_file(str(tmp_path / "run.jsonl"))
    seen = []
    replay.add_listener(lambda r: seen.append(r.index))
    replay.run()
    assert seen == list(range(live.stats.rounds))


def test_from_trace_json_matches_the_live_run(tmp_path):
    path = tmp_path / "run.jsonl"
    code, live_out, err = run_cli("run", "-n", "300", "-a", "0.6", "--json", "--trace", str(path))
    assert code == 0, err
    code, replay_out, err = run_cli("run", "--from-trace", str(path), "--json")
    assert code == 0, err
    assert json.loads(replay_out) == json.loads(live_out)


def test_from_trace_report_matches_the_live_report(tmp_path):
    path = tmp_path / "run.jsonl"
    code, live_out, _ = run_cli("run", "-n", "300", "--rounds-shown", "7", "--trace", str(path))
    assert code == 0
    code, replay_out, _ = run_cli("run", "--from-trace", str(path), "--rounds-shown", "7")
    assert code == 0
    # Lines compared without trailing blanks: the trace's path widens the table.
    replay_lines = [line.rstrip() for line in replay_out.splitlines()]
    start = next(i for i, line in enumerate(replay_lines) if "replayed from" in line)
    # The path may fold over several lines; all of it is shown.
    end = next(i for i in range(start, len(replay_lines)) if replay_lines[i].endswith("run.jsonl")) + 1
    assert "".join(line.split()[-1] for line in replay_lines[start:end]) == str(path)
    assert replay_lines[:start] + replay_lines[end:] == [line.rstrip() for line in live_out.splitlines()]


def test_replay_command_opens_the_app_on_the_trace(tmp_path, monkeypatch):
    import specviz.app

    path = tmp_path / "run.jsonl"
    live = record(path)
    calls = []

    def fake_run_app(config, simulation=None):
        calls.append((config, simulation))
        return 0

    monkeypatch.setattr(specviz.app, "run_app", fake_run_app)
    code, _, err = run_cli("replay", str(path))
    assert code == 0, err
    [(config, simulation)] = calls
    assert config == CONFIG
    assert isinstance(simulation, ReplaySimulation) and isinstance(simulation, Simulation)
    assert simulation.stats.rounds == 0  # the app steps it
    simulation.run()
    assert simulation.summary() == live.summary()
