"""Simulation parameters and the one place their rules live.

Every front end (command line, TUI control panel, trace reader) builds a
`SimConfig` through `SimConfig(...)`, `SimConfig.replace(...)` or
`parse_field(...)`, so they all reject the same values with the same words.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from specviz.engine.catalog import method_names, model_names, policy_names

if TYPE_CHECKING:
    from specviz.engine.analysis.cost import CostModel

# k beyond this is never useful: even at alpha = 0.99 and c = 0.01 the optimal k
# is below 64, and each round stores O(k) numbers.
MAX_DRAFT_LENGTH = 64
# A hard stop against typos such as -n 1e12; 100M tokens is ~25 s of engine time.
MAX_TARGET_LENGTH = 100_000_000
MAX_SEED = 2**63 - 1


class TraceError(ValueError):
    """A trace that cannot be written or read. The message is one line.

    Defined here, beside ConfigError, and not in trace.py (which imports the
    engine and numpy): the command line catches both on every start.
    """


class ConfigError(ValueError):
    """A parameter value that the engine does not allow.

    The message is one line naming the parameter, the value given and what is
    allowed; front ends print it as it is.
    """

    def __init__(self, parameter: str, value: Any, allowed: str):
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        label = FIELD_LABELS.get(parameter, parameter)
        super().__init__(f"invalid {label}: {value!r} (allowed: {allowed})")


# The parts of a run, in the order front ends list them. Every knob belongs to
# exactly one: a reader (and `specviz --help`) sees which knobs a model pair, a
# verification method or the cost model reads, while SimConfig stays one flat,
# frozen value (callers, traces and the app's fields name knobs directly).
PARTS: dict[str, str] = {
    "run": "the run: how long, how many drafts a round, which random stream",
    "model pair": "the draft and target models (alpha: the synthetic pair; corpus: the n-gram pair)",
    "sampling": "how the models' distributions are reshaped before drafting and verifying",
    "verification": "the rule that keeps or rejects each draft",
    "drafting": "how many tokens the draft proposes each round",
    "cost": "what a draft pass and a target pass cost",
}


def _knob(default: Any, part: str, label: str) -> Any:
    """A SimConfig field: its default, its part, and its name in messages.

    The label names the CLI flag in brackets, so a reader of either front end
    knows which knob is meant.
    """
    assert part in PARTS, part
    return dataclasses.field(default=default, metadata={"part": part, "label": label})


@dataclass(frozen=True)
class SimConfig:
    """Everything that determines a run. Same config, same run, token for token.

    The field order is the trace header's key order: append new knobs, never reorder.
    """

    draft_length: int = _knob(5, "run", "draft length k (-k/--draft-length)")
    acceptance_rate: float = _knob(0.75, "model pair", "acceptance rate alpha (-a/--acceptance-rate)")
    target_length: int = _knob(50, "run", "target length n (-n/--target-length)")
    draft_cost: float = _knob(0.1, "cost", "draft cost ratio c (--draft-cost)")
    seed: int = _knob(42, "run", "seed (--seed)")
    model: str = _knob("synthetic", "model pair", "model pair (--model)")
    method: str = _knob("speculative", "verification", "verification method (--method)")
    draft_policy: str = _knob("fixed", "drafting", "draft-length policy (--draft-policy)")
    confidence_threshold: float = _knob(0.5, "drafting", "confidence threshold (--confidence-threshold)")
    target_pass_ms: float = _knob(100.0, "cost", "target pass time in ms (--target-ms)")
    verify_overhead: float = _knob(0.0, "cost", "verify overhead per drafted token (--verify-overhead)")
    prompt: str = _knob("Once upon a time", "run", "prompt (--prompt)")
    temperature: float = _knob(1.0, "sampling", "temperature (--temperature)")
    top_k: int = _knob(0, "sampling", "top-k (--top-k)")
    top_p: float = _knob(1.0, "sampling", "top-p (--top-p)")
    corpus: str | None = _knob(None, "model pair", "corpus path (--corpus)")
    typical_epsilon: float = _knob(0.09, "verification", "typical acceptance epsilon (--typical-epsilon)")
    typical_delta: float = _knob(0.3, "verification", "typical acceptance delta (--typical-delta)")

    def __post_init__(self) -> None:
        validate(self)

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with `changes` applied and validated (raises ConfigError)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def section(self, part: str) -> dict[str, Any]:
        """The knobs of one part (a key of PARTS) and their values, in field order."""
        if part not in PARTS:
            raise ConfigError("part", part, "one of " + ", ".join(PARTS))
        return {name: getattr(self, name) for name in fields_of(part)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimConfig:
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(
                unknown[0], data[unknown[0]], "one of " + ", ".join(f.name for f in dataclasses.fields(cls))
            )
        return cls(**data)

    @property
    def cost_model(self) -> CostModel:
        from specviz.engine.analysis.cost import CostModel

        return CostModel(self.target_pass_ms, self.draft_cost, self.verify_overhead)


def field_part(name: str) -> str:
    """The part (a key of PARTS) that the SimConfig field `name` belongs to."""
    part: str = _FIELDS[name].metadata["part"]
    return part


def fields_of(part: str) -> tuple[str, ...]:
    """The SimConfig fields of one part, in field order."""
    return tuple(name for name, f in _FIELDS.items() if f.metadata["part"] == part)


_FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(SimConfig)}

# Human names used in messages, from the fields; the analysis commands add
# their own parameters' names.
FIELD_LABELS: dict[str, str] = {name: f.metadata["label"] for name, f in _FIELDS.items()}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _int_in(name: str, value: Any, low: int, high: int) -> None:
    if not _is_int(value) or not low <= value <= high:
        raise ConfigError(name, value, f"an integer from {low:,} to {high:,}")


def _real_in(name: str, value: Any, low: float, high: float | None, allowed: str) -> None:
    if not _is_real(value) or value < low or (high is not None and value > high):
        raise ConfigError(name, value, allowed)


def validate(config: SimConfig) -> None:
    """Raise ConfigError for the first parameter that breaks its rule, part by part."""
    for part in PARTS:
        _RULES[part](config)


def _run_rules(config: SimConfig) -> None:
    _int_in("draft_length", config.draft_length, 1, MAX_DRAFT_LENGTH)
    _int_in("target_length", config.target_length, 1, MAX_TARGET_LENGTH)
    _int_in("seed", config.seed, 0, MAX_SEED)
    if not isinstance(config.prompt, str):
        raise ConfigError("prompt", config.prompt, "text")


def _model_pair_rules(config: SimConfig) -> None:
    if config.model not in model_names():
        raise ConfigError("model", config.model, "one of " + ", ".join(model_names()))
    _real_in("acceptance_rate", config.acceptance_rate, 0.0, 1.0, "a number from 0 to 1")
    if config.corpus is not None and (not isinstance(config.corpus, str) or not config.corpus):
        raise ConfigError("corpus", config.corpus, "a path to a plain-text file")


def _sampling_rules(config: SimConfig) -> None:
    if not _is_real(config.temperature) or not 0.0 < config.temperature <= 100.0:
        raise ConfigError("temperature", config.temperature, "a number > 0 and <= 100")
    _int_in("top_k", config.top_k, 0, 10_000_000)
    if not _is_real(config.top_p) or not 0.0 < config.top_p <= 1.0:
        raise ConfigError("top_p", config.top_p, "a number > 0 and <= 1")


def _verification_rules(config: SimConfig) -> None:
    if config.method not in method_names():
        raise ConfigError("method", config.method, "one of " + ", ".join(method_names()))
    _real_in("typical_epsilon", config.typical_epsilon, 0.0, 1.0, "a number from 0 to 1")
    _real_in("typical_delta", config.typical_delta, 0.0, None, "a finite number >= 0")


def _drafting_rules(config: SimConfig) -> None:
    if config.draft_policy not in policy_names():
        raise ConfigError("draft_policy", config.draft_policy, "one of " + ", ".join(policy_names()))
    _real_in("confidence_threshold", config.confidence_threshold, 0.0, 1.0, "a number from 0 to 1")


def _cost_rules(config: SimConfig) -> None:
    _real_in("draft_cost", config.draft_cost, 0.0, None, "a finite number >= 0")
    if not _is_real(config.target_pass_ms) or config.target_pass_ms <= 0:
        raise ConfigError("target_pass_ms", config.target_pass_ms, "a finite number > 0")
    _real_in("verify_overhead", config.verify_overhead, 0.0, None, "a finite number >= 0")


# Each part's rules; a test checks that every part has them.
_RULES: dict[str, Callable[[SimConfig], None]] = {
    "run": _run_rules,
    "model pair": _model_pair_rules,
    "sampling": _sampling_rules,
    "verification": _verification_rules,
    "drafting": _drafting_rules,
    "cost": _cost_rules,
}


def parse_int(name: str, text: str) -> int:
    cleaned = text.strip().replace("_", "").replace(",", "")
    try:
        return int(cleaned)
    except ValueError:
        pass
    # Accept 1e6 style for counts, but only when it is a whole number.
    try:
        as_float = float(cleaned)
    except ValueError:
        as_float = math.nan
    if math.isfinite(as_float) and as_float == int(as_float):
        return int(as_float)
    raise ConfigError(name, text, "a whole number")


def parse_float(name: str, text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ConfigError(name, text, "a number") from None
    if not math.isfinite(value):
        raise ConfigError(name, text, "a finite number")
    return value


def _parse_text(name: str, text: str) -> str:
    return text


def _parse_optional_text(name: str, text: str) -> str | None:
    return text if text.strip() else None


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    f.name: {
        "int": parse_int,
        "float": parse_float,
        "str": _parse_text,
        "str | None": _parse_optional_text,
    }[str(f.type)]  # the annotation's text, under `from __future__ import annotations`
    for f in dataclasses.fields(SimConfig)
}


def parse_field(name: str, text: str) -> Any:
    """Turn the text a person typed for field `name` into its value (unchecked range)."""
    if name not in _PARSERS:
        raise ConfigError(name, text, "one of " + ", ".join(_PARSERS))
    return _PARSERS[name](name, text)


def config_from_text(base: SimConfig, fields: dict[str, str]) -> SimConfig:
    """`base` with each field replaced by its parsed text; raises ConfigError."""
    return base.replace(**{name: parse_field(name, text) for name, text in fields.items()})
