"""Import what real engines report (REFERENCE §6): one module per engine family.

`import_stream(stream, source)` reads a log, a scrape or JSON, recognises the
format of each record by its content (or only the formats asked for), and
returns the series found: several per file when records carry different
models, engine indices or categories. Lines of no known format are skipped.
`derive.derive` and `derive.advise` turn a series into figures and advice.

Pure Python, numpy-free.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from specviz.engine.io.importers.base import Importer, Problems, Series, printable
from specviz.engine.io.importers.llamacpp import LlamaCppExample, LlamaServer, LlamaServerJson
from specviz.engine.io.importers.sglang import SglangLog, SglangRequest
from specviz.engine.io.importers.specbench import SpecBench
from specviz.engine.io.importers.tgi import TgiHistogram
from specviz.engine.io.importers.trtllm import TrtllmStats
from specviz.engine.io.importers.vllm import VllmLog, VllmPrometheus, VllmRequest, VllmV0

# Every format, in the order `--format` lists them and the error names them.
IMPORTERS: tuple[type[Importer], ...] = (
    VllmLog,
    VllmV0,
    VllmPrometheus,
    VllmRequest,
    LlamaCppExample,
    LlamaServer,
    LlamaServerJson,
    SglangLog,
    SglangRequest,
    TrtllmStats,
    TgiHistogram,
    SpecBench,
)
FORMATS: dict[str, type[Importer]] = {importer.name: importer for importer in IMPORTERS}
# A whole-file JSON document is read at once up to this size; a larger file is read line by line.
MAX_DOCUMENT_BYTES = 256 * 1024 * 1024
CHUNK = 1 << 16

__all__ = ["FORMATS", "IMPORTERS", "ImportResult", "NoRecordError", "Series", "format_names", "import_stream"]


class NoRecordError(ValueError):
    """A source with no record of any format tried. The message is one line."""


def format_names() -> tuple[str, ...]:
    return tuple(FORMATS)


@dataclass
class ImportResult:
    source: str
    series: list[Series] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # problems that belong to no series
    lines: int = 0

    @property
    def formats(self) -> list[str]:
        return sorted({series.format for series in self.series})


def import_stream(stream: TextIO, source: str, formats: Sequence[str] | None = None) -> ImportResult:
    """Read every record of the formats asked for (default: all) from `stream`.

    Raises NoRecordError when none is found. A file that is one JSON document
    (pretty-printed, or an array) is read whole; anything else line by line,
    each line both as text and, when it holds a JSON object, as JSON (a JSON
    log line, a server-sent `data:` event, an object after a log prefix).
    """
    names = list(formats) if formats else list(FORMATS)
    problems = Problems()
    importers = [FORMATS[name](problems) for name in names]
    json_keys = tuple(key for importer in importers for key in importer.json_keys)
    result = ImportResult(source)
    head = stream.read(CHUNK)
    document = None
    if head.lstrip()[:1] in ("{", "["):
        text = head + stream.read(MAX_DOCUMENT_BYTES)
        document = _json(text)
        lines: Iterable[str] = text.split("\n") if document is None else ()
        if document is None and len(text) > len(head) + MAX_DOCUMENT_BYTES - 1:
            lines = _lines(text, stream)
    else:
        lines = _lines(head, stream)
    if document is not None:
        result.lines = 1
        items = document if isinstance(document, list) else [document]
        for index, item in enumerate(items):
            where = f"record {index + 1}" if isinstance(document, list) else "the document"
            for importer in importers:
                importer.feed_json(where, item)
    else:
        for number, line in enumerate(lines, 1):
            result.lines = number
            line = line.removesuffix("\r")
            where = f"line {number}"
            for importer in importers:
                importer.feed_line(where, line)
            if "{" in line and any(key in line for key in json_keys):
                value = _json_in_line(line)
                if value is None:
                    problems.add(result.warnings, where, f"truncated or invalid JSON: {printable(line.strip(), 60)!r}")
                    continue
                for importer in importers:
                    importer.feed_json(where, value)
    for importer in importers:
        result.series.extend(importer.finish())
        result.warnings.extend(importer.warnings)
    if problems.hidden:
        result.warnings.append(f"{problems.hidden:,} more warnings not shown")
    if not result.series:
        tried = ", ".join(names)
        raise NoRecordError(
            f"{source}: no speculative-decoding record found (formats tried: {tried})"
            + ("; problems: " + "; ".join(result.warnings[:2]) if result.warnings else "")
        )
    return result


def _lines(head: str, stream: TextIO) -> Iterator[str]:
    """The lines of `head` followed by the rest of `stream`, read in chunks."""
    buffer = head
    while True:
        *complete, buffer = buffer.split("\n")
        yield from complete
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        buffer += chunk
    if buffer:
        yield buffer


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _json_in_line(line: str) -> Any:
    """The JSON value a line holds: the whole line, a `data:` event, or the
    object from the first `{` to the last `}` (after a log prefix)."""
    stripped = line.strip()
    if stripped.startswith("data:"):
        stripped = stripped[5:].strip()
    value = _json(stripped)
    if value is None:
        start, end = stripped.find("{"), stripped.rfind("}")
        if 0 <= start < end:
            value = _json(stripped[start : end + 1])
    return value if isinstance(value, (dict, list)) else None
