"""Simulation parameters and the one place their rules live.

Every front end (command line, TUI control panel, trace reader) builds a
`SimConfig` through `SimConfig(...)`, `SimConfig.replace(...)` or
`parse_field(...)`, so they all reject the same values with the same words.
"""

from __future__ import annotations

import dataclasses
import decimal
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from specviz.engine.catalog import (
    DEVICES,
    DRAFT_SAMPLINGS,
    DTYPES,
    PROMPT_LOOKUP,
    TIMINGS,
    TREE_MODELS,
    knobs_not_read_by,
    method_names,
    model_names,
    policy_names,
    readers_of,
)
from specviz.engine.safe_text import echo

# k beyond this is never useful: even at alpha = 0.99 and c = 0.01 the optimal k
# is below 64, and each round stores O(k) numbers.
MAX_DRAFT_LENGTH = 64
# A hard stop against typos such as -n 1e12; 100M tokens is ~25 s of engine time.
MAX_TARGET_LENGTH = 100_000_000
MAX_SEED = 2**63 - 1
# Batch sizes and context lengths the cost model prices (vLLM's largest
# configurable batch is far below the first; the second is a 10M-token context).
MAX_BATCH_SIZE = 65_536
MAX_CONTEXT_LENGTH = 10_000_000
# The cost model's knobs are bounded so that everything computed from them
# stays far inside float range (beyond these, 1e305 and up, times and speedups
# overflow to inf and 0). A run's dearest figure is its target time:
# T (rounds + v drafts) + c T draft passes <= 1e9 ms x (1e8 + 1e6 x 6.4e9) +
# 1e6 x 1e9 ms x 6.4e9, about 1e25 ms. Each bound is also far past any real
# setting: a draft pass costing a million target passes, verifying one draft
# costing a million passes more, a target pass of 11.6 days.
# Temperature divides log-probabilities. At 0.01 a word half as likely as
# the top one keeps a weight of 2^-100 (8e-31): the draw is already greedy in
# all but name, so nothing lower shows anything new; far lower (a subnormal
# such as 5e-324), log p / T overflows and every distribution turns to NaN.
MIN_TEMPERATURE = 0.01
MAX_TEMPERATURE = 100.0
MAX_DRAFT_COST = 1e6
MAX_VERIFY_OVERHEAD = 1e6
MAX_TARGET_PASS_MS = 1e9
# Prompt lookup matches at most this many trailing ids (vLLM's prompt_lookup_max is of this order).
MAX_PROMPT_LOOKUP = 16


class TraceError(ValueError):
    """A trace that cannot be written or read. The message is one line.

    Defined here, beside ConfigError, and not in trace.py (which imports the
    engine and numpy): the command line catches both on every start.
    """


class ConfigError(ValueError):
    """A parameter value that the engine does not allow.

    The message is one line naming the parameter, the value given and what is
    allowed; front ends print it as it is. The value is quoted as `shown`: cut
    short when long, its control characters escaped (safe_text.echo).
    """

    def __init__(self, parameter: str, value: Any, allowed: str):
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        self.shown = echo(value)
        label = FIELD_LABELS.get(parameter, parameter)
        super().__init__(f"invalid {label}: {self.shown} (allowed: {allowed})")


# The parts of a run, in the order front ends list them. Every knob belongs to
# exactly one: a reader (and `specviz --help`) sees which knobs a model pair, a
# verification method or the cost model reads, while SimConfig stays one flat,
# frozen value (callers, traces and the app's fields name knobs directly).
PARTS: dict[str, str] = {
    "run": "the run: how long, how many drafts a round, which random stream",
    "model pair": "the draft and target models (alpha: the synthetic pair; corpus: the n-gram pair; target, draft, device, dtype: the hf pair)",
    "sampling": "how the n-gram and hf pairs' distributions are reshaped before drafting and verifying (the synthetic pair reads none of these)",
    "verification": "the rule that keeps or rejects each draft",
    "drafting": "how many tokens the draft proposes each round, as a chain or a token tree",
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
    confidence_threshold: float = _knob(0.03, "drafting", "confidence threshold (--confidence-threshold)")
    target_pass_ms: float = _knob(100.0, "cost", "target pass time in ms (--target-ms)")
    verify_overhead: float = _knob(0.0, "cost", "verify overhead per drafted token (--verify-overhead)")
    prompt: str = _knob("Once upon a time", "run", "prompt (--prompt)")
    temperature: float = _knob(1.0, "sampling", "temperature (--temperature)")
    top_k: int = _knob(0, "sampling", "top-k (--top-k)")
    top_p: float = _knob(1.0, "sampling", "top-p (--top-p)")
    corpus: str | None = _knob(None, "model pair", "corpus path (--corpus)")
    typical_epsilon: float = _knob(0.09, "verification", "typical acceptance epsilon (--typical-epsilon)")
    typical_delta: float = _knob(0.3, "verification", "typical acceptance delta (--typical-delta)")
    # None: the constant-ratio model of draft_cost, target_pass_ms and verify_overhead.
    cost_model: str | None = _knob(None, "cost", "cost model (--cost-model)")
    batch_size: int = _knob(1, "cost", "batch size b (--batch-size)")
    context_length: int = _knob(0, "cost", "context length L (--context-length)")
    # The batch-table policy's [[lo, hi, k], ...] as JSON text; None under every other policy.
    k_by_batch_size: str | None = _knob(None, "drafting", "draft length by batch size (--k-by-batch-size)")
    # Token trees (docs/trees.md): width 1 with i.i.d. sampling and no shape or
    # budget is the chain, exactly as before these knobs existed.
    tree_width: int = _knob(1, "drafting", "tree width (--tree-width)")
    tree_sampling: str = _knob("iid", "drafting", "tree sampling (--tree-sampling)")
    # A static tree as JSON text, Medusa's list of paths of candidate ranks; None: no static tree.
    tree_shape: str | None = _knob(None, "drafting", "tree shape (--tree-shape)")
    # A dynamic tree of at most this many nodes (EAGLE-2); 0: no dynamic tree.
    tree_budget: int = _knob(0, "drafting", "tree node budget (--tree-budget)")
    # Below 1 a tree's acceptance test is relaxed (SGLang's thresholds): LOSSY.
    tree_threshold: float = _knob(1.0, "verification", "tree acceptance threshold (--tree-threshold)")
    # The hf pair's models: whatever from_pretrained accepts. --draft prompt-lookup
    # (any pair) drafts from the text itself, with no draft model.
    target: str | None = _knob(None, "model pair", "target model (--target)")
    draft: str | None = _knob(None, "model pair", "draft model (--draft)")
    device: str = _knob("auto", "model pair", "device (--device)")
    dtype: str = _knob("auto", "model pair", "dtype (--dtype)")
    # "measured": the hf pair's measured pass times price the run beside the cost model.
    timing: str = _knob("model", "cost", "timing (--timing)")
    # "argmax": the draft proposes its most likely token (q a point mass there).
    draft_sampling: str = _knob("sample", "drafting", "draft sampling (--draft-sampling)")
    # Prompt lookup matches the last n ids, n from this down to 1 (transformers' max_matching_ngram_size).
    prompt_lookup_max: int = _knob(3, "drafting", "prompt-lookup n-gram size (--prompt-lookup-max)")

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
    """Raise ConfigError for the first parameter that breaks its rule, part by
    part; then for a knob set that the model pair does not read."""
    for part in PARTS:
        _RULES[part](config)
    check_model_reads(config, [knob for knob in knobs_not_read_by(config.model) if _is_set(config, knob)])


def _is_set(config: SimConfig, knob: str) -> bool:
    return bool(getattr(config, knob) != _FIELDS[knob].default)


def check_model_reads(config: SimConfig, knobs: Iterable[str]) -> None:
    """Raise ConfigError for the first of `knobs` that `config`'s model pair
    does not read. SimConfig checks the knobs set away from their defaults;
    the command line also checks the flags given, whatever their value."""
    for knob in knobs:
        if config.model not in readers_of(knob):
            raise unread_knob(config.model, knob, getattr(config, knob))


def unread_knob(
    model: str, knob: str, value: Any, parameter: str | None = None, flags: str | None = None
) -> ConfigError:
    """The error for `knob` given to the pair `model`, which does not read it.

    `parameter` and `flags` name an option that stands for the knob (sweep's
    --alphas for acceptance_rate); by default the knob's own.
    """
    readers = readers_of(knob)
    pairs = " and ".join(readers) + (" pair" if len(readers) == 1 else " pairs")
    return ConfigError(
        parameter or knob,
        value,
        f"{flags or flags_of(knob)} is read only by the {pairs}; leave it out with the {model} pair",
    )


def switch_model(config: SimConfig, model: str) -> tuple[SimConfig, dict[str, Any]]:
    """`config` under the model pair `model`, every knob that pair does not
    read put back to its default; and those knobs with the values they had.

    For a front end where the model is one choice among others (the app's
    control panel): the person picks a pair, and the knobs it ignores must go.
    """
    dropped = {knob: getattr(config, knob) for knob in knobs_not_read_by(model) if _is_set(config, knob)}
    defaults = {knob: _FIELDS[knob].default for knob in dropped}
    return config.replace(model=model, **defaults), dropped


def flags_of(name: str) -> str:
    """The command-line flags of a SimConfig field, from its label: '--corpus', '-a/--acceptance-rate'."""
    label = FIELD_LABELS.get(name, name)
    return label[label.rindex("(") + 1 : -1] if label.endswith(")") else name


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
    for name in ("target", "draft"):
        value = getattr(config, name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(name, value, "a model folder or a model id from_pretrained accepts")
    if config.model == "hf":
        if config.target is None:
            raise ConfigError("target", None, "required with --model hf: a model folder or id (--target T)")
        if config.draft is None:
            raise ConfigError(
                "draft",
                None,
                f"required with --model hf: a model folder or id sharing the target's tokenizer, or {PROMPT_LOOKUP}",
            )
    elif config.draft not in (None, PROMPT_LOOKUP):
        raise ConfigError(
            "draft", config.draft, f"{PROMPT_LOOKUP} with the {config.model} pair (a draft model needs --model hf)"
        )
    if config.device not in DEVICES and not re.fullmatch(r"cuda:\d{1,3}", str(config.device)):
        raise ConfigError("device", config.device, "one of " + ", ".join(DEVICES) + " or cuda:N")
    if config.dtype not in DTYPES:
        raise ConfigError("dtype", config.dtype, "one of " + ", ".join(DTYPES))


def _sampling_rules(config: SimConfig) -> None:
    _real_in(
        "temperature", config.temperature, MIN_TEMPERATURE, MAX_TEMPERATURE, f"a number from {MIN_TEMPERATURE} to 100"
    )
    _int_in("top_k", config.top_k, 0, 10_000_000)
    if not _is_real(config.top_p) or not 0.0 < config.top_p <= 1.0:
        raise ConfigError("top_p", config.top_p, "a number > 0 and <= 1")


def _verification_rules(config: SimConfig) -> None:
    if config.method not in method_names():
        raise ConfigError("method", config.method, "one of " + ", ".join(method_names()))
    _real_in("typical_epsilon", config.typical_epsilon, 0.0, 1.0, "a number from 0 to 1")
    _real_in("typical_delta", config.typical_delta, 0.0, None, "a finite number >= 0")
    if not _is_real(config.tree_threshold) or not MIN_TREE_THRESHOLD <= config.tree_threshold <= 1.0:
        raise ConfigError(
            "tree_threshold",
            config.tree_threshold,
            f"a number from {MIN_TREE_THRESHOLD} to 1 (1: lossless; below 1: LOSSY)",
        )


def _drafting_rules(config: SimConfig) -> None:
    if config.draft_policy not in policy_names():
        raise ConfigError("draft_policy", config.draft_policy, "one of " + ", ".join(policy_names()))
    _real_in("confidence_threshold", config.confidence_threshold, 0.0, 1.0, "a number from 0 to 1")
    _tree_rules(config)
    if config.draft_sampling not in DRAFT_SAMPLINGS:
        raise ConfigError("draft_sampling", config.draft_sampling, "one of " + ", ".join(DRAFT_SAMPLINGS))
    _int_in("prompt_lookup_max", config.prompt_lookup_max, 1, MAX_PROMPT_LOOKUP)
    if config.draft != PROMPT_LOOKUP and config.prompt_lookup_max != _FIELDS["prompt_lookup_max"].default:
        raise ConfigError(
            "prompt_lookup_max", config.prompt_lookup_max, f"only with --draft {PROMPT_LOOKUP}; leave it out otherwise"
        )
    if config.draft == PROMPT_LOOKUP and config.draft_sampling != "sample":
        raise ConfigError(
            "draft_sampling",
            config.draft_sampling,
            f"sample with --draft {PROMPT_LOOKUP} (its drafts are point masses already)",
        )
    table = config.k_by_batch_size
    if config.draft_policy != BATCH_TABLE_POLICY:
        if table is not None:
            raise ConfigError(
                "k_by_batch_size",
                table,
                f"only with --draft-policy {BATCH_TABLE_POLICY}; leave it out with the {config.draft_policy} policy",
            )
        return
    if table is None:
        raise ConfigError("k_by_batch_size", None, f"required with --draft-policy {BATCH_TABLE_POLICY}: {K_TABLE_RULE}")
    ranges = parse_k_by_batch_size(table)
    # The batch size is the cost part's to check; a table must cover a valid one.
    if _is_int(config.batch_size) and 1 <= config.batch_size <= MAX_BATCH_SIZE:
        if draft_length_for_batch(ranges, config.batch_size) is None:
            raise ConfigError(
                "k_by_batch_size",
                table,
                f"a table with a range that holds the batch size {config.batch_size:,} (--batch-size)",
            )


# ---- token trees ------------------------------------------------------------------

TREE_SAMPLINGS: dict[str, str] = {
    "iid": "children drawn i.i.d. from q, with replacement (SpecInfer)",
    "distinct": "distinct children: each next sibling from q without the siblings drawn before, renormalised",
    "top": "the deterministic top-w of q (EAGLE-2; verified by the target-only rule)",
}
MAX_TREE_WIDTH = 16
# Every node costs two uniforms and a distribution a round; 1,024 nodes is
# already far past what engines verify (SGLang's default is 8 to 64).
MAX_TREE_NODES = 1024
MAX_TREE_SHAPE_CHARS = 100_000
MIN_TREE_THRESHOLD = 0.01
TREE_METHODS = ("speculative", "greedy")
TREE_SHAPE_RULE = (
    "a JSON list of paths of candidate ranks as Medusa writes them, e.g. [[0],[0,0],[1],[0,1]]: "
    f"ranks from 0 to {MAX_TREE_WIDTH - 1}, depth at most {MAX_DRAFT_LENGTH}, at most {MAX_TREE_NODES:,} paths, "
    "each path's parent listed, a node's children ranked 0, 1, ... without gaps, no path twice"
)

TreePath = tuple[int, ...]
# The SimConfig fields of token trees (a command that sweeps or prices chains only refuses them).
TREE_FIELDS = ("tree_width", "tree_sampling", "tree_shape", "tree_budget", "tree_threshold")


def is_tree(config: SimConfig) -> bool:
    """True when a round drafts a tree: a width above 1, a static shape, a
    node budget, or a sampling other than i.i.d. (width 1, i.i.d., nothing
    else set: the chain)."""
    return (
        config.tree_width != 1
        or config.tree_shape is not None
        or config.tree_budget != 0
        or config.tree_sampling != "iid"
    )


def full_tree_nodes(width: int, depth: int) -> int:
    """Nodes of the full tree of `width` children per node and `depth` levels (root not counted)."""
    return depth if width == 1 else (width ** (depth + 1) - width) // (width - 1)


def _json_list(name: str, text: Any, rule: str, max_chars: int) -> tuple[list[Any], Callable[[str], ConfigError]]:
    """A knob given as JSON text that must be a non-empty list (a tree shape,
    a k table): the list, and the function that refuses it naming `rule`."""

    def refuse(problem: str) -> ConfigError:
        return ConfigError(name, text, f"{rule}; {problem}")

    if not isinstance(text, str) or len(text) > max_chars:
        raise refuse(f"text of at most {max_chars:,} characters")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise refuse("this is not JSON") from None
    if not isinstance(data, list) or not data:
        raise refuse("this is not a non-empty list")
    return data, refuse


def parse_tree_shape(text: Any) -> tuple[TreePath, ...]:
    """A static tree's paths, sorted by depth then rank (the order a round draws
    them in); raises ConfigError naming the fault."""

    data, refuse = _json_list("tree_shape", text, TREE_SHAPE_RULE, MAX_TREE_SHAPE_CHARS)
    if len(data) > MAX_TREE_NODES:
        raise refuse(f"it has {len(data):,} paths")
    paths: set[TreePath] = set()
    for entry in data:
        if not isinstance(entry, list) or not entry or not all(_is_int(rank) for rank in entry):
            raise refuse(f"{echo(json.dumps(entry))} is not a non-empty list of whole numbers")
        path = tuple(entry)
        if len(path) > MAX_DRAFT_LENGTH:
            raise refuse(f"a path is {len(path)} deep")
        if not all(0 <= rank < MAX_TREE_WIDTH for rank in path):
            raise refuse(f"{list(path)} has a rank outside 0 to {MAX_TREE_WIDTH - 1}")
        if path in paths:
            raise refuse(f"{list(path)} is listed twice")
        paths.add(path)
    for path in paths:
        if len(path) > 1 and path[:-1] not in paths:
            raise refuse(f"{list(path)} is listed without its parent {list(path[:-1])}")
        if path[-1] > 0 and path[:-1] + (path[-1] - 1,) not in paths:
            raise refuse(f"{list(path)} is listed without its elder sibling {list(path[:-1] + (path[-1] - 1,))}")
    return tuple(sorted(paths, key=lambda path: (len(path), path)))


def _tree_rules(config: SimConfig) -> None:
    if config.tree_sampling not in TREE_SAMPLINGS:
        raise ConfigError("tree_sampling", config.tree_sampling, "one of " + ", ".join(TREE_SAMPLINGS))
    _int_in("tree_width", config.tree_width, 1, MAX_TREE_WIDTH)
    _int_in("tree_budget", config.tree_budget, 0, MAX_TREE_NODES)
    shape = config.tree_shape
    if shape is not None:
        parse_tree_shape(shape)
        if config.tree_width != 1:
            raise ConfigError(
                "tree_width",
                config.tree_width,
                "1 (leave --tree-width out) with --tree-shape: the shape fixes every node's children",
            )
        if config.tree_budget:
            raise ConfigError(
                "tree_budget",
                config.tree_budget,
                "0 (leave --tree-budget out) with --tree-shape: a tree is static or dynamic, not both",
            )
    if not is_tree(config):
        if config.tree_threshold != 1.0:
            raise ConfigError(
                "tree_threshold",
                config.tree_threshold,
                "1 (leave --tree-threshold out) without a tree: it relaxes a tree's acceptance test",
            )
        return
    if config.model not in TREE_MODELS:
        raise ConfigError(
            "model",
            config.model,
            f"a pair with per-context distributions for token trees ({', '.join(TREE_MODELS)}); "
            f"the {config.model} pair does not draft trees",
        )
    if config.method not in TREE_METHODS:
        raise ConfigError("method", config.method, f"{' or '.join(TREE_METHODS)} with a token tree")
    if config.tree_threshold != 1.0 and config.method != "speculative":
        raise ConfigError(
            "tree_threshold",
            config.tree_threshold,
            "1 with --method greedy: it relaxes recursive rejection sampling only",
        )
    if config.draft_policy != "fixed":
        raise ConfigError(
            "draft_policy", config.draft_policy, "fixed with a token tree: the tree's shape sets what a round drafts"
        )
    # A tree's candidates come from its own sampling (--tree-sampling top is the argmax-like one).
    if config.draft_sampling != "sample":
        raise ConfigError(
            "draft_sampling", config.draft_sampling, "sample with a token tree: --tree-sampling picks its candidates"
        )
    if config.draft == PROMPT_LOOKUP:
        raise ConfigError("draft", config.draft, "a draft model with a token tree: prompt lookup drafts one chain")
    if shape is None and not config.tree_budget:
        nodes = full_tree_nodes(config.tree_width, config.draft_length)
        if nodes > MAX_TREE_NODES:
            raise ConfigError(
                "tree_width",
                config.tree_width,
                f"a width whose full tree of depth {config.draft_length} (-k) has at most {MAX_TREE_NODES:,} nodes "
                f"(width {config.tree_width} gives {nodes:,}); or a node budget (--tree-budget)",
            )


# The draft-length policy that reads k_by_batch_size (vLLM's num_speculative_tokens_per_batch_size).
BATCH_TABLE_POLICY = "batch-table"
MAX_K_TABLE_CHARS = 10_000
K_TABLE_RULE = (
    f"a JSON list of [lo, hi, k] ranges of batch sizes, whole numbers with 1 <= lo <= hi <= {MAX_BATCH_SIZE:,}, "
    f"not overlapping, k from 0 (do not speculate) to {MAX_DRAFT_LENGTH}, e.g. [[1,16,5],[17,32,4],[33,512,0]]"
)

KRange = tuple[int, int, int]


def parse_k_by_batch_size(text: Any) -> tuple[KRange, ...]:
    """The batch-table policy's ranges (lo, hi, k), sorted by lo; raises ConfigError naming the fault."""

    data, refuse = _json_list("k_by_batch_size", text, K_TABLE_RULE, MAX_K_TABLE_CHARS)
    ranges = []
    for entry in data:
        if not isinstance(entry, list) or len(entry) != 3 or not all(_is_int(number) for number in entry):
            raise refuse(f"{echo(json.dumps(entry))} is not three whole numbers [lo, hi, k]")
        lo, hi, k = entry
        if not 1 <= lo <= hi <= MAX_BATCH_SIZE:
            raise refuse(f"[{lo}, {hi}, {k}] does not have 1 <= lo <= hi <= {MAX_BATCH_SIZE:,}")
        if not 0 <= k <= MAX_DRAFT_LENGTH:
            raise refuse(f"[{lo}, {hi}, {k}] has k outside 0 to {MAX_DRAFT_LENGTH}")
        ranges.append((lo, hi, k))
    ranges.sort()
    for (lo, hi, k), (next_lo, next_hi, next_k) in zip(ranges, ranges[1:]):
        if next_lo <= hi:
            raise refuse(f"[{lo}, {hi}, {k}] and [{next_lo}, {next_hi}, {next_k}] overlap")
    return tuple(ranges)


def starting_draft_length(config: SimConfig) -> int:
    """The first round's k: the batch table's at the batch size under the batch-table policy, else -k."""
    k = table_draft_length(config.k_by_batch_size, config.batch_size)
    return config.draft_length if k is None else k


def table_draft_length(table: str | None, batch_size: int) -> int | None:
    """The batch-table policy's k at `batch_size` (None without a table, or where it has no range)."""
    return None if table is None else draft_length_for_batch(parse_k_by_batch_size(table), batch_size)


def draft_length_for_batch(ranges: tuple[KRange, ...], batch_size: int) -> int | None:
    """k of the range holding `batch_size` (both ends included); None when no range does."""
    for lo, hi, k in ranges:
        if lo <= batch_size <= hi:
            return k
    return None


def check_batch(batch_size: Any, context_length: Any) -> None:
    """The rule on a batch size b and a context length L, for a config and for
    the cost model evaluated at other batch sizes (theory, sweep)."""
    _int_in("batch_size", batch_size, 1, MAX_BATCH_SIZE)
    _int_in("context_length", context_length, 0, MAX_CONTEXT_LENGTH)


def _cost_rules(config: SimConfig) -> None:
    if config.timing not in TIMINGS:
        raise ConfigError("timing", config.timing, "one of " + ", ".join(TIMINGS))
    if config.draft == PROMPT_LOOKUP and config.draft_cost != _FIELDS["draft_cost"].default:
        raise ConfigError(
            "draft_cost",
            config.draft_cost,
            f"left out with --draft {PROMPT_LOOKUP}: it runs no draft model, its drafts cost nothing",
        )
    if config.cost_model is not None and (not isinstance(config.cost_model, str) or not config.cost_model.strip()):
        raise ConfigError("cost_model", config.cost_model, "a preset name or a path to a .toml cost file")
    check_batch(config.batch_size, config.context_length)
    _real_in("draft_cost", config.draft_cost, 0.0, MAX_DRAFT_COST, f"a number >= 0 and <= {MAX_DRAFT_COST:,.0f}")
    if not _is_real(config.target_pass_ms) or not 0 < config.target_pass_ms <= MAX_TARGET_PASS_MS:
        raise ConfigError(
            "target_pass_ms", config.target_pass_ms, f"a number > 0 and <= {MAX_TARGET_PASS_MS:,.0f} (about 11.6 days)"
        )
    _real_in(
        "verify_overhead",
        config.verify_overhead,
        0.0,
        MAX_VERIFY_OVERHEAD,
        f"a number >= 0 and <= {MAX_VERIFY_OVERHEAD:,.0f}",
    )


# Each part's rules; a test checks that every part has them.
_RULES: dict[str, Callable[[SimConfig], None]] = {
    "run": _run_rules,
    "model pair": _model_pair_rules,
    "sampling": _sampling_rules,
    "verification": _verification_rules,
    "drafting": _drafting_rules,
    "cost": _cost_rules,
}


# What a number may look like: ASCII digits only (int() and float() also take
# Arabic-Indic, full-width and other Unicode digits, and underscores anywhere),
# a sign, a decimal point, an exponent; the whole part may be grouped by
# threes with commas or underscores (1,000,000 as the app prints it, or
# 1_000_000), one kind throughout. Anything else is refused, never cleaned up:
# "1,6" is not 16.
_NUMBER = re.compile(
    r"[+-]?(?:(?:\d+|\d{1,3}(?:,\d{3})+|\d{1,3}(?:_\d{3})+)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?",
    re.ASCII,
)
WHOLE_NUMBER = "a whole number in ASCII digits, e.g. 5"
NUMBER = "a number in ASCII digits, e.g. 0.5"
# Counts may be written 1e6; beyond this many digits no count is in range,
# and int() of 1e100000000 would take minutes.
MAX_COUNT_DIGITS = 100


def _number_text(text: str) -> str | None:
    """`text` without spaces around it and digit-group separators, if it is a
    number as _NUMBER spells one; None otherwise."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    return text.replace(",", "").replace("_", "")


def parse_int(name: str, text: str) -> int:
    """A whole number typed as text: 42, 1,000, 1_000 or 1e6 (a whole 2.0 too)."""
    cleaned = _number_text(text)
    if cleaned is None:
        raise ConfigError(name, text, WHOLE_NUMBER)
    value = decimal.Decimal(cleaned)  # exact: no float rounds 1e17 + 1
    if value and value.adjusted() >= MAX_COUNT_DIGITS:
        raise ConfigError(name, text, f"{WHOLE_NUMBER}, of at most {MAX_COUNT_DIGITS} digits")
    if value != value.to_integral_value():
        raise ConfigError(name, text, WHOLE_NUMBER)
    return int(value)  # -0 is 0


def parse_float(name: str, text: str) -> float:
    """A finite number typed as text; -0 is read as 0 (it would print as -0.0)."""
    cleaned = _number_text(text)
    if cleaned is None:
        # inf and nan are numbers to float(): say what is wrong with them.
        try:
            finite = math.isfinite(float(text))
        except ValueError:
            finite = True
        raise ConfigError(name, text, NUMBER if finite else "a finite number")
    value = float(cleaned)
    if not math.isfinite(value):  # 1e400
        raise ConfigError(name, text, "a finite number")
    return value + 0.0  # -0.0 + 0.0 is 0.0


def _parse_text(name: str, text: str) -> str:
    return text


def _parse_optional_text(name: str, text: str) -> str | None:
    # Blank text is a mistake (an unset shell variable, say), not a request
    # for the default: the default is had by not giving the knob at all.
    if not text.strip():
        raise ConfigError(name, text, f"a non-blank value; leave {flags_of(name)} out for the default")
    return text


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
