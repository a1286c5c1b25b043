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
# Each sample is one round (~50 us), so a million is under a minute.
MAX_SAMPLES = 1_000_000
DEFAULT_SAMPLES = 20_000
# The audit tests the joint law of the first M emitted tokens, M from 1 to
# MAX_TOKENS. M = 2 is the default: on the synthetic pair a sample costs ~1.1x
# what a first-token sample does, on the n-gram pair the same (a round drafts
# its k tokens either way), and the second token is where a draft is kept
# after another (positions 2..k) and, at k = 1, where the bonus lands.
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
