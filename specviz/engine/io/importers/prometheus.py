"""Prometheus text exposition: the sample lines, for the importers that read scrapes (vLLM, TGI).

`name{label="value",...} value [timestamp]`; `#` lines are comments. A file
may hold several scrapes one after another: each counter then appears once
per scrape, in order, and the importers total it across restarts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SAMPLE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{.*\})?\s+(\S+)(?:\s+\S+)?\s*$")
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')
ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)

    def without(self, *names: str) -> tuple[tuple[str, str], ...]:
        return tuple((key, value) for key, value in self.labels if key not in names)


class BadSample(ValueError):
    """A sample line of a known metric that cannot be read (a truncated line)."""


def parse_sample(line: str, prefixes: tuple[str, ...]) -> Sample | None:
    """The sample on `line` if its metric name starts with one of `prefixes`;
    None for any other line; BadSample for a line of such a metric that is cut."""
    stripped = line.strip()
    if not stripped.startswith(prefixes):
        return None
    match = SAMPLE.match(stripped)
    if match is None:
        raise BadSample("not a complete sample line (name, labels, value)")
    name, labels_text, value_text = match.groups()
    try:
        value = float(value_text)
    except ValueError:
        raise BadSample(f"value {value_text!r} is not a number") from None
    if math.isnan(value) or value < 0:
        raise BadSample(f"value {value_text!r} is not a count")
    return Sample(name, _labels(labels_text[1:-1]) if labels_text else (), value)


def _labels(text: str) -> tuple[tuple[str, str], ...]:
    labels, position = [], 0
    while position < len(text.strip()):
        match = LABEL.match(text, position)
        if match is None:
            raise BadSample("labels cannot be read")
        value = re.sub(r"\\[\\\"n]", lambda m: ESCAPES[m.group(0)], match.group(2))
        labels.append((match.group(1), value))
        position = match.end()
    return tuple(sorted(labels))


def label_text(labels: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{key}={value}" for key, value in labels)
