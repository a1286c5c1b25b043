"""What only a real process shows: no textual import, Ctrl-C, pipes."""

from __future__ import annotations

import fcntl
import os
import resource
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

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
        preexec_fn=_default_signals,
    )


def _default_signals() -> None:
    # A shell may start background jobs with SIGINT ignored, and nohup SIGHUP;
    # specviz leaves a signal it was started ignoring alone.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_terminating_signal_exits_128_plus_it_and_leaves_no_trace(tmp_path, signum):
    process = _start_long_run("--trace", "run.jsonl", "--json", cwd=tmp_path)
    _wait_for_partial(tmp_path, process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signum, err
    assert out == ""
    assert err.splitlines() == [f"specviz run: terminated by {signal.Signals(signum).name}"]
    assert list(tmp_path.iterdir()) == []


def test_a_terminating_signal_keeps_the_file_it_would_have_replaced(tmp_path):
    (tmp_path / "run.jsonl").write_text("old\n")
    process = _start_long_run("--trace", "run.jsonl", "--force", "--quiet", cwd=tmp_path)
    _wait_for_partial(tmp_path, process)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM, err
    assert [p.name for p in tmp_path.iterdir()] == ["run.jsonl"]
    assert (tmp_path / "run.jsonl").read_text() == "old\n"


def _file_size_limit(limit: int):
    def apply() -> None:
        # With SIGXFSZ ignored, a write past the limit fails with EFBIG, as a
        # full disk fails with ENOSPC.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_write_that_fails_midway_leaves_nothing_and_names_the_file(tmp_path):
    env = dict(python_env(), PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run(
        [sys.executable, "-m", "specviz", "run", "-n", "100000", "--trace", "run.jsonl", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_file_size_limit(1_000_000),
    )
    assert result.stdout == ""
    assert_one_line_error(
        result.returncode, result.stderr, "cannot write trace run.jsonl: File too large while writing it"
    )
    assert list(tmp_path.iterdir()) == []


# What Textual's shutdown writes to leave the terminal as it found it.
TERMINAL_RESTORED = (
    b"\x1b[?1049l",  # leave the alternate screen
    b"\x1b[?25h",  # show the cursor
    b"\x1b[?1000l",  # mouse reporting off
    b"\x1b[?1003l",
    b"\x1b[?1006l",
)


def _read_pty(master: int, seconds: float, until=None) -> bytes:
    """What the terminal receives for `seconds`, or until `until(received)`."""
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            received += chunk
            if until is not None and until(received):
                break
    return received


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_the_app_ended_by_a_signal_restores_the_terminal(signum):
    master, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "specviz", "-n", "50"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=dict(python_env(), TERM="xterm-256color"),
        start_new_session=True,
        preexec_fn=_default_signals,
    )
    os.close(terminal)
    try:
        # Wait for the first frame: the alternate screen, then a screenful.
        started = _read_pty(master, 60, lambda seen: b"\x1b[?1049h" in seen and len(seen) > 5000)
        assert b"\x1b[?1049h" in started, started[-500:]
        _read_pty(master, 0.5)  # let the first frame settle
        process.send_signal(signum)
        after = _read_pty(master, 30)
        assert process.wait(timeout=30) == 128 + signum
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    for sequence in TERMINAL_RESTORED:
        assert sequence in after, (sequence, after[-300:])


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
