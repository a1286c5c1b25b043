"""The hf pair (issue 16) on tiny random transformers models built as the tests run.

One module, module-scoped fixtures: torch and transformers are imported once
(seconds), the tokenizer trained and the models saved once. A GPT-2 pair and
a Llama-architecture pair (whose embedding has padding rows past the
tokenizer's size), each draft a noisy copy of its target; and an independent
draft, far from its target, for the audit to tell a broken rule apart.
"""

from __future__ import annotations

import contextlib
import io
import json
import os

# Everything here is built locally: never ask the Hub (set before transformers loads).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import importlib
import importlib.util

import numpy as np
import pytest

from specviz.cli import main
from specviz.engine import SimConfig, Simulation
from specviz.engine.analysis.audit import audit
from specviz.engine.models.pair import ContextDists, build_model
from specviz.engine.run.config import ConfigError
from specviz.engine.verification.methods import SpeculativeSampling
from tests.budget import LONG, budget

if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
    pytest.skip("the hf extra (torch, transformers) is not installed", allow_module_level=True)


class _Imported:
    """A module imported on first use: collecting this file in every xdist
    worker then costs no torch import (seconds each); only the worker that
    runs these tests pays it."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str):
        return getattr(importlib.import_module(self._name), attribute)


torch = _Imported("torch")
transformers = _Imported("transformers")
hf = _Imported("specviz.engine.models.hf")
_hf_models = _Imported("tests.engine.hf_models")


def build_pair(*args, **kwargs):
    return _hf_models.build_pair(*args, **kwargs)


def save_other_tokenizer(*args, **kwargs):
    return _hf_models.save_other_tokenizer(*args, **kwargs)


AUDIT_SAMPLES = budget(120, 3_000)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    # One thread: these models are tiny, and the test machine's cores are shared.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("hf")
    built = {
        "gpt2": build_pair(folder, "gpt2"),
        "llama": build_pair(folder, "llama", padding_rows=8),
        "far": build_pair(folder / "far", "gpt2", seed=7),
    }
    built["other"] = save_other_tokenizer(folder / "other")
    yield built
    torch.set_num_threads(threads)


def config(models, name="llama", draft=None, **changes):
    target, noisy_draft = models[name]
    base = SimConfig(model="hf", target=str(target), draft=str(draft or noisy_draft), device="cpu", target_length=24)
    return base.replace(**changes)


@pytest.fixture(scope="module")
def pairs(models):
    """The built pairs, loaded once each (runs share them, as compare does)."""
    return {name: build_model(config(models, name)) for name in ("gpt2", "llama")}


def test_the_pair_loads_with_the_tokenizers_vocabulary(models, pairs):
    pair = pairs["llama"]
    assert pair.name == "hf" and not pair.uses_acceptance_rate and pair.corpus is None
    # The Llama's 8 padding rows are never produced: the vocabulary is the tokenizer's.
    tokenizer = transformers.AutoTokenizer.from_pretrained(models["llama"][0])
    assert len(pair.vocab) == len(tokenizer) == pair.target.model.config.vocab_size - 8
    assert pair.dists(tuple(pair.encode_prompt("Once upon a time"))).p.shape == (len(tokenizer),)


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_greedy_verification_emits_what_generate_emits(models, pairs, name):
    simulation = Simulation(config(models, name, method="greedy", target_length=30), pairs[name])
    simulation.run()
    target = pairs[name].target.model
    prompt = torch.tensor([list(simulation.history[: simulation.prompt_length])])
    with torch.inference_mode():
        expected = target.generate(
            prompt, do_sample=False, max_new_tokens=30, min_new_tokens=30, pad_token_id=0, eos_token_id=None
        )
    assert list(simulation.tokens) == expected[0, prompt.shape[1] :].tolist()
    # Both kinds of round happened: kept drafts and rejected ones.
    assert 0 < simulation.stats.accepted < simulation.stats.drafted


@pytest.mark.parametrize("sampling", [{}, {"temperature": 0.7, "top_k": 40, "top_p": 0.9}])
def test_cached_p_and_q_equal_a_fresh_forward_pass_after_accepts_and_rejections(models, pairs, sampling):
    pair = pairs["gpt2"] if not sampling else build_model(config(models, "gpt2", **sampling))
    simulation = Simulation(config(models, "gpt2", target_length=16, seed=4, **sampling), pair)
    kept = rejected = 0
    while not simulation.done:
        round_ = simulation.finish_round()
        kept += round_.accepted
        rejected += round_.rejected
        context = list(simulation.history[: simulation.prompt_length + round_.start])
        for i, dists in enumerate(round_.dists):
            fresh = pair.target_distribution(tuple(context + round_.drafted[:i]))
            np.testing.assert_allclose(dists.p, fresh, atol=1e-5, rtol=0)
            if i < len(round_.drafted):
                fresh_q = pair.draft_distribution(tuple(context + round_.drafted[:i]))
                np.testing.assert_allclose(dists.q, fresh_q, atol=1e-5, rtol=0)
    assert kept and rejected  # the caches were rolled back and extended
    if sampling:
        # The warpers ran: top-k/top-p leave most of the vocabulary at zero.
        assert np.count_nonzero(round_.dists[0].p) <= 40


def test_one_target_pass_and_one_draft_pass_per_drafted_token(models, pairs):
    pair = pairs["llama"]
    simulation = Simulation(config(models, target_length=23), pair)
    before = pair.forward_passes()
    models_ = (pair.target, pair.draft)
    timed = [(m.seconds, m.forward_seconds) for m in models_]
    for round_ in iter(simulation.finish_round, None):
        target, draft = pair.forward_passes()
        assert (target - before[0], draft - before[1]) == (1, len(round_.drafted))
        before = (target, draft)
        # A pass's forward call is timed within it: part of its time, not all.
        for model, (seconds, forward) in zip(models_, timed):
            if model.seconds > seconds:
                assert 0 < model.forward_seconds - forward < model.seconds - seconds
        timed = [(m.seconds, m.forward_seconds) for m in models_]
    # The last round is cut so as not to pass n: fewer drafts, still one target pass.
    assert round_.draft_length < simulation.config.draft_length
    summary = simulation.summary()
    assert summary["target_forward_passes"] == simulation.stats.rounds
    assert summary["draft_forward_passes"] == simulation.stats.drafted


@pytest.mark.parametrize("drafter", [{}, {"draft_sampling": "argmax"}])
def test_a_rounds_dists_are_the_numbers_context_dists_computes(models, pairs, drafter):
    # The pair builds a round's dists itself (memoryviews, all betas at once):
    # each must hold what ContextDists(p, q) holds, to the last bit.
    pair = pairs["llama"] if not drafter else build_model(config(models, **drafter))
    simulation = Simulation(config(models, target_length=20, seed=3, **drafter), pair)
    rejected = 0
    for round_ in iter(simulation.finish_round, None):
        rejected += round_.rejected
        for i, dists in enumerate(round_.dists):
            q = round_.proposals[i].q if i < len(round_.drafted) else dists.p
            assert dists.q is q
            expected = ContextDists(dists.p, q)
            assert dists.beta == expected.beta
            for view in ("p_view", "q_view", "q_cdf", "p_cdf", "residual_cdf"):
                assert list(getattr(dists, view)) == list(getattr(expected, view)), view
    assert rejected  # rejections happened: residuals were read too


class KeptOutright(SpeculativeSampling):
    """A broken rule: every draft is kept, so the output follows q, not p."""

    def accepts(self, dists, token, u):
        return True


def test_the_joint_audit_passes_on_the_neural_pair(models):
    # A draft far from its target (an independent model), so that a broken
    # rule shows; the suite runs the passing audit, the long run the broken one too.
    far = config(models, "gpt2", draft=models["far"][1], draft_length=1, prompt="The value")
    pair = build_model(far)
    result = audit(far, AUDIT_SAMPLES, model=pair, tokens=2)
    assert result.lossless and result.tokens == 2 and result.model == "hf"
    if LONG:
        assert not audit(far, AUDIT_SAMPLES, model=pair, method=KeptOutright(far), tokens=2).lossless


def run_cli(arguments):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(arguments)
    return status, out.getvalue(), err.getvalue()


def test_run_json_carries_token_ids_decoded_at_once(models):
    target, draft = models["llama"]
    status, out, _ = run_cli(
        ["run", "--model", "hf", "--target", str(target), "--draft", str(draft), "-n", "12", "--json"]
    )
    data = json.loads(out)
    tokenizer = transformers.AutoTokenizer.from_pretrained(target)
    assert status == 0 and len(data["token_ids"]) == 12
    assert data["text"] == tokenizer.decode(data["token_ids"])
    assert data["config"]["target"] == str(target) and data["config"]["device"] == "auto"
    assert data["target_forward_passes"] == data["rounds"]


def test_measured_timing_prices_the_run_by_its_pass_times(models, pairs):
    simulation = Simulation(config(models, timing="measured"), pairs["llama"])
    simulation.run()
    measured = simulation.summary()["measured"]
    assert measured["target_ms_per_pass"] > 0 and measured["plain_step_ms"] > 0
    spent = measured["target_ms"] + measured["draft_ms"]
    assert measured["speedup"] == pytest.approx(simulation.stats.emitted * measured["plain_step_ms"] / spent)


def test_a_draft_with_another_tokenizer_is_one_line_naming_both(models):
    target = models["gpt2"][0]
    status, _, err = run_cli(
        ["run", "--model", "hf", "--target", str(target), "--draft", str(models["other"]), "-n", "4"]
    )
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert str(target) in err and str(models["other"]) in err and "tokenizer" in err


def test_without_torch_the_pair_says_what_to_install(models, monkeypatch):
    monkeypatch.setattr(hf.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pip install 'specviz\[hf\]'"):
        build_model(config(models))
    target, draft = models["gpt2"]
    status, _, err = run_cli(["run", "--model", "hf", "--target", str(target), "--draft", str(draft), "-n", "4"])
    assert status == 2 and err.count("\n") == 1 and "pip install 'specviz[hf]'" in err


def test_token_text_is_decoded_and_safe(pairs):
    vocab = pairs["gpt2"].vocab
    texts = [vocab[i] for i in range(len(vocab))]
    assert all(text.isprintable() for text in texts)
    # Byte-level pieces that are not whole characters show as U+FFFD, not raw bytes.
    assert any("\ufffd" in text for text in texts)


@pytest.mark.parametrize("drafter", [{"draft_sampling": "argmax"}, {"draft": "prompt-lookup"}])
def test_argmax_and_prompt_lookup_drafts_on_the_neural_pair_keep_greedy_output(models, pairs, drafter):
    plain = Simulation(config(models, "gpt2", method="greedy"), pairs["gpt2"])
    plain.run()
    drafted = config(models, "gpt2", method="greedy", **drafter)
    pair = build_model(drafted)
    simulation = Simulation(drafted, pair)
    for round_ in iter(simulation.finish_round, None):
        assert round_.draft_probs == [1.0] * len(round_.drafted)  # point masses
    # Greedy verification emits the target's greedy decoding, whatever drafts.
    assert list(simulation.tokens) == list(plain.tokens)
    target_passes, draft_passes = pair.forward_passes()
    assert target_passes == simulation.stats.rounds
    if "draft" in drafter:  # no draft model: no draft pass
        assert pair.draft is None and draft_passes == simulation.summary()["draft_forward_passes"] == 0
    else:
        assert draft_passes == simulation.stats.drafted
