"""The n-gram pair's sparse form (models/ngram_sparse.py) against its dense rows.

Every p(x) and q(x) must be the dense row's value bit for bit, beta the dense
sum to rounding, each draw the token the dense inverse CDF gives for the same
u, and a whole run the dense pair's tokens.
"""

import numpy as np
import pytest

from specviz.engine import SimConfig, Simulation
from specviz.engine.models.corpus import default_corpus
from specviz.engine.models.ngram import NgramPair, build_ngram_pair, build_tables
from specviz.engine.models.ngram_sparse import SparseDists, SparseLayout
from specviz.engine.models.pair import ContextDists, sample_index

# u at random, and on a grid of round numbers (both ends included), which
# meet the round cumulative sums of a row that is base alone.
RANDOM_UNIFORMS = np.random.default_rng(5).random(300)
GRID_UNIFORMS = np.linspace(0.0, 1.0 - 2**-53, 101)


@pytest.fixture(scope="module")
def pairs() -> tuple[NgramPair, NgramPair]:
    sparse = build_ngram_pair(SimConfig(model="ngram"))
    return sparse, NgramPair(sparse.tables, sparse=False)


def _contexts(pair: NgramPair, count: int = 25) -> list[tuple[int, ...]]:
    """Contexts the target has seen to every depth, unseen ones, short ones, <unk>."""
    rng = np.random.default_rng(11)
    tokens = default_corpus().tokens
    keys = [(), (pair.unknown_id,), (pair.index["the"],), (pair.index["of"], pair.index["the"])]
    keys += [(pair.unknown_id, pair.index["the"], pair.unknown_id)]
    for start in rng.integers(0, len(tokens) - 3, size=count):
        keys.append(tuple(pair.index[w] for w in tokens[start : start + 3]))
    for _ in range(count):
        keys.append(tuple(int(t) for t in rng.integers(0, len(pair.vocab), size=3)))
    return keys


def test_the_default_tables_have_the_sparse_form_and_shaped_pairs_keep_dense_rows(pairs):
    sparse, dense = pairs
    assert isinstance(sparse.dists((1, 2, 3)), SparseDists)
    assert not isinstance(dense.dists((1, 2, 3)), SparseDists)
    assert not isinstance(NgramPair(sparse.tables, temperature=0.7).dists((1, 2, 3)), SparseDists)


def test_a_draft_that_is_not_a_bigram_has_no_sparse_form():
    tables = build_tables(default_corpus(), draft_order=3)
    assert SparseLayout.for_tables(tables.target, tables.draft, 2**20, 2**20) is None
    pair = NgramPair(tables)
    assert not isinstance(pair.dists((1, 2, 3)), SparseDists)


def test_every_probability_is_the_dense_rows_bit_for_bit(pairs):
    sparse, dense = pairs
    every_token = range(len(sparse.vocab))
    for key in _contexts(sparse):
        fast, slow = sparse.dists(key), dense.dists(key)
        p = np.array([fast.p_view[x] for x in every_token])
        q = np.array([fast.q_view[x] for x in every_token])
        # The dense pair divides p by its sum (1 to within 1e-15); the sparse one does not.
        raw = sparse.tables.target.distribution(key)
        assert np.array_equal(p, raw), key
        assert np.array_equal(fast.p, raw), key
        assert np.array_equal(q, slow.q) and np.array_equal(fast.q, slow.q), key
        assert np.array_equal(np.asarray(fast.q_cdf), np.asarray(slow.q_cdf)), key
        # What the dense pair's p is: this row divided by its sum, which is 1 to rounding.
        assert np.array_equal(slow.p, raw / raw.sum()) and abs(raw.sum() - 1.0) < 1e-14, key


def test_beta_is_the_dense_sum_to_rounding(pairs):
    sparse, dense = pairs
    for key in _contexts(sparse):
        fast, slow = sparse.dists(key), dense.dists(key)
        assert abs(fast.beta - slow.beta) < 1e-14, key
        assert abs(fast.beta - float(np.minimum(fast.p, fast.q).sum())) < 1e-14, key


def _same_draw_or_a_tie(fast: int, cdf, u: float) -> bool:
    """The dense inverse CDF's token, or one beside a boundary that u * total
    falls within rounding of (the two cumulative sums add in other orders:
    they differ by up to ~1e-16 a term)."""
    dense = sample_index(cdf, u)
    if fast == dense:
        return True
    cdf = np.asarray(cdf)
    threshold = u * cdf[-1]
    low, high = sorted((fast, dense))
    return abs(high - low) == 1 and abs(cdf[low] - threshold) < 1e-12


def test_each_draw_is_the_token_the_dense_inverse_cdf_gives(pairs):
    sparse, _ = pairs
    for key in _contexts(sparse):
        dists = sparse.dists(key)
        # The dense rule on the very rows the sparse form stands for.
        eager = ContextDists(dists.p, dists.q)
        for u in RANDOM_UNIFORMS:
            assert dists.sample_residual(u) == sample_index(eager.residual_cdf, u), (key, u)
            assert dists.sample_p(u) == sample_index(eager.p_cdf, u), (key, u)
        for u in GRID_UNIFORMS:
            assert _same_draw_or_a_tie(dists.sample_residual(u), eager.residual_cdf, u), (key, u)
            assert _same_draw_or_a_tie(dists.sample_p(u), eager.p_cdf, u), (key, u)


@pytest.mark.parametrize("method", ["speculative", "greedy", "sample-match", "typical"])
def test_a_run_emits_the_dense_pairs_tokens(pairs, method):
    sparse, dense = pairs
    runs = []
    for pair in (NgramPair(sparse.tables), NgramPair(dense.tables, sparse=False)):
        config = SimConfig(model="ngram", method=method, target_length=600, seed=9, draft_length=4)
        simulation = Simulation(config, pair)
        rounds = []
        simulation.add_listener(rounds.append)
        simulation.run()
        runs.append((simulation, rounds))
    (fast, fast_rounds), (slow, slow_rounds) = runs
    assert list(fast.tokens) == list(slow.tokens)
    assert fast.stats.rejected == slow.stats.rejected and fast.stats.rounds == slow.stats.rounds
    for mine, theirs in zip(fast_rounds, slow_rounds):
        # Every column, untested drafts included, read after the run.
        assert np.allclose(list(mine.target_probs), theirs.target_probs, rtol=1e-14, atol=0)
        assert np.allclose(list(mine.betas), theirs.betas, rtol=1e-13, atol=1e-16)
    assert abs(fast.stats.keep_chance_sum - slow.stats.keep_chance_sum) < 1e-10


def test_the_caches_stay_within_their_budgets(pairs):
    sparse, _ = pairs
    small = NgramPair(sparse.tables)
    layout = small._sparse
    for cache in (layout._q_cdfs, layout._rows, small._followers_after):
        cache.max_bytes = 256 * 1024
    small.cache_size = 50
    config = SimConfig(model="ngram", target_length=3000, seed=2)
    Simulation(config, small).run()
    for cache in (layout._q_cdfs, layout._rows):
        assert len(cache) > 1 and cache.bytes <= 256 * 1024 + max(cache._sizes.values())
    followers = small._followers_after
    assert len(followers) > 1 and followers.bytes <= 256 * 1024
    assert followers.bytes == sum(entry.nbytes for entry in followers.values())
    assert len(small._contexts) <= 50
