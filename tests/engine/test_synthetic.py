import numpy as np
import pytest

from specviz.engine.models.synthetic import SyntheticPair


@pytest.mark.parametrize("alpha", [0.0, 0.05, 0.3, 0.5, 0.75, 0.8, 0.99, 1.0])
def test_every_context_has_exactly_the_set_acceptance_rate(alpha):
    pair = SyntheticPair(alpha)
    for token in range(len(pair.vocab)):
        dists = pair.dists((token,))
        assert dists.p.min() >= 0 and dists.q.min() >= 0
        assert dists.p.sum() == pytest.approx(1.0, abs=1e-12)
        assert dists.q.sum() == pytest.approx(1.0, abs=1e-12)
        assert abs(np.minimum(dists.p, dists.q).sum() - alpha) < 1e-9
        assert abs(dists.beta - alpha) < 1e-9


def test_the_target_is_context_dependent_and_peaked():
    pair = SyntheticPair(0.8)
    the, fox = pair.index["the"], pair.index["fox"]
    p_after_the = pair.dists((the,)).p
    p_after_fox = pair.dists((fox,)).p
    assert not np.allclose(p_after_the, p_after_fox)
    # After a determiner the target rules verbs out; after a noun it allows them.
    was = pair.index["was"]
    assert p_after_the[was] == 0.0 and p_after_fox[was] > 0.0
    # Peaked: the top word carries far more than a uniform share.
    assert p_after_the.max() > 5.0 / len(pair.vocab)


def test_the_model_does_not_depend_on_the_run_seed():
    assert np.array_equal(SyntheticPair(0.6).target_table, SyntheticPair(0.6).target_table)
    assert np.array_equal(SyntheticPair(0.6).draft_table, SyntheticPair(0.6).draft_table)


def test_residual_is_a_distribution_where_p_exceeds_q():
    pair = SyntheticPair(0.6)
    dists = pair.dists((pair.index["the"],))
    residual = dists.residual
    assert residual.sum() == pytest.approx(1.0)
    assert np.all(residual[dists.p <= dists.q] == 0.0)


def test_prompt_words_outside_the_vocabulary_are_dropped():
    pair = SyntheticPair(0.8)
    assert [pair.vocab[i] for i in pair.encode_prompt("Once upon a zebra time")] == ["once", "upon", "a", "time"]
    assert [pair.vocab[i] for i in pair.encode_prompt("zebra")] == ["."]
