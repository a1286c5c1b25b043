"""The joint audit (issue 12, items 5 and 6): the first M emitted tokens against
the target's autoregressive law, computed exactly from p.

Two rules broken past the first token, written as the engine's own method
classes would be, fail it at the default sample count and M; both pass the
first-token audit (M = 1), which is why the joint one exists. Every lossless
method passes on both model pairs; typical acceptance fails.
"""

import numpy as np
import pytest

from specviz.engine import SimConfig, Simulation
from specviz.engine.analysis.audit import (
    DEFAULT_SAMPLES,
    DEFAULT_TOKENS,
    MAX_TOKENS,
    SIGNIFICANCE,
    audit,
    goodness_of_fit,
)
from specviz.engine.models.ngram import build_ngram_pair
from specviz.engine.models.pair import sample_index
from specviz.engine.run.config import ConfigError
from specviz.engine.verification.methods import SpeculativeSampling


class BonusFromDraft(SpeculativeSampling):
    """After every draft was kept, the bonus is drawn from q instead of p."""

    def bonus(self, dists, u):
        return sample_index(dists.q_cdf, u)


class KeepAfterFirst(SpeculativeSampling):
    """Only position 1 is tested: once it is kept, every later draft is kept too."""

    def kept_prefix(self, round_, uniforms):
        if round_.drafted and not self.accepts(round_.dists[0], round_.drafted[0], uniforms[0]):
            return 0
        return len(round_.drafted)


SYNTHETIC = SimConfig(seed=3)  # alpha 0.75, k 5, the default prompt
# A full round's bonus is token k + 1: at M = 2 only k = 1 puts it in reach.
MUTANTS = [(BonusFromDraft, 1), (KeepAfterFirst, SYNTHETIC.draft_length)]
NGRAM = SimConfig(model="ngram", prompt="the value of the", draft_length=2, seed=5)
NGRAM_SAMPLES = 3_000  # the n-gram pair's rounds cost ~20x the synthetic pair's


@pytest.fixture(scope="module")
def ngram():
    return build_ngram_pair(NGRAM)


def test_defaults():
    assert DEFAULT_TOKENS == 2 and MAX_TOKENS == 4 and DEFAULT_SAMPLES == 20_000


# ---- the point of the issue: rules broken after position 1 --------------------


@pytest.mark.parametrize("mutant, k", MUTANTS)
def test_a_rule_broken_after_the_first_token_fails_the_joint_audit(mutant, k):
    config = SYNTHETIC.replace(draft_length=k)
    result = audit(config, DEFAULT_SAMPLES, method=mutant(config))
    assert result.tokens == DEFAULT_TOKENS == 2
    assert not result.lossless and result.chi2_pvalue < SIGNIFICANCE, result.to_dict()


@pytest.mark.parametrize("mutant, k", MUTANTS)
def test_the_same_rule_passes_the_first_token_audit(mutant, k):
    # Token 1 is a draft kept at position 1 or the correction there: nothing
    # these rules change can reach it, so the counts equal the correct rule's.
    config = SYNTHETIC.replace(draft_length=k)
    broken = audit(config, DEFAULT_SAMPLES, method=mutant(config), tokens=1)
    correct = audit(config, DEFAULT_SAMPLES, tokens=1)
    assert broken.lossless and broken.chi2_pvalue >= SIGNIFICANCE, broken.to_dict()
    assert np.array_equal(broken.counts, correct.counts) and broken.chi2_pvalue == correct.chi2_pvalue


@pytest.mark.parametrize("mutant, k", [(BonusFromDraft, 1), (KeepAfterFirst, 2)])
def test_on_the_ngram_pair_the_chi_square_itself_catches_them(ngram, mutant, k):
    # The synthetic draft puts mass where p has none, so there a mutant emits a
    # sequence the target rules out; the n-gram pair's p is positive almost
    # everywhere, so this is the chi-square test's power.
    config = NGRAM.replace(draft_length=k)
    result = audit(config, NGRAM_SAMPLES, model=ngram, method=mutant(config))
    assert np.all(result.probabilities[result.counts > 0] > 0)  # no outright impossibility
    # p-values near 1e-25 at 3,000 samples: far below the threshold.
    assert not result.lossless and result.chi2_pvalue < SIGNIFICANCE**5, result.to_dict()
    assert audit(config, NGRAM_SAMPLES, model=ngram, method=mutant(config), tokens=1).lossless


def test_the_bonus_is_out_of_reach_when_k_is_not_below_m():
    # Documented scope: at k = 5 the first round's bonus is token 6.
    result = audit(SYNTHETIC, 2_000, method=BonusFromDraft(SYNTHETIC))
    assert result.lossless and not result.bonus_tested
    assert audit(SYNTHETIC.replace(draft_length=1), 2_000).bonus_tested


# ---- lossless methods pass, typical fails ------------------------------------


@pytest.mark.parametrize("method", ["speculative", "greedy", "sample-match"])
def test_lossless_methods_pass_on_the_synthetic_pair(method):
    result = audit(SYNTHETIC.replace(method=method), DEFAULT_SAMPLES)
    assert result.lossless and result.chi2_pvalue >= SIGNIFICANCE, result.to_dict()
    if method != "greedy":
        assert result.degrees_of_freedom >= 100  # a real joint test, not a few pooled cells


@pytest.mark.parametrize("method", ["speculative", "greedy", "sample-match"])
def test_lossless_methods_pass_on_the_ngram_pair(ngram, method):
    result = audit(NGRAM.replace(method=method), NGRAM_SAMPLES, model=ngram)
    assert result.lossless and result.chi2_pvalue >= SIGNIFICANCE, result.to_dict()
    if method != "greedy":
        assert result.degrees_of_freedom >= 50


@pytest.mark.parametrize("pair", ["synthetic", "ngram"])
def test_typical_fails(ngram, pair):
    if pair == "synthetic":
        result = audit(SYNTHETIC.replace(method="typical"), DEFAULT_SAMPLES)
    else:
        result = audit(NGRAM.replace(method="typical"), NGRAM_SAMPLES, model=ngram)
    assert not result.lossless and result.chi2_pvalue < SIGNIFICANCE, result.to_dict()
    assert not result.method_claims_lossless


# ---- the reference law ------------------------------------------------------


def test_the_reference_is_the_autoregressive_law_of_p():
    model = Simulation(SYNTHETIC).model
    result = audit(SYNTHETIC, 5_000, model=model, tokens=3)
    p = model.target_table  # context order 1: p(. | the last word)
    start = model.encode_prompt(SYNTHETIC.prompt)[-1]
    for (x1, x2, x3), probability in zip(result.sequences.tolist(), result.probabilities):
        assert probability == pytest.approx(p[start, x1] * p[x1, x2] * p[x2, x3], rel=1e-12, abs=0)
    # Every sequence expected at least 5 times has its own row, seen or not.
    assert (result.probabilities * result.samples >= 5).sum() == result.degrees_of_freedom
    assert result.counts.sum() == result.samples  # every sample is listed


def test_greedy_is_judged_against_the_argmax_path():
    model = Simulation(SYNTHETIC).model
    result = audit(SYNTHETIC.replace(method="greedy"), 1_000, model=model, tokens=MAX_TOKENS)
    path = [model.encode_prompt(SYNTHETIC.prompt)[-1]]
    for _ in range(MAX_TOKENS):
        path.append(int(np.argmax(model.target_table[path[-1]])))
    assert result.reference == "argmax p" and result.sequences.tolist() == [path[1:]]
    assert result.probabilities.tolist() == [1.0] and result.counts.tolist() == [1_000]


def test_m_1_is_the_first_token_test():
    # Today's audit, written out: first-token counts over the vocabulary.
    config = SYNTHETIC.replace(method="sample-match")
    simulation = Simulation(config)
    counts = np.zeros(len(simulation.model.vocab), dtype=np.int64)
    for _ in range(5_000):
        simulation.restart_from_prompt()
        simulation.finish_round()
        counts[simulation.history[simulation.prompt_length]] += 1
    p = simulation.model.dists(simulation.model.context_key(simulation.history[: simulation.prompt_length])).p
    result = audit(config, 5_000, tokens=1)
    assert (result.chi2_statistic, result.chi2_pvalue, result.degrees_of_freedom) == goodness_of_fit(counts, p)
    assert result.tv_distance == pytest.approx(0.5 * np.abs(counts / 5_000 - p).sum(), abs=1e-12)


@pytest.mark.parametrize("tokens", [3, 4])
def test_longer_sequences(tokens):
    config = SYNTHETIC.replace(draft_length=2)
    assert audit(config, 5_000, tokens=tokens).lossless
    assert not audit(config, 5_000, method=KeepAfterFirst(config), tokens=tokens).lossless
    # The bonus (token 3) is in reach from M = 3.
    assert not audit(config, 5_000, method=BonusFromDraft(config), tokens=tokens).lossless


# ---- item 6: full rounds whatever -n says -------------------------------------


@pytest.mark.parametrize("target_length", [1, 2, 50])
def test_the_audit_judges_full_rounds_whatever_n_says(target_length):
    config = SYNTHETIC.replace(target_length=target_length)
    assert audit(config, 3_000).to_dict() == audit(SYNTHETIC.replace(target_length=1_000), 3_000).to_dict()
    # At n = 1 a run drafts nothing; the audit still sees the broken rule.
    assert not audit(config, 3_000, method=KeepAfterFirst(config)).lossless


@pytest.mark.parametrize("tokens", [0, 5, -1])
def test_m_out_of_range_is_refused(tokens):
    with pytest.raises(ConfigError) as raised:
        audit(SYNTHETIC, 100, tokens=tokens)
    assert "--tokens" in str(raised.value) and "1 to 4" in str(raised.value)
