"""Fingerprints of many runs' outputs, to show an engine change alters no number.

    PYTHONPATH=$PWD python3 benchmarks/check_identical.py record before.txt
    PYTHONPATH=$PWD python3 benchmarks/check_identical.py compare before.txt

Each case is a fresh `specviz run` (the JSON object, the report, or the run
with a trace); its sha256 covers standard output and any trace file written
(JSON lines and .npz), and the replay of each trace (`--from-trace`). `record`
writes one line a case; `compare` runs them again and lists every case whose
fingerprint changed (exit status 1 if any did).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

SYNTHETIC = [
    [*seed, *k, *method, *policy]
    for seed in (["--seed", "1"], ["--seed", "977"])
    for k in (["-k", "1"], ["-k", "5"], ["-k", "9"])
    for method in (["--method", m] for m in ("speculative", "greedy", "sample-match", "typical"))
    for policy in (["--draft-policy", p] for p in ("fixed", "heuristic", "confidence"))
]
CASES: list[list[str]] = [
    *(["-n", "3000", "-a", "0.7", "--json", *case] for case in SYNTHETIC),
    ["-n", "200000", "-k", "5", "-a", "0.8", "--json"],
    ["-n", "50000", "-a", "0.0", "--json"],
    ["-n", "50000", "-a", "1.0", "-k", "7", "--json"],
    ["-n", "20000", "--draft-policy", "batch-table", "--k-by-batch-size", "[[1,4,3],[5,8,0]]", "--json"],
    ["-n", "20000", "--draft-policy", "batch-table", "--k-by-batch-size", "[[1,4,0]]", "--json"],
    ["-n", "5000", "--draft-sampling", "argmax", "--json"],
    ["-n", "5000", "--draft", "prompt-lookup", "--json"],
    ["-n", "3000", "--tree-width", "3", "-k", "3", "--json"],
    ["-n", "3000", "--tree-budget", "8", "--tree-sampling", "top", "--json"],
    ["-n", "400", "-k", "4"],  # the report with its listed rounds
    ["-n", "5000", "--emit", "vllm"],
    *(["--model", "ngram", "-n", "2000", "--json", "--method", m] for m in ("speculative", "greedy", "typical")),
    ["--model", "ngram", "-n", "2000", "--json", "--draft-policy", "confidence", "--method", "sample-match"],
    ["--model", "ngram", "-n", "2000", "--json", "--draft-policy", "heuristic", "--seed", "5"],
]
TRACED: list[list[str]] = [
    ["-n", "20000", "-k", "5", "--json"],
    ["-n", "3000", "--method", "sample-match", "--draft-policy", "confidence", "--json"],
    ["-n", "3000", "--method", "greedy", "--draft-policy", "heuristic", "--json"],
    ["-n", "3000", "--method", "typical", "--json"],
    ["--model", "ngram", "-n", "1000", "--json"],
]


def specviz(*argv: str) -> bytes:
    return subprocess.run([sys.executable, "-m", "specviz", *argv], check=True, capture_output=True).stdout


def fingerprint(case: tuple[str, list[str]]) -> tuple[str, str]:
    kind, argv = case
    digest = hashlib.sha256()
    if kind == "plain":
        digest.update(specviz("run", *argv))
        return " ".join(argv), digest.hexdigest()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"run.{kind}")
        digest.update(specviz("run", *argv, "--trace", path))
        with open(path, "rb") as trace:
            digest.update(trace.read())
        digest.update(specviz("run", "--from-trace", path, "--json"))
    return f"{' '.join(argv)} --trace run.{kind}", digest.hexdigest()


def fingerprints() -> dict[str, str]:
    cases = [("plain", argv) for argv in CASES] + [(kind, argv) for kind in ("jsonl", "npz") for argv in TRACED]
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(fingerprint, cases))


def main() -> None:
    mode, path = sys.argv[1:3]
    found = fingerprints()
    if mode == "record":
        with open(path, "w") as out:
            out.writelines(f"{digest}  {name}\n" for name, digest in found.items())
        print(f"{len(found)} cases recorded in {path}")
        return
    with open(path) as recorded:
        before = dict(reversed(line.rstrip("\n").split("  ", 1)) for line in recorded)
    changed = [name for name, digest in found.items() if before.get(name) != digest]
    for name in changed:
        print(f"changed: {name}")
    print(f"{len(found) - len(changed)} of {len(found)} cases identical")
    sys.exit(1 if changed else 0)


if __name__ == "__main__":
    main()
