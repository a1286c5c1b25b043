"""The n-gram pair: Kneser-Ney models on real text, verified losslessly."""

import numpy as np
import pytest

from specviz.cli import main
from specviz.engine import SimConfig, Simulation
from specviz.engine.analysis.audit import SIGNIFICANCE, audit
from specviz.engine.models.corpus import MIN_CORPUS_WORDS, default_corpus, read_corpus
from specviz.engine.models.ngram import (
    UNKNOWN,
    KneserNeyModel,
    NgramPair,
    build_ngram_pair,
    shape_distribution,
)
from specviz.engine.models.pair import model_names, sample_index
from specviz.engine.models.words import PUNCTUATION, tokenize
from specviz.engine.run.config import ConfigError
from specviz.engine.verification.methods import SpeculativeSampling

SENTENCES = "The cat sat on the mat. The dog sat on the log; the cat saw the dog!\n" * 4


@pytest.fixture(scope="module")
def pair() -> NgramPair:
    return build_ngram_pair(SimConfig(model="ngram"))


def _contexts(pair, count=40, seed=0):
    """Random contexts of every length the engine may pass, with unknown words."""
    rng = np.random.default_rng(seed)
    vocab_size = len(pair.vocab)
    keys = [(), (pair.unknown_id,), (pair.index["the"],), tuple(pair.encode_prompt("the value of the"))[-3:]]
    for _ in range(count):
        length = int(rng.integers(1, pair.context_order + 1))
        keys.append(tuple(int(t) for t in rng.integers(0, vocab_size, size=length)))
    # Contexts the models have seen, taken from the corpus itself.
    tokens = default_corpus().tokens
    for start in rng.integers(0, len(tokens) - 3, size=count):
        keys.append(tuple(pair.index[w] for w in tokens[start : start + 3]))
    return keys


def test_registered_and_described(pair):
    assert "ngram" in model_names()
    assert not pair.uses_acceptance_rate
    assert pair.context_order == 3  # a 4-gram target
    assert "4-gram" in pair.description and "2-gram" in pair.description


def test_default_corpus_is_real_prose_of_at_least_50000_words(pair):
    corpus = default_corpus()
    assert corpus.word_count >= 50_000
    assert len(pair.vocab) > 1000
    # Prose, not code: the commonest words are English function words.
    assert {"the", "is", "of", "a", "to"} <= set(pair.vocab[:20])


@pytest.mark.parametrize("shaping", [(1.0, 0, 1.0), (0.7, 0, 0.9), (1.5, 25, 1.0), (0.05, 0, 1.0)])
def test_distributions_are_probability_vectors_over_one_vocabulary(pair, shaping):
    temperature, top_k, top_p = shaping
    model = NgramPair(pair.tables, temperature, top_k, top_p)
    assert model.tables.target.vocab_size == model.tables.draft.vocab_size == len(model.vocab)
    for key in _contexts(model):
        for dist in (model.target_distribution(key), model.draft_distribution(key)):
            assert dist.dtype == np.float64 and dist.shape == (len(model.vocab),)
            assert dist.min() >= 0.0
            assert abs(dist.sum() - 1.0) < 1e-12
            assert dist[model.unknown_id] == 0.0  # <unk> is never generated
            if top_k:
                assert np.count_nonzero(dist) >= top_k


def test_unshaped_models_give_every_word_some_probability(pair):
    for key in _contexts(pair, count=10):
        for dist in (pair.target_distribution(key), pair.draft_distribution(key)):
            assert np.count_nonzero(dist) == len(pair.vocab) - 1  # all but <unk>


def test_the_target_knows_more_than_the_draft(pair):
    # After "the value of the", the 4-gram's favourite follows in the corpus;
    # the bigram only knows what follows "the".
    key = tuple(pair.encode_prompt("the value of the"))
    p, q = pair.target_distribution(key), pair.draft_distribution(key)
    assert p.max() > q.max()
    assert 0.0 < np.minimum(p, q).sum() < 1.0


def test_caching_by_the_context_the_models_use_changes_nothing(pair):
    fresh = NgramPair(pair.tables)
    for key in _contexts(pair):
        dists = pair.dists(key)
        assert np.array_equal(dists.p, fresh.target_distribution(key))
        assert np.array_equal(dists.q, fresh.draft_distribution(key))


def test_kneser_ney_on_a_toy_corpus_by_hand():
    # Tokens: a b a b a c (ids a=0, b=1, c=2, <unk>=3). Bigram level, raw counts:
    # after a: b twice, c once (total 3, 2 distinct followers).
    ids = np.array([0, 1, 0, 1, 0, 2])
    model = KneserNeyModel(ids, 4, 2)
    bigram, unigram = model.levels[1], model.levels[0]
    d2, d1 = bigram.discount, unigram.discount
    # Unigram continuation counts: b after {a}, a after {b}, c after {a}: 1 each.
    base = np.array([1 - d1, 1 - d1, 1 - d1, 0.0]) / 3 + d1 * 3 / 3 * np.array([1, 1, 1, 0]) / 3
    expected = np.array([0.0, 2 - d2, 1 - d2, 0.0]) / 3 + d2 * 2 / 3 * base
    assert np.allclose(model.distribution((0,)), expected)
    assert np.allclose(model.distribution((3,)), base)  # <unk>: back off to the unigram
    assert np.allclose(model.distribution(()), base)


def test_shaping_follows_temperature_then_top_k_then_top_p():
    dist = np.array([0.5, 0.3, 0.15, 0.05])
    assert np.allclose(shape_distribution(dist, 1.0, 2, 1.0), [0.625, 0.375, 0, 0])
    assert np.allclose(shape_distribution(dist, 1.0, 0, 0.8), [0.625, 0.375, 0, 0])
    assert np.allclose(shape_distribution(dist, 1.0, 0, 0.81), np.array([0.5, 0.3, 0.15, 0]) / 0.95)
    cooled = shape_distribution(dist, 0.5, 0, 1.0)
    assert np.allclose(cooled, dist**2 / (dist**2).sum())
    assert shape_distribution(dist, 0.01, 0, 1.0)[0] == pytest.approx(1.0)


def test_top_k_keeps_every_token_tied_with_the_kth_as_transformers_does():
    # transformers' TopKLogitsWarper removes only scores below the k-th largest.
    assert np.allclose(shape_distribution(np.array([0.4, 0.2, 0.2, 0.2]), 1.0, 2, 1.0), [0.4, 0.2, 0.2, 0.2])
    assert np.allclose(shape_distribution(np.array([0.2, 0.4, 0.3, 0.1]), 1.0, 2, 1.0), [0, 4 / 7, 3 / 7, 0])
    tied_below = np.array([0.1, 0.3, 0.3, 0.2, 0.1])
    assert np.allclose(shape_distribution(tied_below, 1.0, 1, 1.0), [0, 0.5, 0.5, 0, 0])
    assert np.allclose(shape_distribution(tied_below, 1.0, 4, 1.0), tied_below)
    # Ties survive a temperature: equal probabilities stay equal.
    assert np.count_nonzero(shape_distribution(np.array([0.4, 0.2, 0.2, 0.2]), 0.5, 2, 1.0)) == 4


def test_top_k_on_kneser_ney_rows_keeps_the_ties_they_are_full_of(pair):
    top_k = 25
    shaped = NgramPair(pair.tables, 1.0, top_k, 1.0)
    widened = 0
    for key in _contexts(pair, count=200):
        for raw, dist in (
            (pair.target_distribution(key), shaped.target_distribution(key)),
            (pair.draft_distribution(key), shaped.draft_distribution(key)),
        ):
            kth = np.sort(raw)[::-1][top_k - 1]
            assert np.array_equal(dist > 0, raw >= kth)
            widened += np.count_nonzero(dist) > top_k
    assert widened > 0  # some rows have ties at the k-th word, so the rule is exercised


def test_same_seed_same_tokens_and_another_seed_other_tokens(pair):
    config = SimConfig(model="ngram", target_length=300, draft_length=4, seed=7)
    runs = [Simulation(config, NgramPair(pair.tables)) for _ in range(2)]
    for run in runs:
        run.run()
    assert runs[0].history == runs[1].history
    assert runs[0].stats.to_dict() == runs[1].stats.to_dict()
    other = Simulation(config.replace(seed=8), NgramPair(pair.tables))
    other.run()
    assert other.history != runs[0].history


def test_prompt_words_outside_the_corpus_become_unknown(pair):
    ids = pair.encode_prompt("Once upon a zorblax")
    assert ids[-1] == pair.unknown_id and pair.vocab[ids[0]] == "once"
    assert pair.encode_prompt("") == [pair.index["."]]
    simulation = Simulation(SimConfig(model="ngram", prompt="zorblax quux", target_length=50), pair)
    simulation.run()
    assert pair.unknown_id not in simulation.tokens
    assert UNKNOWN in simulation.prompt_text()


# ---- the speculative sampling guarantee on real text ------------------------


class CorrectionFromTarget(SpeculativeSampling):
    """A plausible bug: after a rejection, resample from p instead of the residual."""

    def correction(self, dists, u):
        return sample_index(dists.p_cdf, u)


LOSSLESS_SAMPLES = 4000


@pytest.mark.parametrize("shaping", [(1.0, 0, 1.0), (0.8, 40, 0.95)])
def test_emitted_tokens_follow_the_target_in_a_fixed_context(pair, shaping):
    temperature, top_k, top_p = shaping
    config = SimConfig(
        model="ngram",
        prompt="the value of the",
        draft_length=2,
        target_length=1000,
        seed=5,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
    )
    model = NgramPair(pair.tables, temperature, top_k, top_p)
    key = tuple(model.encode_prompt(config.prompt))
    assert 0.2 < model.dists(key).beta < 0.9  # the draft is often wrong here
    result = audit(config, LOSSLESS_SAMPLES, model=model)  # the first 2 tokens, jointly
    assert result.tokens == 2
    # The reference law, recomputed here from the shaped p: p(x1) p(x2 | x1).
    for (x1, x2), probability in zip(result.sequences.tolist(), result.probabilities):
        after = tuple((list(key) + [x1])[-model.context_order :])
        assert probability == pytest.approx(model.target_distribution(key)[x1] * model.target_distribution(after)[x2])
    assert result.degrees_of_freedom >= 10
    assert result.lossless and result.chi2_pvalue >= SIGNIFICANCE, result.to_dict()


def test_the_same_test_fails_a_broken_rule(pair):
    config = SimConfig(model="ngram", prompt="the value of the", draft_length=2, target_length=1000, seed=5)
    result = audit(config, LOSSLESS_SAMPLES, model=NgramPair(pair.tables), method=CorrectionFromTarget(SimConfig()))
    assert not result.lossless and result.chi2_pvalue < SIGNIFICANCE, result.to_dict()


def test_empirical_alpha_is_the_mean_beta_over_verified_contexts(pair):
    config = SimConfig(model="ngram", target_length=800, draft_length=4, seed=2, prompt="Once upon a time")
    simulation = Simulation(config, NgramPair(pair.tables))
    rounds = []
    simulation.add_listener(rounds.append)
    simulation.run()
    # Recompute each verified position's p and q with a fresh model, from the
    # history alone, and sum_x min(p, q) from them.
    fresh = NgramPair(pair.tables)
    history = simulation.history.tolist()
    betas = []
    for round_ in rounds:
        before = history[: simulation.prompt_length + round_.start]
        for i in range(round_.decided):
            key = tuple((before + round_.drafted[:i])[-fresh.context_order :])
            betas.append(np.minimum(fresh.target_distribution(key), fresh.draft_distribution(key)).sum())
    assert len(betas) == simulation.stats.verified > 400
    alpha = simulation.stats.empirical_alpha
    assert alpha == pytest.approx(np.mean(betas), rel=1e-12)
    assert simulation.summary(include_text=False)["theory_alpha"] == alpha
    assert 0.3 < alpha < 0.9  # real acceptance: neither trivial nor hopeless


# ---- user corpora -------------------------------------------------------------


def test_a_corpus_of_a_few_sentences_yields_only_its_words(tmp_path):
    path = tmp_path / "sentences.txt"
    path.write_text(SENTENCES, encoding="utf-8")
    config = SimConfig(model="ngram", corpus=str(path), prompt="the cat", target_length=400, seed=3)
    simulation = Simulation(config)
    simulation.run()
    corpus_words = set(tokenize(SENTENCES))
    assert set(simulation.model.vocab) == corpus_words | {UNKNOWN}
    emitted = {simulation.model.vocab[t] for t in simulation.tokens}
    assert emitted <= corpus_words and len(emitted) > 5
    assert set(tokenize(simulation.text())) <= corpus_words
    # The bigram draft knows this text almost as well as the 4-gram target.
    assert simulation.stats.empirical_alpha > 0.5


def _write(tmp_path, name, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(
    "make_path, problem",
    [
        (lambda tmp: str(tmp / "missing.txt"), "no such file"),
        (lambda tmp: str(tmp), "not a regular file"),
        (lambda tmp: _write(tmp, "empty.txt", b""), "empty"),
        (lambda tmp: _write(tmp, "blank.txt", b" \n\t\n"), "empty"),
        (lambda tmp: _write(tmp, "image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20), "binary"),
        (lambda tmp: _write(tmp, "latin1.txt", "caf\xe9 na\xefve ".encode("latin-1") * 30), "not UTF-8"),
        (lambda tmp: _write(tmp, "short.txt", b"Just a few words. Not enough."), "has 6 words"),
        (lambda tmp: _write(tmp, "symbols.txt", b"--- *** ### ... !!! ???\n" * 50), "has 0 words"),
    ],
)
def test_a_bad_corpus_is_a_one_line_config_error(tmp_path, make_path, problem):
    path = make_path(tmp_path)
    with pytest.raises(ConfigError) as caught:
        Simulation(SimConfig(model="ngram", corpus=path))
    message = str(caught.value)
    assert caught.value.parameter == "corpus"
    assert "\n" not in message and problem in message and f"at least {MIN_CORPUS_WORDS} words" in message


def test_the_cli_prints_one_line_and_exits_2_for_a_bad_corpus(tmp_path, capsys):
    status = main(["run", "--model", "ngram", "--corpus", str(tmp_path / "nope.txt"), "-n", "5"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "corpus" in err and "no such file" in err


def test_the_cli_runs_on_a_user_corpus(tmp_path, capsys):
    path = _write(tmp_path, "sentences.txt", SENTENCES.encode())
    assert main(["run", "--model", "ngram", "--corpus", path, "-n", "30", "--prompt", "the dog", "--json"]) == 0
    assert "empirical_alpha" in capsys.readouterr().out


def test_a_corpus_with_a_byte_order_mark_and_no_final_newline_reads(tmp_path):
    path = _write(tmp_path, "bom.txt", ("\ufeff" + SENTENCES.strip()).encode("utf-8"))
    corpus = read_corpus(path)
    assert corpus.tokens[0] == "the" and corpus.word_count == sum(
        1 for t in tokenize(SENTENCES) if t not in PUNCTUATION
    )


def test_at_the_lowest_temperature_distributions_are_finite_and_a_run_completes(pair):
    from specviz.engine.run.config import MIN_TEMPERATURE

    model = NgramPair(pair.tables, MIN_TEMPERATURE, 0, 1.0)
    for key in _contexts(model, count=20):
        for dist in (model.target_distribution(key), model.draft_distribution(key)):
            assert np.isfinite(dist).all() and abs(dist.sum() - 1.0) < 1e-12
            assert dist[model.unknown_id] == 0.0
    config = SimConfig(model="ngram", temperature=MIN_TEMPERATURE, target_length=60, seed=3)
    simulation = Simulation(config, model)
    simulation.run()
    assert model.unknown_id not in simulation.tokens and UNKNOWN not in simulation.text()
    summary = simulation.summary()
    assert all(np.isfinite(value) for value in (summary["empirical_alpha"], summary["tokens_per_target_pass"]))
    # Why the bound: at a subnormal temperature log p / T overflows and every weight is NaN.
    with np.errstate(all="ignore"):
        assert np.isnan(shape_distribution(pair.tables.target.distribution(()), 5e-324, 0, 1.0)).all()


def test_the_target_side_is_computed_on_first_use_and_never_densely(pair, monkeypatch):
    # Drafting reads only q; verifying reads p(x), beta and a draw, none of
    # which needs the dense row (tests/engine/test_ngram_sparse.py: the same numbers).
    fresh = NgramPair(pair.tables)
    target = fresh.tables.target
    calls = []
    real = target.distribution
    monkeypatch.setattr(target, "distribution", lambda *args: calls.append(args) or real(*args))
    key = tuple(fresh.encode_prompt("the value of the"))[-3:]
    dists = fresh.dists(key)
    token = sample_index(dists.q_cdf, 0.3)
    assert dists.q_view[token] > 0
    assert 0 < dists.p_view[token] < 1 and 0 < dists.beta < 1
    dists.sample_residual(0.4), dists.sample_p(0.6)
    assert calls == []
    assert np.array_equal(dists.p, real(key)) and len(calls) == 1  # asked for: the dense row
    p, q = pair.target_distribution(key), pair.draft_distribution(key)
    assert p.max() > q.max()
    assert 0.0 < np.minimum(p, q).sum() < 1.0
