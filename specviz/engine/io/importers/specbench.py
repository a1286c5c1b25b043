"""Spec-Bench: benchmark answers as JSON lines (REFERENCE §6).

Each answer has a `category` and `choices[0]` with `accept_lengths`: the
tokens of each decoding step, the bonus included (EAGLE's tau), flat or per
turn. That is the whole law of tokens per step; Spec-Bench records no draft
counts, and its methods often verify trees, so "position" is depth there.
"""

from __future__ import annotations

from typing import Any

from specviz.engine.io.importers.base import Importer, Problems, Series, printable, real

ENGINE = "Spec-Bench"


class SpecBench(Importer):
    name = "spec-bench"
    engine = ENGINE
    reads = "Spec-Bench answer JSON lines (accept_lengths per turn, by category)"
    json_keys = ('"accept_lengths"',)

    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        self.timing: dict[Any, list[float]] = {}  # key -> [new tokens, wall seconds]

    def feed_json(self, where: str, value: Any) -> None:
        answers = value if isinstance(value, list) else [value]
        for answer in answers:
            if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
                continue
            choices = [
                choice for choice in answer["choices"] if isinstance(choice, dict) and "accept_lengths" in choice
            ]
            if not choices:
                continue
            category = answer.get("category")
            model = answer.get("model_id")
            key = (model if isinstance(model, str) else None, category if isinstance(category, str) else None)
            label = ", ".join(
                f"{name} {printable(text, 60)}" for name, text in zip(("model", "category"), key) if text is not None
            )
            series = self.series_for(key, label)
            choice = choices[0]
            lengths = _flatten(choice["accept_lengths"])
            if lengths is None:
                self.warn(series, where, "accept_lengths is not a list of numbers (or of lists per turn): skipped")
                continue
            bad = [length for length in lengths if not (length == int(length) and length >= 1)]
            if bad:
                self.warn(
                    series,
                    where,
                    f"{len(bad):,} accept_lengths below 1 or not whole (a step emits a whole number >= 1 of "
                    "tokens): left out",
                )
            steps = [int(length) for length in lengths if length == int(length) and length >= 1]
            histogram = [0] * (max(steps, default=1))
            for length in steps:
                histogram[length - 1] += 1
            series.add(where, drafts=len(steps), accepted=sum(steps) - len(steps), histogram=histogram)
            tokens, seconds = _total(choice.get("new_tokens")), _total(choice.get("wall_time"))
            timing = self.timing.setdefault(key, [0.0, 0.0])
            if tokens is not None and seconds is not None and timing is not None:
                timing[0] += tokens
                timing[1] += seconds
            else:
                self.timing[key] = None  # type: ignore[assignment]

    def finish(self) -> list[Series]:
        for key, series in self.series.items():
            series.figure("answers", series.records, "answers read")
            if series.num_drafts and series.num_accepted_tokens is not None:
                series.figure(
                    "mean accepted tokens (tau)",
                    (series.num_accepted_tokens + series.num_drafts) / series.num_drafts,
                    "tokens per step, the bonus included (specviz's mean acceptance length)",
                )
            timing = self.timing.get(key)
            if timing and timing[1] > 0:
                series.figure("tokens/s", timing[0] / timing[1], "new_tokens / wall_time over the answers")
            series.note("num_draft_tokens: Spec-Bench records none")
            series.note("draft_length: not recorded (give -k)")
            series.note(
                "tree methods (EAGLE, Medusa) verify several candidates a step: positions are depths, and "
                "advice for a chain of k drafts may not carry over"
            )
        return super().finish()


def _flatten(value: Any) -> list[float] | None:
    if not isinstance(value, list):
        return None
    out: list[float] = []
    for item in value:
        if isinstance(item, list):
            inner = _flatten(item)
            if inner is None:
                return None
            out.extend(inner)
        else:
            number = real(item)
            if number is None:
                return None
            out.append(number)
    return out


def _total(value: Any) -> float | None:
    if isinstance(value, list):
        parts = [real(item) for item in value]
        return None if any(part is None for part in parts) else sum(parts)  # type: ignore[arg-type]
    return real(value)
