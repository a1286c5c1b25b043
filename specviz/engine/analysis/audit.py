"""The losslessness audit: do emitted tokens follow the target's law?

From one fixed context (the prompt), start afresh N times and run rounds until
M tokens are emitted; keep those first M tokens each time. For a lossless
method the M-token sequences follow the target's autoregressive law there,
p(x1 | ctx) p(x2 | ctx, x1) ... p(xM | ctx, x1..xM-1) (REFERENCE §1's
guarantee), which is computed exactly from p; greedy's reference is the
argmax path (a point mass). A chi-square goodness-of-fit test and the
total-variation distance say how well.

Why M > 1: the first token is a draft kept at position 1 or the correction
there, so nothing later in a round (a draft kept at position 2..k, the bonus)
can change it; a rule broken there passes an M = 1 audit. Token 2 is the
draft at position 2 when position 1 was kept (or round 2's first), and the
bonus when k = 1: a full round's bonus is token k + 1.

Each sample runs full rounds of k drafts whatever the config's target length
n says (`audit_config`): a round cut at n (to no drafts at n = 1) would leave
nothing to judge.

scipy provides the chi-square distribution (numeric only; still no UI import).
It is imported when a test runs, so the CLI does not pay for it on every start.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Re-exported ("as" marks it for mypy and ruff): callers read the audit's constants here.
from specviz.engine.analysis.defaults import DEFAULT_SAMPLES as DEFAULT_SAMPLES
from specviz.engine.analysis.defaults import DEFAULT_TOKENS as DEFAULT_TOKENS
from specviz.engine.analysis.defaults import MAX_SAMPLES as MAX_SAMPLES
from specviz.engine.analysis.defaults import MAX_TOKENS as MAX_TOKENS
from specviz.engine.analysis.defaults import SIGNIFICANCE as SIGNIFICANCE
from specviz.engine.models.pair import ContextDists, ModelPair
from specviz.engine.run.config import FIELD_LABELS, MAX_DRAFT_LENGTH, ConfigError, SimConfig, parse_int
from specviz.engine.run.simulation import Simulation
from specviz.engine.verification.methods import AGAINST_ARGMAX, VerificationMethod

# Pooling rule: a cell (a token, or an M-token sequence) whose expected count
# is below MIN_EXPECTED joins one "other" cell, since chi-square needs about 5
# expected counts per cell. A sequence's expected count is at most its
# prefix's, so a prefix below the bound is pooled whole, never expanded.
MIN_EXPECTED = 5.0

FIELD_LABELS.update(
    {
        "samples": "samples (--samples)",
        "tokens": "audited tokens M (--tokens)",
        "context": "audit context (--context)",
        "tokens_shown": "tokens shown (--tokens-shown)",
    }
)


@dataclass
class AuditResult:
    samples: int
    context: str  # the fixed context, as text
    reference: str  # "p" (sampling target) or "argmax p" (greedy target)
    tv_distance: float
    chi2_statistic: float
    chi2_pvalue: float
    degrees_of_freedom: int
    lossless: bool
    method_claims_lossless: bool
    tokens: int = 1  # M: the first M emitted tokens are tested jointly
    draft_length: int = 0  # k, the drafts of a full round
    # The sequences listed (every one seen, and every one the chi-square
    # test gave a cell of its own), in lexicographic order of token ids:
    sequences: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.int64), repr=False)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), repr=False)
    probabilities: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # the reference's
    vocab: Sequence[str] = field(default=(), repr=False)
    method: str = ""
    model: str = ""

    @property
    def frequencies(self) -> np.ndarray:
        return self.counts / self.samples

    @property
    def bonus_tested(self) -> bool:
        """Whether a full round's bonus (token k + 1) is among the tested tokens."""
        return self.tokens > self.draft_length

    def sequence_text(self, sequence: Sequence[int]) -> str:
        return " ".join(self.vocab[i] if self.vocab else str(i) for i in sequence)

    def top_tokens(self, count: int = 10) -> list[dict[str, Any]]:
        """The `count` sequences with the most reference or observed mass, plus
        every one seen where the reference gives it none (the clearest sign
        of a lossy rule), most likely first."""
        frequencies = self.frequencies
        order = np.argsort(-np.maximum(self.probabilities, frequencies), kind="stable")
        chosen = list(order[:count])
        chosen += [int(i) for i in order[count:] if self.probabilities[i] == 0 and self.counts[i] > 0]
        rows = []
        for i in chosen:
            sequence = [int(t) for t in self.sequences[i]]
            rows.append(
                {
                    "token": self.sequence_text(sequence),
                    "tokens": [self.vocab[t] if self.vocab else str(t) for t in sequence],
                    "expected": float(self.probabilities[i]),
                    "observed": float(frequencies[i]),
                    "count": int(self.counts[i]),
                }
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "tokens": self.tokens,
            "draft_length": self.draft_length,
            "bonus_tested": self.bonus_tested,
            "context": self.context,
            "reference": self.reference,
            "tv_distance": self.tv_distance,
            # inf (a sequence the reference rules out was seen) is not JSON: null.
            "chi2_statistic": self.chi2_statistic if math.isfinite(self.chi2_statistic) else None,
            "chi2_pvalue": self.chi2_pvalue,
            "degrees_of_freedom": self.degrees_of_freedom,
            "significance": SIGNIFICANCE,
            "lossless": self.lossless,
            "method_claims_lossless": self.method_claims_lossless,
            "model": self.model,
            "method": self.method,
            "top_tokens": self.top_tokens(),
        }


def parse_samples(text: str) -> int:
    samples = parse_int("samples", text)
    check_samples(samples)
    return samples


def check_samples(samples: int) -> None:
    if not 1 <= samples <= MAX_SAMPLES:
        raise ConfigError("samples", samples, f"an integer from 1 to {MAX_SAMPLES:,}")


def parse_tokens(text: str) -> int:
    tokens = parse_int("tokens", text)
    check_tokens(tokens)
    return tokens


def check_tokens(tokens: int) -> None:
    if not 1 <= tokens <= MAX_TOKENS:
        raise ConfigError("tokens", tokens, f"an integer from 1 to {MAX_TOKENS}")


def audit_config(config: SimConfig, tokens: int = DEFAULT_TOKENS) -> SimConfig:
    """`config` with a target length that never cuts a round before `tokens`
    are emitted: a round that starts with e < M tokens out drafts
    min(k, n - e - 1), so n = M + MAX_DRAFT_LENGTH leaves every round its k
    (a dynamic policy's too). The config's own n is not used."""
    return config.replace(target_length=tokens + MAX_DRAFT_LENGTH)


def emitted_sequences(
    simulation: Simulation, samples: int, tokens: int, progress: Callable[[int, int], None] | None = None
) -> np.ndarray:
    """The first `tokens` tokens emitted from the prompt, `samples` times: one row each.
    `progress(done, samples)`, if given, is called after every sample."""
    rows = np.empty((samples, tokens), dtype=np.int64)
    history, first = simulation.history, simulation.prompt_length
    end = first + tokens
    restart, finish_round = simulation.restart_from_prompt, simulation.finish_round
    for done, row in enumerate(rows, start=1):
        restart()
        while len(history) < end:
            finish_round()
        row[:] = history[first:end]
        if progress is not None:
            progress(done, samples)
    return rows


def reference_in(method: VerificationMethod, dists: ContextDists) -> tuple[str, np.ndarray]:
    """What `method`'s emitted tokens must follow in a context: ("p" or
    "argmax p", probabilities). The method says what it preserves."""
    label = "argmax p" if method.lossless_against == AGAINST_ARGMAX else "p"
    return label, np.asarray(method.reference_distribution(dists), dtype=float)


def reference_distribution(simulation: Simulation, prefix: tuple[int, ...] = ()) -> tuple[str, np.ndarray]:
    """What a lossless method must reproduce after the prompt and `prefix`."""
    model = simulation.model
    context = list(simulation.history[: simulation.prompt_length]) + list(prefix)
    return reference_in(simulation.method, model.dists(model.context_key(context)))


def pooled_chi_square(
    observed: np.ndarray, expected: np.ndarray, pooled_observed: int, pooled_expected: float
) -> tuple[float, float, int]:
    """Chi-square statistic, p-value and degrees of freedom over the cells with
    `expected` counts of at least MIN_EXPECTED and one "other" cell pooling
    the rest (`pooled_*`; left out when the reference gives it no mass)."""
    obs = list(observed)
    exp = list(expected)
    if pooled_expected > 0:
        obs.append(pooled_observed)
        exp.append(pooled_expected)
    if len(obs) < 2:
        return 0.0, 1.0, 0
    total = float(sum(obs))
    exp_arr = np.array(exp, dtype=float)
    exp_arr *= total / exp_arr.sum()  # remove float drift so sums agree exactly
    from scipy import stats as scipy_stats

    result = scipy_stats.chisquare(np.array(obs, dtype=float), exp_arr)
    return float(result.statistic), float(result.pvalue), len(obs) - 1


def goodness_of_fit(observed: np.ndarray, expected_probs: np.ndarray) -> tuple[float, float, int]:
    """The pooled chi-square test of counts over the vocabulary against
    probabilities; a token seen where the reference gives probability 0 is an
    outright failure (p-value 0)."""
    total = observed.sum()
    if np.any(observed[expected_probs == 0] > 0):
        return float("inf"), 0.0, max(int(np.count_nonzero(expected_probs)) - 1, 0)
    expected = expected_probs * total
    big = expected >= MIN_EXPECTED
    return pooled_chi_square(observed[big], expected[big], int(observed[~big].sum()), float(expected[~big].sum()))


def enough_to_judge(expected_probs: np.ndarray, samples: int) -> bool:
    """Whether `samples` tokens let goodness_of_fit judge at all: its pooled
    test needs at least two bins (cells of MIN_EXPECTED expected counts, the
    rest pooled into one) to have a degree of freedom; with fewer it returns
    p-value 1 whatever was drawn. A point-mass reference (greedy's argmax p)
    is judged by the first token: any other token refutes it outright."""
    if samples <= 0:
        return False
    if np.count_nonzero(expected_probs) <= 1:
        return True
    expected = expected_probs * samples
    big = expected >= MIN_EXPECTED
    bins = int(big.sum()) + (1 if float(expected[~big].sum()) >= MIN_EXPECTED else 0)
    return bins >= 2


def expected_tv_distance(probs: np.ndarray, samples: int) -> float:
    """The mean total-variation distance between `probs` and the empirical
    distribution of `samples` independent draws from it: what a perfectly
    lossless run shows by chance alone after that many tokens.

    Exact, by de Moivre's mean absolute deviation of each count
    X ~ Binomial(m, p): E|X - m p| = 2 (f + 1) C(m, f + 1) p^(f+1) (1 - p)^(m-f)
    with f = floor(m p), so E[TV] = sum_x E|X_x - m p_x| / (2 m).
    """
    if samples <= 0:
        return 1.0 if np.any(probs > 0) else 0.0
    m = samples
    total = 0.0
    for p in probs[(probs > 0) & (probs < 1)].tolist():
        f = math.floor(m * p)
        if f + 1 > m:
            continue
        log_term = (
            math.lgamma(m + 1)
            - math.lgamma(f + 2)
            - math.lgamma(m - f)
            + (f + 1) * math.log(p)
            + (m - f) * math.log1p(-p)
        )
        total += 2.0 * (f + 1) * math.exp(log_term)
    return total / (2.0 * m)


class _JointTest:
    """The joint law of the sampled sequences against the reference's, cell by cell.

    Walks the tree of prefixes from the prompt, expanding a prefix only where
    a test cell or a sample lies below it: one context's reference per
    expanded prefix, however large V^M is.
    """

    def __init__(self, simulation: Simulation, rows: np.ndarray):
        self.simulation = simulation
        self.samples, self.tokens = rows.shape
        self.sequences, self.counts = np.unique(rows, axis=0, return_counts=True)  # sorted
        self.cell_observed: list[int] = []  # cells of their own (expected >= MIN_EXPECTED)
        self.cell_expected: list[float] = []
        self.pooled_observed = 0
        self.pooled_expected = 0.0
        self.support = 0  # sequences of positive probability under the expanded prefixes
        self.impossible = False  # a sample the reference rules out
        self.abs_gap = 0.0  # sum over seen sequences of |frequency - probability|
        self.unseen_mass = 0.0  # reference mass of the sequences never seen
        self.listed: list[tuple[tuple[int, ...], int, float]] = []  # (sequence, count, probability)
        self.label = "p"

    def run(self) -> None:
        self._visit((), 1.0, 0, len(self.sequences))

    def _children(self, lo: int, hi: int, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Tokens at `level` among sample rows lo..hi (sharing a prefix), their first rows and counts."""
        if lo == hi:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        tokens, starts = np.unique(self.sequences[lo:hi, level], return_index=True)
        return tokens, starts + lo, np.add.reduceat(self.counts[lo:hi], starts)

    def _visit(self, prefix: tuple[int, ...], probability: float, lo: int, hi: int) -> None:
        level = len(prefix)
        self.label, dist = reference_distribution(self.simulation, prefix)
        scale = self.samples * probability
        expected = scale * dist  # at the root, probability 1: exactly p * N
        seen, starts, seen_counts = self._children(lo, hi, level)
        if level == self.tokens - 1:
            self._leaves(prefix, probability, dist, expected, seen, seen_counts)
            return
        own = expected >= MIN_EXPECTED
        candidates = own.copy()
        candidates[seen] = True
        # A prefix with too few expected samples and none seen: pooled whole.
        self.pooled_expected += float(expected[~candidates].sum())
        self.unseen_mass += probability * float(dist[~candidates].sum())
        ends = np.append(starts[1:], hi)
        where_seen = dict(zip(seen.tolist(), zip(starts.tolist(), ends.tolist())))
        for token in np.flatnonzero(candidates).tolist():
            child_lo, child_hi = where_seen.get(token, (lo, lo))
            if dist[token] == 0.0:  # seen where the reference rules it out
                self.impossible = True
                for row in range(child_lo, child_hi):
                    self.listed.append((tuple(self.sequences[row].tolist()), int(self.counts[row]), 0.0))
                    self.abs_gap += self.counts[row] / self.samples
                continue
            self._visit(prefix + (token,), probability * float(dist[token]), child_lo, child_hi)

    def _leaves(
        self,
        prefix: tuple[int, ...],
        probability: float,
        dist: np.ndarray,
        expected: np.ndarray,
        seen: np.ndarray,
        seen_counts: np.ndarray,
    ) -> None:
        counts = np.zeros(len(dist), dtype=np.int64)
        counts[seen] = seen_counts
        own = expected >= MIN_EXPECTED
        self.support += int(np.count_nonzero(dist))
        if np.any(counts[dist == 0.0] > 0):
            self.impossible = True
        self.cell_observed += counts[own].tolist()
        self.cell_expected += expected[own].tolist()
        self.pooled_observed += int(counts[~own].sum())
        self.pooled_expected += float(expected[~own].sum())
        probabilities = probability * dist
        self.abs_gap += float(np.abs(seen_counts / self.samples - probabilities[seen]).sum())
        unseen = np.ones(len(dist), dtype=bool)
        unseen[seen] = False
        self.unseen_mass += float(probabilities[unseen].sum())
        listed = own.copy()
        listed[seen] = True
        for token in np.flatnonzero(listed).tolist():
            self.listed.append((prefix + (token,), int(counts[token]), float(probabilities[token])))

    def fit(self) -> tuple[float, float, int]:
        if self.impossible:
            return float("inf"), 0.0, max(self.support - 1, 0)
        return pooled_chi_square(
            np.array(self.cell_observed, dtype=np.int64),
            np.array(self.cell_expected, dtype=float),
            self.pooled_observed,
            self.pooled_expected,
        )

    @property
    def tv_distance(self) -> float:
        # TV = 1/2 sum over all sequences |f - r|; an unseen one contributes r.
        return 0.5 * (self.abs_gap + self.unseen_mass)


def audit(
    config: SimConfig,
    samples: int,
    model: ModelPair | None = None,
    method: VerificationMethod | None = None,
    tokens: int = DEFAULT_TOKENS,
    progress: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Audit `config`'s method (or `method`, to audit a rule not in the
    registry) on the joint law of the first `tokens` emitted tokens;
    `progress(done, samples)` is called after every sample."""
    check_samples(samples)
    check_tokens(tokens)
    simulation = Simulation(audit_config(config, tokens), model)
    if simulation.prompt_length == 0:
        raise ConfigError("context", config.prompt, "text with at least one word the model knows")
    if method is not None:
        simulation.method = method
    rows = emitted_sequences(simulation, samples, tokens, progress)
    test = _JointTest(simulation, rows)
    test.run()
    statistic, pvalue, dof = test.fit()
    listed = sorted(test.listed)  # lexicographic: for M = 1, token id order
    return AuditResult(
        samples=samples,
        context=simulation.prompt_text(),
        reference=test.label,
        tv_distance=test.tv_distance,
        chi2_statistic=statistic,
        chi2_pvalue=pvalue,
        degrees_of_freedom=dof,
        lossless=pvalue >= SIGNIFICANCE,
        method_claims_lossless=simulation.method.lossless,
        tokens=tokens,
        draft_length=simulation.policy.initial_length,
        sequences=np.array([s for s, _, _ in listed], dtype=np.int64).reshape(len(listed), tokens),
        counts=np.array([c for _, c, _ in listed], dtype=np.int64),
        probabilities=np.array([p for _, _, p in listed], dtype=float),
        vocab=simulation.model.vocab,
        # An injected rule is named by its class: it may inherit a registered name.
        method=config.method if method is None else type(method).__name__,
        model=config.model,
    )
