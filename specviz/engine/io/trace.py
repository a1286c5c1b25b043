"""Run traces: a recorded run as JSON lines, and a replay that needs no re-simulation.

Format (version 1), one JSON object per line, UTF-8, every line ending in "\\n":
    {"format": "specviz-trace", "version": 1, "config": {...}, "vocab_size": V}
    {"index": 0, "start": 0, "draft_length": 5, "drafted": [...], ...}   (Round.to_dict())
    ... one line per round, in order, until the run's target length.

A trace always records a whole run: the reader knows it is complete when the
rounds' tokens add up to the configured target length, so a file cut at a line
boundary is caught as truncated without needing a footer. Writing goes to a
temporary file in the destination folder that is renamed into place only when
the run finished, so an interrupted or failed run never leaves half a trace.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TextIO, TypeGuard

from specviz.engine.models.pair import ModelPair

# TraceError lives in config.py (numpy-free, for the command line); importable from here too.
from specviz.engine.run.config import ConfigError, SimConfig, TraceError
from specviz.engine.run.rounds import Phase, Round
from specviz.engine.run.simulation import Simulation
from specviz.engine.run.stats import RunStats

TRACE_FORMAT = "specviz-trace"
TRACE_VERSION = 1
_EXPECTED = "a specviz trace: a header line, then one JSON line per round"


def _dumps(data: dict[str, Any]) -> str:
    # Compact and in insertion order: the same run gives the same bytes.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def header_line(config: SimConfig, vocab_size: int) -> str:
    return _dumps(
        {"format": TRACE_FORMAT, "version": TRACE_VERSION, "config": config.to_dict(), "vocab_size": vocab_size}
    )


# ---- writing ------------------------------------------------------------


def check_writable(path: str, force: bool = False) -> None:
    """Raise TraceError now, before a long run, if `path` cannot take a trace."""
    if os.path.isdir(path):
        raise TraceError(f"cannot write trace {path}: it is a directory (give a file name such as run.jsonl)")
    if os.path.lexists(path) and not force:
        raise TraceError(f"trace {path} already exists (use --force to overwrite it)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise TraceError(f"cannot write trace {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TraceError(f"cannot write trace {path}: folder {folder} is not writable")


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class TraceWriter:
    """Writes a run's trace atomically: use as a context manager around the run.

    with TraceWriter(path, simulation) as writer:   # header written, listener added
        simulation.run()
    # on a clean exit the file is renamed into place; on any exception
    # (KeyboardInterrupt included) the temporary file is removed.
    """

    def __init__(self, path: str, simulation: Simulation, force: bool = False):
        check_writable(path, force)
        self.path = path
        self.force = force
        self.simulation = simulation
        self._file: TextIO | None = None
        self._temp_path: str | None = None

    def __enter__(self) -> TraceWriter:
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            handle, self._temp_path = tempfile.mkstemp(
                dir=folder, prefix="." + os.path.basename(self.path) + ".", suffix=".partial"
            )
            # mkstemp makes the file private (0600); a trace is an ordinary
            # output file, so give it the mode open() would.
            os.fchmod(handle, 0o666 & ~_current_umask())
            self._file = os.fdopen(handle, "w", encoding="utf-8", newline="\n")
            self._file.write(header_line(self.simulation.config, len(self.simulation.model.vocab)) + "\n")
        except OSError as error:
            self._discard()
            raise TraceError(f"cannot write trace {self.path}: {error.strerror or error}") from None
        self.simulation.add_listener(self.write_round)
        return self

    def write_round(self, round_: Round) -> None:
        assert self._file is not None  # a listener only between __enter__ and __exit__
        self._file.write(_dumps(round_.to_dict()) + "\n")

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is not None:
            self._discard()
            return
        if not self.simulation.done:
            self._discard()
            raise TraceError(f"trace {self.path} not written: the run stopped before its target length")
        file, temp_path = self._file, self._temp_path
        assert file is not None and temp_path is not None  # __enter__ made both or raised
        try:
            file.flush()
            os.fsync(file.fileno())
            file.close()
            if os.path.lexists(self.path) and not self.force:
                raise TraceError(f"trace {self.path} already exists (use --force to overwrite it)")
            os.replace(temp_path, self.path)
        except OSError as error:
            self._discard()
            raise TraceError(f"cannot write trace {self.path}: {error.strerror or error}") from None
        except TraceError:
            self._discard()
            raise

    def _discard(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        if self._temp_path is not None:
            try:
                os.unlink(self._temp_path)
            except FileNotFoundError:
                pass


# ---- reading ------------------------------------------------------------


@dataclass
class Trace:
    """A validated trace: its configuration and every round, in order."""

    path: str
    config: SimConfig
    vocab_size: int
    rounds: list[Round] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(r.accepted + 1 for r in self.rounds)


def _lines(path: str) -> Iterator[tuple[int, str]]:
    """(line number, line) pairs; raises TraceError when the file cannot be read."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            yield from enumerate(handle, start=1)
    except FileNotFoundError:
        raise TraceError(f"cannot read trace {path}: no such file") from None
    except IsADirectoryError:
        raise TraceError(f"cannot read trace {path}: it is a directory, expected {_EXPECTED}") from None
    except UnicodeDecodeError:
        raise TraceError(f"cannot read trace {path}: not UTF-8 text, expected {_EXPECTED}") from None
    except OSError as error:
        raise TraceError(f"cannot read trace {path}: {error.strerror or error}") from None


def _parse_header(path: str, line: str) -> tuple[SimConfig, int]:
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != TRACE_FORMAT:
        raise TraceError(f"{path} is not a specviz trace: its first line is not a '{TRACE_FORMAT}' header")
    version = header.get("version")
    if version != TRACE_VERSION:
        raise TraceError(f"trace {path} has version {version!r}; this specviz reads version {TRACE_VERSION}")
    config_data, vocab_size = header.get("config"), header.get("vocab_size")
    if not isinstance(config_data, dict):
        raise TraceError(f"trace {path} is corrupt: its header has no configuration")
    if not _is_int(vocab_size) or vocab_size < 1:
        raise TraceError(f"trace {path} is corrupt: its header has no vocabulary size")
    try:
        config = SimConfig.from_dict(config_data)
    except ConfigError as error:
        raise TraceError(f"trace {path} has a configuration this specviz does not accept: {error}") from None
    except TypeError:
        raise TraceError(f"trace {path} is corrupt: its header's configuration is incomplete") from None
    return config, vocab_size


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _probabilities(values: object, length: int) -> bool:
    """A list of `length` numbers in [0, 1] (a little above 1 is float rounding:
    beta is a sum of minima). min/max keep this at C speed: it runs on every
    number of a trace, and a non-number makes them raise TypeError."""
    if type(values) is not list or len(values) != length:
        return False
    if not values:
        return True
    try:
        return bool(0.0 <= min(values) and max(values) <= 1.0 + 1e-9)  # bool: the items are Any to mypy
    except TypeError:
        return False


def _round_problem(data: Any, expected_index: int, expected_start: int, vocab_size: int) -> str | None:
    """What is wrong with a round line's object, or None if it is a consistent round."""
    if not isinstance(data, dict):
        return "is not a round object"
    missing = [
        key
        for key in (
            "index",
            "start",
            "draft_length",
            "drafted",
            "draft_probs",
            "target_probs",
            "betas",
            "draws",
            "accepted",
            "rejected",
            "correction",
            "bonus",
        )
        if key not in data
    ]
    if missing:
        return f"has no '{missing[0]}'"
    if data["index"] != expected_index or not _is_int(data["index"]):
        return f"is round {data['index']!r}, expected round {expected_index}"
    if data["start"] != expected_start or not _is_int(data["start"]):
        return f"starts at token {data['start']!r}, expected {expected_start}"
    k, drafted, accepted = data["draft_length"], data["drafted"], data["accepted"]
    if not _is_int(k) or k < 0:
        return "has an invalid draft_length"
    if (
        not isinstance(drafted, list)
        or len(drafted) > k
        or not all(_is_int(t) and 0 <= t < vocab_size for t in drafted)
    ):
        return "has invalid drafted tokens"
    for key in ("draft_probs", "target_probs", "betas"):
        if not _probabilities(data[key], len(drafted)):
            return f"has invalid {key}"
    if not _probabilities(data["draws"], 2 * k + 1):
        return "has invalid draws"
    if not _is_int(accepted) or not 0 <= accepted <= len(drafted):
        return "has an invalid accepted count"
    rejected, correction, bonus = data["rejected"], data["correction"], data["bonus"]
    if rejected is True:
        ok = accepted < len(drafted) and bonus is None and _is_int(correction) and 0 <= correction < vocab_size
    elif rejected is False:
        ok = accepted == len(drafted) and correction is None and _is_int(bonus) and 0 <= bonus < vocab_size
    else:
        ok = False
    if not ok:
        return "has an inconsistent verdict (rejected, correction, bonus)"
    return None


def read_trace(path: str) -> Trace:
    """Read and validate a whole trace; raises TraceError with one line."""
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise TraceError(f"trace {path} is empty, expected {_EXPECTED}")
    config, vocab_size = _parse_header(path, first[1])
    trace = Trace(path, config, vocab_size)
    emitted = 0
    last_line = first[1]
    for number, line in lines:
        last_line = line
        if not line.endswith("\n"):
            raise TraceError(f"trace {path} is truncated: line {number} is cut short")
        try:
            data = json.loads(line)
        except ValueError:
            raise TraceError(f"trace {path} is corrupt: line {number} is not valid JSON") from None
        problem = _round_problem(data, len(trace.rounds), emitted, vocab_size)
        if problem:
            raise TraceError(f"trace {path} is corrupt: line {number} {problem}")
        round_ = Round.from_dict(data)
        emitted += round_.accepted + 1
        if emitted > config.target_length:
            raise TraceError(
                f"trace {path} is corrupt: line {number} goes past the target length of {config.target_length:,} tokens"
            )
        trace.rounds.append(round_)
    if not last_line.endswith("\n"):
        raise TraceError(f"trace {path} is truncated: its header line is cut short")
    if emitted < config.target_length:
        raise TraceError(
            f"trace {path} is truncated: its rounds hold {emitted:,} of the {config.target_length:,} tokens the run made"
        )
    return trace


# ---- replay ---------------------------------------------------------------


class ReplaySimulation(Simulation):
    """A recorded run, stepped like a live one: the same interface as Simulation,
    but each phase copies the recorded round instead of sampling.

    The model is rebuilt from the recorded configuration (to decode words and
    show p and q); nothing is drawn, so the replay matches the trace exactly
    even if the sampling code changed since it was recorded.
    """

    def __init__(self, trace: Trace, model: ModelPair | None = None):
        try:
            super().__init__(trace.config, model)
        except OSError as error:
            raise TraceError(f"cannot replay trace {trace.path}: {error.strerror or error}: {error.filename}") from None
        if len(self.model.vocab) != trace.vocab_size:
            raise TraceError(
                f"cannot replay trace {trace.path}: it was recorded with a {trace.vocab_size:,}-word vocabulary, "
                f"but model '{trace.config.model}' now has {len(self.model.vocab):,} words"
            )
        self.trace = trace
        self.recorded = trace.rounds
        # Filling each round's p and q costs model lookups; only a viewer
        # stepping through rounds needs them, so run() skips it.
        self._fill_dists = True

    @classmethod
    def from_file(cls, path: str) -> ReplaySimulation:
        return cls(read_trace(path))

    def run(self, max_rounds: int | None = None, should_stop: Callable[[], bool] | None = None) -> RunStats:
        self._fill_dists = False
        try:
            return super().run(max_rounds, should_stop)
        finally:
            self._fill_dists = True

    def _draft(self) -> None:
        recorded = self.recorded[self.stats.rounds]
        round_ = Round(recorded.index, recorded.start, recorded.draft_length, list(recorded.draws))
        round_.drafted = list(recorded.drafted)
        round_.draft_probs = list(recorded.draft_probs)
        if self._fill_dists:
            order = self.model.context_order
            context = self.history[-order:].tolist() + round_.drafted
            start = len(context) - len(round_.drafted)
            round_.dists = [
                self.model.dists(tuple(context[: start + i][-order:])) for i in range(len(round_.drafted) + 1)
            ]
        self.current = round_
        self.last_phase = Phase.DRAFT

    def _verify(self) -> None:
        round_ = self.current
        assert round_ is not None  # VERIFY follows the DRAFT that opened it
        recorded = self.recorded[round_.index]
        round_.target_probs = list(recorded.target_probs)
        round_.betas = list(recorded.betas)
        self.last_phase = Phase.VERIFY

    def _accept(self) -> None:
        round_ = self.current
        assert round_ is not None  # ACCEPT follows the VERIFY of the open round
        recorded = self.recorded[round_.index]
        round_.accepted = recorded.accepted
        round_.rejected = recorded.rejected
        round_.correction = recorded.correction
        round_.bonus = recorded.bonus
        round_.completed = True
        self.history.extend(round_.emitted)
        self.kinds.extend(round_.emitted_kinds)
        self.stats.record(round_)
        self.last_phase = Phase.ACCEPT
        for listener in self._listeners:
            listener(round_)
