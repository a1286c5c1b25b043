"""What only a real process shows: no textual import, Ctrl-C, pipes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.cli.cli_support import assert_one_line_error, python_env, run_process

HEADLESS_PROBE = """
import contextlib, io, sys, tempfile, os
from specviz.cli import main
folder = tempfile.mkdtemp()
trace = os.path.join(folder, "run.jsonl")
with contextlib.redirect_stdout(io.StringIO()):
    assert main(["run", "-n", "50", "--json", "--trace", trace]) == 0
    assert main(["run", "--from-trace", trace, "--json"]) == 0
    json_only = sorted(m for m in ("rich", "textual") if m in sys.modules)
    assert main(["run", "-n", "50"]) == 0
    assert main(["run", "--from-trace", trace, "--quiet"]) == 0
    assert main(["theory", "-k", "5", "-a", "0.8"]) == 0
    assert main(["theory", "--json"]) == 0
print(json_only, "textual" in sys.modules)
"""


def test_headless_commands_never_import_textual():
    result = subprocess.run(
        [sys.executable, "-c", HEADLESS_PROBE], env=python_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    # --json imports neither rich nor textual; the reports import rich only.
    assert result.stdout.split("\n")[0] == "[] False"


def _start_long_run(*argv: str, cwd) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "specviz", "run", "-n", "50000000", *argv],
        cwd=cwd,
        env=python_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell may start background jobs with SIGINT ignored; Python only
        # turns SIGINT into KeyboardInterrupt when it is not ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _wait_for_partial(folder, process, timeout=30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.name.endswith(".partial") for p in folder.iterdir()):
            time.sleep(0.3)  # well into the run
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the run never started writing its trace")


def test_ctrl_c_exits_130_and_leaves_no_trace(tmp_path):
    process = _start_long_run("--trace", "run.jsonl", "--json", cwd=tmp_path)
    _wait_for_partial(tmp_path, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert out == ""
    assert err.splitlines() == ["specviz run: interrupted"]
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_keeps_the_file_it_would_have_replaced(tmp_path):
    (tmp_path / "run.jsonl").write_text("old\n")
    process = _start_long_run("--trace", "run.jsonl", "--force", "--quiet", cwd=tmp_path)
    _wait_for_partial(tmp_path, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert [p.name for p in tmp_path.iterdir()] == ["run.jsonl"]
    assert (tmp_path / "run.jsonl").read_text() == "old\n"


def test_ctrl_c_without_a_trace(tmp_path):
    process = _start_long_run("--json", cwd=tmp_path)
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert out == "" and "Traceback" not in err


def test_closed_pipe_is_quiet(tmp_path):
    command = f"{sys.executable} -m specviz run -n 2000 --rounds-shown 500 | head -n 1"
    result = subprocess.run(command, shell=True, env=python_env(), capture_output=True, text=True, timeout=60)
    assert "Traceback" not in result.stderr and "Error" not in result.stderr
    assert "specviz" in result.stdout


def test_unknown_flag_in_a_process():
    result = run_process("run", "--frobnicate")
    assert_one_line_error(result.returncode, result.stderr, "--frobnicate")
