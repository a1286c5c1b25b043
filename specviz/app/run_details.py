"""A run's whole configuration in words: the title line, and every knob for the help.

The control panel shows the knobs a person edits most; the rest (the target
pass time, the verify overhead, sampling, the prompt, ...) are set on the
command line and would otherwise be invisible. `config_title` is the app's
title line: the panel's knobs, then every other knob set away from its
default. `config_details` lists every knob with its value and whether this
run reads it, for the help screen (or any view that wants it). Values are
written as the panel's fields write them, so the title and a field agree.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from specviz.app.widgets.control_panel import cost_label, method_label, tree_label, value_text
from specviz.engine.catalog import MODEL_KNOBS, MODELS_SETTING_ALPHA
from specviz.engine.run.config import FIELD_LABELS, SimConfig
from specviz.engine.safe_text import shorten

# Short names for the title's other knobs, set away from their defaults.
TITLE_NAMES = {
    "draft_cost": "c",
    "seed": "seed",
    "batch_size": "b",
    "confidence_threshold": "threshold",
    "target_pass_ms": "T",
    "verify_overhead": "v",
    "prompt": "prompt",
    "temperature": "temp",
    "top_k": "top-k",
    "top_p": "top-p",
    "corpus": "corpus",
    "typical_epsilon": "ε",
    "typical_delta": "δ",
    "cost_model": "cost",
    "context_length": "L",
    "k_by_batch_size": "k by b",
}
# A prompt, a path or a table is cut to this in the title.
TITLE_TEXT_WIDTH = 24
# Knobs only one method or policy reads: (field, value that reads it).
READ_UNDER = {
    "confidence_threshold": ("draft_policy", "confidence"),
    "k_by_batch_size": ("draft_policy", "batch-table"),
    "typical_epsilon": ("method", "typical"),
    "typical_delta": ("method", "typical"),
}
_DEFAULTS = {field.name: field.default for field in dataclasses.fields(SimConfig)}


def alpha_is_set(config: SimConfig) -> bool:
    """Whether α is a knob of this run's pair (otherwise it is measured)."""
    return config.model in MODELS_SETTING_ALPHA


def unread_reason(config: SimConfig, name: str) -> str | None:
    """Why this run does not read knob `name`, or None when it does."""
    if name in MODEL_KNOBS and config.model not in MODEL_KNOBS[name]:
        return f"the {config.model} pair ignores it"
    if name == "draft_cost" and config.cost_model is not None:
        return "the cost model prices the draft passes"
    if name == "context_length" and config.cost_model is None:
        return "only a cost model reads it"
    if name in READ_UNDER:
        field, reader = READ_UNDER[name]
        if getattr(config, field) != reader:
            return f"only the {reader} {'method' if field == 'method' else 'policy'} reads it"
    return None


def config_details(config: SimConfig) -> list[tuple[str, str, str | None]]:
    """(label with its flag, value, why it is not read or None) for every knob, in field order."""
    return [
        (FIELD_LABELS[name], _detail_value(name, getattr(config, name)), unread_reason(config, name))
        for name in _DEFAULTS
    ]


def _detail_value(name: str, value: Any) -> str:
    if name == "cost_model":
        return "constant (c prices a draft pass)" if value is None else cost_label(value)
    if name == "corpus" and value is None:
        from specviz.engine.models.corpus import DEFAULT_CORPUS_NAME  # numpy-free

        return f"none: {DEFAULT_CORPUS_NAME}"
    return value_text(value)


def _title_value(name: str, value: Any) -> str:
    if name == "cost_model":
        return cost_label(value)
    text = value_text(value)
    if isinstance(value, str):
        text = shorten(text, TITLE_TEXT_WIDTH)
        return f"“{text}”" if name == "prompt" else text
    return f"{text} ms" if name == "target_pass_ms" else text


def config_title(config: SimConfig, *, uses_acceptance_rate: bool | None = None) -> str:
    """The title line: pair, method, policy, k, α (or "α measured"), n, then
    c (or the cost model), the seed and every other knob the run reads that
    is set away from its default."""
    sets_alpha = alpha_is_set(config) if uses_acceptance_rate is None else uses_acceptance_rate
    policy = "" if config.draft_policy == "fixed" else f" · {config.draft_policy} k"
    alpha = f"α={value_text(config.acceptance_rate)}" if sets_alpha else "α measured"
    parts = [f"k={value_text(config.draft_length)}", alpha, f"n={value_text(config.target_length)}"]
    for name, short in TITLE_NAMES.items():
        value = getattr(config, name)
        always = name == "seed" or (name == "draft_cost" and config.cost_model is None)
        if (always or value != _DEFAULTS[name]) and unread_reason(config, name) is None:
            parts.append(f"{short}={_title_value(name, value)}")
    return f"{config.model} pair · {method_label(config.method)}{policy}{tree_label(config)} · " + " ".join(parts)


def _markdown_escaped(text: str) -> str:
    """`text` as literal Markdown: every ASCII punctuation mark backslash-escaped."""
    return "".join("\\" + char if char in _MARKDOWN_PUNCTUATION else char for char in text)


_MARKDOWN_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def config_markdown(config: SimConfig) -> str:
    """The help screen's section on this run: every knob, its value, and which are not read."""
    rows = ["## This run", "Every setting of the run in progress (the command line sets those the panel lacks):"]
    rows += ["| Setting | Value |", "|---|---|"]
    for label, value, unread in config_details(config):
        note = f" (not read: {unread})" if unread else ""
        rows.append(f"| {_markdown_escaped(label)} | {_markdown_escaped(value)}{_markdown_escaped(note)} |")
    return "\n".join(rows[:2]) + "\n\n" + "\n".join(rows[2:])
