"""Helpers for the command-line tests: run `specviz` in-process or as a process."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from specviz.cli import main

REPO = Path(__file__).resolve().parents[2]


def run_cli(*argv: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `specviz ARGV`, run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse: --help, usage errors
            code = exit_.code if isinstance(exit_.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_process(*argv: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """`python -m specviz ARGV` as a separate process, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "specviz", *argv],
        cwd=cwd,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(code: int, err: str, *fragments: str) -> str:
    """Exit status 2, exactly one line on stderr, no traceback, naming each fragment."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("specviz"), line
    assert "error" in line, line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line
