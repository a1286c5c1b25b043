"""Vectorised sweep speed against numpy's own cost of drawing its uniforms (issue 6).

Goal: a 16 x 19 grid (k = 1..16, alpha = 0.05..0.95) at 100,000 rounds per
cell takes at most about twice the time numpy needs to draw the random numbers
the sweep uses (100,000 x 16 uniforms, drawn in the same blocks). Timings are
interleaved and the best of --repeat is kept, so a busy machine slows both
sides alike. Also prints the whole command's wall time, as a user sees it.

    python benchmarks/bench_sweep.py [--repeat 15] [--rounds 100000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from specviz.engine import SimConfig  # noqa: E402
from specviz.engine.analysis import sweep  # noqa: E402

K_MAX = 16
ALPHAS = "0.05:0.95:0.05"


def draw_only(k_max: int, rounds: int, seed: int) -> None:
    """Exactly the uniforms the sweep draws, in the same blocks, and nothing else."""
    rng = np.random.Generator(np.random.PCG64(seed))
    block = max(1, min(rounds, sweep.BLOCK_ELEMENTS // k_max))
    uniforms = np.empty((k_max, block))
    done = 0
    while done < rounds:
        n = min(block, rounds - done)
        if n < block:
            uniforms = np.empty((k_max, n))
        rng.random(out=uniforms)
        done += n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=100_000)
    args = parser.parse_args()

    config = SimConfig(draft_cost=0.1, seed=42)
    grid = sweep.parse_alphas(ALPHAS)
    runs = {
        "draw the uniforms only": lambda: draw_only(K_MAX, args.rounds, config.seed),
        "count kept prefixes (all cells)": lambda: sweep.kept_prefix_counts(
            K_MAX, grid, args.rounds, np.random.Generator(np.random.PCG64(config.seed))
        ),
        "whole sweep (cells, closed forms, best k)": lambda: sweep.vectorised_sweep(config, K_MAX, grid, args.rounds),
    }
    best = {name: float("inf") for name in runs}
    for _ in range(args.repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)

    cells = K_MAX * len(grid.values)
    print(
        f"grid {K_MAX} x {len(grid.values)} = {cells} cells, {args.rounds:,} rounds per cell, "
        f"{K_MAX * args.rounds:,} uniforms; best of {args.repeat}"
    )
    for name, seconds in best.items():
        print(f"  {name:44s} {seconds * 1e3:8.1f} ms")
    draw = best["draw the uniforms only"]
    ratio = best["whole sweep (cells, closed forms, best k)"] / draw
    print(f"  {'whole sweep / drawing its uniforms':44s} {ratio:8.2f}x   (goal: <= ~2x)")

    command = [
        sys.executable,
        "-m",
        "specviz",
        "sweep",
        "--k-max",
        str(K_MAX),
        "--alphas",
        ALPHAS,
        "--rounds",
        str(args.rounds),
        "--json",
    ]
    start = time.perf_counter()
    subprocess.run(
        command,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    print(f"  {'specviz sweep --json (whole command)':44s} {(time.perf_counter() - start) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
