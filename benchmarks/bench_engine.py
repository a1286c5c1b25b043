"""Engine speed against the seed script, in one script on one machine (issue 2).

Goals: `specviz run --json` for 1,000,000 tokens (k = 5, alpha = 0.8) takes
less wall time than the seed's loop takes for 100,000, and 10x the tokens
costs at most about 12x the time. Whole-command wall times, as a user sees
them (process start, imports and JSON output included); best of --repeat.

    python benchmarks/bench_engine.py [--repeat 3] [--skip-seed]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def wall(command: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def specviz_run(tokens: int) -> list[str]:
    return [sys.executable, "-m", "specviz", "run", "-k", "5", "-a", "0.8", "-n", str(tokens), "--json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-seed", action="store_true", help="skip the seed baseline (it is slow)")
    args = parser.parse_args()

    rows = []
    if not args.skip_seed:
        seed_100k = wall([sys.executable, str(HERE / "seed_baseline.py"), "100000"], 1)
        rows.append(("seed loop, 100,000 tokens", seed_100k))
    run_100k = wall(specviz_run(100_000), args.repeat)
    run_1m = wall(specviz_run(1_000_000), args.repeat)
    rows += [("specviz run --json, 100,000 tokens", run_100k), ("specviz run --json, 1,000,000 tokens", run_1m)]
    for name, seconds in rows:
        print(f"{name:40s} {seconds:7.2f} s")
    scaling = run_1m / run_100k
    print(f"{'10x tokens cost':40s} {scaling:7.2f}x the time   (goal: <= ~12x)")
    if not args.skip_seed:
        ratio = run_1m / seed_100k
        print(f"{'specviz 1M / seed 100k':40s} {ratio:7.2f}          (goal: < 1)")


if __name__ == "__main__":
    main()
