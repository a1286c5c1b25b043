"""The engine before and after a change, in one script on one machine (issue 16).

`specviz run -n 1000000 --json` timed from this tree and from another
commit's (extracted with `git archive` into a temporary folder), the two
alternated so that a busy machine slows both alike; best of --repeat each.
Both must print the same figures (every key both print: a change may add
keys), and the ratio after / before is the figure.

    python benchmarks/bench_interface.py [--base main] [--repeat 5] [-n 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def timed(tree: Path, arguments: list[str]) -> tuple[float, bytes]:
    environment = dict(os.environ, PYTHONPATH=str(tree))
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "specviz", "run", *arguments, "--json"],
        check=True,
        capture_output=True,
        env=environment,
        cwd=tree,
    )
    return time.perf_counter() - start, done.stdout


def shared(before: object, after: object) -> tuple[object, object]:
    """The two JSON values restricted to the keys both have, at every depth."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [key for key in before if key in after]
        pairs = [shared(before[key], after[key]) for key in keys]
        return dict(zip(keys, (b for b, _ in pairs))), dict(zip(keys, (a for _, a in pairs)))
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="the commit to compare against (default main)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("-n", "--tokens", type=int, default=1_000_000)
    parser.add_argument("extra", nargs="*", help="more `specviz run` arguments")
    args = parser.parse_args()
    arguments = ["-n", str(args.tokens), *args.extra]
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        archive = subprocess.run(["git", "archive", args.base], check=True, capture_output=True, cwd=HERE).stdout
        archive_path = base / "base.tar"
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(base, filter="data")
        best = {"before": float("inf"), "after": float("inf")}
        outputs: dict[str, bytes] = {}
        for _ in range(args.repeat):
            for name, tree in (("before", base), ("after", HERE)):
                seconds, output = timed(tree, arguments)
                best[name] = min(best[name], seconds)
                outputs[name] = output
    print(f"specviz run {' '.join(arguments)} --json, best of {args.repeat}")
    print(f"  {'before (' + args.base + ')':19s} {best['before']:7.2f} s")
    print(f"  after (this tree)    {best['after']:7.2f} s")
    print(f"  after / before       {best['after'] / best['before']:7.3f}")
    before, after = shared(json.loads(outputs["before"]), json.loads(outputs["after"]))
    print(f"  same figures         {before == after}  (the keys both print)")


if __name__ == "__main__":
    main()
