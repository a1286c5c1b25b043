"""Tiny random transformers pairs for the hf pair's tests, built as the tests run.

A byte-level BPE tokenizer is trained with `tokenizers` on the start of the
default corpus; a GPT-2 and a Llama-architecture target are initialised at
random (wide weights, so that their distributions are peaked, not uniform),
and each draft is its target's copy with noise added to every weight, so
that the draft agrees with the target often but not always. Everything is
saved to a folder and loaded back through `--model hf`, as a user's models
would be. Importing this module imports torch.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from specviz.engine.models.corpus import default_corpus_text

VOCABULARY = 320
# Characters of the corpus the tokenizer is trained on (training takes ~0.1 s).
TRAINING_CHARACTERS = 60_000
END_OF_TEXT = "<|endoftext|>"
# How far the draft's weights are moved from the target's, relative to their spread.
DRAFT_NOISE = 0.02


@functools.lru_cache(maxsize=2)
def train_tokenizer(extra_tokens: tuple[str, ...] = ()) -> transformers.PreTrainedTokenizerFast:
    """The tests' tokenizer (trained once a process; treat it as read-only)."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCABULARY,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[END_OF_TEXT],
        show_progress=False,
    )
    tokenizer.train_from_iterator([default_corpus_text()[:TRAINING_CHARACTERS]], trainer)
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=END_OF_TEXT, bos_token=END_OF_TEXT
    )
    if extra_tokens:
        fast.add_tokens(list(extra_tokens))
    return fast


def _config(architecture: str, vocab_size: int, end: int) -> transformers.PretrainedConfig:
    common = {"vocab_size": vocab_size, "bos_token_id": end, "eos_token_id": end, "initializer_range": 1.0}
    if architecture == "gpt2":
        return transformers.GPT2Config(n_positions=512, n_embd=32, n_layer=2, n_head=2, **common)
    return transformers.LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=512,
        **common,
    )


def _model(architecture: str, vocab_size: int, end: int, seed: int) -> transformers.PreTrainedModel:
    torch.manual_seed(seed)
    config = _config(architecture, vocab_size, end)
    model = transformers.AutoModelForCausalLM.from_config(config)
    model.eval()
    return model


def build_pair(folder: Path, architecture: str, seed: int = 0, padding_rows: int = 0) -> tuple[Path, Path]:
    """Save a target and its noisy draft under `folder`; returns their paths."""
    tokenizer = train_tokenizer()
    end = tokenizer.convert_tokens_to_ids(END_OF_TEXT)
    target = _model(architecture, len(tokenizer) + padding_rows, end, seed)
    draft = _model(architecture, len(tokenizer) + padding_rows, end, seed)
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for weight in draft.parameters():
            spread = float(weight.std()) if weight.numel() > 1 else 0.0
            weight.add_(torch.randn(weight.shape, generator=generator) * DRAFT_NOISE * spread)
        # Padding rows are never trained in a real model: their logits sit far
        # below the top ones. Zero weights give them logit 0 (the top is ~10).
        for model in (target, draft):
            model.get_output_embeddings().weight[len(tokenizer) :] = 0.0
    paths = folder / f"{architecture}-target", folder / f"{architecture}-draft"
    for model, path in zip((target, draft), paths):
        model.save_pretrained(path)
        tokenizer.save_pretrained(path)
    return paths


def save_other_tokenizer(folder: Path) -> Path:
    """A folder with a tokenizer of one more token than the tests' (the pair
    compares tokenizers before it loads any model, so no model is saved)."""
    train_tokenizer(("<extra>",)).save_pretrained(folder)
    return folder
