"""What every importer shares: the series it fills, the checks on counts, the helpers for log text and JSON.

An importer reads one format (REFERENCE §6) and turns each record it finds
(a log line, a scrape, a JSON object) into counts under specviz's names,
added to the series the record belongs to. Counts are summed across records,
never rates averaged; a figure that a record does not give makes the series'
sum unknown (None), and the series says why in a note.

Pure Python: no numpy, so `specviz import` starts as fast as `specviz --help`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

# A number as C's printf and Python's % print it, nan and inf included
# (vLLM prints "nan%" for an interval with no drafted token).
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
NUMBER_LIST = rf"(?:{NUMBER})(?:\s*,\s*(?:{NUMBER}))*"
# Warnings shown per import; past this they are counted, not listed (a
# corrupted file of a million lines would otherwise print a million).
MAX_WARNINGS = 200
# Longest piece of a log line quoted in a warning or a label.
QUOTE_CHARS = 120


def number(text: str) -> float:
    """A printed number, nan and inf included."""
    return float(text)


def numbers(text: str) -> list[float]:
    return [float(part) for part in re.findall(NUMBER, text)]


def printable(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` from a log as safe plain text: control characters escaped
    (\\x1b, \\n, ...), cut to `limit` characters. Logs are data: an escape
    sequence in one must never reach the terminal."""
    out = []
    for char in text[: limit + 1]:
        out.append(char if char.isprintable() else char.encode("unicode_escape").decode("ascii"))
    safe = "".join(out)
    return safe if len(text) <= limit else safe[:limit] + "…"


def count(value: Any) -> int | None:
    """A JSON count: a whole number >= 0 (a float with no fraction too), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value >= 0 and value == int(value):
        return int(value)
    return None


def real(value: Any) -> float | None:
    """A JSON number (not a bool), finite, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def count_list(value: Any) -> list[int] | None:
    """A JSON list of counts, else None."""
    if not isinstance(value, list):
        return None
    counts = []
    for item in value:
        n = count(item)
        if n is None:
            return None
        counts.append(n)
    return counts


def at_least(histogram: list[int]) -> list[int]:
    """Index i (from 0): entries of `histogram` at index > i, i.e. steps whose
    kept prefix reaches position i + 1, from a histogram of kept drafts per step."""
    out, running = [], 0
    for j in range(len(histogram) - 1, 0, -1):
        running += histogram[j]
        out.append(running)
    return out[::-1]


def walk_objects(value: Any, model: str | None = None) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every JSON object inside `value`, depth first, with the nearest enclosing
    "model" string (the series a per-request record belongs to)."""
    stack: list[tuple[Any, str | None]] = [(value, model)]
    while stack:
        item, model = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("model"), str):
                model = item["model"]
            yield item, model
            stack.extend((child, model) for child in reversed(list(item.values())) if isinstance(child, (dict, list)))
        elif isinstance(item, list):
            stack.extend((child, model) for child in reversed(item) if isinstance(child, (dict, list)))


class Problems:
    """The warnings of one import, capped at MAX_WARNINGS shown."""

    def __init__(self, limit: int = MAX_WARNINGS) -> None:
        self.limit = limit
        self.shown = 0
        self.hidden = 0

    def add(self, into: list[str], where: str, text: str) -> None:
        if self.shown >= self.limit:
            self.hidden += 1
            return
        self.shown += 1
        into.append(f"{where}: {text}" if where else text)


@dataclass
class Series:
    """One stream of records from one engine (a model, an engine index, a
    category): its counts summed over the records, under specviz's names.

    num_drafts is the number of verification steps (vLLM's "drafts");
    num_accepted_tokens counts only kept prefixes, never the bonus token;
    accepted_per_position[i] counts steps whose kept prefix reaches position
    i + 1; acceptance_histogram[j] counts steps that kept exactly j drafts.
    """

    engine: str
    format: str
    label: str = ""
    records: int = 0
    first: str = ""  # where the first record is ("line 3")
    last: str = ""
    num_drafts: int | None = None
    num_draft_tokens: int | None = None
    num_accepted_tokens: int | None = None
    accepted_per_position: list[int] | None = None
    acceptance_histogram: list[int] | None = None
    # Per-position counts and histograms are summed over the records that give
    # them (a truncated line may lose its list and keep its counts): the
    # steps behind the per-position counts, and how many records gave each.
    position_drafts: int = 0
    position_records: int = 0
    histogram_records: int = 0
    draft_length: int | None = None
    # A mean acceptance length the engine printed without the counts behind
    # it (SGLang's log lines); unused when the counts give one.
    mean_acceptance_length: float | None = None
    engine_figures: dict[str, Any] = field(default_factory=dict)
    engine_definitions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    draft_lengths_seen: set[int] = field(default_factory=set)

    def add(
        self,
        where: str,
        *,
        drafts: int | None = None,
        drafted: int | None = None,
        accepted: int | None = None,
        per_position: list[int] | None = None,
        histogram: list[int] | None = None,
        draft_length: int | None = None,
    ) -> None:
        """Add one record's counts (None: the record does not give that count)."""
        if self.records == 0:
            self.first = where
            self.num_drafts, self.num_draft_tokens, self.num_accepted_tokens = drafts, drafted, accepted
        else:
            self.num_drafts = _plus(self.num_drafts, drafts)
            self.num_draft_tokens = _plus(self.num_draft_tokens, drafted)
            self.num_accepted_tokens = _plus(self.num_accepted_tokens, accepted)
        if per_position is not None and drafts is not None:
            self.accepted_per_position = _plus_lists(self.accepted_per_position or [], per_position)
            self.position_drafts += drafts
            self.position_records += 1
        if histogram is not None:
            self.acceptance_histogram = _plus_lists(self.acceptance_histogram or [], histogram)
            self.histogram_records += 1
        self.records += 1
        self.last = where
        self._saw_draft_length(draft_length)

    def set_totals(
        self,
        *,
        drafts: int | None,
        drafted: int | None,
        accepted: int | None,
        per_position: list[int] | None = None,
        histogram: list[int] | None = None,
        draft_length: int | None = None,
    ) -> None:
        """The counts of a cumulative source (counters, running totals): its
        totals replace the sums over records."""
        self.num_drafts, self.num_draft_tokens, self.num_accepted_tokens = drafts, drafted, accepted
        self.accepted_per_position, self.acceptance_histogram = per_position, histogram
        has_positions = per_position is not None and drafts is not None
        self.position_drafts = drafts if has_positions else 0  # type: ignore[assignment]
        self.position_records = self.records if has_positions else 0
        self.histogram_records = self.records if histogram is not None else 0
        self._saw_draft_length(draft_length)

    def _saw_draft_length(self, draft_length: int | None) -> None:
        if draft_length is not None:
            self.draft_lengths_seen.add(draft_length)
            self.draft_length = max(self.draft_lengths_seen)

    def seen(self, where: str) -> None:
        """One more record of a cumulative source, at `where`."""
        self.records += 1
        self.first = self.first or where
        self.last = where

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def figure(self, name: str, value: Any, definition: str) -> None:
        """The engine's own figure under its own name, with what it means."""
        self.engine_figures[name] = value
        self.engine_definitions[name] = definition


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _plus_lists(a: list[int] | None, b: list[int] | None) -> list[int] | None:
    if a is None or b is None:
        return None
    longer, shorter = (a, b) if len(a) >= len(b) else (b, a)
    return [x + (shorter[i] if i < len(shorter) else 0) for i, x in enumerate(longer)]


class Importer:
    """Reads one format. Subclasses set the class attributes and override
    feed_line (text formats) or feed_json (JSON formats), and finish."""

    name: ClassVar[str]  # the format's name, for --format
    engine: ClassVar[str]
    reads: ClassVar[str]  # what it reads, for --help and the error naming the formats tried
    # Keys whose presence in a line marks a record of this format: a line
    # holding one that is not valid JSON is reported as truncated.
    json_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.series: dict[Any, Series] = {}
        self.warnings: list[str] = []  # problems that belong to no series

    def series_for(self, key: Any, label: str = "") -> Series:
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = Series(self.engine, self.name, label)
        return series

    def warn(self, series: Series | None, where: str, text: str) -> None:
        self.problems.add(series.warnings if series is not None else self.warnings, where, text)

    def feed_line(self, where: str, line: str) -> None:
        """One line of text (every importer sees every line)."""

    def feed_json(self, where: str, value: Any) -> None:
        """One JSON document or JSON line."""

    def finish(self) -> list[Series]:
        return list(self.series.values())

    def check_counts(
        self,
        series: Series,
        where: str,
        *,
        drafts: int | None = None,
        drafted: int | None = None,
        accepted: int | None = None,
        per_position: list[int] | None = None,
        draft_length: int | None = None,
        record: bool = True,
    ) -> tuple[bool, bool]:
        """Warn about counts that contradict each other; returns (counts fit, per-position counts fit).

        For one `record`, the warning says what is done: a record whose counts
        contradict each other is skipped, and per-position counts that do not
        fit are not used. For totals (record=False) it only says what is wrong.
        """
        counts, positions = [], []
        if accepted is not None and drafted is not None and accepted > drafted:
            counts.append(f"{accepted:,} accepted is more than the {drafted:,} drafted")
        if drafts is not None and draft_length is not None:
            if drafted is not None and drafted > drafts * draft_length:
                counts.append(f"{drafted:,} drafted is more than {drafts:,} steps × k = {draft_length} could draft")
            if accepted is not None and accepted > drafts * draft_length:
                counts.append(f"{accepted:,} accepted is more than {drafts:,} steps × k = {draft_length} could keep")
        if per_position:
            for i in range(1, len(per_position)):
                if per_position[i] > per_position[i - 1]:
                    positions.append(
                        f"per-position counts rise from position {i} to {i + 1} "
                        f"({per_position[i - 1]:,} -> {per_position[i]:,}); a kept prefix that "
                        f"reaches position {i + 1} also reaches {i}, so they must not increase"
                    )
                    break
            if accepted is not None and sum(per_position) != accepted:
                positions.append(
                    f"the per-position counts sum to {sum(per_position):,}, not to the {accepted:,} accepted"
                )
            if drafts is not None and per_position[0] > drafts:
                positions.append(f"{per_position[0]:,} steps kept position 1, more than the {drafts:,} steps")
        for text in counts[:1]:  # the first problem is the root; the others follow from it
            self.warn(series, where, text + (": the record is skipped" if record else ""))
        if not counts:
            for text in positions:
                self.warn(series, where, text + (": its per-position counts are not used" if record else ""))
        return not counts, not positions

    def add_record(
        self,
        series: Series,
        where: str,
        *,
        drafts: int | None = None,
        drafted: int | None = None,
        accepted: int | None = None,
        per_position: list[int] | None = None,
        histogram: list[int] | None = None,
        draft_length: int | None = None,
    ) -> bool:
        """Check one record and add it to `series`: skipped if its counts
        contradict each other, without its per-position counts (or histogram)
        if those do not fit. True if it was added."""
        counts_fit, positions_fit = self.check_counts(
            series,
            where,
            drafts=drafts,
            drafted=drafted,
            accepted=accepted,
            per_position=per_position,
            draft_length=draft_length,
        )
        if not counts_fit:
            return False
        if not positions_fit:
            per_position = None
        if histogram is not None and not self._histogram_fits(series, where, histogram, drafts, accepted, draft_length):
            histogram = None
        series.add(
            where,
            drafts=drafts,
            drafted=drafted,
            accepted=accepted,
            per_position=per_position,
            histogram=histogram,
            draft_length=draft_length,
        )
        return True

    def _histogram_fits(
        self,
        series: Series,
        where: str,
        histogram: list[int],
        drafts: int | None,
        accepted: int | None,
        draft_length: int | None,
    ) -> bool:
        """Whether a histogram of kept drafts per step agrees with the record's counts (warns if not)."""
        problems = []
        if drafts is not None and sum(histogram) != drafts:
            problems.append(f"the acceptance histogram counts {sum(histogram):,} steps, not the {drafts:,} steps")
        kept = sum(j * n for j, n in enumerate(histogram))
        if accepted is not None and kept != accepted:
            problems.append(f"the acceptance histogram keeps {kept:,} drafts, not the {accepted:,} accepted")
        if draft_length is not None and any(histogram[draft_length + 1 :]):
            problems.append(f"the acceptance histogram has steps that kept more than k = {draft_length} drafts")
        for text in problems:
            self.warn(series, where, text + ": it is not used")
        return not problems


def rates_fall(importer: Importer, series: Series, where: str, rates: list[float]) -> bool:
    """Whether printed per-position rates are non-increasing, as unconditional
    rates (reaches position i / steps) must be; warns if not."""
    for i in range(1, len(rates)):
        if rates[i] > rates[i - 1]:
            importer.warn(
                series,
                where,
                f"per-position acceptance rates rise from position {i} to {i + 1} ({rates[i - 1]:.3f} -> "
                f"{rates[i]:.3f}); a step that keeps position {i + 1} also kept {i}, so they never rise: "
                "its per-position rates are not used",
            )
            return False
    return True


def cumulative_total(values: list[float]) -> tuple[float, list[int]]:
    """The total a counter reached over samples taken in order, across
    restarts: a sample below the one before means the counter restarted at 0,
    so the count before the restart is added to the count after. Returns the
    total and the indices of the samples where a restart was seen."""
    total, previous, restarts = 0.0, None, []
    for i, value in enumerate(values):
        if previous is not None and value < previous:
            total += previous
            restarts.append(i)
        previous = value
    return total + (previous or 0.0), restarts


def rate_matches(printed: float, exact: float, decimals: int) -> bool:
    """Whether `printed` (rounded to `decimals`) is `exact` rounded."""
    if math.isnan(printed) or math.isnan(exact):
        return math.isnan(printed) == math.isnan(exact)
    return abs(printed - exact) <= 0.5 * 10.0**-decimals + 1e-9


# The widest range of step counts tried when a line gives only rounded rates.
MAX_STEP_CANDIDATES = 200_000


def infer_steps(
    accepted: int,
    drafted: int,
    draft_length: int | None,
    mean_length: float | None,
    rates: list[float] | None,
    mean_decimals: int = 2,
    rate_decimals: int = 3,
) -> tuple[int | None, bool]:
    """The number of steps behind a log line that prints counts and rounded
    rates but not the step count (vLLM's SpecDecoding line, llama-server's
    print_timing line). Returns (steps, consistent).

    Every step drafts at most k tokens, so steps >= drafted / k, and engines
    draft k nearly always: ceil(drafted / k) is tried first. It must agree with
    the printed mean acceptance length (1 + accepted / steps) and with the
    per-position rates (each the count at that position over steps, the counts
    summing to accepted). Failing that, the step count in the range the
    rounded mean allows that fits the rates. `consistent` is False when no
    step count fits the printed figures; the estimate from the mean is
    returned then.
    """
    if drafted == 0 and accepted == 0:
        return 0, True
    k = draft_length

    def fits(steps: int) -> bool:
        if steps <= 0 or (k and steps * k < drafted) or (drafted and steps > drafted):
            return False
        if mean_length is not None and not rate_matches(mean_length, 1 + accepted / steps, mean_decimals):
            return False
        if rates:
            kept = [round(rate * steps) for rate in rates]
            if sum(kept) != accepted or not all(
                rate_matches(rate, n / steps, rate_decimals) for rate, n in zip(rates, kept)
            ):
                return False
        return True

    lowest = -(-drafted // k) if k else 1
    if fits(lowest):
        return lowest, True
    if mean_length is None or not math.isfinite(mean_length) or accepted == 0:
        return (lowest if k else None), False
    half = 0.5 * 10.0**-mean_decimals
    estimate = accepted / (mean_length - 1) if mean_length > 1 else None
    # The bounds widened by 1e-9, as rate_matches is: 1.02 + 0.005 - 1 is a hair
    # under 0.025 in floating point, which put 1 / 0.025 = 40 steps out of range.
    low = max(lowest, math.ceil(accepted / (mean_length + half - 1) - 1e-9))
    high = math.floor(accepted / (mean_length - half - 1) + 1e-9) if mean_length - half > 1 else drafted or low
    if drafted:
        high = min(high, drafted)
    if high - low <= MAX_STEP_CANDIDATES:
        found = [steps for steps in range(low, high + 1) if fits(steps)]
        if found:
            target = estimate if estimate is not None else low
            return min(found, key=lambda steps: abs(steps - target)), True
    return (round(estimate) if estimate else lowest), False
