"""Run traces: a recorded run as JSON lines, and a replay that needs no re-simulation.

Format (version 2), one JSON object per line, UTF-8, every line ending in "\\n":
    {"format": "specviz-trace", "version": 2, "config": {...}, "vocab_size": V, "corpus": C}
    {"index": 0, "start": 0, "draft_length": 5, "drafted": [...], ...}   (Round.to_dict())
    ... one line per round, in order, until the run's target length.

C is null for a model pair that reads no corpus, else {"path": P, "sha256": H}:
H is the sha256 of the corpus file's bytes (of the default corpus' text when P
is null) and P the file's path relative to the trace's folder, so a trace and
its corpus move together and a replay reads the corpus only once its hash
matches. Version 1 (read, no longer written) has no C; its configuration's
corpus path is relative to the folder the run was started in.

A trace always records a whole run: the reader knows it is complete when the
rounds' tokens add up to the configured target length, so a file cut at a line
boundary is caught as truncated without needing a footer. Writing goes to a
temporary file in the destination folder that is put in place only when the
run finished (a hard link, which never replaces a file that appeared meanwhile;
with --force a rename over a regular file), so an interrupted or failed run
never leaves half a trace.

Reading treats a trace as untrusted data: it must be a regular file; a line is
at most MAX_HEADER_BYTES (the header) or MAX_ROUND_BYTES (a round) long; JSON
with a repeated key, NaN or Infinity, or nesting too deep is refused; the
header names every configuration parameter; and each round is checked against
the header (position, planned drafts under the run's draft-length policy, the
type and range of every number). A replay then re-derives every round through
the engine's own phase code: its uniforms from the seed, its drafts from the
draft model's q, p(x) and q(x) from the models, and its verdict under the
recorded method from the recorded u, p and q. A round that disagrees is
refused, so an edited or damaged trace cannot replay tokens its numbers do not
give.

Decoding (JSON lines into a header and round objects) is kept apart from
checking those objects, so another encoding of the same records can reuse the
checks.
"""

from __future__ import annotations

import codecs
import dataclasses
import errno
import io
import json
import math
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, BinaryIO, TypeGuard, overload

import numpy as np

from specviz.engine import catalog
from specviz.engine.drafting.policies import DraftPolicy, build_policy
from specviz.engine.models import corpus as corpora
from specviz.engine.models.pair import ContextDists, ModelPair, build_model

# TraceError lives in config.py (numpy-free, for the command line); importable from here too.
from specviz.engine.run.config import MAX_DRAFT_LENGTH, TREE_FIELDS, ConfigError, SimConfig, TraceError, is_tree
from specviz.engine.run.random import UniformSource
from specviz.engine.run.rounds import Phase, Round
from specviz.engine.run.simulation import Simulation
from specviz.engine.run.stats import RunStats
from specviz.engine.verification.methods import method_class

TRACE_FORMAT = "specviz-trace"
TRACE_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
#: the longest header line a trace may have (the prompt is most of it)
MAX_HEADER_BYTES = 1 << 20
#: the longest round line: a round at k = 64 over a 10^8-word vocabulary takes
#: under 9 KB (a test checks the bound against the longest round the format allows)
MAX_ROUND_BYTES = 64 << 10
_EXPECTED = "a specviz trace: a header line, then one JSON line per round"
_CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(SimConfig))
# The knobs that came with version 2 (the batch-aware cost model and the
# batch-table policy): a version 1 run had their defaults (the constant-ratio
# model at batch 1, no table), so a version 1 header lacks them and must.
# The token-tree knobs came later still: a header of any version may hold them
# or not (without them it recorded a chain, whose tree knobs had their
# defaults); one that drafts a tree is refused.
_TREE_KEYS = TREE_FIELDS
# The knobs that came with version 3 (issue 16: the hf pair, its device and
# dtype, measured timing, argmax drafts, prompt lookup): absent from version 1
# and 2 headers, whose runs had their defaults.
_V3_KNOBS = ("target", "draft", "device", "dtype", "timing", "draft_sampling", "prompt_lookup_max")
_CONFIG_KEYS_V2 = tuple(name for name in _CONFIG_KEYS if name not in _V3_KNOBS + _TREE_KEYS)
_CONFIG_KEYS_V1 = tuple(
    name for name in _CONFIG_KEYS_V2 if name not in ("cost_model", "batch_size", "context_length", "k_by_batch_size")
)
_CONFIG_KEYS_BY_VERSION = {1: _CONFIG_KEYS_V1, 2: _CONFIG_KEYS_V2, 3: _CONFIG_KEYS}
_HEADER_KEYS = {
    1: ("format", "version", "config", "vocab_size"),
    2: ("format", "version", "config", "vocab_size", "corpus"),
    3: ("format", "version", "config", "vocab_size", "corpus"),
}
_ROUND_KEYS = tuple(Round(0, 0, 0).to_dict())
_ROUND_KEY_SET = frozenset(_ROUND_KEYS)
# sum_x min(p, q) per position: written only where it differs from the betas
# (methods other than speculative sampling), and absent from version 1 files.
_OPTIONAL_ROUND_KEY = "overlaps"
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Recorded p(x), q(x) and beta agree with the models' to this (relative): the
# same specviz gives the same bits; this leaves room for a numpy release that
# rounds a sum differently, never for a verdict or a token that differs.
_FLOAT_TOLERANCE = 1e-9


def _dumps(data: dict[str, Any]) -> str:
    # Compact and in insertion order: the same run gives the same bytes.
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def header_line(config: SimConfig, vocab_size: int, corpus: dict[str, Any] | None = None) -> str:
    return _dumps(
        {
            "format": TRACE_FORMAT,
            "version": TRACE_VERSION,
            "config": config.to_dict(),
            "vocab_size": vocab_size,
            "corpus": corpus,
        }
    )


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    for test, words in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return words
    return "not a regular file"


def _shown(value: Any, limit: int = 40) -> str:
    """A value from a trace, for an error line: repr (control characters
    escaped), cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(count: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{count:,.0f} bytes"


# ---- writing ------------------------------------------------------------

_TEMP_SUFFIX = ".partial"
_TEMP_RANDOM = 8  # characters tempfile.mkstemp puts between prefix and suffix
# errno values of a file system that makes no hard links: the final step then
# falls back to check-and-rename, which is not atomic.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS})
#: tokens of the same run measured to estimate a large trace's size
SPACE_SAMPLE_TOKENS = 2_000
_SPACE_MARGIN = 1.1
# The longest repr a float in [0, 1] has (17 digits and a 3-digit exponent).
_LONGEST_FLOAT = 1.2345678901234567e-100


def _refuse_non_regular(path: str) -> bool:
    """Raise TraceError if something other than a regular file is at `path`;
    returns whether a regular file is there. A trace only ever replaces a
    regular file: never a device, a FIFO, a directory or a symbolic link."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return False
    except OSError as error:
        raise TraceError(f"cannot write trace {path}: {error.strerror or error}") from None
    kind = _kind(found.st_mode)
    if kind == "a directory":
        raise TraceError(f"cannot write trace {path}: it is a directory (give a file name such as run.jsonl)")
    if kind is not None:
        raise TraceError(
            f"cannot write trace {path}: it is {kind}, and a trace replaces only a regular file "
            "(give the name of a new or regular file)"
        )
    return True


def _name_max(folder: str) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def check_writable(path: str, force: bool = False) -> None:
    """Raise TraceError now, before a long run, if `path` cannot take a trace."""
    folder = os.path.dirname(os.path.abspath(path))
    name, name_max = os.fsencode(os.path.basename(os.path.abspath(path))), _name_max(folder)
    if len(name) > name_max:
        raise TraceError(
            f"cannot write trace {path}: its name has {len(name)} bytes; this file system allows {name_max}"
        )
    if _refuse_non_regular(path) and not force:
        raise TraceError(f"trace {path} already exists (use --force to overwrite it)")
    if not os.path.isdir(folder):
        raise TraceError(f"cannot write trace {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise TraceError(f"cannot write trace {path}: folder {folder} is not writable")


def _temp_prefix(name: str, name_max: int) -> str:
    """'.NAME.' for the temporary file, NAME cut so that the whole temporary
    name fits the file system's limit (a legal name must not fail for the
    characters the temporary name adds)."""
    budget = name_max - 2 - _TEMP_RANDOM - len(_TEMP_SUFFIX)
    while len(os.fsencode(name)) > budget:
        name = name[:-1]
    return "." + name + "."


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _corpus_record(simulation: Simulation, path: str) -> dict[str, Any] | None:
    """The header's "corpus": the model pair's training text by hash, and its
    path relative to the trace's folder (null for the default corpus)."""
    corpus = simulation.model.corpus
    if corpus is None:
        return None
    source = simulation.config.corpus
    if source is None:
        return {"path": None, "sha256": corpus.sha256}
    folder = os.path.dirname(os.path.abspath(path))
    return {"path": os.path.relpath(os.path.abspath(os.path.expanduser(source)), folder), "sha256": corpus.sha256}


def _longest_round_bytes(target_length: int, vocab_size: int, binary: bool = False) -> int:
    """The longest line (or binary record) a round of such a run can take, from the format itself."""
    if binary:
        return 8 + MAX_DRAFT_LENGTH * 36
    k, u, token = MAX_DRAFT_LENGTH, _LONGEST_FLOAT, vocab_size - 1
    longest = Round(target_length, target_length, k, [u] * (2 * k + 1), [token] * k, [u] * k, [u] * k, [u] * k)
    longest.accepted, longest.rejected, longest.correction = k - 1, True, token
    return len(_dumps(longest.to_dict()).encode()) + 1


def estimated_round_bytes(simulation: Simulation, binary: bool = False) -> int:
    """About how many bytes the rounds of `simulation`'s trace take: the same
    run's first SPACE_SAMPLE_TOKENS tokens (a probe sharing its model: same
    seed, same rounds) measured in the trace's own format and scaled to the
    target length, plus a margin. Exact when the run is that short."""
    config = simulation.config
    probe = Simulation(config, simulation.model)
    written = 0

    def measure(round_: Round) -> None:
        nonlocal written
        written += _column_bytes(round_) if binary else len(_dumps(round_.to_dict()).encode()) + 1

    probe.add_listener(measure)
    while not probe.done and probe.emitted < SPACE_SAMPLE_TOKENS:
        probe.run(max_rounds=64)
    if probe.done:
        return written
    return math.ceil(written / probe.emitted * config.target_length * _SPACE_MARGIN)


def check_free_space(path: str, simulation: Simulation, header_bytes: int) -> None:
    """Raise TraceError if the trace would not fit in its folder's free space.
    Only a run whose longest possible trace exceeds the free space is measured."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # nothing to compare with; a full disk is still reported while writing
    n, binary = simulation.config.target_length, is_binary_path(path)
    if header_bytes + n * _longest_round_bytes(n, len(simulation.model.vocab), binary) <= free:
        return
    need = header_bytes + estimated_round_bytes(simulation, binary)
    if need > free:
        raise TraceError(
            f"cannot write trace {path}: it would take about {_size(need)}, and {folder} has {_size(free)} free"
        )


class TraceWriter:
    """Writes a run's trace atomically: use as a context manager around the run.

    with TraceWriter(path, simulation) as writer:   # header written, listener added
        simulation.run()
    # on a clean exit the file is put in place; on any exception
    # (KeyboardInterrupt and a terminating signal included) the temporary file
    # is removed.
    """

    def __init__(self, path: str, simulation: Simulation, force: bool = False):
        if simulation.tree is not None:
            raise TraceError(
                f"cannot write trace {path}: a trace records chain rounds, and this run drafts a token tree "
                "(leave out --trace, or the tree options)"
            )
        check_writable(path, force)
        self.path = path
        self.force = force
        self.simulation = simulation
        self._header = (
            header_line(simulation.config, len(simulation.model.vocab), _corpus_record(simulation, path)) + "\n"
        )
        header_bytes = len(self._header.encode())
        if header_bytes > MAX_HEADER_BYTES:
            raise TraceError(
                f"cannot write trace {path}: its header would take {header_bytes:,} bytes, "
                f"and a trace header takes at most {MAX_HEADER_BYTES:,} (a shorter prompt?)"
            )
        self.binary = is_binary_path(path)
        check_free_space(path, simulation, header_bytes)
        self._file: BinaryIO | None = None
        self._temp_path: str | None = None
        # The binary form collects the columns while the run goes and writes them at the end.
        self._columns = RoundColumns() if self.binary else None

    def __enter__(self) -> TraceWriter:
        folder = os.path.dirname(os.path.abspath(self.path))
        prefix = _temp_prefix(os.path.basename(os.path.abspath(self.path)), _name_max(folder))
        try:
            handle, self._temp_path = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=_TEMP_SUFFIX)
            # mkstemp makes the file private (0600); a trace is an ordinary
            # output file, so give it the mode open() would.
            os.fchmod(handle, 0o666 & ~_current_umask())
            self._file = os.fdopen(handle, "wb")
            if self._columns is None:
                self._file.write(self._header.encode())
        except OSError as error:
            self._discard()
            raise TraceError(f"cannot write trace {self.path}: {error.strerror or error}") from None
        self.simulation.add_listener(self.write_round if self._columns is None else self._columns)
        return self

    def write_round(self, round_: Round) -> None:
        assert self._file is not None  # a listener only between __enter__ and __exit__
        try:
            self._file.write((_dumps(round_.to_dict()) + "\n").encode())
        except OSError as error:
            raise self._write_failed(error) from None

    def _write_failed(self, error: OSError) -> TraceError:
        return TraceError(
            f"cannot write trace {self.path}: {error.strerror or error} while writing it (nothing was kept)"
        )

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        try:
            if kind is not None:
                return  # the exception goes on; `finally` removes the temporary file
            if not self.simulation.done:
                raise TraceError(f"trace {self.path} not written: the run stopped before its target length")
            assert self._file is not None  # __enter__ opened it; only _discard closes it
            try:
                if self._columns is not None:
                    _write_npz(self._file, self._header.rstrip("\n"), self._columns.arrays())
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
            except OSError as error:
                raise self._write_failed(error) from None
            self._put_in_place()
        finally:
            # After a rename the temporary name is gone; after a link it is
            # a second name of the trace: removing it is all that is left.
            self._discard()

    def _put_in_place(self) -> None:
        temp, path = self._temp_path, self.path
        assert temp is not None  # __enter__ made it; only _discard forgets it
        try:
            if self.force:
                _refuse_non_regular(path)  # again: something may have appeared since the check
                os.replace(temp, path)
                return
            try:
                # Fails if anything is at `path`, however recently it appeared.
                os.link(temp, path)
            except FileExistsError:
                raise TraceError(f"trace {path} already exists (use --force to overwrite it)") from None
            except OSError as error:
                if error.errno not in _NO_HARD_LINKS:
                    raise
                if os.path.lexists(path):
                    raise TraceError(f"trace {path} already exists (use --force to overwrite it)") from None
                os.replace(temp, path)
        except OSError as error:
            raise TraceError(f"cannot write trace {path}: {error.strerror or error}") from None

    def _discard(self) -> None:
        file, self._file = self._file, None
        if file is not None and not file.closed:
            try:
                file.close()
            except OSError:
                pass  # a full disk fails the final flush again; the file goes anyway
        temp, self._temp_path = self._temp_path, None
        if temp is not None:
            try:
                os.unlink(temp)
            except OSError:
                pass  # already renamed into place, or gone


# ---- reading ------------------------------------------------------------


@dataclass(frozen=True)
class CorpusRecord:
    """What a version 2 header records of its model pair's training text."""

    path: str | None  # relative to the trace's folder; None for the default corpus
    sha256: str


@dataclass
class Trace:
    """A validated trace: its configuration and every round, in order."""

    path: str
    config: SimConfig
    vocab_size: int
    rounds: Sequence[Round] = field(default_factory=list)
    version: int = TRACE_VERSION
    corpus: CorpusRecord | None = None
    #: a binary trace's columns (see RoundColumns); None for JSON lines
    columns: dict[str, np.ndarray] | None = None

    @property
    def tokens(self) -> int:
        if self.columns is not None:
            return int(self.columns["accepted"].sum(dtype=np.int64)) + len(self.rounds)
        return sum(r.accepted + 1 for r in self.rounds)


def _open_trace(path: str) -> io.BufferedReader:
    """The trace file opened for binary reading, if it is a regular file."""
    try:
        kind = _kind(os.stat(path).st_mode)
        if kind is None:
            # O_NONBLOCK: a FIFO put in the file's place after the stat cannot
            # block open(); fstat then sees it for what it is.
            handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            kind = _kind(os.fstat(handle).st_mode)
            if kind is None:
                return os.fdopen(handle, "rb")
            os.close(handle)
    except FileNotFoundError:
        raise TraceError(f"cannot read trace {path}: no such file") from None
    except OSError as error:
        raise TraceError(f"cannot read trace {path}: {error.strerror or error}") from None
    if kind == "a directory":
        raise TraceError(f"cannot read trace {path}: it is a directory, expected {_EXPECTED}")
    raise TraceError(f"cannot read trace {path}: it is {kind}, not a regular file; expected {_EXPECTED}")


def _starts_with(path: str, magic: bytes) -> bool:
    with _open_trace(path) as handle:
        try:
            return handle.read(len(magic)) == magic
        except OSError as error:
            raise TraceError(f"cannot read trace {path}: {error.strerror or error}") from None


def _refuse_binary(path: str, start: bytes) -> None:
    """A file whose first bytes are not UTF-8 text is no trace (say so, rather
    than that its first line is no header)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
    except UnicodeDecodeError:
        start = b"\x00"
    if b"\x00" in start:
        raise TraceError(f"cannot read trace {path}: not UTF-8 text, expected {_EXPECTED}")


def _lines(path: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line) pairs, each line at most its bound; raises TraceError
    when the file cannot be read."""
    handle = _open_trace(path)
    with handle:
        try:
            _refuse_binary(path, handle.peek(4096)[:4096])
            number, limit, what = 1, MAX_HEADER_BYTES, "a trace header"
            while line := handle.readline(limit + 1):
                if len(line) > limit:
                    raise TraceError(
                        f"trace {path} is corrupt: line {number} is longer than {limit:,} bytes, the most {what} takes"
                    )
                yield number, line
                number, limit, what = number + 1, MAX_ROUND_BYTES, "a round line"
        except OSError as error:
            raise TraceError(f"cannot read trace {path}: {error.strerror or error}") from None


class _Refused(ValueError):
    """JSON that parses but that no trace holds; the message says why."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):  # the last would win: say which came twice
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"has the key {_shown(key)} twice")
            seen.add(key)
    return data


def _no_constant(name: str) -> Any:
    raise _Refused(f"holds {name}, and every number in a trace is finite")


# 1e999 parses as inf without reaching parse_constant: every number's range is
# checked below (and SimConfig's rules require finite parameters).
_decode_json = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_no_constant).decode
_NOT_JSON = object()


def _decode(path: str, number: int, line: bytes) -> Any:
    """The JSON value on one line; _NOT_JSON when it is not JSON at all (the
    caller says what it expected). Raises TraceError for JSON no trace holds."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise TraceError(f"cannot read trace {path}: line {number} is not UTF-8 text, expected {_EXPECTED}") from None
    try:
        return _decode_json(text)
    except _Refused as refusal:
        raise TraceError(f"trace {path} is corrupt: line {number} {refusal}") from None
    except RecursionError:
        raise TraceError(f"trace {path} is corrupt: line {number} is nested too deeply to be a trace line") from None
    except ValueError:
        return _NOT_JSON


def _parse_header(path: str, line: bytes) -> Trace:
    header = _decode(path, 1, line)
    if not isinstance(header, dict) or header.get("format") != TRACE_FORMAT:
        raise TraceError(f"{path} is not a specviz trace: its first line is not a '{TRACE_FORMAT}' header")
    version = header.get("version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        *earlier, last = map(str, READABLE_VERSIONS)
        readable = f"{', '.join(earlier)} and {last}" if earlier else last
        raise TraceError(f"trace {path} has version {_shown(version)}; this specviz reads versions {readable}")
    keys = _HEADER_KEYS[version]
    unknown = [key for key in header if key not in keys]
    if unknown:
        raise TraceError(f"trace {path} is corrupt: its header has an unknown key {_shown(unknown[0])}")
    config_data, vocab_size = header.get("config"), header.get("vocab_size")
    if not isinstance(config_data, dict):
        raise TraceError(f"trace {path} is corrupt: its header has no configuration")
    if not _is_int(vocab_size) or vocab_size < 1:
        raise TraceError(f"trace {path} is corrupt: its header has no vocabulary size")
    recorded = _CONFIG_KEYS_BY_VERSION[version]
    missing = [name for name in recorded if name not in config_data and name not in _TREE_KEYS]
    unknown = [name for name in config_data if name not in recorded and name not in _TREE_KEYS]
    if unknown and unknown[0] in _CONFIG_KEYS:
        raise TraceError(
            f"trace {path} is corrupt: its version {version} header has a '{unknown[0]}', which that version lacks"
        )
    if missing and not unknown:  # an unknown name: SimConfig.from_dict names it below
        # Defaults must not fill in: a trace records every parameter of its run.
        raise TraceError(f"trace {path} is corrupt: its header's configuration has no '{missing[0]}'")
    try:
        config = SimConfig.from_dict(config_data)
    except ConfigError as error:
        raise TraceError(f"trace {path} has a configuration this specviz does not accept: {error}") from None
    if is_tree(config):  # never written: TraceWriter refuses trees
        raise TraceError(f"trace {path} is corrupt: its configuration drafts a token tree, and traces record chains")
    trace = Trace(path, config, vocab_size, version=version)
    if version >= 2:
        if "corpus" not in header:
            raise TraceError(f"trace {path} is corrupt: its header has no 'corpus'")
        trace.corpus = _parse_corpus(path, header["corpus"], config)
    return trace


def _parse_corpus(path: str, record: Any, config: SimConfig) -> CorpusRecord | None:
    reads_corpus = catalog.model_reads_corpus(config.model)
    if record is None:
        if reads_corpus:
            raise TraceError(f"trace {path} is corrupt: its header records no corpus for model '{config.model}'")
        return None
    if not reads_corpus:
        raise TraceError(f"trace {path} is corrupt: its header records a corpus, and model '{config.model}' reads none")
    if not isinstance(record, dict) or set(record) != {"path", "sha256"}:
        raise TraceError(f"trace {path} is corrupt: its header's corpus is not a path and a sha256")
    where, digest = record["path"], record["sha256"]
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
        raise TraceError(f"trace {path} is corrupt: its header's corpus hash is not a sha256")
    if where is None and config.corpus is None:
        return CorpusRecord(None, digest)
    if not isinstance(where, str) or not where or "\x00" in where or config.corpus is None:
        raise TraceError(f"trace {path} is corrupt: its header's corpus path does not match its configuration")
    return CorpusRecord(where, digest)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


_FLOAT = frozenset({float})
_INT = frozenset({int})


def _numbers(values: Any, length: int, kinds: frozenset[type], low: float, high: float, high_included: bool) -> bool:
    """A list of `length` numbers of the given types (booleans are no numbers)
    in [low, high] (or [low, high)). min/max keep this at C speed: it runs on
    every number of a trace."""
    if type(values) is not list or len(values) != length:
        return False
    if not values:
        return True
    if not set(map(type, values)) <= kinds:
        return False
    # `values` holds only numbers of `kinds` (checked above).
    smallest: float = min(values)
    largest: float = max(values)
    return low <= smallest and (largest <= high if high_included else largest < high)


def _probabilities(values: Any, length: int) -> bool:
    # A little above 1 is float rounding: beta is a sum of minima.
    return _numbers(values, length, _FLOAT, 0.0, 1.0 + 1e-9, True)


def _token(value: Any, vocab_size: int) -> bool:
    return _is_int(value) and 0 <= value < vocab_size


class _RoundRules:
    """What the header allows each round: where it starts, and how many drafts
    the run's draft-length policy plans for it (the policy's own code, as the
    simulation calls it)."""

    def __init__(self, config: SimConfig, vocab_size: int):
        self.config = config
        self.vocab_size = vocab_size
        self.policy = build_policy(config)
        self.index = 0
        self.start = 0
        self.next_length = self.policy.initial_length

    def problem(self, data: Any) -> str | None:
        """What is wrong with a round's object, or None if the header allows it."""
        if not isinstance(data, dict):
            return "is not a round object"
        missing = [key for key in _ROUND_KEYS if key not in data]
        if missing:
            return f"has no '{missing[0]}'"
        unknown = [key for key in data if key not in _ROUND_KEY_SET and key != _OPTIONAL_ROUND_KEY]
        if unknown:
            return f"has an unknown key {_shown(unknown[0])}"
        config, vocab_size = self.config, self.vocab_size
        if not _is_int(data["index"]) or data["index"] != self.index:
            return f"is round {_shown(data['index'])}, expected round {self.index}"
        if not _is_int(data["start"]) or data["start"] != self.start:
            return f"starts at token {_shown(data['start'])}, expected {self.start}"
        k, drafted, accepted = data["draft_length"], data["drafted"], data["accepted"]
        # As Simulation._draft: the policy's length, cut so the round cannot pass n.
        planned = min(self.next_length, config.target_length - self.start - 1)
        if not _is_int(k) or k != planned:
            return (
                f"plans {_shown(k)} drafts, but the run's policy '{config.draft_policy}' "
                f"(k = {self.policy.initial_length}) plans {planned} here"
            )
        if type(drafted) is not list or not _numbers(drafted, len(drafted), _INT, 0, vocab_size, False):
            return "has invalid drafted tokens"
        if len(drafted) > k:
            return f"drafts {len(drafted)} tokens, more than the {k} it plans"
        if len(drafted) < k and (not self.policy.stops_early or not drafted):
            return (
                f"drafts {len(drafted)} of the {k} tokens it plans, and policy '{config.draft_policy}' drafts them all"
            )
        for key in ("draft_probs", "target_probs", "betas"):
            if not _probabilities(data[key], len(drafted)):
                return f"has invalid {key}"
        if _OPTIONAL_ROUND_KEY in data and not _probabilities(data[_OPTIONAL_ROUND_KEY], len(drafted)):
            return f"has invalid {_OPTIONAL_ROUND_KEY}"
        if drafted and min(data["draft_probs"]) <= 0.0:
            return "records q(x) = 0 for a drafted token, which the draft never samples"
        if not _numbers(data["draws"], 2 * k + 1, _FLOAT, 0.0, 1.0, False):
            return "has invalid draws"
        if not _is_int(accepted) or not 0 <= accepted <= len(drafted):
            return "has an invalid accepted count"
        rejected, correction, bonus = data["rejected"], data["correction"], data["bonus"]
        if rejected is True:
            ok = accepted < len(drafted) and bonus is None and _token(correction, vocab_size)
        elif rejected is False:
            ok = accepted == len(drafted) and correction is None and _token(bonus, vocab_size)
        else:
            ok = False
        if not ok:
            return "has an inconsistent verdict (rejected, correction, bonus)"
        return None

    def advance(self, round_: Round) -> None:
        self.index += 1
        self.start += round_.accepted + 1
        self.next_length = self.policy.next_length(self.next_length, round_.accepted, len(round_.drafted))


def read_trace(path: str) -> Trace:
    """Read and validate a whole trace, JSON lines or binary (told apart by
    their first bytes, whatever the name); raises TraceError with one line."""
    if _starts_with(path, _ZIP_MAGIC):
        return _read_npz(path)
    lines = _lines(path)
    first = next(lines, None)
    if first is None:
        raise TraceError(f"trace {path} is empty, expected {_EXPECTED}")
    trace = _parse_header(path, first[1])
    config = trace.config
    rules = _RoundRules(config, trace.vocab_size)
    rounds: list[Round] = []
    trace.rounds = rounds
    last_line = first[1]
    for number, line in lines:
        last_line = line
        if not line.endswith(b"\n"):
            raise TraceError(f"trace {path} is truncated: line {number} is cut short")
        data = _decode(path, number, line)
        if data is _NOT_JSON:
            raise TraceError(f"trace {path} is corrupt: line {number} is not valid JSON")
        problem = rules.problem(data)
        if problem:
            raise TraceError(f"trace {path} is corrupt: line {number} {problem}")
        round_ = Round.from_dict(data)
        if rules.start + round_.accepted + 1 > config.target_length:
            raise TraceError(
                f"trace {path} is corrupt: line {number} goes past the target length of {config.target_length:,} tokens"
            )
        rules.advance(round_)
        rounds.append(round_)
    if not last_line.endswith(b"\n"):
        raise TraceError(f"trace {path} is truncated: its header line is cut short")
    if rules.start < config.target_length:
        raise TraceError(
            f"trace {path} is truncated: its rounds hold {rules.start:,} of the {config.target_length:,} tokens "
            "the run made"
        )
    return trace


# ---- the binary form (.npz) ----------------------------------------------
#
# A trace whose file name ends in .npz is a zip of numpy arrays (np.load reads
# it; so do pandas and polars through numpy): `header`, the header line's UTF-8
# bytes (the same JSON object as a JSON lines trace's first line, so the
# configuration travels as SimConfig.to_dict() and a new parameter needs no
# change of format), then one column per round field and one per drafted
# position, in round order. Nothing is derived twice: a round's index, start
# and uniforms are not stored (they follow from the rounds before it and the
# seed), and overlaps only where they differ from the betas.

NPZ_SUFFIX = ".npz"
_ZIP_MAGIC = b"PK\x03\x04"
#: per round, in round order
ROUND_COLUMNS: dict[str, str] = {
    "draft_length": "u1",  # k planned (MAX_DRAFT_LENGTH <= 255)
    "drafted_count": "u1",  # tokens drafted (fewer than k when the policy stops early)
    "accepted": "u1",
    "rejected": "?",
    "final": "<i4",  # the correction, or the bonus when nothing was rejected
}
#: per drafted position, rounds one after another
POSITION_COLUMNS: dict[str, str] = {
    "drafted": "<i4",
    "draft_probs": "<f8",
    "target_probs": "<f8",
    "betas": "<f8",
    "overlaps": "<f8",  # empty when the method keeps with probability sum_x min(p, q)
}
_COLUMNS = {"header": "u1", **ROUND_COLUMNS, **POSITION_COLUMNS}
# A fixed time stamp and mode in every member: the same run gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# Rounds a RoundColumns keeps in lists before it moves them to arrays.
_CHUNK_ROUNDS = 1 << 16
# A column's .npy header (numpy writes 128 bytes for one dimension) at most.
_NPY_HEADER_MAX = 4096


def is_binary_path(path: str) -> bool:
    """Whether a trace written to `path` takes the binary form (by its extension)."""
    return path.lower().endswith(NPZ_SUFFIX)


class RoundColumns:
    """A run's rounds as columns, one list per field (a listener, so it
    fills as the run goes). `arrays()` gives the trace's numpy columns."""

    def __init__(self) -> None:
        self.lists: dict[str, list[Any]] = {name: [] for name in (*ROUND_COLUMNS, *POSITION_COLUMNS)}
        lists = self.lists
        self._round_appends = [lists[name].append for name in ROUND_COLUMNS]
        self._drafted, self._draft_probs = lists["drafted"].extend, lists["draft_probs"].extend
        self._target_probs, self._betas = lists["target_probs"].extend, lists["betas"].extend
        self._overlaps = lists["overlaps"].extend
        self._chunks: dict[str, list[np.ndarray]] = {name: [] for name in lists}

    def __call__(self, round_: Round) -> None:
        draft_length, drafted_count, accepted, rejected, final = self._round_appends
        drafted = round_.drafted
        draft_length(round_.draft_length)
        drafted_count(len(drafted))
        accepted(round_.accepted)
        rejected(round_.rejected)
        final(round_.correction if round_.rejected else round_.bonus)
        self._drafted(drafted)
        self._draft_probs(round_.draft_probs)
        self._target_probs(round_.target_probs)
        self._betas(round_.betas)
        # As Round.to_dict: only where they differ from the betas.
        if round_.overlaps and round_.overlaps is not round_.betas:
            self._overlaps(round_.overlaps)

        if len(self.lists["accepted"]) >= _CHUNK_ROUNDS:
            self._flush()

    def _flush(self) -> None:
        """Move the lists into arrays: Python floats take 4x the memory."""
        for name, values in self.lists.items():
            self._chunks[name].append(np.array(values, dtype=_COLUMNS[name]))
            values.clear()

    def arrays(self) -> dict[str, np.ndarray]:
        self._flush()
        return {name: np.concatenate(chunks) for name, chunks in self._chunks.items()}


def _column_bytes(round_: Round) -> int:
    """What one round takes in the binary form."""
    positions = len(round_.drafted)
    overlaps = positions if round_.overlaps and round_.overlaps is not round_.betas else 0
    return 8 + positions * 28 + overlaps * 8


def _write_npz(handle: BinaryIO, header: str, arrays: dict[str, np.ndarray]) -> None:
    """The columns as an uncompressed zip of .npy members, byte for byte the
    same for the same run (fixed time stamps, fixed order)."""
    members = {"header": np.frombuffer(header.encode(), dtype="u1"), **arrays}
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, values in members.items():
            info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_TIME)
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(values), allow_pickle=False)


def _corrupt(path: str, what: str) -> TraceError:
    return TraceError(f"trace {path} is corrupt: {what}")


def _npz_member(path: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, most: int) -> np.ndarray:
    """One column, checked before a byte of its data is read: a .npy of the
    column's dtype, one dimension, at most `most` entries, its size what its
    header says. No pickle, no object arrays, no allocation the file does not back."""
    name = info.filename[: -len(".npy")]
    expected = np.dtype(_COLUMNS[name])
    if info.file_size > _NPY_HEADER_MAX + most * expected.itemsize:
        raise _corrupt(path, f"its column '{name}' holds more than a run of its length can")
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"npy version {version}")
        except (ValueError, SyntaxError, TypeError, EOFError, OSError):
            raise _corrupt(path, f"its column '{name}' is not a numpy array") from None
        if dtype != expected or len(shape) != 1 or fortran and len(shape) > 1:
            raise _corrupt(path, f"its column '{name}' is not a one-dimensional array of {expected}")
        count = shape[0]
        if not 0 <= count <= most:
            raise _corrupt(path, f"its column '{name}' holds more than a run of its length can")
        data = member.read(count * expected.itemsize + 1)
    if len(data) != count * expected.itemsize:
        raise TraceError(f"trace {path} is truncated: its column '{name}' is cut short")
    return np.frombuffer(data, dtype=expected)


def _read_npz(path: str) -> Trace:
    handle = _open_trace(path)
    with handle:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise TraceError(f"trace {path} is truncated or corrupt: not a whole zip archive of numpy arrays") from None
        try:
            with archive:
                return _read_npz_members(path, archive)
        except zipfile.BadZipFile as error:
            raise _corrupt(path, f"its zip archive is damaged ({_shown(str(error), 60)})") from None
        except (OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as error:
            raise TraceError(f"cannot read trace {path}: {_shown(str(error), 60)}") from None


def _read_npz_members(path: str, archive: zipfile.ZipFile) -> Trace:
    infos = archive.infolist()
    names = [info.filename for info in infos]
    expected = [name + ".npy" for name in _COLUMNS]
    if len(set(names)) != len(names):
        raise _corrupt(path, "its zip archive holds a member twice")
    missing = [name for name in expected if name not in names]
    unknown = [name for name in names if name not in expected]
    if unknown:
        raise _corrupt(path, f"it holds an unknown member {_shown(unknown[0])}")
    if missing:
        raise _corrupt(path, f"it has no column '{missing[0][: -len('.npy')]}'")
    by_name = {info.filename: info for info in infos}
    header = _npz_member(path, archive, by_name["header.npy"], MAX_HEADER_BYTES)
    trace = _parse_header(path, header.tobytes())
    if trace.version != TRACE_VERSION:  # the binary form came with version 2
        raise _corrupt(path, f"its header has version {trace.version}, and a binary trace has version {TRACE_VERSION}")
    rounds_most = trace.config.target_length
    positions_most = rounds_most * MAX_DRAFT_LENGTH
    columns: dict[str, np.ndarray] = {}
    for name in (*ROUND_COLUMNS, *POSITION_COLUMNS):
        most = rounds_most if name in ROUND_COLUMNS else positions_most
        columns[name] = _npz_member(path, archive, by_name[name + ".npy"], most)
    _check_columns(trace, columns)
    trace.columns = columns
    trace.rounds = _ColumnRounds(trace.config, columns)
    return trace


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def _check_columns(trace: Trace, columns: dict[str, np.ndarray]) -> None:
    """What _RoundRules checks of each round, on whole columns: the columns'
    lengths agree, each round is one the header's policy plans where it starts,
    and every number has its type's range. The rounds' numbers are checked
    against the models by the replay (ReplaySimulation)."""
    path, config, vocab_size = trace.path, trace.config, trace.vocab_size
    k, count = columns["draft_length"].astype(np.int64), columns["drafted_count"].astype(np.int64)
    accepted, rejected, final = columns["accepted"].astype(np.int64), columns["rejected"], columns["final"]
    rounds = len(k)
    if len({len(columns[name]) for name in ROUND_COLUMNS}) != 1:
        raise _corrupt(path, "its round columns differ in length")
    positions = int(count.sum())
    for name in POSITION_COLUMNS:
        if name != _OPTIONAL_ROUND_KEY and len(columns[name]) != positions:
            raise _corrupt(
                path, f"its column '{name}' has {len(columns[name]):,} entries, its rounds draft {positions:,}"
            )
    # Written only where they differ from the betas: for every drafted position, or none.
    overlaps = 0 if method_class(config.method).acceptance_is_beta else positions
    if len(columns[_OPTIONAL_ROUND_KEY]) != overlaps:
        raise _corrupt(path, f"its column 'overlaps' does not match method '{config.method}'")
    ends = np.cumsum(accepted + 1)
    starts = ends - accepted - 1
    if rounds and ends[-1] > config.target_length:
        bad = _first(ends > config.target_length)
        raise _corrupt(path, f"round {bad} goes past the target length of {config.target_length:,} tokens")
    if not rounds or ends[-1] < config.target_length:
        made = int(ends[-1]) if rounds else 0
        raise TraceError(
            f"trace {path} is truncated: its rounds hold {made:,} of the {config.target_length:,} tokens the run made"
        )
    # The policy's plan, round by round (its own code, as _RoundRules calls it).
    policy = build_policy(config)
    planned = np.full(rounds, policy.initial_length, dtype=np.int64)
    if type(policy).next_length is not DraftPolicy.next_length:  # k changes from round to round
        length = policy.initial_length
        next_length = policy.next_length
        for i, (drafted_i, accepted_i) in enumerate(zip(count.tolist(), accepted.tolist())):
            planned[i] = length
            length = next_length(length, accepted_i, drafted_i)
    planned = np.minimum(planned, config.target_length - starts - 1)
    for bad_rounds, problem in (
        (k != planned, "plans another number of drafts than the run's policy"),
        (count > k, "drafts more tokens than it plans"),
        ((count < k) & ((count == 0) | (not policy.stops_early)), "drafts fewer tokens than it plans"),
        (accepted > count, "has an invalid accepted count"),
        (rejected != (accepted < count), "has an inconsistent verdict (rejected, correction, bonus)"),
        ((final < 0) | (final >= vocab_size), "emits a token outside the vocabulary"),
    ):
        if bad_rounds.any():
            bad = _first(bad_rounds)
            raise _corrupt(path, f"round {bad} {problem} (policy '{config.draft_policy}' plans {planned[bad]})")
    drafted = columns["drafted"]
    if positions and (drafted.min() < 0 or drafted.max() >= vocab_size):
        raise _corrupt(path, "it drafts a token outside the vocabulary")
    for name in ("draft_probs", "target_probs", "betas", _OPTIONAL_ROUND_KEY):
        values = columns[name]
        # NaN fails both comparisons; a little above 1 is float rounding (beta is a sum of minima).
        if len(values) and not (values.min() >= 0.0 and values.max() <= 1.0 + 1e-9):
            raise _corrupt(path, f"it has invalid {name}")
    if positions and not columns["draft_probs"].min() > 0.0:
        raise _corrupt(path, "it records q(x) = 0 for a drafted token, which the draft never samples")


class _ColumnRounds(Sequence[Round]):
    """A binary trace's rounds, each made on first use from the columns (a
    million-token trace holds ~270,000 of them); their uniforms are the seed's."""

    def __init__(self, config: SimConfig, columns: dict[str, np.ndarray]):
        self._config = config
        self._columns = columns
        self._lists: dict[str, list[Any]] | None = None  # the columns as lists, on first use
        count = columns["drafted_count"].astype(np.int64)
        self._offsets = np.concatenate(([0], np.cumsum(count)))
        self._starts = np.concatenate(([0], np.cumsum(columns["accepted"].astype(np.int64) + 1)))
        self._draw_offsets = np.concatenate(([0], np.cumsum(2 * columns["draft_length"].astype(np.int64) + 1)))
        self._stream = np.random.Generator(np.random.PCG64(config.seed))
        self._draws: list[float] = []
        self._made: dict[int, Round] = {}

    def __len__(self) -> int:
        return len(self._columns["draft_length"])

    @overload
    def __getitem__(self, index: int) -> Round: ...

    @overload
    def __getitem__(self, index: slice) -> list[Round]: ...

    def __getitem__(self, index: int | slice) -> Round | list[Round]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        found = self._made.get(index)
        if found is None:
            found = self._made[index] = self._make(index)
        return found

    def _make(self, index: int) -> Round:
        if self._lists is None:
            self._lists = {name: values.tolist() for name, values in self._columns.items()}
        lists = self._lists
        first, last = int(self._draw_offsets[index]), int(self._draw_offsets[index + 1])
        if len(self._draws) < last:  # the seed's stream, drawn as far as this round (PCG64: in any block sizes)
            self._draws += self._stream.random(max(last - len(self._draws), _CHUNK_ROUNDS)).tolist()
        start, end = int(self._offsets[index]), int(self._offsets[index + 1])
        draws = self._draws[first:last]
        rejected = lists["rejected"][index]
        final = lists["final"][index]
        betas = lists["betas"][start:end]
        # None recorded (speculative sampling): the replay's stats know them to be the betas.
        overlaps = lists["overlaps"][start:end] if lists["overlaps"] else []
        round_ = Round(
            index,
            int(self._starts[index]),
            lists["draft_length"][index],
            draws,
            lists["drafted"][start:end],
            lists["draft_probs"][start:end],
            lists["target_probs"][start:end],
            betas,
            overlaps,
            lists["accepted"][index],
            rejected,
            final if rejected else None,
            None if rejected else final,
            True,
        )
        return round_


# ---- checking rounds against the models -----------------------------------


class _Mismatch(Exception):
    """A recorded round that the engine does not derive from its header."""


def _same(derived: Sequence[float], recorded: Sequence[float]) -> bool:
    return derived == recorded or (
        len(derived) == len(recorded)
        and all(math.isclose(d, r, rel_tol=_FLOAT_TOLERANCE, abs_tol=1e-300) for d, r in zip(derived, recorded))
    )


def _first_difference(derived: list[Any], recorded: list[Any]) -> int:
    return next((i for i, (d, r) in enumerate(zip(derived, recorded)) if d != r), min(len(derived), len(recorded)))


class _Rederivation(Simulation):
    """The trace's run, re-derived round by round with the engine's own phase
    code: each round takes the trace's uniforms (which must be the seed's),
    drafts from q, looks up p, and decides its verdict under the method from
    the recorded u, p(x) and q(x). A recorded round must equal what it gives."""

    def __init__(self, trace: Trace, model: ModelPair):
        super().__init__(trace.config, model)
        self.seed_draws: UniformSource = self.draws
        self.draws = self  # the phases take their uniforms from take() below
        self.version = trace.version
        self.recorded: Round | None = None

    def take(self, count: int) -> list[float]:
        assert self.recorded is not None  # check() sets each round before deriving it
        recorded = self.recorded.draws
        if self.seed_draws.take(count) != recorded:
            raise _Mismatch(f"has uniforms (draws) that seed {self.config.seed} does not give")
        return recorded

    def check(self, trace: Trace) -> None:
        for number, recorded in enumerate(trace.rounds, start=2):
            self.recorded = recorded
            try:
                self._check_round(recorded)
            except _Mismatch as mismatch:
                raise TraceError(f"trace {trace.path} is corrupt: line {number} {mismatch}") from None

    def _check_round(self, recorded: Round) -> None:
        self._draft()
        derived = self.current
        assert derived is not None  # _draft opened it
        if derived.drafted != recorded.drafted:
            i = _first_difference(derived.drafted, recorded.drafted)
            if i >= min(len(derived.drafted), len(recorded.drafted)):
                raise _Mismatch(
                    f"drafts {len(recorded.drafted)} tokens, and policy '{self.config.draft_policy}' "
                    f"stops this draft after {len(derived.drafted)}"
                )
            raise _Mismatch(
                f"drafts token {recorded.drafted[i]} at position {i + 1}, and its uniform draws "
                f"token {derived.drafted[i]} from the draft model"
            )
        if not _same(derived.draft_probs, recorded.draft_probs):
            raise _Mismatch("records q(x) values the draft model does not give")
        self._verify()
        if not _same(derived.target_probs, recorded.target_probs):
            raise _Mismatch("records p(x) values the target model does not give")
        if not _same(derived.betas, recorded.betas):
            raise _Mismatch(f"records acceptance probabilities (betas) method '{self.config.method}' does not give")
        # What the writer records of the overlaps (sum_x min(p, q)); a version 1 file records none.
        written = derived.to_dict().get(_OPTIONAL_ROUND_KEY, [])
        if (recorded.overlaps or self.version >= 2) and not _same(written, recorded.overlaps):
            raise _Mismatch("records sum_x min(p, q) values (overlaps) the models do not give")
        if not recorded.overlaps and written:
            # A version 1 file records none: the models, just checked against
            # the round's own p and q, give them.
            recorded.overlaps = list(written)
        # The verdict from the recorded numbers, under the method's own rule.
        derived.draft_probs, derived.target_probs = recorded.draft_probs, recorded.target_probs
        self._accept()
        if (derived.accepted, derived.correction, derived.bonus) != (
            recorded.accepted,
            recorded.correction,
            recorded.bonus,
        ):
            method = method_class(self.config.method)
            raise _Mismatch(
                f"contradicts its own numbers: under method '{method.name}' (a draft is kept when "
                f"{method.keeps_when}) it keeps {derived.accepted} of {len(derived.drafted)} drafts and "
                f"emits token {derived.final_token} last; the trace says {recorded.accepted}, then token "
                f"{recorded.final_token}"
            )


def _close(derived: np.ndarray, recorded: np.ndarray) -> np.ndarray:
    """Per entry: the same number, within what _same allows."""
    bound = np.maximum(_FLOAT_TOLERANCE * np.maximum(np.abs(derived), np.abs(recorded)), 1e-300)
    same: np.ndarray = (derived == recorded) | (np.abs(derived - recorded) <= bound)
    return same


def _check_by_rerun(trace: Trace, model: ModelPair) -> Simulation:
    """A binary trace against the run its header describes: the engine runs it
    again from the seed (as _Rederivation would derive each round: its uniforms
    are the seed's, and every round that agrees leaves the same state) and the
    trace must equal it column by column. Returns the run, which a replay's
    run() may take over. The first round that differs is refused, with the
    field that differs."""
    assert trace.columns is not None  # only a binary trace has columns
    recorded = trace.columns
    simulation = Simulation(trace.config, model)
    collected = RoundColumns()
    simulation.add_listener(collected)
    simulation.run()
    derived = collected.arrays()
    rounds = min(len(recorded["draft_length"]), len(derived["draft_length"]))
    offsets = np.concatenate(([0], np.cumsum(recorded["drafted_count"][:rounds], dtype=np.int64)))

    def first_round(name: str) -> int | None:
        mine, theirs = derived[name], recorded[name]
        if name in ROUND_COLUMNS:
            differs = mine[:rounds] != theirs[:rounds]
        else:
            size = min(len(mine), len(theirs), int(offsets[-1]))
            if name == _OPTIONAL_ROUND_KEY and not (len(mine) and len(theirs)):
                return None if len(mine) == len(theirs) else 0
            same = _close(mine[:size], theirs[:size]) if mine.dtype.kind == "f" else mine[:size] == theirs[:size]
            if same.all():
                return None
            return int(np.searchsorted(offsets, _first(~same), side="right")) - 1
        return _first(differs) if differs.any() else None

    found = {name: first_round(name) for name in (*ROUND_COLUMNS, *POSITION_COLUMNS)}
    earliest = min((r for r in found.values() if r is not None), default=None)
    if earliest is None and len(recorded["draft_length"]) == len(derived["draft_length"]):
        return simulation
    bad = earliest if earliest is not None else rounds
    problems = (
        ("drafted_count", f"drafts another number of tokens than policy '{trace.config.draft_policy}' does here"),
        ("drafted", "drafts a token its uniform does not draw from the draft model"),
        ("draft_probs", "records q(x) values the draft model does not give"),
        ("target_probs", "records p(x) values the target model does not give"),
        ("betas", f"records acceptance probabilities (betas) method '{trace.config.method}' does not give"),
        (_OPTIONAL_ROUND_KEY, "records sum_x min(p, q) values (overlaps) the models do not give"),
    )
    for name, problem in problems:
        if found[name] == bad:
            raise _corrupt(trace.path, f"round {bad} {problem}")
    method = method_class(trace.config.method)
    raise _corrupt(
        trace.path,
        f"round {bad} contradicts its own numbers: under method '{method.name}' a draft is kept when "
        f"{method.keeps_when}, and its verdict (accepted, correction, bonus) is not what they give",
    )


# ---- replay ---------------------------------------------------------------


def _corpus_bytes(trace: Trace, where: str) -> bytes:
    try:
        return corpora.read_corpus_bytes(where)
    except corpora.CorpusError as error:
        beside = " (recorded relative to the trace's folder)" if trace.corpus is not None else ""
        raise TraceError(f"cannot replay trace {trace.path}: its corpus {where}{beside}: {error.problem}") from None


def _corpus_changed(trace: Trace, where: str | None, found: str) -> TraceError:
    assert trace.corpus is not None  # only a recorded hash can be found changed
    recorded = trace.corpus.sha256
    if where is None:
        return TraceError(
            f"cannot replay trace {trace.path}: it was recorded with a default corpus of sha256 {recorded[:16]}, "
            f"and this Python's default corpus has sha256 {found[:16]} (another Python release?)"
        )
    return TraceError(
        f"cannot replay trace {trace.path}: its corpus {where} is not the file it was recorded with: "
        f"sha256 {found[:16]} now, {recorded[:16]} recorded"
    )


def _replay_model(trace: Trace) -> ModelPair:
    """The trace's model pair. A corpus the header names is read only as the
    recorded corpus: its hash is compared before any of it is used, and again
    on the text the model was built from."""
    config, record = trace.config, trace.corpus
    where = None
    if record is not None and record.path is not None:
        # Absolute, so nothing in the recorded path is taken for "~user".
        where = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(trace.path)), record.path))
        found = corpora.content_hash(_corpus_bytes(trace, where))
        if found != record.sha256:
            raise _corpus_changed(trace, where, found)
        config = config.replace(corpus=where)
    elif record is None and config.corpus is not None and catalog.model_reads_corpus(config.model):
        # Version 1 recorded no hash: the corpus is the path as given, from the
        # current folder. Its content is not described in errors: it may not
        # be the text the trace was recorded with.
        where = config.corpus
        _corpus_bytes(trace, where)
    try:
        model = build_model(config)
    except corpora.CorpusError:
        raise TraceError(
            f"cannot replay trace {trace.path}: its corpus {where} is not a text the run could have been "
            "trained on (a version 1 trace records no hash to check it by)"
        ) from None
    except ConfigError as error:
        raise TraceError(f"cannot replay trace {trace.path}: {error}") from None
    except OSError as error:
        raise TraceError(f"cannot replay trace {trace.path}: {error.strerror or error}: {error.filename}") from None
    if record is not None:
        found = model.corpus.sha256 if model.corpus is not None else "none"
        if found != record.sha256:  # the file changed between the two reads
            raise _corpus_changed(trace, where, found)
    return model


class ReplaySimulation(Simulation):
    """A recorded run, stepped like a live one: the same interface as Simulation,
    but each phase copies the recorded round instead of sampling.

    The model is rebuilt from the recorded configuration (to decode words,
    show p and q, and check every round against it, see _Rederivation); the
    phases then copy the recorded rounds and draw nothing.
    """

    def __init__(self, trace: Trace, model: ModelPair | None = None):
        super().__init__(trace.config, model if model is not None else _replay_model(trace))
        if len(self.model.vocab) != trace.vocab_size:
            if trace.corpus is None and self.model.corpus is not None and trace.config.corpus is not None:
                # A version 1 trace's corpus may be any file: nothing of it is shown.
                now = f"trained on {trace.config.corpus} has another (a version 1 trace records no corpus hash)"
            else:
                now = f"now has {len(self.model.vocab):,} words"
            raise TraceError(
                f"cannot replay trace {trace.path}: it was recorded with a {trace.vocab_size:,}-word vocabulary, "
                f"but model '{trace.config.model}' {now}"
            )
        # A binary trace is checked by running it again, and that run is kept:
        # run() to the end takes over its state instead of copying every round.
        self._rerun: Simulation | None = None
        if trace.columns is not None:
            self._rerun = _check_by_rerun(trace, self.model)
        else:
            _Rederivation(trace, self.model).check(trace)
        self.trace = trace
        self.recorded = trace.rounds
        # Filling each round's p and q costs model lookups; only a viewer
        # stepping through rounds needs them, so run() skips it.
        self._fill_dists = True

    @classmethod
    def from_file(cls, path: str) -> ReplaySimulation:
        return cls(read_trace(path))

    @property
    def finishes_at_once(self) -> bool:
        """Whether run() to the end now takes over the checked run's state (a
        binary trace, between rounds, no listener) instead of copying rounds:
        a caller that only wants the end should then call run() once."""
        return self._rerun is not None and self.last_phase in (None, Phase.ACCEPT) and not self._listeners

    def run(self, max_rounds: int | None = None, should_stop: Callable[[], bool] | None = None) -> RunStats:
        rerun = self._rerun
        if (
            rerun is not None
            and self.finishes_at_once
            and (max_rounds is None or self.stats.rounds + max_rounds >= len(self.recorded))
        ):
            # The rest of the run is the checked run's rest: the same tokens, kinds and stats.
            self.history, self.kinds, self.stats = rerun.history, rerun.kinds, rerun.stats
            self.current, self.last_phase, self._rerun = rerun.current, rerun.last_phase, None
            return self.stats
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
            # What the live run's DRAFT holds (q at each drafted position); its
            # VERIFY adds the position after the last draft.
            round_.proposals = list(self._recorded_dists(round_)[:-1])
        self.current = round_
        self.last_phase = Phase.DRAFT

    def _verify(self) -> None:
        round_ = self.current
        assert round_ is not None  # VERIFY follows the DRAFT that opened it
        recorded = self.recorded[round_.index]
        round_.target_probs = list(recorded.target_probs)
        round_.betas = list(recorded.betas)
        round_.overlaps = list(recorded.overlaps)  # none recorded (speculative; version 1): the stats know
        if self._fill_dists:
            round_.dists = self._recorded_dists(round_)
        self.last_phase = Phase.VERIFY

    def _recorded_dists(self, round_: Round) -> list[ContextDists]:
        """p and q at each of the round's drafted positions and the one after."""
        return self.model.round_dists(self.history, round_.drafted)

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
