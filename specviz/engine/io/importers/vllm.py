"""vLLM: the v1 `SpecDecoding metrics:` log line (three orders), the v0
`Speculative metrics:` line, the Prometheus counters and the per-request
`speculative_decoding` object (REFERENCE §6).

vLLM's own definitions are specviz's (REFERENCE §3 takes them from vLLM),
except v0's "accepted", which counts every draft the verifier accepted, even
after a rejection: the kept prefix is emitted - steps there.
"""

from __future__ import annotations

import re
from typing import Any

from specviz.engine.io.importers.base import (
    NUMBER,
    NUMBER_LIST,
    Importer,
    Problems,
    Series,
    count,
    count_list,
    cumulative_total,
    infer_steps,
    number,
    numbers,
    rate_matches,
    rates_fall,
    real,
    walk_objects,
)
from specviz.engine.io.importers.prometheus import BadSample, label_text, parse_sample

ENGINE = "vLLM"

V1_MARK = "SpecDecoding metrics:"
V1_FIELDS = {
    "mean_length": re.compile(rf"Mean acceptance length:\s*({NUMBER})"),
    "accepted_throughput": re.compile(rf"Accepted throughput:\s*({NUMBER}) tokens/s"),
    "drafted_throughput": re.compile(rf"Drafted throughput:\s*({NUMBER}) tokens/s"),
    "accepted": re.compile(r"Accepted:\s*(\d+) tokens"),
    "drafted": re.compile(r"Drafted:\s*(\d+) tokens"),
    "rates": re.compile(rf"Per-position acceptance rate:\s*({NUMBER_LIST})"),
    "rate": re.compile(rf"(?:Avg )?Draft acceptance rate:\s*({NUMBER})%"),
}
ENGINE_INDEX = re.compile(r"Engine\s+0*(\d+)\s*:")


class VllmLog(Importer):
    name = "vllm"
    engine = ENGINE
    reads = "vLLM v1 'SpecDecoding metrics:' log lines (all three orders)"

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.seconds: dict[Any, float] = {}  # the intervals' lengths, from the throughputs
        self.orders: dict[Any, set[str]] = {}

    def feed_line(self, where: str, line: str) -> None:
        at = line.find(V1_MARK)
        if at < 0:
            return
        engine = ENGINE_INDEX.search(line[:at])
        key = engine.group(1) if engine else None
        series = self.series_for(key, f"engine {key}" if key is not None else "")
        body = line[at + len(V1_MARK) :].strip()
        found = {name: pattern.search(body) for name, pattern in V1_FIELDS.items()}
        if found["accepted"] is None or found["drafted"] is None:
            self.warn(
                series, where, "a SpecDecoding line without its Accepted and Drafted counts (truncated?): skipped"
            )
            return
        accepted, drafted = int(found["accepted"].group(1)), int(found["drafted"].group(1))
        if accepted > drafted:
            self.warn(series, where, f"{accepted:,} accepted is more than the {drafted:,} drafted: the line is skipped")
            return
        if body.startswith("Mean acceptance length"):
            order = "newest"
            # This order ends with the average rate: without it the line was
            # cut, maybe inside the per-position list.
            complete = found["rate"] is not None
        elif found["rates"] is not None or found["mean_length"] is not None:
            order = "mid-2025"
            complete = True
        else:
            order = "early v1"
            complete = True
        self.orders.setdefault(key, set()).add(order)
        mean_length = number(found["mean_length"].group(1)) if found["mean_length"] else None
        rates = numbers(found["rates"].group(1)) if found["rates"] and complete else None
        if not complete:
            self.warn(
                series,
                where,
                "the line ends before 'Avg Draft acceptance rate' (truncated?): its per-position rates are not used",
            )
        rising = rates is not None and not rates_fall(self, series, where, rates)
        if found["rate"] is not None and drafted:
            printed = number(found["rate"].group(1))
            if not rate_matches(printed, 100 * accepted / drafted, 1):
                self.warn(
                    series,
                    where,
                    f"draft acceptance rate {printed:.1f}% does not match {accepted:,} accepted / {drafted:,} "
                    f"drafted = {100 * accepted / drafted:.1f}%",
                )
        drafts = per_position = None
        k = len(rates) if rates else None
        if rates is not None or mean_length is not None:
            drafts, consistent = infer_steps(accepted, drafted, k, mean_length, rates)
            if not consistent:
                self.warn(
                    series,
                    where,
                    f"no number of drafts fits the printed mean acceptance length {mean_length} "
                    f"and per-position rates with {accepted:,} accepted and {drafted:,} drafted",
                )
            if drafts is not None and rates is not None and not rising:
                per_position = [round(rate * drafts) for rate in rates]
            series.note(
                "num_drafts: not printed by vLLM's log line; inferred per line from Drafted / k "
                "(k = the number of per-position rates), checked against the mean acceptance length and the rates"
            )
            if rates is not None:
                series.note("per-position counts: each line's rates (3 decimals) times its inferred drafts")
        else:
            series.note("num_drafts: unknown; the early v1 line prints neither a draft count nor k")
        added = self.add_record(
            series, where, drafts=drafts, drafted=drafted, accepted=accepted, per_position=per_position, draft_length=k
        )
        if not added:
            return
        throughput = found["drafted_throughput"] or found["accepted_throughput"]
        if throughput is not None:
            rate, tokens = number(throughput.group(1)), drafted if found["drafted_throughput"] else accepted
            if rate > 0:
                self.seconds[key] = self.seconds.get(key, 0.0) + tokens / rate

    def finish(self) -> list[Series]:
        for key, series in self.series.items():
            series.figure(
                "log lines", series.records, "SpecDecoding lines read; each covers one logging interval (then resets)"
            )
            series.figure(
                "format order",
                ", ".join(sorted(self.orders.get(key, ()))),
                "newest: mean acceptance length first; mid-2025: draft acceptance rate first, per-position "
                "rates last; early v1: rate, accepted, drafted only",
            )
            seconds = self.seconds.get(key)
            if seconds and series.num_accepted_tokens is not None and series.num_draft_tokens is not None:
                series.figure(
                    "Accepted throughput (tokens/s)",
                    series.num_accepted_tokens / seconds,
                    "accepted / interval time, over every line (the intervals' times from their throughputs)",
                )
                series.figure(
                    "Drafted throughput (tokens/s)", series.num_draft_tokens / seconds, "drafted / interval time"
                )
            _vllm_figures(series)
        return super().finish()


def _vllm_figures(series: Series) -> None:
    """vLLM's summary figures over the summed counts (its definitions are specviz's)."""
    drafts, drafted, accepted = series.num_drafts, series.num_draft_tokens, series.num_accepted_tokens
    if accepted is not None and drafted:
        series.figure(
            "Draft acceptance rate (%)", 100 * accepted / drafted, "100 × accepted / drafted (specviz's, in percent)"
        )
    if accepted is not None and drafts:
        series.figure(
            "Mean acceptance length", 1 + accepted / drafts, "1 + accepted / drafts (specviz's: counts the bonus)"
        )
    if series.accepted_per_position is not None and drafts:
        series.figure(
            "Per-position acceptance rate",
            [n / drafts for n in series.accepted_per_position],
            "steps whose kept prefix reaches position i / drafts (specviz's per_position_acceptance)",
        )


V0_MARK = "Speculative metrics:"
V0_FIELDS = {
    "rate": re.compile(rf"Draft acceptance rate:\s*({NUMBER})"),
    "efficiency": re.compile(rf"System efficiency:\s*({NUMBER})"),
    "k": re.compile(r"Number of speculative tokens:\s*(\d+)"),
    "accepted": re.compile(r"Number of accepted tokens:\s*(\d+)"),
    "drafted": re.compile(r"Number of draft tokens:\s*(\d+)"),
    "emitted": re.compile(r"Number of emitted tokens:\s*(\d+)"),
}


class VllmV0(Importer):
    """v0's counters are cumulative since the server started: the last line
    holds the totals, and a line whose counts went down follows a restart."""

    name = "vllm-v0"
    engine = ENGINE
    reads = "vLLM v0 'Speculative metrics:' log lines"

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.segment: dict[str, Any] | None = None  # the last line since the last restart
        self.totals = {"drafted": 0, "accepted": 0, "emitted": 0, "steps": 0}

    def feed_line(self, where: str, line: str) -> None:
        at = line.find(V0_MARK)
        if at < 0:
            return
        series = self.series_for(None)
        body = line[at + len(V0_MARK) :]
        found = {name: pattern.search(body) for name, pattern in V0_FIELDS.items()}
        missing = [name for name in ("k", "accepted", "drafted", "emitted") if found[name] is None]
        if missing:
            self.warn(series, where, f"a Speculative metrics line without {', '.join(missing)} (truncated?): skipped")
            return
        record: dict[str, Any] = {
            name: int(match.group(1)) for name in ("k", "accepted", "drafted", "emitted") if (match := found[name])
        }
        record["where"] = where
        k, drafted, accepted, emitted = record["k"], record["drafted"], record["accepted"], record["emitted"]
        if k < 1:
            self.warn(series, where, f"Number of speculative tokens is {k}: skipped")
            return
        if drafted % k:
            self.warn(
                series, where, f"{drafted:,} draft tokens is not a multiple of k = {k}: steps = drafted / k is rounded"
            )
        steps = round(drafted / k)
        record["steps"] = steps
        if accepted > drafted:
            self.warn(series, where, f"{accepted:,} accepted is more than the {drafted:,} drafted")
        prefix = emitted - steps
        if prefix < 0 or prefix > accepted:
            self.warn(
                series,
                where,
                f"{emitted:,} emitted tokens over {steps:,} steps leaves {prefix:,} kept drafts, "
                f"outside 0 to the {accepted:,} accepted",
            )
        if found["rate"] is not None and drafted:
            printed = number(found["rate"].group(1))
            if not rate_matches(printed, accepted / drafted, 3):
                self.warn(
                    series,
                    where,
                    f"draft acceptance rate {printed} does not match accepted / draft tokens = "
                    f"{accepted / drafted:.3f}",
                )
        if found["efficiency"] is not None and steps:
            printed = number(found["efficiency"].group(1))
            if not rate_matches(printed, emitted / (steps * (k + 1)), 3):
                self.warn(
                    series,
                    where,
                    f"system efficiency {printed} does not match emitted / (steps × (k + 1)) = "
                    f"{emitted / (steps * (k + 1)):.3f}",
                )
        previous = self.segment
        if previous is not None:
            went_down = [name for name in ("drafted", "accepted", "emitted") if record[name] < previous[name]]
            if went_down or record["k"] != previous["k"]:
                what = (
                    f"{went_down[0]} went down from {previous[went_down[0]]:,} to {record[went_down[0]]:,}"
                    if (went_down)
                    else f"k changed from {previous['k']} to {record['k']}"
                )
                self.warn(
                    series,
                    where,
                    f"{what} (a restarted server?): counted as a restart, the totals before and after are added",
                )
                self._close_segment()
        self.segment = record
        series.seen(where)
        series.draft_lengths_seen.add(k)

    def _close_segment(self) -> None:
        if self.segment is not None:
            for name in self.totals:
                self.totals[name] += self.segment[name]
            self.segment = None

    def finish(self) -> list[Series]:
        if not self.series:
            return []
        self._close_segment()
        series = self.series_for(None)
        totals = self.totals
        series.set_totals(
            drafts=totals["steps"],
            drafted=totals["drafted"],
            accepted=max(0, totals["emitted"] - totals["steps"]),
            draft_length=max(series.draft_lengths_seen),
        )
        series.note("counters: cumulative since the server started; the last line before each restart is added up")
        series.note("num_drafts: Number of draft tokens / k; num_accepted_tokens: emitted - steps (the kept prefix)")
        series.figure(
            "Number of accepted tokens",
            totals["accepted"],
            "every draft the verifier accepted, even after a rejection: NOT the kept prefix",
        )
        series.figure("Number of emitted tokens", totals["emitted"], "kept prefix + one bonus or correction per step")
        if totals["drafted"]:
            series.figure(
                "Draft acceptance rate",
                totals["accepted"] / totals["drafted"],
                "v0 accepted / draft tokens: counts drafts accepted after a rejection, so above specviz's",
            )
        if totals["steps"] and series.draft_length is not None and len(series.draft_lengths_seen) == 1:
            series.figure(
                "System efficiency",
                totals["emitted"] / (totals["steps"] * (series.draft_length + 1)),
                "emitted / (steps × (k + 1)): mean acceptance length / (k + 1)",
            )
        return [series]


PROM_PREFIX = "vllm:spec_decode_"
PROM_COUNTERS = {
    "vllm:spec_decode_num_drafts": "drafts",
    "vllm:spec_decode_num_draft_tokens": "drafted",
    "vllm:spec_decode_num_accepted_tokens": "accepted",
    "vllm:spec_decode_num_accepted_tokens_per_pos": "per_position",
    "vllm:spec_decode_num_emitted_tokens": "emitted",  # v0's exposition only
}


METRIC_NAMES = {counter: name for name, counter in PROM_COUNTERS.items()}


class VllmPrometheus(Importer):
    """Counters, cumulative: each counter (per model_name, engine, position)
    is totalled over the scrapes in the file, a drop meaning a restart."""

    name = "vllm-prometheus"
    engine = ENGINE
    reads = "vLLM's Prometheus exposition (vllm:spec_decode_* counters)"

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        # (series labels, counter, position) -> [(where, value)]
        self.samples: dict[tuple[Any, str, int | None], list[tuple[str, float]]] = {}

    def feed_line(self, where: str, line: str) -> None:
        try:
            sample = parse_sample(line, (PROM_PREFIX,))
        except BadSample as error:
            self.warn(None, where, f"a vllm:spec_decode_* sample that cannot be read ({error}): skipped")
            return
        if sample is None:
            return
        base = sample.name.removesuffix("_total")
        counter = PROM_COUNTERS.get(base)
        if counter is None or sample.name.endswith("_created"):
            return
        position = None
        if counter == "per_position":
            text = sample.label("position")
            if text is None or not text.isdigit():
                self.warn(None, where, f"{sample.name} without a position label: skipped")
                return
            position = int(text)
        labels = sample.without("position")
        self.series_for(labels, label_text(labels))
        self.samples.setdefault((labels, counter, position), []).append((where, sample.value))

    def finish(self) -> list[Series]:
        out = []
        for labels, series in self.series.items():
            totals: dict[str, float | None] = {}
            positions: dict[int, float] = {}
            drops: dict[int, list[tuple[str, str]]] = {}  # scrape index -> [(where, what went down)]
            for (key, counter, position), values in self.samples.items():
                if key != labels:
                    continue
                total, restarts = cumulative_total([value for _, value in values])
                name = METRIC_NAMES[counter] + ("" if position is None else f'{{position="{position}"}}')
                for i in restarts:
                    drops.setdefault(i, []).append(
                        (values[i][0], f"{name} {values[i - 1][1]:,.0f} -> {values[i][1]:,.0f}")
                    )
                series.records = max(series.records, len(values))
                series.first = min(series.first or values[0][0], values[0][0], key=_line_number)
                series.last = max(series.last or values[-1][0], values[-1][0], key=_line_number)
                if position is None:
                    totals[counter] = total
                else:
                    positions[position] = total
            for i in sorted(drops):
                where = min((where for where, _ in drops[i]), key=_line_number)
                self.warn(
                    series,
                    where,
                    f"counters went down ({', '.join(what for _, what in drops[i])}): a restarted server? "
                    "Counted as a restart: the counts before and after are added",
                )
            drafts, drafted = _whole(totals.get("drafts")), _whole(totals.get("drafted"))
            accepted = _whole(totals.get("accepted"))
            k = max(positions) + 1 if positions else None
            per_position = [round(positions.get(i, 0)) for i in range(k)] if k else None
            if "emitted" in totals and drafts is None:
                # vLLM v0 exposed accepted as every accepted draft, not the prefix.
                series.figure(
                    "vllm:spec_decode_num_accepted_tokens (v0)",
                    accepted,
                    "v0: every draft the verifier accepted, even after a rejection: NOT the kept prefix",
                )
                series.figure("vllm:spec_decode_num_emitted_tokens (v0)", _whole(totals["emitted"]), "v0 emitted")
                series.note("a v0 exposition: its accepted count is not the kept prefix, and it gives no step count")
                accepted = None
            if drafts is None:
                series.note("num_drafts: no vllm:spec_decode_num_drafts counter in the file")
            self.check_counts(
                series,
                series.last,
                record=False,
                drafts=drafts,
                drafted=drafted,
                accepted=accepted,
                per_position=per_position,
                draft_length=k,
            )
            series.set_totals(
                drafts=drafts, drafted=drafted, accepted=accepted, per_position=per_position, draft_length=k
            )
            series.note("counters: cumulative; totalled over the scrapes in the file, across restarts")
            _vllm_figures(series)
            out.append(series)
        return out


def _line_number(where: str) -> int:
    digits = re.findall(r"\d+", where)
    return int(digits[0]) if digits else 0


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


class VllmRequest(Importer):
    """Per-request `speculative_decoding` objects (--per-request-spec-decode-metrics)."""

    name = "vllm-request"
    engine = ENGINE
    reads = "vLLM per-request JSON ('speculative_decoding' objects, summary or detailed)"
    json_keys = ('"speculative_decoding"',)

    def feed_json(self, where: str, value: Any) -> None:
        for item, model in walk_objects(value):
            if "speculative_decoding" not in item:
                continue
            series = self.series_for(model, f"model {model}" if model else "")
            stats = item["speculative_decoding"]
            if stats is None:
                series.note("some requests report speculative_decoding: null (vLLM reports none when n > 1)")
                self.warn(series, where, "speculative_decoding is null (a request with n > 1?): skipped")
                continue
            if not isinstance(stats, dict):
                self.warn(series, where, "speculative_decoding is not an object: skipped")
                continue
            self._request(series, where, stats)

    def _request(self, series: Series, where: str, stats: dict[str, Any]) -> None:
        steps, drafted = count(stats.get("num_spec_steps")), count(stats.get("num_draft_tokens"))
        accepted, k = count(stats.get("num_accepted_draft_tokens")), count(stats.get("num_spec_tokens"))
        histogram = count_list(stats.get("acceptance_histogram"))
        per_step_accepted = count_list(stats.get("per_step_accepted"))
        per_step_drafted = count_list(stats.get("per_step_drafted"))
        if histogram is None and per_step_accepted is not None:
            histogram = [0] * (max(per_step_accepted, default=0) + 1)
            for n in per_step_accepted:
                histogram[n] += 1
        if per_step_accepted is not None and accepted is not None and sum(per_step_accepted) != accepted:
            self.warn(
                series, where, f"per_step_accepted sums to {sum(per_step_accepted):,}, not num_accepted_draft_tokens"
            )
        if per_step_drafted is not None and drafted is not None and sum(per_step_drafted) != drafted:
            self.warn(series, where, f"per_step_drafted sums to {sum(per_step_drafted):,}, not num_draft_tokens")
        if steps is None or accepted is None:
            self.warn(
                series, where, "a speculative_decoding object without num_spec_steps or num_accepted_draft_tokens"
            )
        mean = real(stats.get("mean_acceptance_length"))
        if mean is not None and steps and accepted is not None and abs(mean - (1 + accepted / steps)) > 1e-6:
            self.warn(series, where, f"mean_acceptance_length {mean} is not 1 + accepted / steps")
        rate = real(stats.get("draft_acceptance_rate"))
        if rate is not None and drafted and accepted is not None and abs(rate - accepted / drafted) > 1e-6:
            self.warn(series, where, f"draft_acceptance_rate {rate} is not accepted / drafted")
        self.add_record(
            series, where, drafts=steps, drafted=drafted, accepted=accepted, histogram=histogram, draft_length=k
        )

    def finish(self) -> list[Series]:
        for series in self.series.values():
            series.figure("requests", series.records, "speculative_decoding objects read")
            _vllm_figures(series)
        return super().finish()
