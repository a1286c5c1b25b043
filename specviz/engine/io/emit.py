"""A run's statistics as real engines print them (REFERENCE §6): `specviz run --emit FORMAT`.

The inverse of the importers, so `specviz run --emit vllm | specviz import -`
gives back the run's own counts, and so a reader can see what an engine
would report for a given alpha and k. Each format follows its engine's
definitions, computed from RunStats' raw counters:

- vllm: one `SpecDecoding metrics:` line (the newest order) per 10 s of
  simulated time, each over the steps since the line before, as vLLM's
  logger prints and resets; a step that drafts nothing is no vLLM "draft";
- vllm-prometheus: the four counters, one scrape at the end of the run;
- llama.cpp: the closing block of the speculative-simple example;
- sglang: one `Decode batch` line over the whole run (SGLang prints one per
  --decode-log-interval steps; the whole run is one interval here).

Timestamps run on the simulated clock (the cost model's time), from a fixed
start, so the output is the same for the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from specviz.engine.run.rounds import Round
from specviz.engine.run.stats import RunStats

EMIT_FORMATS: dict[str, str] = {
    "vllm": "vLLM v1 'SpecDecoding metrics:' log lines, one per 10 s of simulated time",
    "vllm-prometheus": "vLLM's Prometheus counters (vllm:spec_decode_*), one scrape",
    "llama.cpp": "the llama.cpp speculative-simple example's closing block",
    "sglang": "one SGLang 'Decode batch' log line over the run",
}
VLLM_LOG_INTERVAL_S = 10.0  # vLLM's default stats logging interval
CLOCK_START = datetime(2025, 1, 1, tzinfo=UTC)  # the emitted logs' clock starts here


@dataclass(frozen=True)
class Counts:
    """RunStats' raw counters at one moment, in vLLM's terms."""

    drafts: int  # steps that drafted at least one token
    steps: int  # every step (target pass)
    drafted: int
    accepted: int
    position_accepted: list[int]

    @classmethod
    def of(cls, stats: RunStats) -> Counts:
        empty = stats.drafted_histogram[0] if stats.drafted_histogram else 0
        return cls(stats.rounds - empty, stats.rounds, stats.drafted, stats.accepted, stats.position_accepted)

    def minus(self, earlier: Counts) -> Counts:
        positions = [
            n - (earlier.position_accepted[i] if i < len(earlier.position_accepted) else 0)
            for i, n in enumerate(self.position_accepted)
        ]
        return Counts(
            self.drafts - earlier.drafts,
            self.steps - earlier.steps,
            self.drafted - earlier.drafted,
            self.accepted - earlier.accepted,
            positions,
        )


class EmitRecorder:
    """Follows a run round by round on the simulated clock and keeps the
    counters at each logging tick (vLLM logs every 10 s of wall time)."""

    def __init__(self, simulation: Any, interval_s: float = VLLM_LOG_INTERVAL_S) -> None:
        self.simulation = simulation
        self.interval_ms = interval_s * 1000.0
        self.clock_ms = 0.0
        self.ticks: list[tuple[float, Counts]] = []  # (tick time in ms, counters then)
        self.next_tick_ms = self.interval_ms
        simulation.add_listener(self.round_done)

    def round_done(self, round_: Round) -> None:
        drafted = len(round_.drafted)
        cost = self.simulation.cost_model.breakdown(
            1, round_.draft_passes, drafted, round_.accepted + 1, 1 if drafted else 0
        )
        self.clock_ms += cost.total_ms
        if self.clock_ms > self.next_tick_ms:
            # This round ended past the tick: the tick's line covers the rounds before it.
            self.ticks.append((self.next_tick_ms, self._before(round_)))
            while self.next_tick_ms <= self.clock_ms:
                self.next_tick_ms += self.interval_ms

    def _before(self, round_: Round) -> Counts:
        """The counters before `round_`, the round just recorded (cheaper than a copy every round)."""
        now = Counts.of(self.simulation.stats)
        drafted = len(round_.drafted)
        positions = list(now.position_accepted)
        for i in range(round_.accepted):
            positions[i] -= 1
        return Counts(
            now.drafts - (1 if drafted else 0),
            now.steps - 1,
            now.drafted - drafted,
            now.accepted - round_.accepted,
            positions,
        )

    def intervals(self) -> list[tuple[float, float, Counts]]:
        """(tick in ms, seconds since the previous tick, counts in the interval), the last partial one included."""
        final = Counts.of(self.simulation.stats)
        marks = [*self.ticks, (self.next_tick_ms, final)]
        out, previous_ms, previous = [], 0.0, Counts(0, 0, 0, 0, [])
        for tick_ms, counts in marks:
            interval = counts.minus(previous)
            if interval.steps:
                out.append((tick_ms, (tick_ms - previous_ms) / 1000.0, interval))
            previous_ms, previous = tick_ms, counts
        return out


def emit(format: str, recorder: EmitRecorder) -> str:
    """The run `recorder` followed, printed as `format` (a key of EMIT_FORMATS)."""
    simulation = recorder.simulation
    config = simulation.config
    # vLLM lists k positions (num_speculative_tokens); a dynamic policy may draft past the starting k.
    k = max(config.draft_length, len(simulation.stats.position_accepted))
    if format == "vllm":
        return "".join(_vllm_line(tick, seconds, counts, k) for tick, seconds, counts in recorder.intervals())
    total = Counts.of(simulation.stats)
    seconds = recorder.clock_ms / 1000.0
    if format == "vllm-prometheus":
        return _prometheus(total, k, f"specviz/{config.model}")
    if format == "llama.cpp":
        return _llamacpp(total, config.draft_length, seconds, simulation.stats.emitted)
    if format == "sglang":
        return _sglang(total, config.draft_length, seconds, simulation.stats.emitted)
    raise ValueError(f"unknown emit format {format!r} (allowed: {', '.join(EMIT_FORMATS)})")


def _timestamp(tick_ms: float, pattern: str) -> str:
    return (CLOCK_START + timedelta(milliseconds=tick_ms)).strftime(pattern)


def _vllm_line(tick_ms: float, seconds: float, counts: Counts, k: int) -> str:
    if not counts.drafts:
        return ""  # vLLM logs nothing for an interval without drafts
    positions = counts.position_accepted + [0] * (k - len(counts.position_accepted))
    rates = ", ".join(f"{n / counts.drafts:.3f}" for n in positions)
    rate = 100 * counts.accepted / counts.drafted if counts.drafted else float("nan")
    return (
        f"(APIServer pid=1) INFO {_timestamp(tick_ms, '%m-%d %H:%M:%S')} [metrics.py:101] SpecDecoding metrics: "
        f"Mean acceptance length: {1 + counts.accepted / counts.drafts:.2f}, "
        f"Accepted throughput: {counts.accepted / seconds:.2f} tokens/s, "
        f"Drafted throughput: {counts.drafted / seconds:.2f} tokens/s, "
        f"Accepted: {counts.accepted} tokens, Drafted: {counts.drafted} tokens, "
        f"Per-position acceptance rate: {rates}, Avg Draft acceptance rate: {rate:.1f}%\n"
    )


def _prometheus(counts: Counts, k: int, model: str) -> str:
    labels = f'engine="0",model_name="{_label_value(model)}"'
    counters = [
        ("vllm:spec_decode_num_drafts", "Number of spec decoding drafts.", counts.drafts),
        ("vllm:spec_decode_num_draft_tokens", "Number of draft tokens.", counts.drafted),
        ("vllm:spec_decode_num_accepted_tokens", "Number of accepted tokens.", counts.accepted),
    ]
    lines = []
    for name, help_text, value in counters:
        lines += [
            f"# HELP {name}_total {help_text}",
            f"# TYPE {name}_total counter",
            f"{name}_total{{{labels}}} {value:.1f}",
        ]
    name = "vllm:spec_decode_num_accepted_tokens_per_pos"
    lines += [f"# HELP {name}_total Accepted tokens per draft position.", f"# TYPE {name}_total counter"]
    positions = counts.position_accepted + [0] * (k - len(counts.position_accepted))
    lines += [f'{name}_total{{{labels},position="{i}"}} {n:.1f}' for i, n in enumerate(positions)]
    return "\n".join(lines) + "\n"


def _label_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _llamacpp(counts: Counts, k: int, seconds: float, emitted: int) -> str:
    accept = 100.0 * counts.accepted / counts.drafted if counts.drafted else 0.0
    speed = emitted / seconds if seconds > 0 else 0.0
    return (
        f"\n\ndecoded {emitted:4d} tokens in {seconds:8.3f} seconds, speed: {speed:8.3f} t/s\n\n"
        f"n_draft   = {k}\n"
        f"n_predict = {emitted}\n"
        f"n_drafted = {counts.drafted}\n"
        f"n_accept  = {counts.accepted}\n"
        f"accept    = {accept:.3f}%\n"
    )


def _sglang(counts: Counts, k: int, seconds: float, emitted: int) -> str:
    # SGLang: accept len = tokens per verify step (bonus included); accept
    # rate (lately) = correct drafts / (steps × speculative_num_steps).
    steps = counts.steps
    accept_len = emitted / steps if steps else 0.0
    accept_rate = counts.accepted / (steps * k) if steps and k else 0.0
    throughput = emitted / seconds if seconds > 0 else 0.0
    stamp = _timestamp(seconds * 1000.0, "%Y-%m-%d %H:%M:%S")
    return (
        f"[{stamp}] Decode batch, #running-req: 1, #token: {emitted}, token usage: 0.00, "
        f"accept len: {accept_len:.2f}, accept rate: {accept_rate:.2f}, cuda graph: True, "
        f"gen throughput (token/s): {throughput:.2f}, #queue-req: 0, \n"
    )
