"""TensorRT-LLM: per-iteration `specDecodingStats` (REFERENCE §6).

Each iteration gives numDraftTokens, numAcceptedTokens (kept drafts, no
bonus), numRequestsWithDraftTokens (one verification step per such request),
acceptanceLength (tokens per step, the bonus included), iterLatencyMS and
draftOverhead (the draft's share of the iteration's time: a measured cost).
"""

from __future__ import annotations

from typing import Any

from specviz.engine.io.importers.base import Importer, Problems, Series, count, real, walk_objects

ENGINE = "TensorRT-LLM"


class TrtllmStats(Importer):
    name = "trtllm"
    engine = ENGINE
    reads = "TensorRT-LLM iteration stats JSON ('specDecodingStats')"
    json_keys = ('"specDecodingStats"',)

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.overhead = [0.0, 0.0]  # sum of draftOverhead × latency, sum of latency
        self.ratios: set[float] = set()  # drafted per step, iteration by iteration

    def feed_json(self, where: str, value: Any) -> None:
        for item, _ in walk_objects(value):
            stats = item.get("specDecodingStats")
            if stats is None:
                continue
            series = self.series_for(None)
            if not isinstance(stats, dict):
                self.warn(series, where, "specDecodingStats is not an object: skipped")
                continue
            drafted, accepted = count(stats.get("numDraftTokens")), count(stats.get("numAcceptedTokens"))
            steps = count(stats.get("numRequestsWithDraftTokens"))
            if drafted is None or accepted is None or steps is None:
                self.warn(
                    series,
                    where,
                    "specDecodingStats without whole numbers numDraftTokens, numAcceptedTokens and "
                    "numRequestsWithDraftTokens: skipped",
                )
                continue
            length = real(stats.get("acceptanceLength"))
            if length is not None and steps and abs(length - (accepted + steps) / steps) > 1e-3:
                self.warn(
                    series,
                    where,
                    f"acceptanceLength {length} is not (numAcceptedTokens + numRequestsWithDraftTokens) / "
                    f"numRequestsWithDraftTokens = {(accepted + steps) / steps:.4f}",
                )
            if steps:
                self.ratios.add(drafted / steps)
            overhead, latency = real(stats.get("draftOverhead")), real(stats.get("iterLatencyMS"))
            if latency is None:
                latency = real(item.get("iterLatencyMS"))
            if overhead is not None and latency and 0 <= overhead <= 1:
                self.overhead[0] += overhead * latency
                self.overhead[1] += latency
            if not self.add_record(series, where, drafts=steps, drafted=drafted, accepted=accepted):
                continue

    def finish(self) -> list[Series]:
        for series in self.series.values():
            series.figure("iterations", series.records, "specDecodingStats objects read")
            if series.num_drafts and series.num_accepted_tokens is not None:
                series.figure(
                    "acceptanceLength",
                    (series.num_accepted_tokens + series.num_drafts) / series.num_drafts,
                    "tokens per step, the bonus included (specviz's mean acceptance length)",
                )
            if len(self.ratios) == 1:
                (ratio,) = self.ratios
                if ratio == int(ratio) and ratio >= 1:
                    series.draft_length = int(ratio)
                    series.note("draft_length: numDraftTokens / numRequestsWithDraftTokens, the same every iteration")
            if series.draft_length is None:
                series.note("draft_length: not in specDecodingStats (give -k)")
            if self.overhead[1]:
                share = self.overhead[0] / self.overhead[1]
                series.figure(
                    "draftOverhead",
                    share,
                    "draft time / iteration time, weighted by iterLatencyMS: a measured cost of drafting",
                )
                k = series.draft_length
                if k and share < 1:
                    # The share o = k c / (k c + 1) of a round of k drafts gives c = o / (k (1 - o)).
                    series.note(
                        f"draftOverhead {share:.3f} at k = {k} means a draft pass costs about "
                        f"c = {share / (k * (1 - share)):.3g} of a target pass: try --draft-cost with it"
                    )
        return super().finish()
