"""Model-pair speed (issue 5): building the default n-gram pair, and the engine on it.

Goals: building the default models takes at most 1 s in a fresh process (the
corpus extracted from pydoc_data, both Kneser-Ney models trained); a second
build in the same process is served from the in-process cache. Also reports
the engine's speed with --model ngram, which is bound by computing p and q
over the whole vocabulary for each new context (and the synthetic pair for
comparison). Best of --repeat.

    python benchmarks/bench_models.py [--repeat 3] [--tokens 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

# Runs in a fresh interpreter so nothing is cached; imports are timed apart.
COLD_BUILD = """
import json, time
start = time.perf_counter()
from specviz.engine.run.config import SimConfig
from specviz.engine.models.pair import build_model
config = SimConfig(model="ngram")
imported = time.perf_counter()
from specviz.engine.models.corpus import default_corpus
default_corpus()
corpus = time.perf_counter()
model = build_model(config)
built = time.perf_counter()
build_model(config)
again = time.perf_counter()
print(json.dumps({"imports": imported - start, "corpus": corpus - imported, "tables": built - corpus,
                  "build": built - imported, "cached": again - built, "vocab": len(model.vocab),
                  "words": model.tables.corpus_words}))
"""


def cold_build(repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", COLD_BUILD], check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out))
    return min(runs, key=lambda run: run["build"])


def engine_run(model: str, tokens: int, repeat: int) -> tuple[float, dict]:
    from specviz.engine import SimConfig, Simulation

    best, summary = float("inf"), {}
    for _ in range(repeat):
        simulation = Simulation(SimConfig(model=model, target_length=tokens, draft_length=4, seed=1))
        start = time.perf_counter()
        simulation.run()
        seconds = time.perf_counter() - start
        if seconds < best:
            best, summary = seconds, simulation.summary(include_text=False)
    return best, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=100_000)
    args = parser.parse_args()

    build = cold_build(args.repeat)
    print(f"default corpus: {build['words']:,} words, vocabulary {build['vocab']:,}")
    print(f"{'imports (engine, numpy)':40s} {build['imports']:7.3f} s")
    print(f"{'  extract corpus from pydoc_data':40s} {build['corpus']:7.3f} s")
    print(f"{'  train both Kneser-Ney models':40s} {build['tables']:7.3f} s")
    print(f"{'build the default ngram pair':40s} {build['build']:7.3f} s   (goal: <= 1 s)")
    print(f"{'build again, same process (cached)':40s} {build['cached']:7.3f} s")

    for model in ("ngram", "synthetic"):
        seconds, summary = engine_run(model, args.tokens, args.repeat)
        rate = args.tokens / seconds
        print(
            f"{f'engine, --model {model}, {args.tokens:,} tokens':40s} {seconds:7.2f} s   "
            f"({rate:,.0f} tokens/s, k = 4, empirical alpha {summary['empirical_alpha']:.3f}, "
            f"tokens/target pass {summary['tokens_per_target_pass']:.2f})"
        )


if __name__ == "__main__":
    main()
