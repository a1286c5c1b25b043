"""Issue 18's goals, each as a ratio against a baseline run in this script.

    PYTHONPATH=$PWD python3 benchmarks/bench_speed.py [--repeat 3] [--only ngram,synthetic,traces] [--jsonl]

Every figure is the median of --repeat whole commands, each a fresh process
(start-up, imports and JSON output included), the baseline and the measured
command interleaved so that a busy machine slows both alike:

- ngram: `specviz run --model ngram -n 100000 --json` against the tutorial
  script (seed_baseline.py) for 100,000 tokens. Goal: below 1 (and at least
  3x faster than before issue 18). Also the n-gram run's peak memory.
- synthetic: `specviz run -n 1000000 -k 5 -a 0.8 --json`, in seconds (goal:
  1.5 s on the 2-core machine) and against a fresh Python drawing the run's
  uniforms with numpy (2k + 1 a round for the run's rounds; moonshot: within
  5x). The in-process draw is printed too.
- traces: the same 1,000,000-token run writing `--trace run.npz` against the
  run without it (goal: at most 1.5x), `--from-trace run.npz` against the run
  (goal: at most 1x), and the file's size (goal: at most 50 MB). --jsonl adds
  the JSON lines trace for comparison (slow).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUN_1M = ["run", "-n", "1000000", "-k", "5", "-a", "0.8", "--json"]
DRAW = """
import sys, time
import numpy as np
started = time.perf_counter()
np.random.Generator(np.random.PCG64(int(sys.argv[2]))).random(int(sys.argv[1]))
print(time.perf_counter() - started)
"""


def wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def specviz(*argv: str) -> list[str]:
    return [sys.executable, "-m", "specviz", *argv]


def medians(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Median wall time of each command, the commands interleaved."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            times[name].append(wall(argv))
    return {name: statistics.median(values) for name, values in times.items()}


# Runs a command and prints its peak resident memory (the wrapper's only child).
PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_megabytes(argv: list[str]) -> float:
    kilobytes = subprocess.run([sys.executable, "-c", PEAK, *argv], check=True, capture_output=True, text=True)
    return int(kilobytes.stdout) / 1024


def ngram(repeat: int) -> None:
    commands = {
        "tutorial": [sys.executable, str(HERE / "seed_baseline.py"), "100000"],
        "ngram": specviz("run", "--model", "ngram", "-n", "100000", "--json"),
    }
    result = medians(commands, repeat)
    print("n-gram engine, 100,000 tokens")
    print(f"  tutorial script (seed_baseline.py)   {result['tutorial']:7.2f} s")
    print(f"  specviz run --model ngram --json     {result['ngram']:7.2f} s")
    print(f"  ratio                                {result['ngram'] / result['tutorial']:7.2f}   (goal: < 1)")
    print(f"  peak memory of the n-gram run        {peak_megabytes(commands['ngram']):7.0f} MB")


def synthetic(repeat: int) -> None:
    summary = json.loads(subprocess.run(specviz(*RUN_1M), check=True, capture_output=True, text=True).stdout)
    uniforms = summary["rounds"] * (2 * summary["config"]["draft_length"] + 1)
    seed = str(summary["config"]["seed"])
    draw = [sys.executable, "-c", DRAW, str(uniforms), seed]
    result = medians({"numpy": draw, "run": specviz(*RUN_1M)}, repeat)
    in_process = statistics.median(
        float(subprocess.run(draw, check=True, capture_output=True, text=True).stdout) for _ in range(repeat)
    )
    print(f"synthetic engine, 1,000,000 tokens (k = 5, alpha = 0.8; {summary['rounds']:,} rounds)")
    print(f"  specviz run --json                   {result['run']:7.2f} s   (goal: <= 1.5 s)")
    print(
        f"  python + numpy drawing {uniforms:,} uniforms {result['numpy']:7.2f} s   (the draw alone {in_process:.3f} s)"
    )
    print(f"  ratio                                {result['run'] / result['numpy']:7.2f}   (moonshot: <= 5)")


def traces(repeat: int, jsonl: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        binary = os.path.join(folder, "run.npz")
        lines = os.path.join(folder, "run.jsonl")
        commands = {
            "run": specviz(*RUN_1M),
            "write": specviz(*RUN_1M, "--trace", binary, "--force"),
            "read": specviz("run", "--from-trace", binary, "--json"),
        }
        if jsonl:
            commands["write jsonl"] = specviz(*RUN_1M, "--trace", lines, "--force")
            commands["read jsonl"] = specviz("run", "--from-trace", lines, "--json")
        # The first read needs a trace: write one before the rounds start.
        subprocess.run(commands["write"], check=True, stdout=subprocess.DEVNULL)
        if jsonl:
            subprocess.run(commands["write jsonl"], check=True, stdout=subprocess.DEVNULL)
        result = medians(commands, repeat)
        size = os.path.getsize(binary)
        size_lines = os.path.getsize(lines) if jsonl else 0
    run = result["run"]
    print("traces, 1,000,000 tokens (k = 5, alpha = 0.8)")
    print(f"  specviz run --json                   {run:7.2f} s")
    print(
        f"  ... --trace run.npz                  {result['write']:7.2f} s   {result['write'] / run:5.2f}x (goal: <= 1.5x)"
    )
    print(
        f"  run --from-trace run.npz --json      {result['read']:7.2f} s   {result['read'] / run:5.2f}x (goal: <= 1x)"
    )
    print(f"  run.npz                              {size / 1e6:7.1f} MB  (goal: <= 50 MB)")
    if jsonl:
        print(
            f"  ... --trace run.jsonl                {result['write jsonl']:7.2f} s   {result['write jsonl'] / run:5.2f}x"
        )
        print(
            f"  run --from-trace run.jsonl --json    {result['read jsonl']:7.2f} s   {result['read jsonl'] / run:5.2f}x"
        )
        print(f"  run.jsonl                            {size_lines / 1e6:7.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="ngram,synthetic,traces", help="which goals, comma-separated")
    parser.add_argument("--jsonl", action="store_true", help="also time the JSON lines trace (slow)")
    args = parser.parse_args()
    parts = args.only.split(",")
    if "ngram" in parts:
        ngram(args.repeat)
    if "synthetic" in parts:
        synthetic(args.repeat)
    if "traces" in parts:
        traces(args.repeat, args.jsonl)
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
