"""The `hf` model pair: a Hugging Face transformers target and draft.

`--model hf --target T --draft D`: T and D are whatever `from_pretrained`
accepts (a local folder, or a model id in the local cache). torch and
transformers are imported here only, and only when this pair is built; the
rest of specviz never imports them (`pip install 'specviz[hf]'` adds them).

Each model keeps a KV cache of the ids it has run over (`_CachedModel`). A
round runs as a real engine runs it:
- DRAFT: the first draft pass feeds what the draft has not seen yet (the
  last round's correction or bonus token; the prompt on the first round),
  each further pass one drafted token: k passes for k drafts, q at each;
- VERIFY: one target pass feeds the last committed token and the k drafts,
  p at all k + 1 positions;
- each call first rolls its cache back to the longest prefix it shares with
  the ids asked for, so rejected drafts (and the target's entries past the
  kept prefix) are dropped before anything new is fed.
p and q are the distributions after the logits processing `generate`
applies when sampling: temperature, then top-k, then top-p, with
transformers' own warpers in that order (none when they are off; greedy
decoding takes the argmax, which they never change).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from specviz.engine.catalog import PROMPT_LOOKUP
from specviz.engine.models.drafters import point_mass
from specviz.engine.models.pair import ContextDists, ContextKey, DraftDists, FloatSequence, ModelPair, register_model
from specviz.engine.run.config import ConfigError
from specviz.engine.safe_text import printable

if TYPE_CHECKING:
    from specviz.engine.run.config import SimConfig

INSTALL = "pip install 'specviz[hf]'"
# Plain decoding steps timed for --timing measured (the best of them is used).
PLAIN_STEPS = 5
DTYPES = {"float32": "float32", "float16": "float16", "bfloat16": "bfloat16", "float64": "float64"}


def missing_packages() -> list[str]:
    """torch and transformers, where they are not installed (no import)."""
    return [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]


def _require_packages() -> None:
    missing = missing_packages()
    if missing:
        raise ConfigError("model", "hf", f"the hf pair needs {' and '.join(missing)}: {INSTALL}")


class TokenTexts(Sequence[str]):
    """Each token id's own text, decoded by the tokenizer on first use and made
    safe for a terminal (a byte-level piece of a character decodes to U+FFFD;
    control characters are escaped). A 150,000-token vocabulary is never
    decoded up front."""

    def __init__(self, tokenizer: Any, size: int):
        self._tokenizer = tokenizer
        self._size = size
        self._texts: dict[int, str] = {}

    def __len__(self) -> int:
        return self._size

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._size))]
        if index < 0:
            index += self._size
        if not 0 <= index < self._size:
            raise IndexError(index)
        found = self._texts.get(index)
        if found is None:
            found = self._texts[index] = printable(self._tokenizer.decode([index]))
        return found

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(self._size))


class _CachedModel:
    """One causal LM, its KV cache and the ids that cache holds; counts its
    passes and their wall time (synchronised on a GPU): a pass's whole
    (`seconds`: rolling the cache back, the forward call, the distributions
    out) and its forward call's alone (`forward_seconds`)."""

    def __init__(self, model: Any, torch: Any, vocab_size: int, processors: Any, device: Any):
        self.model = model
        self.torch = torch
        self.vocab_size = vocab_size
        self.processors = processors
        self.device = device
        parameters = inspect.signature(model.forward).parameters
        # transformers 5 names the cache argument `cache`, 4.x `past_key_values`.
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"
        self.cache: Any = None
        self.ids: list[int] = []
        self.passes = 0
        self.seconds = 0.0
        self.forward_seconds = 0.0
        # A draft pass feeds one id: each id's (1, 1) tensor, made on its first
        # use (at most one an id the run meets, a few hundred bytes each).
        self._one_id: dict[int, Any] = {}
        # One context manager for every pass (making one costs as much as entering it).
        self._inference = torch.inference_mode()
        self._on_cpu = device.type == "cpu"

    def _synchronise(self) -> None:
        kind = self.device.type
        if kind == "cuda":
            self.torch.cuda.synchronize(self.device)
        elif kind == "mps":
            self.torch.mps.synchronize()

    def probabilities(self, ids: list[int], positions: int) -> np.ndarray:
        """One forward pass: the processed next-token distributions after each
        of the last `positions` ids, as a (positions, V) float64 array. The
        cache is rolled back to what it shares with `ids`, then fed the rest.
        `ids` becomes the cache's record: the caller hands over a fresh list."""
        found: np.ndarray = self.pass_over(ids, positions).numpy()
        return found

    def pass_over(self, ids: list[int], positions: int) -> Any:
        """probabilities() as the float64 torch tensor on the CPU."""
        held = self.ids
        limit = min(len(held), len(ids) - positions)
        # Usually the ids extend what the cache holds: one comparison in C.
        shared = limit if held[:limit] == ids[:limit] else 0
        if shared < limit:
            while held[shared] == ids[shared]:
                shared += 1
        start = time.perf_counter()
        if shared == 0:
            self.cache = None
        fed = ids[shared:]
        feed = self._one_id_feed(fed[0]) if len(fed) == 1 else self._feed(fed)
        probabilities = self._pass(feed, positions, start, len(held) - shared)
        self.ids = ids
        return probabilities

    def after(self, token: int) -> Any:
        """One pass feeding `token` after every id the cache holds (a draft
        pass): the (1, V) distribution after it, a float64 tensor on the CPU."""
        start = time.perf_counter()
        probabilities = self._pass(self._one_id_feed(token), 1, start)
        self.ids.append(token)  # a list this model owns (probabilities' `ids`)
        return probabilities

    def _feed(self, ids: list[int]) -> Any:
        return self.torch.tensor([ids], dtype=self.torch.long, device=self.device)

    def _one_id_feed(self, token: int) -> Any:
        feed = self._one_id.get(token)
        if feed is None:
            feed = self._one_id[token] = self._feed([token])
        return feed

    def _pass(self, feed: Any, positions: int, start: float, dropped: int = 0) -> Any:
        """Drop the cache's last `dropped` entries, feed `feed`, and return the
        distributions after its last `positions` ids."""
        timer = time.perf_counter
        with self._inference:
            if dropped and self.cache is not None:
                self.cache.crop(-dropped)  # a negative crop removes that many
            arguments = {self.cache_argument: self.cache} if self.cache is not None else {}
            begin = timer()
            output = self.model(input_ids=feed, use_cache=True, **arguments)
            if not self._on_cpu:
                self._synchronise()
            self.forward_seconds += timer() - begin
            if self.cache is None:
                self.cache = output.get("cache")
                if self.cache is None:
                    self.cache = output.get("past_key_values")
            probabilities = self._process(output.logits[0, -positions:, : self.vocab_size])
        if not self._on_cpu:
            self._synchronise()
        self.seconds += timer() - start
        self.passes += 1
        return probabilities

    def plain_step_seconds(self, history: Sequence[int], repeats: int) -> float:
        """The best time of one plain decoding step (one new token, the rest
        cached) at the end of `history`; not counted as a round's pass."""
        passes, seconds, forward_seconds = self.passes, self.seconds, self.forward_seconds
        best = float("inf")
        for _ in range(repeats):
            before = self.seconds
            self.probabilities(list(history), 1)
            best = min(best, self.seconds - before)
        self.passes, self.seconds, self.forward_seconds = passes, seconds, forward_seconds
        return best

    def fresh(self, ids: Sequence[int]) -> np.ndarray:
        """The distribution after `ids` from a full forward pass without the
        cache (for audits and views; not counted)."""
        torch = self.torch
        with torch.inference_mode():
            feed = torch.tensor([list(ids)], dtype=torch.long, device=self.device)
            logits = self.model(input_ids=feed, use_cache=False).logits[0, -1:, : self.vocab_size]
            found: np.ndarray = self._process(logits).numpy()[0]
            return found

    def _process(self, logits: Any) -> Any:
        """(positions, V) logits to the distributions generate samples from
        (float64, on the CPU)."""
        torch = self.torch
        # As generate: float32 scores, the warpers, then softmax (here in
        # float64: without warpers straight from the logits, as exact a cast).
        scores = logits
        if self.processors:
            scores = self.processors(None, logits.to(dtype=torch.float32))
        probabilities = torch.softmax(scores, dim=-1, dtype=torch.float64)
        return probabilities if self._on_cpu else probabilities.cpu()


class _DraftPass(DraftDists):
    """q from one draft pass. The round reads it a few times (a sample, its
    probability), so its views are memoryviews over the arrays, made in
    ~0.3 us where DraftDists' lists for a small vocabulary cost ~5 us each."""

    __slots__ = ()

    def __init__(self, q: np.ndarray, q_cdf: np.ndarray):
        # q_cdf: np.cumsum(q), or torch's cumsum on the CPU: the same sums, in
        # the same order (a float64 running sum, left to right).
        self.q = q
        self.q_view = q.data
        self.q_cdf = q_cdf.data


class _TargetPass(ContextDists):
    """p at one position of the target's pass, with the q its draft was drawn
    from: the same numbers as ContextDists(p, q), but with memoryviews (read
    once or twice a round) and the q side shared with the draft's proposal."""

    __slots__ = ()

    def __init__(self, p: np.ndarray, draft: DraftDists, beta: float, p_cdf: FloatSequence | None = None):
        self.q, self.q_view, self.q_cdf = draft.q, draft.q_view, draft.q_cdf
        self.p = p
        self.p_view = p.data
        self.beta = beta  # sum_x min(p, q), computed for the round at once
        self._p_cdf = p_cdf
        self._residual_cdf = None


def _resolve_device(torch: Any, name: str) -> Any:
    if name == "auto":
        if torch.cuda.is_available():
            name = "cuda"
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            name = "mps"
        else:
            name = "cpu"
    elif name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device", name, "a device this machine has: cpu (torch sees no CUDA device)")
    elif name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device", name, "a device this machine has: cpu (torch sees no MPS device)")
    return torch.device(name)


def _vocabulary_fingerprint(tokenizer: Any) -> tuple[int, dict[str, int]]:
    return len(tokenizer), tokenizer.get_vocab()


class HFPair(ModelPair):
    """A transformers target and draft sharing one tokenizer."""

    name = "hf"
    context_keyed = False
    uses_acceptance_rate = False
    # p and q depend on every id before them: a context key is the whole history.
    context_order = sys.maxsize
    cache_size = 64
    #: token ids are subword pieces: a run reports them, and text is decoded whole
    subword_tokens = True

    def __init__(self, config: SimConfig):
        _require_packages()
        import torch
        import transformers

        # The command line prints one line per problem: no progress bars or
        # advice from the loader.
        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        assert config.target is not None and config.draft is not None  # SimConfig's rules
        self.target_name, self.draft_name = config.target, config.draft
        self.torch = torch
        tokenizer = _load(transformers.AutoTokenizer, config.target, "target")
        # --draft prompt-lookup: no draft model (drafters.PromptLookupPair drafts).
        has_draft = config.draft != PROMPT_LOOKUP
        draft_tokenizer = _load(transformers.AutoTokenizer, config.draft, "draft") if has_draft else tokenizer
        if _vocabulary_fingerprint(tokenizer) != _vocabulary_fingerprint(draft_tokenizer):
            raise ConfigError(
                "draft",
                config.draft,
                f"a draft sharing the target's tokenizer: target {printable(config.target)} has "
                f"{len(tokenizer):,} tokens, draft {printable(config.draft)} has {len(draft_tokenizer):,} "
                "tokens or others",
            )
        self.tokenizer = tokenizer
        # Padding rows past the tokenizer's size (a model's embedding rounded
        # up) are never produced: the vocabulary is the tokenizer's.
        size = len(tokenizer)
        self.device = _resolve_device(torch, config.device)
        dtype = _torch_dtype(torch, config.dtype, self.device)
        target = _load(transformers.AutoModelForCausalLM, config.target, "target", dtype=dtype)
        roles = [("target", config.target, target)]
        if has_draft:
            roles.append(
                ("draft", config.draft, _load(transformers.AutoModelForCausalLM, config.draft, "draft", dtype=dtype))
            )
        for role, name, model in roles:
            rows = model.get_output_embeddings().weight.shape[0]
            if rows < size:
                raise ConfigError(
                    role,
                    name,
                    f"a model with logits for every one of the tokenizer's {size:,} tokens (it has {rows:,})",
                )
            model.to(self.device)
            model.eval()
        # A byte-level token's own text carries its leading space: it joins
        # running text as it is (the stream and the report show it so).
        self.vocab = self.joined = TokenTexts(tokenizer, size)
        self.index = {}
        self._init_cache()
        processors = _processors(transformers, config.temperature, config.top_k, config.top_p)
        self.target = _CachedModel(target, torch, size, processors, self.device)
        self.draft = _CachedModel(roles[1][2], torch, size, processors, self.device) if has_draft else None
        #: --draft-sampling argmax: q is a point mass at the draft's most likely token
        self.argmax_draft = config.draft_sampling == "argmax"
        self.propose_next = self._draft_after
        self.description = f"target: {printable(config.target)}, draft: {printable(config.draft)} ({size:,} tokens)"

    # ---- a round's calls --------------------------------------------------

    def _draft_side(self) -> _CachedModel:
        if self.draft is None:
            raise RuntimeError("the hf pair has no draft model under --draft prompt-lookup")
        return self.draft

    def _proposal(self, q: Any) -> DraftDists:
        """q from a draft pass: a (1, V) float64 tensor on the CPU."""
        if self.argmax_draft:
            point = point_mass(q.shape[1], int(np.argmax(q.numpy()[0])))
            return _DraftPass(point, np.cumsum(point))
        # The running sum in torch: right after a forward pass its code is
        # warm, where numpy's costs several times more than its own work.
        return _DraftPass(q.numpy()[0], self.torch.cumsum(q, dim=-1).numpy()[0])

    def propose_first(self, history: Sequence[int]) -> DraftDists | None:
        return self._proposal(self._draft_side().pass_over(list(history), 1))

    def _draft_after(self, token: int) -> DraftDists | None:
        return self._proposal(self._draft_side().after(token))

    def _target_pass(self, history: Sequence[int], drafted: list[int]) -> np.ndarray:
        return self.target.probabilities([*history, *drafted], len(drafted) + 1)

    def target_probabilities(self, history: Sequence[int], drafted: list[int]) -> list[np.ndarray]:
        """The target's one pass: p after `history` and after each drafted token."""
        return list(self._target_pass(history, drafted))

    def score(self, history: Sequence[int], drafted: list[int], proposals: list[DraftDists]) -> list[ContextDists]:
        p = self._target_pass(history, drafted)
        # After the last draft only p is drawn from (the bonus); q there would
        # cost one more draft pass, which no engine spends: p stands in for it.
        last = p[-1]
        stand_in = _DraftPass(last, np.cumsum(last))
        # Every position's beta at once: a row's sum is the sum ContextDists
        # takes of that row alone (the same pairwise sum); min(p, p) = p.
        betas = np.minimum(p, np.stack([*(proposal.q for proposal in proposals), last])).sum(axis=1).tolist()
        dists: list[ContextDists] = [_TargetPass(p[i], proposal, betas[i]) for i, proposal in enumerate(proposals)]
        dists.append(_TargetPass(last, stand_in, betas[-1], stand_in.q_cdf))
        return dists

    # ---- fresh passes, for audits and views --------------------------------

    def target_distribution(self, context: ContextKey) -> np.ndarray:
        return self.target.fresh(context)

    def draft_distribution(self, context: ContextKey) -> np.ndarray:
        q = self._draft_side().fresh(context)
        return point_mass(len(q), int(np.argmax(q))) if self.argmax_draft else q

    # ---- text -------------------------------------------------------------

    def encode_prompt(self, prompt: str) -> list[int]:
        ids: list[int] = self.tokenizer.encode(prompt, add_special_tokens=False)
        if not ids:
            # An empty prompt starts from the tokenizer's beginning (or end) of text.
            start = self.tokenizer.bos_token_id
            if start is None:
                start = self.tokenizer.eos_token_id
            ids = [start] if start is not None else [0]
        return ids

    def decode(self, token_ids: Sequence[int]) -> str:
        """All ids decoded at once, so byte-level pieces join into whole characters."""
        text: str = self.tokenizer.decode(list(token_ids))
        return text

    def measured_timing(self, history: Sequence[int], emitted: int) -> dict[str, float | None]:
        """The passes' measured times, and the speedup they give over plain
        decoding: one target pass a token, timed here on the run's own text
        (PLAIN_STEPS single-token passes with the cache, after the run)."""
        target = self.target
        draft_passes, draft_seconds = self._draft_totals()
        plain = self.target.plain_step_seconds(history, PLAIN_STEPS) if len(history) > 1 else None
        spent = target.seconds + draft_seconds
        return {
            "target_ms_per_pass": 1e3 * target.seconds / target.passes if target.passes else None,
            "draft_ms_per_pass": 1e3 * draft_seconds / draft_passes if draft_passes else None,
            "plain_step_ms": None if plain is None else 1e3 * plain,
            "target_ms": 1e3 * target.seconds,
            "draft_ms": 1e3 * draft_seconds,
            "speedup": emitted * plain / spent if plain is not None and spent > 0 else None,
        }

    def _draft_totals(self) -> tuple[int, float]:
        return (0, 0.0) if self.draft is None else (self.draft.passes, self.draft.seconds)

    def forward_passes(self) -> tuple[int, int]:
        """(target, draft) forward passes the rounds have run."""
        return self.target.passes, self._draft_totals()[0]

    def pass_seconds(self) -> tuple[float, float]:
        """Measured wall time of those passes, (target, draft), in seconds."""
        return self.target.seconds, self._draft_totals()[1]


def _load(factory: Any, name: str, role: str, **options: Any) -> Any:
    try:
        return factory.from_pretrained(name, **options)
    except (OSError, ValueError, KeyError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ConfigError(
            role, name, f"a model folder or a cached model id that from_pretrained loads ({printable(reason)[:120]})"
        ) from None


def _torch_dtype(torch: Any, name: str, device: Any) -> Any:
    if name == "auto":
        # On a CPU half precision is slow and inexact; elsewhere the checkpoint's own.
        return torch.float32 if device.type == "cpu" else "auto"
    return getattr(torch, DTYPES[name])


def _processors(transformers: Any, temperature: float, top_k: int, top_p: float) -> Any:
    """generate's sampling warpers, in its order, each only where it is on."""
    from transformers.generation.logits_process import (
        LogitsProcessorList,
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    processors = LogitsProcessorList()
    if temperature != 1.0:
        processors.append(TemperatureLogitsWarper(temperature))
    if top_k != 0:
        processors.append(TopKLogitsWarper(top_k=top_k, min_tokens_to_keep=1))
    if top_p < 1.0:
        processors.append(TopPLogitsWarper(top_p=top_p, min_tokens_to_keep=1))
    return processors


register_model("hf", HFPair)
