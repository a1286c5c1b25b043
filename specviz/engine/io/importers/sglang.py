"""SGLang: `Decode batch.` log lines and per-request `meta_info` (REFERENCE §6).

SGLang's "accept len" counts the accepted drafts PLUS the bonus token of each
step: it is specviz's mean acceptance length, not a count of accepted drafts.
Its "accept rate" changed definition between versions (lately: correct drafts
/ (steps × speculative_num_steps)); it is kept as SGLang's own figure only.
"""

from __future__ import annotations

import re
from typing import Any

from specviz.engine.io.importers.base import (
    NUMBER,
    Importer,
    Problems,
    Series,
    count,
    count_list,
    number,
    real,
    walk_objects,
)

ENGINE = "SGLang"

# "Decode batch." in older builds, "Decode batch," in newer ones.
DECODE_MARK = re.compile(r"Decode batch[.,]")
DECODE_FIELDS = {
    "running": re.compile(r"#running-req:\s*(\d+)"),
    "accept_len": re.compile(rf"accept len:\s*({NUMBER})"),
    "accept_rate": re.compile(rf"accept rate:\s*({NUMBER})"),
    "throughput": re.compile(rf"gen throughput \(token/s\):\s*({NUMBER})"),
}
DP_RANK = re.compile(r"\bDP(\d+)\b")


class SglangLog(Importer):
    """`Decode batch.` lines: each prints SGLang's accept len over the steps
    since the line before, and no step count. The series' figure is the mean
    of the lines weighted by #running-req (a line covers decode_log_interval
    batches of about that many requests), and it says so."""

    name = "sglang"
    engine = ENGINE
    reads = "SGLang 'Decode batch' log lines (accept len, accept rate)"

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        # key -> [weight sum, weighted accept len, weighted accept rate, rate weight, lines without #running-req]
        self.sums: dict[Any, list[float]] = {}

    def feed_line(self, where: str, line: str) -> None:
        if "accept len" not in line:
            return  # not a decode line, or one without speculation
        mark = DECODE_MARK.search(line)
        if mark is None:
            return
        at = mark.start()
        rank = DP_RANK.search(line[:at])
        key = rank.group(1) if rank else None
        series = self.series_for(key, f"DP{key}" if key is not None else "")
        body = line[at:]
        found = {name: pattern.search(body) for name, pattern in DECODE_FIELDS.items()}
        if found["accept_len"] is None:
            self.warn(series, where, "a Decode batch line whose accept len cannot be read (truncated?): skipped")
            return
        accept_len = number(found["accept_len"].group(1))
        if not accept_len >= 1:
            self.warn(
                series,
                where,
                f"accept len {accept_len} is below 1; it counts the bonus token, so it is at least 1: skipped",
            )
            return
        weight = float(found["running"].group(1)) if found["running"] else 1.0
        if weight <= 0:
            weight = 1.0
        sums = self.sums.setdefault(key, [0.0, 0.0, 0.0, 0.0, 0.0])
        sums[0] += weight
        sums[1] += weight * accept_len
        if found["running"] is None:
            sums[4] += 1
        if found["accept_rate"] is not None:
            rate = number(found["accept_rate"].group(1))
            if not 0 <= rate <= 1:
                self.warn(series, where, f"accept rate {rate} is outside 0 to 1")
            else:
                sums[2] += weight * rate
                sums[3] += weight
        series.seen(where)

    def finish(self) -> list[Series]:
        for key, series in self.series.items():
            sums = self.sums.get(key)
            if not sums or not sums[0]:
                continue
            mean = sums[1] / sums[0]
            series.mean_acceptance_length = mean
            series.note(
                "mean_acceptance_length: SGLang's accept len (accepted drafts + the bonus, per step), averaged "
                "over the lines weighted by #running-req; the lines print no step or token counts"
            )
            series.note("num_drafts, num_draft_tokens, num_accepted_tokens: not in SGLang's log lines")
            series.figure("log lines", series.records, "Decode batch lines with an accept len")
            series.figure(
                "accept len",
                mean,
                "accepted drafts + 1 bonus per step (= specviz's mean acceptance length), weighted by #running-req",
            )
            if sums[3]:
                series.figure(
                    "accept rate",
                    sums[2] / sums[3],
                    "its definition changed between versions (lately correct drafts / (steps × "
                    "speculative_num_steps)); not comparable across versions",
                )
        return [series for key, series in self.series.items() if self.sums.get(key)]


class SglangRequest(Importer):
    """Per-request `meta_info`: spec_verify_ct steps, and in newer builds the
    correct and proposed draft counts and the histogram of correct drafts."""

    name = "sglang-request"
    engine = ENGINE
    reads = "SGLang per-request meta_info (spec_verify_ct, spec_accept_length, histograms)"
    json_keys = ('"spec_verify_ct"',)

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.completion: dict[Any, list[int]] = {}

    def feed_json(self, where: str, value: Any) -> None:
        for item, _ in walk_objects(value):
            if "spec_verify_ct" not in item:
                continue
            series = self.series_for(None)
            steps = count(item.get("spec_verify_ct"))
            if steps is None:
                self.warn(series, where, "spec_verify_ct is not a whole number: skipped")
                continue
            completion = count(item.get("completion_tokens"))
            accepted = count(item.get("spec_num_correct_drafts"))
            drafted = count(item.get("spec_num_proposed_drafts"))
            histogram = count_list(item.get("spec_correct_drafts_histogram"))
            if histogram == []:
                histogram = None
            if accepted is None and completion is not None:
                # Each step emits its accepted drafts and one more token.
                accepted = max(0, completion - steps)
                series.note(
                    "num_accepted_tokens: completion_tokens - spec_verify_ct where spec_num_correct_drafts is "
                    "missing (each step emits its accepted drafts and one more token)"
                )
            length = real(item.get("spec_accept_length"))
            if length is not None and completion is not None and steps and abs(length - completion / steps) > 1e-6:
                self.warn(series, where, f"spec_accept_length {length} is not completion_tokens / spec_verify_ct")
            rate = real(item.get("spec_accept_rate"))
            if rate is not None and accepted is not None and drafted and abs(rate - accepted / drafted) > 1e-6:
                self.warn(series, where, f"spec_accept_rate {rate} is not correct / proposed drafts")
            if not self.add_record(
                series, where, drafts=steps, drafted=drafted, accepted=accepted, histogram=histogram
            ):
                continue
            totals = self.completion.setdefault(None, [0, 0])
            if completion is not None and totals is not None:
                totals[0] += completion
                totals[1] += steps
            else:
                self.completion[None] = None  # type: ignore[assignment]

    def finish(self) -> list[Series]:
        for series in self.series.values():
            series.figure("requests", series.records, "meta_info objects with spec_verify_ct read")
            totals = self.completion.get(None)
            if totals and totals[1]:
                series.figure(
                    "spec_accept_length",
                    totals[0] / totals[1],
                    "completion_tokens / spec_verify_ct: tokens per step, bonus included",
                )
            if series.num_accepted_tokens is not None and series.num_draft_tokens:
                series.figure(
                    "spec_accept_rate",
                    series.num_accepted_tokens / series.num_draft_tokens,
                    "correct drafts / proposed drafts (specviz's draft acceptance rate)",
                )
            if series.num_draft_tokens is None:
                series.note("num_draft_tokens: unknown; older builds report no spec_num_proposed_drafts")
            series.note("draft_length: not in meta_info (give -k: speculative_num_steps)")
        return super().finish()
