"""Wall time of the headless command as a user runs it (a fresh process each).

    PYTHONPATH=. python benchmarks/bench_cli.py [TOKENS]

Measures `specviz run --json` (the fast path: no listener, no listing),
the same run writing a trace, and `--from-trace` reading it back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time


def timed(*argv: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "specviz", *argv], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    tokens = sys.argv[1] if len(sys.argv) > 1 else "1000000"
    with tempfile.TemporaryDirectory() as folder:
        trace = os.path.join(folder, "run.jsonl")
        plain = timed("run", "-n", tokens, "--json")
        written = timed("run", "-n", tokens, "--json", "--trace", trace)
        size = os.path.getsize(trace)
        replayed = timed("run", "--from-trace", trace, "--json")
    print(f"{int(float(tokens)):,} tokens, k = 5, alpha = 0.75")
    print(f"  run --json                {plain:7.2f} s")
    print(f"  run --json --trace        {written:7.2f} s  ({size / 1e6:,.0f} MB trace)")
    print(f"  run --from-trace --json   {replayed:7.2f} s")


if __name__ == "__main__":
    main()
