"""Defaults and bounds of the audit and the sweep, importable without numpy.

The command line builds its help (the bounds and defaults of every option)
on every start, the app's too; the audit and sweep modules themselves import
numpy, so what the help needs lives here and they import it from here.
"""

# ---- audit ----

# Below this p-value the audit calls the output distribution different from
# the reference. With a fixed seed the verdict is reproducible; 1e-3 keeps
# false alarms for a correct rule rare across many configurations.
SIGNIFICANCE = 1e-3
# A first-token sample is one round (~50 us on the synthetic pair), so a
# million is under a minute; M tokens take up to M rounds.
MAX_SAMPLES = 1_000_000
DEFAULT_SAMPLES = 20_000
# The audit tests the joint law of the first M emitted tokens, M from 1 to
# MAX_TOKENS. M = 2 is the default, at a cost measured at k = 5: a sample
# takes ~1.3x a first-token sample on the synthetic pair; on the n-gram pair,
# where new contexts dominate, 1.0x for speculative sampling and ~2x for
# greedy and sample-match (position 1 is mostly rejected, so a second round of
# k drafts runs). Token 2 is where a draft is kept after another (positions 2..k)
# and, at k = 1, the bonus; the first token alone sees neither. Larger M
# spreads the samples over more sequences: at 20,000 samples M = 4 leaves
# only a few dozen cells their own (the rest pooled), so it needs more samples.
DEFAULT_TOKENS = 2
MAX_TOKENS = 4

# ---- sweep ----

DEFAULT_K_MAX = 16
DEFAULT_ALPHAS = "0.05:0.95:0.05"
# Vectorised rounds cost ~10 ns per (round, position); 10M rounds at k_max 64
# is about 6 s. Engine rounds cost ~10 us per drafted token, and each run keeps
# its emitted tokens, so the engine gets a smaller cap and default.
MAX_VECTORISED_ROUNDS = 10_000_000
MAX_ENGINE_ROUNDS = 1_000_000
DEFAULT_VECTORISED_ROUNDS = 100_000
DEFAULT_ENGINE_ROUNDS = 2_000

# How a sweep's Monte Carlo ran, and where its alpha came from.
VECTORISED = "vectorised"
ENGINE = "engine"
ALPHA_SET = "set"
ALPHA_MEASURED = "measured"
