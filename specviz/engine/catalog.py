"""The engine's named parts, known without importing them.

Validating a config, listing the choices in the app's control panel and
labelling a method lossy need only names and a flag or two; importing the
parts themselves means importing numpy (~0.1 s), which the app puts off until
after its first frame. This module is that index: plain data, no numpy. Each
part's module registers the part itself; a test checks the two agree.
"""

from __future__ import annotations

# Model pair -> the module that registers its factory.
MODELS: dict[str, str] = {
    "synthetic": "specviz.engine.models.synthetic",
    "ngram": "specviz.engine.models.ngram",
    "hf": "specviz.engine.models.hf",
}
# The SimConfig knobs that only some model pairs read, and which pairs read
# each. A knob a pair does not read must stay at its default under that pair
# (SimConfig's rules): a run never records a setting that did nothing. The
# synthetic pair builds p and q from alpha; the n-gram pair learns them from
# the corpus and reshapes them by temperature, top-k and top-p; the hf pair
# loads two transformers models and reshapes their logits the same way.
MODEL_KNOBS: dict[str, tuple[str, ...]] = {
    "acceptance_rate": ("synthetic",),
    "corpus": ("ngram",),
    "temperature": ("ngram", "hf"),
    "top_k": ("ngram", "hf"),
    "top_p": ("ngram", "hf"),
    "target": ("hf",),
    "device": ("hf",),
    "dtype": ("hf",),
    "timing": ("hf",),
}
# Model pairs whose acceptance rate is the alpha knob (ModelPair.uses_acceptance_rate).
MODELS_SETTING_ALPHA: frozenset[str] = frozenset(MODEL_KNOBS["acceptance_rate"])
# Model pairs trained on a corpus (ModelPair.corpus is set): a trace records its hash.
MODELS_READING_CORPUS: frozenset[str] = frozenset(MODEL_KNOBS["corpus"])

# Model pairs that give p and q for any context (ModelPair.dists): the ones a
# token tree can be drafted and verified on, one distribution per node.
TREE_MODELS: tuple[str, ...] = ("synthetic", "ngram")

# Verification method -> whether its output follows the target's distribution
# (VerificationMethod.lossless), in the order the methods are listed.
METHODS: dict[str, bool] = {
    "speculative": True,
    "greedy": True,
    "sample-match": True,
    "typical": False,
}

POLICIES: tuple[str, ...] = ("fixed", "heuristic", "confidence", "batch-table")

# Model pairs that run real models with a tokenizer (ModelPair.subword_tokens).
MODELS_WITH_TOKENIZER: frozenset[str] = frozenset({"hf"})
# The module of the drafters that stand in for a pair's own draft (argmax, prompt lookup).
DRAFTERS = "specviz.engine.models.drafters"
# --draft that needs no draft model: vLLM's ngram method, transformers' prompt lookup.
PROMPT_LOOKUP = "prompt-lookup"
DRAFT_SAMPLINGS: tuple[str, ...] = ("sample", "argmax")
TIMINGS: tuple[str, ...] = ("model", "measured")
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda", "mps")
DTYPES: tuple[str, ...] = ("auto", "float32", "float16", "bfloat16", "float64")


def model_names() -> tuple[str, ...]:
    return tuple(MODELS)


def method_names() -> tuple[str, ...]:
    return tuple(METHODS)


def policy_names() -> tuple[str, ...]:
    return POLICIES


def method_is_lossless(name: str) -> bool:
    return METHODS[name]


def model_sets_alpha(name: str) -> bool:
    return name in MODELS_SETTING_ALPHA


def model_reads_corpus(name: str) -> bool:
    return name in MODELS_READING_CORPUS


def knobs_not_read_by(model: str) -> tuple[str, ...]:
    """The model-specific knobs (MODEL_KNOBS) that the pair `model` ignores."""
    return tuple(knob for knob, readers in MODEL_KNOBS.items() if model not in readers)


def readers_of(knob: str) -> tuple[str, ...]:
    """The model pairs that read `knob`: every pair, for a knob not in MODEL_KNOBS."""
    return MODEL_KNOBS.get(knob, tuple(MODELS))
