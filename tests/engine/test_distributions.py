"""What the distributions view draws at one draft position (engine/analysis/distributions.py):
on hand-made p and q where the answer is known, then on every position of real runs."""

from __future__ import annotations

import numpy as np
import pytest

from specviz.engine import ContextDists, SimConfig, Simulation
from specviz.engine.analysis.distributions import (
    BONUS,
    GREEDY,
    KEPT,
    PENDING,
    REJECTED,
    SAMPLE_MATCH,
    SKIPPED,
    SPECULATIVE,
    TYPICAL,
    UNUSED,
    default_position,
    position_distributions,
    position_dists,
    round_dists,
    top_tokens,
)
from specviz.engine.models.pair import sample_index
from specviz.engine.run.rounds import Phase, Round
from specviz.engine.verification.methods import build_method

# Ten tokens: p and q agree on little, token 9 is unlikely under both.
P = np.array([0.30, 0.05, 0.20, 0.10, 0.02, 0.15, 0.08, 0.04, 0.05, 0.01])
Q = np.array([0.10, 0.40, 0.05, 0.10, 0.20, 0.02, 0.03, 0.05, 0.04, 0.01])
DISTS = ContextDists(P, Q)


def method(name: str, **config):
    return build_method(SimConfig(method=name, **config))


def a_round(drafted, accepted, rejected, correction=None, bonus=None, k=None) -> Round:
    """A completed round drafting `drafted` in the one context DISTS."""
    k = len(drafted) if k is None else k
    draws = [0.5] * k + [0.1 * (i + 1) for i in range(k)] + [0.77]
    return Round(
        0,
        0,
        k,
        draws=draws,
        drafted=list(drafted),
        draft_probs=[float(Q[t]) for t in drafted],
        target_probs=[float(P[t]) for t in drafted],
        accepted=accepted,
        rejected=rejected,
        correction=correction,
        bonus=bonus,
        completed=True,
    )


def test_rows_overlap_and_the_other_row_add_up():
    # Drafted 9 (the least likely token) and rejected: corrected to 2.
    round_ = a_round([0, 9], accepted=1, rejected=True, correction=2)
    view = position_distributions(DISTS, method("speculative"), round_, 1, Phase.ACCEPT, top=4)
    # The top 4 by max(p, q), then the marked tokens not among them: x = 9 (2 is in the top).
    assert view.listed == (1, 0, 2, 4, 9)  # 2 and 4 tie at 0.20: the lower id first
    assert view.token == 9 and view.verdict == REJECTED and view.final == 2
    for row in view.rows:
        assert (row.p, row.q, row.overlap) == (P[row.token], Q[row.token], min(P[row.token], Q[row.token]))
    other = view.other
    assert other is not None and other.token is None
    rest = [t for t in range(10) if t not in view.listed]
    assert other.p == pytest.approx(P[rest].sum())
    assert other.q == pytest.approx(Q[rest].sum())
    assert other.overlap == pytest.approx(np.minimum(P, Q)[rest].sum())  # sum of mins, not min of sums
    assert other.overlap < min(other.p, other.q)
    assert view.overlap == pytest.approx(np.minimum(P, Q).sum())
    assert view.total_variation == pytest.approx(0.5 * np.abs(P - Q).sum())
    assert (view.p_x, view.q_x, view.u) == (P[9], Q[9], 0.2)
    assert view.ratio == pytest.approx(1.0)


def test_the_residual_is_shown_after_a_speculative_rejection_only():
    rejected = a_round([1, 4], accepted=0, rejected=True, correction=0)
    view = position_distributions(DISTS, method("speculative"), rejected, 0, Phase.ACCEPT, top=3)
    assert view.residual_shown
    residual = np.maximum(P - Q, 0.0) / np.maximum(P - Q, 0.0).sum()
    for row in view.rows:
        assert row.residual == pytest.approx(residual[row.token])
    assert view.other is not None
    assert view.other.residual == pytest.approx(residual[[t for t in range(10) if t not in view.listed]].sum())
    assert sum(row.residual for row in view.rows) + view.other.residual == pytest.approx(1.0)
    # Where q >= p the residual is 0: a correction never lands on the drafted token 1.
    assert next(row for row in view.rows if row.token == 1).residual == 0.0
    # Kept, or another method's correction (not drawn from the residual): no residual.
    kept = position_distributions(DISTS, method("speculative"), a_round([0], 1, False, bonus=2), 0, Phase.ACCEPT)
    assert not kept.residual_shown and all(row.residual == 0.0 for row in kept.rows)
    typical = position_distributions(DISTS, method("typical"), rejected, 0, Phase.ACCEPT)
    assert not typical.residual_shown


def test_verdicts_and_the_uniform_per_position():
    round_ = a_round([0, 1, 4], accepted=1, rejected=True, correction=5)
    speculative = method("speculative")
    verdicts = [position_distributions(DISTS, speculative, round_, i, Phase.ACCEPT).verdict for i in range(4)]
    assert verdicts == [KEPT, REJECTED, SKIPPED, UNUSED]
    assert [position_distributions(DISTS, speculative, round_, i, Phase.ACCEPT).u for i in range(4)] == [
        0.1,
        0.2,
        None,
        None,
    ]
    full = a_round([0, 3], accepted=2, rejected=False, bonus=6)
    last = position_distributions(DISTS, speculative, full, 2, Phase.ACCEPT)
    assert (last.verdict, last.token, last.final, last.u, last.p_x) == (BONUS, None, 6, 0.77, None)
    assert default_position(round_, Phase.ACCEPT) == 1 and default_position(full, Phase.ACCEPT) == 2
    # Before ACCEPT nothing is decided; after DRAFT p is not shown yet.
    draft = position_distributions(DISTS, speculative, round_, 1, Phase.DRAFT)
    assert (draft.verdict, draft.p_shown, draft.p_x, draft.u, draft.final) == (PENDING, False, None, None, None)
    assert draft.listed[:3] == (1, 4, 0)  # by q alone: p is not known before VERIFY
    assert position_distributions(DISTS, speculative, round_, 1, Phase.VERIFY).p_x == P[1]
    with pytest.raises(ValueError, match="outside 0 to 3"):
        position_distributions(DISTS, speculative, round_, 4, Phase.ACCEPT)


def test_each_method_marks_what_its_rule_reads():
    round_ = a_round([1, 4], accepted=0, rejected=True, correction=0)
    greedy = position_distributions(DISTS, method("greedy"), round_, 0, Phase.ACCEPT, top=1)
    assert (greedy.figures.rule, greedy.figures.argmax) == (GREEDY, 0)  # argmax p, though q's favourite is 1
    # argmax p is listed wherever it is not among the top (top=1 lists q's favourite 1), even at a skipped draft.
    skipped = position_distributions(DISTS, method("greedy"), round_, 1, Phase.ACCEPT, top=1)
    assert skipped.verdict == SKIPPED and skipped.listed == (1, 4, 0)
    typical_method = method("typical", typical_epsilon=0.3, typical_delta=0.09)
    typical = position_distributions(DISTS, typical_method, round_, 0, Phase.ACCEPT)
    entropy = float(-(P * np.log(P)).sum())
    assert typical.figures.rule == TYPICAL
    assert typical.figures.entropy == pytest.approx(entropy)
    assert typical.figures.threshold == pytest.approx(min(0.3, 0.09 * np.exp(-entropy)))
    sample = method("sample-match")
    kept = position_distributions(DISTS, sample, a_round([2, 4], 1, True, correction=7), 0, Phase.ACCEPT)
    mismatch = position_distributions(DISTS, sample, a_round([2, 4], 1, True, correction=7), 1, Phase.ACCEPT)
    assert (kept.figures.rule, kept.sample, mismatch.sample) == (SAMPLE_MATCH, 2, 7)
    assert 7 in mismatch.listed
    assert position_distributions(DISTS, method("speculative"), round_, 0, Phase.ACCEPT).figures.rule == SPECULATIVE


def test_top_tokens_match_a_full_sort_on_a_large_vocabulary():
    rng = np.random.default_rng(4)
    p = rng.dirichlet(np.full(50_000, 0.05))
    q = rng.dirichlet(np.full(50_000, 0.05))
    score = np.maximum(p, q)
    expected = np.lexsort((np.arange(len(p)), -score))[:12]
    assert top_tokens(p, q, 12).tolist() == expected.tolist()
    # Ties go to the lowest id; asking for more than the vocabulary lists it all.
    assert top_tokens(np.full(4, 0.25), np.full(4, 0.25), 2).tolist() == [0, 1]
    assert top_tokens(np.full(4, 0.25), np.full(4, 0.25), 9).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("name", ["speculative", "greedy", "typical", "sample-match"])
@pytest.mark.parametrize("model", ["synthetic", "ngram"])
def test_every_position_of_a_run_agrees_with_the_engine(name, model):
    """Re-derived distributions are the ones the round used, and the marks agree with its verdicts."""
    alpha = {"acceptance_rate": 0.6} if model == "synthetic" else {}
    simulation = Simulation(SimConfig(model=model, method=name, target_length=60, seed=9, **alpha))
    rounds = []
    simulation.add_listener(rounds.append)
    simulation.run()
    history, start = simulation.history, simulation.prompt_length
    for round_ in rounds:
        used = round_.dists
        round_.dists = []  # as a past round keeps it: looked up again from the history
        again = round_dists(simulation.model, history, start, round_)
        assert len(again) == len(used)
        assert all(np.array_equal(d.p, u.p) and np.array_equal(d.q, u.q) for d, u in zip(again, used))
        last = len(round_.drafted)
        assert position_dists(simulation.model, history, start, round_, last) is again[last]
        for i in range(len(round_.drafted) + 1):
            view = position_distributions(again[i], simulation.method, round_, i, Phase.ACCEPT)
            dists = again[i]
            if view.token is not None:
                assert (view.p_x, view.q_x) == (dists.p[view.token], dists.q[view.token])
            if view.verdict in (KEPT, REJECTED):
                kept = view.verdict == KEPT
                if name == "speculative":
                    assert kept == (view.u * view.q_x < view.p_x)
                elif name == "greedy":
                    assert kept == (view.token == view.figures.argmax)
                elif name == "typical":
                    assert kept == (view.p_x > view.figures.threshold)
                else:
                    assert view.sample == sample_index(dists.p_cdf, view.u)
                    assert kept == (view.sample == view.token)
            if view.verdict == REJECTED and name == "greedy":
                assert view.final == view.figures.argmax  # the correction is chosen, not drawn
            if view.verdict == BONUS:
                assert view.final == round_.bonus
