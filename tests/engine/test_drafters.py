"""The drafters real engines use (issue 16): an argmax draft and prompt lookup, over any pair."""

from __future__ import annotations

import numpy as np
import pytest

from specviz.engine import SimConfig, Simulation
from specviz.engine.analysis.audit import audit
from specviz.engine.models.drafters import ArgmaxDraftPair, PromptLookupPair, _NgramIndex
from specviz.engine.models.pair import build_model
from specviz.engine.run.config import ConfigError
from specviz.engine.verification.methods import SpeculativeSampling

ARGMAX = SimConfig(draft_sampling="argmax", seed=11, target_length=400)
LOOKUP = SimConfig(draft="prompt-lookup", seed=11, target_length=400)
AUDIT_SAMPLES = 2_000


def test_an_argmax_draft_proposes_the_top_token_and_is_kept_with_probability_p():
    simulation = Simulation(ARGMAX)
    assert isinstance(simulation.model, ArgmaxDraftPair)
    inner = simulation.model.inner
    while not simulation.done:
        round_ = simulation.finish_round()
        context = list(simulation.history[: simulation.prompt_length + round_.start])
        for i, token in enumerate(round_.drafted):
            q = inner.dists(inner.context_key(context + round_.drafted[:i])).q
            assert token == int(np.argmax(q))
        assert round_.draft_probs == [1.0] * len(round_.drafted)
        # min(1, p/q) with q = 1 at x: the keep chance is p(x) itself.
        assert round_.betas == pytest.approx(round_.target_probs, abs=1e-12)
    # Another drafter than sampling from q: another run from the same seed.
    sampled = Simulation(ARGMAX.replace(draft_sampling="sample"))
    sampled.run()
    assert simulation.text() != sampled.text()


class KeptOutright(SpeculativeSampling):
    """A broken rule for point-mass drafts: keep every draft, as if p(x) were 1."""

    def accepts(self, dists, token, u):
        return True


@pytest.mark.parametrize("changes", [{}, {"method": "greedy"}])
def test_an_argmax_draft_stays_lossless(changes):
    config = ARGMAX.replace(**changes)
    assert audit(config, AUDIT_SAMPLES, tokens=2).lossless


def test_the_audit_catches_an_argmax_draft_kept_outright():
    assert not audit(ARGMAX, AUDIT_SAMPLES, method=KeptOutright(ARGMAX), tokens=2).lossless


def transformers_lookup(ids, most):
    """transformers' PromptLookupCandidateGenerator's match, written plainly:
    the longest suffix n (from `most` down to 1) with an earlier occurrence
    that has ids after it; the first such occurrence; the ids after it."""
    for n in range(min(most, len(ids)), 0, -1):
        suffix = ids[len(ids) - n :]
        for start in range(len(ids) - n + 1):
            if ids[start : start + n] == suffix and start + n < len(ids):
                return ids[start + n :]
    return []


def test_the_lookup_index_finds_what_transformers_finds():
    rng = np.random.default_rng(3)
    index = _NgramIndex(3)
    ids: list[int] = []
    for _ in range(300):
        ids.append(int(rng.integers(6)))
        start = index.continuation(ids)
        expected = transformers_lookup(ids, 3)
        assert (ids[start:] if start is not None else []) == expected
    # A history that does not extend the indexed one (the audit restarts) is indexed afresh.
    assert index.continuation([5, 1, 5]) == 1
    assert index.continuation([2]) is None


@pytest.mark.parametrize("model", ["synthetic", "ngram"])
def test_prompt_lookup_drafts_copies_of_the_text_and_costs_no_draft_pass(model):
    config = LOOKUP.replace(model=model, prompt="the value of the object is the value of")
    simulation = Simulation(config)
    assert isinstance(simulation.model, PromptLookupPair)
    drafted_rounds = 0
    while not simulation.done:
        round_ = simulation.finish_round()
        history = list(simulation.history[: simulation.prompt_length + round_.start])
        assert round_.drafted == transformers_lookup(history, 3)[: round_.draft_length]
        assert round_.draft_probs == [1.0] * len(round_.drafted)
        drafted_rounds += bool(round_.drafted)
    assert drafted_rounds and simulation.stats.accepted
    summary = simulation.summary()
    assert summary["draft_forward_passes"] == 0 and summary["cost_ms"]["draft_ms"] == 0.0
    assert summary["target_forward_passes"] == simulation.stats.rounds


def test_prompt_lookup_is_lossless():
    assert audit(LOOKUP.replace(prompt="a dog and a dog and a"), AUDIT_SAMPLES, tokens=2).lossless


def test_prompt_lookup_rules():
    with pytest.raises(ConfigError, match="prompt-lookup"):
        SimConfig(draft="some/model")  # a draft model needs --model hf
    with pytest.raises(ConfigError, match="only with --draft prompt-lookup"):
        SimConfig(prompt_lookup_max=2)
    with pytest.raises(ConfigError, match="its drafts cost nothing"):
        SimConfig(draft="prompt-lookup", draft_cost=0.5)
    assert build_model(SimConfig(draft="prompt-lookup", prompt_lookup_max=1))._index.most == 1
