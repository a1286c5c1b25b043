"""llama.cpp: the speculative examples' closing block, llama-server's log lines and its `timings` JSON (REFERENCE §6).

llama.cpp counts drafts (n_drafted) and accepted drafts (n_accept, the kept
prefix) as specviz does; its "accept" is n_accept / n_drafted. Newer
llama-server builds divide by the drafts they tested: drafts shorter than
--draft-min are neither verified nor counted, so "generated" there means
tested.
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
    cumulative_total,
    infer_steps,
    number,
    numbers,
    printable,
    rate_matches,
    rates_fall,
    walk_objects,
)

ENGINE = "llama.cpp"

BLOCK_LINE = re.compile(r"(?:^|\s)n_(draft|drafted|predict|accept)\b\s*=\s*(-?\d+)")
ACCEPT_LINE = re.compile(rf"(?:^|\s)accept(?: rate)?\s+=\s*({NUMBER})%")


class LlamaCppExample(Importer):
    """The block the speculative examples print when they finish:
    n_draft (k), n_predict (tokens generated), n_drafted, n_accept, accept %."""

    name = "llama.cpp"
    engine = ENGINE
    reads = "llama.cpp speculative examples' closing block (n_draft, n_predict, n_drafted, n_accept, accept)"

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.block: dict[str, Any] | None = None

    def feed_line(self, where: str, line: str) -> None:
        if "accept" not in line and "n_" not in line:
            return  # most lines: skip the regular expressions
        match = BLOCK_LINE.search(line)
        if match is not None:
            name, value = match.group(1), int(match.group(2))
            if name == "draft" and self.block is not None:
                self._close()
            if self.block is None:
                self.block = {"where": where}
            self.block[name] = value
            self.block["last"] = where
            return
        match = ACCEPT_LINE.search(line)
        if match is not None and self.block is not None:
            self.block["percent"] = number(match.group(1))
            self.block["last"] = where
            self._close()

    def _close(self) -> None:
        block, self.block = self.block, None
        if block is None:
            return
        series = self.series_for(None)
        where = block["where"]
        missing = [f"n_{name}" for name in ("predict", "accept") if name not in block]
        if missing:
            self.warn(series, where, f"a closing block without {', '.join(missing)} (truncated?): skipped")
            return
        k, predicted, accepted, drafted = block.get("draft"), block["predict"], block["accept"], block.get("drafted")
        if min(v for v in (k, predicted, accepted, drafted) if v is not None) < 0:
            self.warn(series, where, "a closing block with a negative count: skipped")
            return
        # speculative-simple adds accepted + 1 to n_predict and accepted to n_accept each step.
        steps = predicted - accepted
        if steps < 0:
            self.warn(series, where, f"n_accept = {accepted:,} is more than n_predict = {predicted:,}: skipped")
            return
        if "percent" in block and drafted:
            if not rate_matches(block["percent"], 100 * accepted / drafted, 3):
                self.warn(
                    series,
                    where,
                    f"accept = {block['percent']:.3f}% does not match n_accept / n_drafted = "
                    f"{100 * accepted / drafted:.3f}%",
                )
        if drafted is not None and k and drafted > steps * k:
            self.warn(
                series,
                where,
                f"n_drafted = {drafted:,} is more than steps × n_draft = {steps:,} × {k}: the tree example "
                "(speculative) drafts several sequences a step; steps and rates here assume one chain",
            )
            k = None  # n_draft bounds one chain's drafts, not a tree's
        if drafted is None:
            series.note("num_draft_tokens: this example prints no n_drafted")
        self.add_record(series, where, drafts=steps, drafted=drafted, accepted=accepted, draft_length=k)

    def finish(self) -> list[Series]:
        if self.block is not None:
            self._close()  # warns when the file ends inside a block
        for series in self.series.values():
            series.note(
                "num_drafts: n_predict - n_accept (speculative-simple adds accepted + 1 to n_predict each step); "
                "draft_length: n_draft, the most a step drafts"
            )
            series.figure("runs", series.records, "closing blocks read, one per run")
            if series.num_accepted_tokens is not None and series.num_draft_tokens:
                series.figure(
                    "accept (%)",
                    100 * series.num_accepted_tokens / series.num_draft_tokens,
                    "100 × n_accept / n_drafted (specviz's draft acceptance rate, in percent)",
                )
        return super().finish()


SERVER_RATE = re.compile(
    r"draft acceptance(?: rate)?\s*=\s*(" + NUMBER + r")\s*\(\s*(\d+)\s+accepted\s*/\s*(\d+)\s+generated\s*\)"
)
SERVER_MEAN = re.compile(rf"mean (?:acceptance )?len(?:gth)?\s*=\s*({NUMBER})")
SERVER_RATES = re.compile(rf"acceptance rate per position\s*=\s*\(\s*({NUMBER_LIST})\s*\)")
STATISTICS = re.compile(r"\bstatistics\s+([^\s:]+):\s*(.*)")
STATISTICS_FIELDS = {
    "gen_drafts": re.compile(r"#gen drafts\s*=\s*(\d+)"),
    "acc_drafts": re.compile(r"#acc drafts\s*=\s*(\d+)"),
    "gen_tokens": re.compile(r"#gen tokens\s*=\s*(\d+)"),
    "acc_tokens": re.compile(r"#acc tokens\s*=\s*(\d+)"),
    "mean": re.compile(rf"#mean acc len\s*=\s*({NUMBER})"),
    "rates": re.compile(rf"#acc rate/pos\s*=\s*\(\s*({NUMBER_LIST})\s*\)"),
}


class LlamaServer(Importer):
    """llama-server's per-request `draft acceptance` lines (one series) and
    its `statistics` lines, cumulative per drafting implementation (a series each)."""

    name = "llama-server"
    engine = ENGINE
    reads = "llama-server 'draft acceptance rate' / print_timing / 'statistics' log lines"

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.statistics: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    def feed_line(self, where: str, line: str) -> None:
        if "draft acceptance" in line:
            match = SERVER_RATE.search(line)
            if match is not None:
                self._request(where, line, match)
            return
        if "#gen drafts" not in line:
            return
        match = STATISTICS.search(line)
        if match is not None and "#gen drafts" in match.group(2):
            body = match.group(2)
            found = {name: pattern.search(body) for name, pattern in STATISTICS_FIELDS.items()}
            name = printable(match.group(1), 40)
            if any(found[field] is None for field in ("gen_drafts", "gen_tokens", "acc_tokens")):
                self.warn(
                    self.series_for(("statistics", name), f"statistics {name}"),
                    where,
                    "a statistics line without #gen drafts, #gen tokens and #acc tokens (truncated?): skipped",
                )
                return
            record: dict[str, Any] = {
                field: int(match.group(1))
                for field in ("gen_drafts", "gen_tokens", "acc_tokens", "acc_drafts")
                if (match := found[field]) is not None
            }
            if found["mean"] is not None:
                record["mean"] = number(found["mean"].group(1))
            if found["rates"] is not None:
                record["rates"] = numbers(found["rates"].group(1))
            self.series_for(("statistics", name), f"statistics {name}")
            self.statistics.setdefault(name, []).append((where, record))

    def _request(self, where: str, line: str, match: re.Match[str]) -> None:
        series = self.series_for("requests", "per request (print_timing)")
        printed, accepted, drafted = number(match.group(1)), int(match.group(2)), int(match.group(3))
        if drafted and not rate_matches(printed, accepted / drafted, 5):
            self.warn(
                series,
                where,
                f"draft acceptance {printed:.5f} does not match {accepted:,} accepted / {drafted:,} generated",
            )
        rest = line[match.end() :]
        mean_match, rates_match = SERVER_MEAN.search(rest), SERVER_RATES.search(rest)
        mean = number(mean_match.group(1)) if mean_match else None
        rates = numbers(rates_match.group(1)) if rates_match else None
        steps = per_position = None
        k = len(rates) if rates else None
        if mean is not None or rates is not None:
            steps, consistent = infer_steps(accepted, drafted, k, mean, rates)
            if not consistent:
                self.warn(
                    series,
                    where,
                    f"no step count fits the printed mean acceptance length {mean} and per-position rates",
                )
            if steps is not None and rates is not None:
                per_position = [round(rate * steps) for rate in rates]
            series.note("num_drafts: inferred per request from the printed mean acceptance length and rates")
        else:
            series.note("num_drafts: unknown; older builds print only accepted / generated per request")
        if rates is not None and not rates_fall(self, series, where, rates):
            per_position = None
        self.add_record(
            series, where, drafts=steps, drafted=drafted, accepted=accepted, per_position=per_position, draft_length=k
        )

    def finish(self) -> list[Series]:
        for name, records in self.statistics.items():
            self._statistics(self.series_for(("statistics", name)), records)
        for key, series in self.series.items():
            if key == "requests":
                series.figure("requests", series.records, "per-request draft acceptance lines read")
            if series.num_accepted_tokens is not None and series.num_draft_tokens:
                series.figure(
                    "draft acceptance rate",
                    series.num_accepted_tokens / series.num_draft_tokens,
                    "accepted / generated; newer builds count only tested drafts (not those under --draft-min)",
                )
            series.note(
                "num_draft_tokens: llama-server's 'generated' drafts; newer builds leave out drafts shorter "
                "than --draft-min, which are never verified"
            )
        return super().finish()

    def _statistics(self, series: Series, records: list[tuple[str, dict[str, Any]]]) -> None:
        """Cumulative counters per implementation: total them across restarts."""
        for where, record in records:
            series.seen(where)
            if "rates" in record and not rates_fall(self, series, where, record["rates"]):
                del record["rates"]
            if record["acc_tokens"] > record["gen_tokens"]:
                self.warn(
                    series,
                    where,
                    f"#acc tokens {record['acc_tokens']:,} is more than #gen tokens {record['gen_tokens']:,}",
                )
            if record.get("mean") is not None and record["gen_drafts"]:
                exact = 1 + record["acc_tokens"] / record["gen_drafts"]
                if not rate_matches(record["mean"], exact, 2):
                    self.warn(series, where, f"#mean acc len {record['mean']} is not 1 + #acc tokens / #gen drafts")
        totals = {}
        for field in ("gen_drafts", "gen_tokens", "acc_tokens", "acc_drafts"):
            values = [(where, record[field]) for where, record in records if field in record]
            total, restarts = cumulative_total([value for _, value in values])
            totals[field] = round(total) if values else None
            if field == "gen_drafts":
                for i in restarts:
                    self.warn(
                        series,
                        values[i][0],
                        f"#gen drafts went down from {values[i - 1][1]:,} to {values[i][1]:,} (a restarted "
                        "server?): counted as a restart, the counts before and after are added",
                    )
        # Per-position counts from the rates of the last line of each run.
        last = _last_of_each_run([record for _, record in records])
        per_position: list[int] | None = None
        if all("rates" in record for record in last):
            per_position = []
            for record in last:
                counts = [round(rate * record["gen_drafts"]) for rate in record["rates"]]
                per_position = [
                    (per_position[i] if i < len(per_position) else 0) + (counts[i] if i < len(counts) else 0)
                    for i in range(max(len(per_position), len(counts)))
                ]
            series.note("per-position counts: the printed rates (3 decimals) times #gen drafts")
        k = len(per_position) if per_position else None
        self.check_counts(
            series,
            series.last,
            record=False,
            drafts=totals["gen_drafts"],
            drafted=totals["gen_tokens"],
            accepted=totals["acc_tokens"],
            per_position=per_position,
        )
        series.set_totals(
            drafts=totals["gen_drafts"],
            drafted=totals["gen_tokens"],
            accepted=totals["acc_tokens"],
            per_position=per_position,
            draft_length=k,
        )
        series.note("counters: cumulative per drafting implementation since the server started")
        if totals["acc_drafts"] is not None:
            series.figure(
                "#acc drafts",
                totals["acc_drafts"],
                "drafts with at least one token accepted: steps that kept position 1",
            )
        if totals["gen_drafts"] and totals["acc_tokens"] is not None:
            series.figure(
                "#mean acc len",
                1 + totals["acc_tokens"] / totals["gen_drafts"],
                "1 + #acc tokens / #gen drafts (specviz's mean acceptance length)",
            )
        if k is None:
            series.note("draft_length: not printed (older builds print no per-position rates)")


def _last_of_each_run(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last record before each restart, and the last one."""
    out = []
    for i, record in enumerate(records):
        following = records[i + 1] if i + 1 < len(records) else None
        if following is None or following["gen_drafts"] < record["gen_drafts"]:
            out.append(record)
    return out


class LlamaServerJson(Importer):
    """The server's `timings` object (draft_n, draft_n_accepted), per
    response; streamed chunks repeat a request's running totals, so only the
    last chunk of each response id counts."""

    name = "llama-server-json"
    engine = ENGINE
    reads = "llama-server 'timings' JSON (draft_n, draft_n_accepted)"
    json_keys = ('"draft_n"',)

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.by_id: dict[str, tuple[str, int, int]] = {}

    def feed_json(self, where: str, value: Any) -> None:
        read: set[int] = set()  # timings objects already read through their response
        for item, _ in walk_objects(value):
            if id(item) in read:
                continue
            if isinstance(item.get("timings"), dict):
                timings, response = item["timings"], item.get("id")
                read.add(id(timings))
            elif "draft_n" in item and "draft_n_accepted" in item:
                timings, response = item, None  # a bare timings object (`jq .timings`)
            else:
                continue
            if "draft_n" not in timings:
                continue
            series = self.series_for(None)
            drafted, accepted = count(timings.get("draft_n")), count(timings.get("draft_n_accepted"))
            if drafted is None or accepted is None:
                self.warn(series, where, "timings without whole numbers draft_n and draft_n_accepted: skipped")
                continue
            if isinstance(response, str):
                self.by_id[response] = (where, drafted, accepted)
            else:
                self._add(series, where, drafted, accepted)

    def _add(self, series: Series, where: str, drafted: int, accepted: int) -> None:
        self.add_record(series, where, drafted=drafted, accepted=accepted)

    def finish(self) -> list[Series]:
        for where, drafted, accepted in self.by_id.values():
            self._add(self.series_for(None), where, drafted, accepted)
        for series in self.series.values():
            series.note("num_drafts: unknown; timings give drafted and accepted tokens, not the steps")
            series.figure("responses", series.records, "timings objects read (the last chunk of each streamed id)")
            if series.num_draft_tokens and series.num_accepted_tokens is not None:
                series.figure(
                    "draft_n_accepted / draft_n",
                    series.num_accepted_tokens / series.num_draft_tokens,
                    "accepted / drafted (specviz's draft acceptance rate)",
                )
        return super().finish()
