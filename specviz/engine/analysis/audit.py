"""The losslessness audit: do emitted tokens follow the target's distribution?

From one fixed context (the prompt), run a round N times and keep the first
emitted token each time. For a lossless method its frequencies must match the
target's p in that context (REFERENCE §1's guarantee); a chi-square
goodness-of-fit test and the total-variation distance say how well.
scipy provides the chi-square distribution (numeric only; still no UI import).
It is imported when a test runs, so the CLI does not pay for it on every start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from specviz.engine.analysis.defaults import DEFAULT_SAMPLES, MAX_SAMPLES, SIGNIFICANCE  # noqa: F401
from specviz.engine.models.pair import ModelPair
from specviz.engine.run.config import FIELD_LABELS, ConfigError, SimConfig, parse_int
from specviz.engine.run.simulation import Simulation
from specviz.engine.verification.methods import AGAINST_ARGMAX

MIN_EXPECTED = 5.0  # chi-square needs about 5 expected counts per bin

FIELD_LABELS.update(
    {
        "samples": "samples (--samples)",
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
    observed: np.ndarray = field(repr=False)
    expected: np.ndarray = field(repr=False)  # reference probabilities
    vocab: tuple[str, ...] = field(default=(), repr=False)
    method: str = ""
    model: str = ""

    @property
    def observed_frequencies(self) -> np.ndarray:
        return self.observed / self.samples

    def top_tokens(self, count: int = 10) -> list[dict]:
        """The `count` tokens with the most reference or observed mass, plus
        every token seen where the reference gives it none (the clearest sign
        of a lossy rule), most likely first."""
        frequencies = self.observed_frequencies
        order = np.argsort(-np.maximum(self.expected, frequencies), kind="stable")
        chosen = list(order[:count])
        chosen += [int(i) for i in order[count:] if self.expected[i] == 0 and self.observed[i] > 0]
        return [
            {
                "token": self.vocab[i] if self.vocab else str(i),
                "expected": float(self.expected[i]),
                "observed": float(frequencies[i]),
                "count": int(self.observed[i]),
            }
            for i in chosen
        ]

    def to_dict(self) -> dict:
        return {
            "samples": self.samples,
            "context": self.context,
            "reference": self.reference,
            "tv_distance": self.tv_distance,
            # inf (a token the reference rules out was seen) is not JSON: null.
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
    if not 1 <= samples <= MAX_SAMPLES:
        raise ConfigError("samples", samples, f"an integer from 1 to {MAX_SAMPLES:,}")
    return samples


def first_token_counts(simulation: Simulation, samples: int, progress=None) -> np.ndarray:
    """Counts over the vocabulary of the first token a round emits from the prompt.
    `progress(done, samples)`, if given, is called after every sample."""
    counts = np.zeros(len(simulation.model.vocab), dtype=np.int64)
    first = simulation.prompt_length
    for done in range(1, samples + 1):
        simulation.restart_from_prompt()
        simulation.finish_round()
        counts[simulation.history[first]] += 1
        if progress is not None:
            progress(done, samples)
    return counts


def reference_in(method, dists) -> tuple[str, np.ndarray]:
    """What `method`'s emitted tokens must follow in a context: ("p" or
    "argmax p", probabilities). The method says what it preserves."""
    label = "argmax p" if method.lossless_against == AGAINST_ARGMAX else "p"
    return label, np.asarray(method.reference_distribution(dists), dtype=float)


def reference_distribution(simulation: Simulation) -> tuple[str, np.ndarray]:
    """What a lossless method must reproduce in the prompt's context."""
    model = simulation.model
    return reference_in(
        simulation.method, model.dists(model.context_key(simulation.history[: simulation.prompt_length]))
    )


def goodness_of_fit(observed: np.ndarray, expected_probs: np.ndarray) -> tuple[float, float, int]:
    """Chi-square statistic, p-value and degrees of freedom, pooling sparse bins.

    Bins with fewer than MIN_EXPECTED expected counts are pooled into one; a
    token seen where the reference gives probability 0 is an outright
    failure (p-value 0).
    """
    total = observed.sum()
    if np.any(observed[expected_probs == 0] > 0):
        return float("inf"), 0.0, max(int(np.count_nonzero(expected_probs)) - 1, 0)
    expected = expected_probs * total
    big = expected >= MIN_EXPECTED
    obs = list(observed[big])
    exp = list(expected[big])
    small_exp = expected[~big].sum()
    if small_exp > 0:
        obs.append(observed[~big].sum())
        exp.append(small_exp)
    if len(obs) < 2:
        return 0.0, 1.0, 0
    exp_arr = np.array(exp, dtype=float)
    exp_arr *= total / exp_arr.sum()  # remove float drift so sums agree exactly
    from scipy import stats as scipy_stats

    result = scipy_stats.chisquare(np.array(obs, dtype=float), exp_arr)
    return float(result.statistic), float(result.pvalue), len(obs) - 1


def audit(config: SimConfig, samples: int, model: ModelPair | None = None, method=None, progress=None) -> AuditResult:
    """Audit `config`'s method (or `method`, to audit a rule not in the registry);
    `progress(done, samples)` is called after every sample."""
    if not 1 <= samples <= MAX_SAMPLES:
        raise ConfigError("samples", samples, f"an integer from 1 to {MAX_SAMPLES:,}")
    simulation = Simulation(config, model)
    if simulation.prompt_length == 0:
        raise ConfigError("context", config.prompt, "text with at least one word the model knows")
    if method is not None:
        simulation.method = method
    reference, expected = reference_distribution(simulation)
    observed = first_token_counts(simulation, samples, progress)
    statistic, pvalue, dof = goodness_of_fit(observed, expected)
    tv = 0.5 * float(np.abs(observed / samples - expected).sum())
    return AuditResult(
        samples=samples,
        context=simulation.prompt_text(),
        reference=reference,
        tv_distance=tv,
        chi2_statistic=statistic,
        chi2_pvalue=pvalue,
        degrees_of_freedom=dof,
        lossless=pvalue >= SIGNIFICANCE,
        method_claims_lossless=simulation.method.lossless,
        observed=observed,
        expected=expected,
        vocab=simulation.model.vocab,
        # An injected rule is named by its class: it may inherit a registered name.
        method=config.method if method is None else type(method).__name__,
        model=config.model,
    )
