"""Text Generation Inference: the `tgi_request_skipped_tokens` histogram (REFERENCE §6).

TGI observes, per decode step, the tokens emitted beyond the first: the kept
drafts. Its buckets are 0, 1, ..., speculate, so the histogram is the whole
law of kept drafts per step; its count is the steps and its sum the accepted.
"""

from __future__ import annotations

import math
from typing import Any

from specviz.engine.io.importers.base import Importer, Problems, Series, cumulative_total
from specviz.engine.io.importers.prometheus import BadSample, label_text, parse_sample

ENGINE = "TGI"
METRIC = "tgi_request_skipped_tokens"


class TgiHistogram(Importer):
    name = "tgi"
    engine = ENGINE
    reads = "TGI's Prometheus histogram tgi_request_skipped_tokens"

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        # (labels, part) -> [(where, value)]; part: "count", "sum" or a bucket's le
        self.samples: dict[tuple[Any, Any], list[tuple[str, float]]] = {}

    def feed_line(self, where: str, line: str) -> None:
        try:
            sample = parse_sample(line, (METRIC,))
        except BadSample as error:
            self.warn(None, where, f"a {METRIC} sample that cannot be read ({error}): skipped")
            return
        if sample is None:
            return
        part: Any
        if sample.name == METRIC + "_count":
            part = "count"
        elif sample.name == METRIC + "_sum":
            part = "sum"
        elif sample.name == METRIC + "_bucket":
            le = sample.label("le")
            try:
                part = float(le) if le is not None else None
            except ValueError:
                part = None
            if part is None:
                self.warn(None, where, f"a {METRIC} bucket without a numeric le label: skipped")
                return
        else:
            return
        labels = sample.without("le")
        self.series_for(labels, label_text(labels))
        self.samples.setdefault((labels, part), []).append((where, sample.value))

    def finish(self) -> list[Series]:
        out = []
        for labels, series in self.series.items():
            parts = {part: values for (key, part), values in self.samples.items() if key == labels}
            totals: dict[Any, float] = {}
            for part, values in parts.items():
                total, restarts = cumulative_total([value for _, value in values])
                totals[part] = total
                series.records = max(series.records, len(values))
                series.first, series.last = series.first or values[0][0], values[-1][0]
                if part == "count":
                    for i in restarts:
                        self.warn(
                            series,
                            values[i][0],
                            f"{METRIC}_count went down from {values[i - 1][1]:,.0f} to {values[i][1]:,.0f} "
                            "(a restarted server?): counted as a restart, the counts before and after are added",
                        )
            steps = round(totals["count"]) if "count" in totals else None
            accepted = round(totals["sum"]) if "sum" in totals else None
            buckets = sorted(part for part in totals if isinstance(part, float))
            finite = [le for le in buckets if math.isfinite(le)]
            histogram = k = None
            if finite and finite == [float(j) for j in range(len(finite))]:
                cumulative = [round(totals[le]) for le in finite]
                histogram = [cumulative[0]] + [cumulative[j] - cumulative[j - 1] for j in range(1, len(cumulative))]
                k = len(finite) - 1
                if any(n < 0 for n in histogram):
                    self.warn(series, series.last, "bucket counts fall as le grows: the histogram is not used")
                    histogram = None
                overflow = round(totals.get(math.inf, cumulative[-1])) - cumulative[-1]
                if overflow:
                    self.warn(series, series.last, f"{overflow:,} steps skipped more than the largest bucket, {k}")
                if steps is not None and histogram is not None and sum(histogram) + overflow != steps:
                    self.warn(series, series.last, f"the buckets count {sum(histogram):,} steps, not {steps:,}")
                if accepted is not None and histogram is not None:
                    kept = sum(j * n for j, n in enumerate(histogram))
                    if kept != accepted and not overflow:
                        self.warn(series, series.last, f"the buckets keep {kept:,} drafts, not the sum {accepted:,}")
            elif finite:
                series.note("buckets are not 0, 1, ..., k: only the sum and count are used")
            if steps is None and histogram is not None:
                steps = sum(histogram)
            drafted = steps * k if steps is not None and k is not None else None
            series.set_totals(drafts=steps, drafted=drafted, accepted=accepted, histogram=histogram, draft_length=k)
            series.note("counters: cumulative; totalled over the scrapes in the file, across restarts")
            if drafted is not None:
                series.note("num_draft_tokens: steps × k, TGI drafting `speculate` = k tokens every step")
            if k is not None:
                series.note("draft_length: the largest bucket (TGI's buckets run 0 to speculate)")
            if steps:
                series.figure(
                    f"{METRIC} mean",
                    totals.get("sum", 0.0) / totals["count"] if totals.get("count") else None,
                    "tokens emitted - 1 per step: kept drafts per step (its mean + 1 is the mean acceptance length)",
                )
            out.append(series)
        return out
