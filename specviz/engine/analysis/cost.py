"""What a round costs in wall time: the constant-ratio model of REFERENCE §5 and the forward-pass model of §7.

The forward-pass model prices a pass of the target by what it scores:
`T(n, m) = fixed_ms + per_token_ms · n + per_kv_token_ms · m` for n scored
tokens attending to m cached ones. With batch size b and context length L,
plain decoding emits b tokens per pass T(b, b·L); a speculative round verifies
b·(k+1) tokens in one pass T(b·(k+1), b·L), after drafting them:

- `model`: a separate draft model, k sequential passes of b tokens each;
- `head`: an EAGLE/Medusa-style head, one proposal of b·k tokens per round;
- `free`: n-gram or prompt-lookup drafting, priced like a head (near zero).

An optional overhead is paid per speculative step. At batch 1 a pass is
memory-bound and T(k+1, L) is little more than T(1, L), so speculation wins;
as b·(k+1) grows the pass becomes compute-bound and it stops paying.

Runs price themselves with `CostModel`: the forward-pass model evaluated at
one (b, L), written as ratios to the plain step's time T. Today's
`--draft-cost c` and `--verify-overhead v` are the special case with no
per-step terms: a draft pass costs c·T and verifying k drafts T (1 + v k),
computed with the same arithmetic as before, so every earlier figure stays
exactly what it was.

numpy-free: the app and `specviz theory` price rounds before numpy loads.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from specviz.engine.catalog import PROMPT_LOOKUP
from specviz.engine.run.config import MAX_TARGET_PASS_MS, ConfigError, SimConfig, check_batch

DRAFT_KINDS = ("model", "head", "free")
# Batch sizes the theory tabulates (1, 2, 4, ..., 512).
BATCH_SIZES = tuple(2**i for i in range(10))
# A pass priced beyond this is a typo, and sums of such passes over a long run
# would overflow: the same bound as --target-ms (config.py says why).
MAX_PASS_MS = MAX_TARGET_PASS_MS


class CostModelError(ConfigError):
    """A cost model (file or preset) that cannot be used. The message is one line, naming the key."""

    def __init__(self, message: str) -> None:
        ValueError.__init__(self, message)
        self.parameter, self.value, self.allowed = "cost_model", None, message


@dataclass(frozen=True)
class PassCost:
    """One forward pass: fixed_ms + per_token_ms · (tokens scored) + per_kv_token_ms · (cached tokens read)."""

    fixed_ms: float = 0.0
    per_token_ms: float = 0.0
    per_kv_token_ms: float = 0.0

    def ms(self, tokens: float, kv_tokens: float) -> float:
        return self.fixed_ms + self.per_token_ms * tokens + self.per_kv_token_ms * kv_tokens


@dataclass(frozen=True)
class ForwardPassModel:
    """A target and a draft priced per forward pass, as measured on some hardware."""

    target: PassCost
    draft: PassCost
    draft_kind: str = "model"
    overhead_ms: float = 0.0  # per speculative step (scheduling, rejection sampling)
    name: str = ""
    source: str = ""

    def plain_step_ms(self, batch_size: int, context_length: int) -> float:
        """One pass of plain decoding: b tokens, one per sequence."""
        return self.target.ms(batch_size, batch_size * context_length)

    def verify_ms(self, k: int, batch_size: int, context_length: int) -> float:
        """The target's one pass over b·(k+1) tokens."""
        return self.target.ms(batch_size * (k + 1), batch_size * context_length)

    def draft_ms(self, k: int, batch_size: int, context_length: int) -> float:
        """The draft's work for one round of k drafts per sequence (0 when k = 0)."""
        if k == 0:
            return 0.0
        if self.draft_kind == "model":
            return k * self.draft.ms(batch_size, batch_size * context_length)
        kv = batch_size * context_length if self.draft_kind == "head" else 0
        return self.draft.ms(batch_size * k, kv)

    def at(self, batch_size: int = 1, context_length: int = 0) -> CostModel:
        """This model at batch size b and context length L, as ratios to the plain step."""
        check_batch(batch_size, context_length)
        plain = self.plain_step_ms(batch_size, context_length)
        if not 0 < plain <= MAX_PASS_MS:
            raise CostModelError(
                f"cost model {self.name or '(file)'}: a plain step prices at {plain:g} ms "
                f"at batch {batch_size}; allowed: > 0 and <= {MAX_PASS_MS:g} ms"
            )
        per_drafted = self.target.per_token_ms * batch_size / plain
        if self.draft_kind == "model":
            draft_pass, round_cost, token_cost = (
                self.draft.ms(batch_size, batch_size * context_length) / plain,
                0.0,
                0.0,
            )
        else:
            kv = batch_size * context_length if self.draft_kind == "head" else 0
            draft_pass = 0.0
            round_cost = self.draft.ms(0, kv) / plain
            token_cost = self.draft.per_token_ms * batch_size / plain
        return CostModel(
            target_pass_ms=plain,
            draft_cost=draft_pass,
            verify_overhead=per_drafted,
            draft_round_cost=round_cost,
            draft_token_cost=token_cost,
            step_overhead=self.overhead_ms / plain,
            batch_size=batch_size,
            context_length=context_length,
            forward_pass=self,
        )


@dataclass(frozen=True)
class CostBreakdown:
    target_ms: float  # time in target passes, verify overhead included
    draft_ms: float  # time drafting (draft passes, or a head's proposals)
    total_ms: float  # speculative wall time
    baseline_ms: float  # plain target decoding of the same tokens
    speedup: float  # baseline_ms / total_ms
    overhead_ms: float = 0.0  # the per-step overhead, when the model has one

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class CostModel:
    """What a run's passes cost, in units of the plain step's time T = `target_pass_ms`.

    A draft pass costs `draft_cost`·T; verifying k drafts T (1 + `verify_overhead`·k);
    a round that drafts adds (`draft_round_cost` + `draft_token_cost`·k + `step_overhead`)·T,
    which a head's proposal and the per-step overhead fill in and the
    constant-ratio model leaves at 0.
    """

    target_pass_ms: float = 100.0
    draft_cost: float = 0.1
    verify_overhead: float = 0.0
    draft_round_cost: float = 0.0
    draft_token_cost: float = 0.0
    step_overhead: float = 0.0
    batch_size: int = 1
    context_length: int = 0
    # The forward-pass model this was evaluated from; None for the constant-ratio model.
    forward_pass: ForwardPassModel | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.forward_pass.name if self.forward_pass is not None else "constant ratio"

    def round_units(self, k: int) -> float:
        """One round of k drafts (per sequence) in plain-step units."""
        return self.tree_round_units(k, k)

    def tree_round_units(self, draft_passes: float, nodes: float) -> float:
        """One round of `draft_passes` draft passes whose target pass verifies
        `nodes` drafted tokens, in plain-step units: a chain of k is (k, k), a
        token tree one pass per level and every node scored (means over a
        run's rounds work too: the units are linear in both)."""
        units = draft_passes * self.draft_cost + 1.0 + self.verify_overhead * nodes
        if nodes and (self.draft_round_cost or self.draft_token_cost or self.step_overhead):
            units += self.draft_round_cost + self.draft_token_cost * nodes + self.step_overhead
        return units

    def expected_speedup(self, tokens_per_round: float, k: int) -> float:
        """E[tokens per round] · T / (round time): the speedup of rounds of k drafts."""
        return tokens_per_round / self.round_units(k)

    def verify_pass_ms(self, k: int) -> float:
        return self.target_pass_ms * (1.0 + self.verify_overhead * k)

    def draft_ms_per_round(self, k: int) -> float:
        """Drafting and the step overhead for one round of k drafts."""
        return self.target_pass_ms * (self.round_units(k) - 1.0 - self.verify_overhead * k)

    def at(self, batch_size: int, context_length: int | None = None) -> CostModel:
        """The same hardware at another batch size (the constant-ratio model does not depend on it)."""
        length = self.context_length if context_length is None else context_length
        if self.forward_pass is None:
            check_batch(batch_size, length)
            return replace(self, batch_size=batch_size, context_length=length)
        return self.forward_pass.at(batch_size, length)

    def breakdown(
        self, rounds: int, draft_passes: int, verified_drafts: int, emitted: int, drafting_rounds: int | None = None
    ) -> CostBreakdown:
        """Cost of a run with `rounds` target passes, `draft_passes` draft passes,
        `verified_drafts` drafted tokens scored by the target, `emitted` tokens and
        `drafting_rounds` rounds that drafted at least one token (default: all)."""
        target_ms = self.target_pass_ms * (rounds + self.verify_overhead * verified_drafts)
        draft_ms = self.target_pass_ms * self.draft_cost * draft_passes
        overhead_ms = 0.0
        if self.draft_round_cost or self.draft_token_cost or self.step_overhead:
            drafting = rounds if drafting_rounds is None else drafting_rounds
            draft_ms += self.target_pass_ms * (
                self.draft_round_cost * drafting + self.draft_token_cost * verified_drafts
            )
            overhead_ms = self.target_pass_ms * self.step_overhead * drafting
        total_ms = target_ms + draft_ms + overhead_ms
        baseline_ms = self.target_pass_ms * emitted
        speedup = baseline_ms / total_ms if total_ms > 0 else 0.0
        return CostBreakdown(target_ms, draft_ms, total_ms, baseline_ms, speedup, overhead_ms)

    def describe(self) -> dict[str, Any]:
        """The model as JSON: its name and source, b and L, and the three passes."""
        data: dict[str, Any] = {
            "name": self.name,
            "source": self.forward_pass.source if self.forward_pass is not None else "REFERENCE §5",
            "batch_size": self.batch_size,
            "context_length": self.context_length,
            "plain_pass_ms": self.target_pass_ms,
        }
        if self.forward_pass is not None:
            data["draft_kind"] = self.forward_pass.draft_kind
            data["target"] = asdict(self.forward_pass.target)
            data["draft"] = asdict(self.forward_pass.draft)
            data["overhead_ms"] = self.forward_pass.overhead_ms
        return data


def cost_model_for(config: SimConfig) -> CostModel:
    """The cost model a run of `config` is priced with, at its batch size and context length.

    Prompt lookup (--draft prompt-lookup) runs no draft model: its drafts are
    priced as `free` and cost nothing (a lookup in the text is microseconds
    against a pass's milliseconds)."""
    lookup = config.draft == PROMPT_LOOKUP
    if config.cost_model is None:
        return CostModel(
            config.target_pass_ms,
            0.0 if lookup else config.draft_cost,
            config.verify_overhead,
            batch_size=config.batch_size,
            context_length=config.context_length,
        )
    model = load_cost_model(config.cost_model)
    if lookup:
        model = replace(model, draft=PassCost(), draft_kind="free")
    return model.at(config.batch_size, config.context_length)


# ---- cost files and presets ---------------------------------------------------------

PASS_KEYS = ("fixed_ms", "per_token_ms", "per_kv_token_ms")
TOP_KEYS = ("name", "source", "overhead_ms", "target", "draft")


def preset_names() -> tuple[str, ...]:
    """The presets shipped in specviz/engine/analysis/presets/, by file stem."""
    folder = resources.files("specviz.engine.analysis") / "presets"
    return tuple(sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")))


def load_cost_model(name_or_path: str) -> ForwardPassModel:
    """A preset by name, or a TOML cost file by path; raises CostModelError (one line)."""
    if name_or_path in preset_names():
        text = (resources.files("specviz.engine.analysis") / "presets" / f"{name_or_path}.toml").read_text("utf-8")
        return parse_cost_model(text, name_or_path)
    path = Path(name_or_path)
    if not path.suffix == ".toml" and not path.exists():
        raise CostModelError(
            f"unknown cost model {name_or_path!r} (allowed: a preset, one of {', '.join(preset_names())}, "
            "or a path to a .toml cost file)"
        )
    try:
        if not path.is_file():
            raise CostModelError(f"cost file {name_or_path}: not a regular file")
        if path.stat().st_size > 64 * 1024:
            raise CostModelError(f"cost file {name_or_path}: larger than 64 KB; a cost file is a few lines")
        text = path.read_text("utf-8")
    except OSError as error:
        raise CostModelError(f"cost file {name_or_path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CostModelError(f"cost file {name_or_path}: not UTF-8 text") from None
    return parse_cost_model(text, name_or_path)


def parse_cost_model(text: str, where: str) -> ForwardPassModel:
    """A ForwardPassModel from a cost file's TOML text; `where` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CostModelError(f"cost file {where}: not valid TOML ({error})") from None
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        raise CostModelError(f"cost file {where}: unknown key {unknown[0]!r} (allowed: {', '.join(TOP_KEYS)})")
    for key in ("name", "source"):
        if key in data and not isinstance(data[key], str):
            raise CostModelError(f"cost file {where}: {key} must be a string")
    for table in ("target", "draft"):
        if not isinstance(data.get(table), dict):
            raise CostModelError(f"cost file {where}: missing [{table}] table (with {', '.join(PASS_KEYS)})")
    draft = dict(data["draft"])
    kind = draft.pop("kind", None)
    if kind not in DRAFT_KINDS:
        raise CostModelError(f"cost file {where}: [draft] kind is {kind!r} (allowed: one of {', '.join(DRAFT_KINDS)})")
    target = _pass_cost(data["target"], "target", where)
    model = ForwardPassModel(
        target=target,
        draft=_pass_cost(draft, "draft", where),
        draft_kind=kind,
        overhead_ms=_milliseconds(data.get("overhead_ms", 0.0), "overhead_ms", where),
        name=data.get("name", where),
        source=data.get("source", ""),
    )
    if target.fixed_ms + target.per_token_ms <= 0:
        raise CostModelError(f"cost file {where}: [target] prices a one-token pass at 0 ms (allowed: > 0)")
    return model


def _pass_cost(table: dict[str, Any], name: str, where: str) -> PassCost:
    unknown = sorted(set(table) - set(PASS_KEYS))
    if unknown:
        raise CostModelError(
            f"cost file {where}: unknown key {unknown[0]!r} in [{name}] (allowed: {', '.join(PASS_KEYS)})"
        )
    if "fixed_ms" not in table:
        raise CostModelError(f"cost file {where}: [{name}] needs fixed_ms")
    values = {key: _milliseconds(table.get(key, 0.0), f"[{name}] {key}", where) for key in PASS_KEYS}
    return PassCost(**values)


def _milliseconds(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CostModelError(
            f"cost file {where}: {key} = {value!r} (allowed: a finite number of ms, 0 to {MAX_PASS_MS:g})"
        )
    if not 0 <= value <= MAX_PASS_MS:
        raise CostModelError(
            f"cost file {where}: {key} = {value!r} (allowed: a finite number of ms, 0 to {MAX_PASS_MS:g})"
        )
    return float(value)
