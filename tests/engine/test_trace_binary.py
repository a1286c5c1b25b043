"""The binary trace (.npz): the same run as its JSON lines twin, byte for byte
the same file for the same run, and a damaged, edited or hostile file refused
with one line, never loaded as pickle nor allocated past what it holds."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from specviz.cli import main
from specviz.engine import SimConfig, Simulation
from specviz.engine.io.trace import ReplaySimulation, TraceError, TraceWriter, read_trace

CONFIG = SimConfig(target_length=400, draft_length=4, seed=9)


def record(path: Path, config: SimConfig = CONFIG) -> Simulation:
    simulation = Simulation(config)
    with TraceWriter(str(path), simulation):
        simulation.run()
    return simulation


@pytest.fixture(scope="module")
def npz(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("binary") / "run.npz"
    record(path)
    return path


def members(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name].copy() for name in data.files}


def write(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    # What any numpy user can write: np.savez, its own time stamps and all.
    np.savez(path, **arrays)
    return path


def refused(path: Path) -> str:
    with pytest.raises(TraceError) as caught:
        ReplaySimulation.from_file(str(path))
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.mark.parametrize(
    ("method", "policy"), [("speculative", "fixed"), ("typical", "heuristic"), ("greedy", "confidence")]
)
def test_a_binary_trace_replays_the_run_and_its_json_lines_twin(tmp_path, method, policy):
    config = CONFIG.replace(method=method, draft_policy=policy)
    live = record(tmp_path / "run.npz", config)
    record(tmp_path / "run.jsonl", config)
    binary, lines = read_trace(str(tmp_path / "run.npz")), read_trace(str(tmp_path / "run.jsonl"))
    assert binary.config == lines.config and binary.tokens == lines.tokens == config.target_length
    # Every recorded round, its uniforms included (the seed's), as the JSON lines hold it.
    assert [r.to_dict() for r in binary.rounds] == [r.to_dict() for r in lines.rounds]
    for trace in (binary, lines):
        replay = ReplaySimulation(trace)
        replay.run()
        assert replay.history == live.history and replay.kinds == live.kinds
        assert replay.summary() == live.summary()


def test_stepping_a_binary_replay_gives_the_recorded_rounds(npz):
    replay = ReplaySimulation.from_file(str(npz))
    recorded = read_trace(str(npz)).rounds
    for expected in recorded[:20]:
        assert replay.finish_round().to_dict() == expected.to_dict()
    replay.run()  # the rest at once: the checked run's end
    live = record(npz.with_name("again.npz"))
    assert replay.history == live.history and replay.stats.to_dict() == live.stats.to_dict()


def test_the_same_run_gives_the_same_bytes(tmp_path):
    record(tmp_path / "a.npz")
    record(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_the_header_carries_the_whole_configuration_and_the_columns_their_types(npz):
    data = members(npz)
    header = json.loads(data["header"].tobytes())
    assert header["config"] == CONFIG.to_dict() and header["format"] == "specviz-trace"
    assert data["drafted"].dtype == np.int32 and data["draft_probs"].dtype == np.float64
    assert len(data["drafted"]) == int(data["drafted_count"].sum())
    assert len(data["overlaps"]) == 0  # speculative sampling: they are the betas


def test_the_command_line_picks_the_form_by_the_extension(tmp_path, capsys):
    for name in ("run.npz", "run.jsonl"):
        assert main(["run", "-n", "300", "--trace", str(tmp_path / name), "--json"]) == 0
    capsys.readouterr()
    assert (tmp_path / "run.npz").read_bytes()[:4] == b"PK\x03\x04"
    assert (tmp_path / "run.jsonl").read_bytes().startswith(b'{"format":"specviz-trace"')
    reports = []
    for name in ("run.npz", "run.jsonl"):
        assert main(["run", "--from-trace", str(tmp_path / name), "--json"]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[0] == reports[1]
    # The report with its listing of the first rounds, then the rest at once: as from JSON lines.
    listings = []
    for name in ("run.npz", "run.jsonl"):
        assert main(["run", "--from-trace", str(tmp_path / name), "--rounds-shown", "3", "--no-progress"]) == 0
        listings.append(" ".join(capsys.readouterr().out.replace(name, "FILE").split()))  # widths follow the name
    assert listings[0] == listings[1] and "300" in listings[0]


# ---- what must be refused ------------------------------------------------------


def test_an_edited_token_or_probability_is_refused_at_its_round(npz, tmp_path):
    data = members(npz)
    position = int(data["drafted_count"][:7].sum())  # the first draft of round 7
    token = data.copy()
    token["drafted"] = data["drafted"].copy()
    token["drafted"][position] = (token["drafted"][position] + 1) % 100
    assert "round 7 drafts a token its uniform does not draw" in refused(write(tmp_path / "token.npz", token))
    probability = data.copy()
    probability["target_probs"] = data["target_probs"] * (1 + 1e-6)
    assert "round 0 records p(x) values the target model does not give" in refused(
        write(tmp_path / "p.npz", probability)
    )
    verdict = data.copy()
    bad = int(np.argmax(data["rejected"]))
    verdict["final"] = data["final"].copy()
    verdict["final"][bad] = (verdict["final"][bad] + 1) % 100
    assert f"round {bad} contradicts its own numbers" in refused(write(tmp_path / "verdict.npz", verdict))


def test_a_pickled_object_column_is_never_loaded(npz, tmp_path):
    data = members(npz)
    data["final"] = np.array([{"x": 1}] * len(data["final"]), dtype=object)  # np.save pickles it
    np.savez(tmp_path / "pickle.npz", **data)  # allow_pickle defaults to True when writing
    assert "is not a one-dimensional array of int32" in refused(tmp_path / "pickle.npz")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(final=d["final"].astype(np.int64)), "is not a one-dimensional array of int32"),
        (lambda d: d.update(betas=d["betas"].reshape(-1, 1)), "is not a one-dimensional array"),
        (lambda d: d.pop("betas"), "has no column 'betas'"),
        (lambda d: d.update(extra=np.zeros(3)), "unknown member 'extra.npy'"),
        (lambda d: d.update(accepted=d["accepted"][:-1]), "round columns differ in length"),
        (lambda d: d.update(betas=np.full_like(d["betas"], np.nan)), "invalid betas"),
        (lambda d: d.update(header=np.frombuffer(b'{"format": "other"}', dtype="u1")), "is not a specviz trace"),
    ],
)
def test_a_malformed_column_is_one_line(npz, tmp_path, change, words):
    data = members(npz)
    change(data)
    assert words in refused(write(tmp_path / "bad.npz", data))


def test_a_shape_larger_than_the_data_allocates_nothing(npz, tmp_path):
    # A .npy header claiming 10^12 entries: refused from the header, before any read.
    data = members(npz)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, data["betas"])
    forged = buffer.getvalue().replace(f"({len(data['betas'])},)".encode(), b"(1000000000000,)", 1)
    with zipfile.ZipFile(tmp_path / "big.npz", "w") as archive:
        for name, values in data.items():
            if name == "betas":
                archive.writestr("betas.npy", forged)
            else:
                member = io.BytesIO()
                np.lib.format.write_array(member, values)
                archive.writestr(name + ".npy", member.getvalue())
    assert "holds more than a run of its length can" in refused(tmp_path / "big.npz")


def test_a_cut_or_duplicated_archive_is_one_line(npz, tmp_path):
    whole = npz.read_bytes()
    (tmp_path / "cut.npz").write_bytes(whole[: len(whole) // 2])
    assert "not a whole zip archive" in refused(tmp_path / "cut.npz")
    data = members(npz)
    with zipfile.ZipFile(tmp_path / "twice.npz", "w") as archive:
        for name, values in [*data.items(), ("betas", data["betas"])]:
            member = io.BytesIO()
            np.lib.format.write_array(member, values)
            with pytest.warns(UserWarning) if name == "betas" and "betas.npy" in archive.namelist() else _nothing():
                archive.writestr(name + ".npy", member.getvalue())
    assert "holds a member twice" in refused(tmp_path / "twice.npz")


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
