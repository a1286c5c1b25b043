"""`specviz serve` end to end: a real browser drives the app, and nothing is left running.

The page is driven by headless Chromium through Playwright. What the app
draws reaches the browser as terminal output over the page's websocket; the
test records those bytes in the page and replays them into pyte, a terminal
emulator, to read the screen the browser shows: which phase is highlighted,
which marks are there. App processes are found by the mark the server puts in
their environment (SPECVIZ_SERVED_BY=<server pid>).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from specviz.web.server import SESSION_MARK
from tests.budget import LONG
from tests.cli.cli_support import REPO, assert_one_line_error, python_env, run_cli, run_process

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else None
if playwright_api is None:
    import playwright.sync_api as playwright_api  # CI installs it: a missing one fails there
pyte = pytest.importorskip("pyte") if not os.environ.get("CI") else __import__("pyte")
if not Path(CHROMIUM).exists() and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

SIZE = {"width": 1200, "height": 760}
# Chromium as the project runs it here: no sandbox (root), no GPU, and none of
# its background connections (this machine has no network).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Records every websocket frame the page receives: the app's terminal output.
RECORD_FRAMES = """
(() => {
  const Native = window.WebSocket;
  window.__frames = [];
  window.WebSocket = function (url, protocols) {
    const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    socket.addEventListener("message", (event) => {
      if (event.data instanceof ArrayBuffer) window.__frames.push(Array.from(new Uint8Array(event.data)));
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
})();
"""
GONE_WITHIN_S = 15.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_processes(server_pid: int) -> list[int]:
    """Pids of the live app processes this server started (by their environment mark)."""
    mark = f"{SESSION_MARK}={server_pid}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if mark in (entry / "environ").read_bytes().split(b"\0"):
                status = (entry / "stat").read_text().split(") ", 1)[1]
                if not status.startswith("Z"):  # a zombie has exited
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def wait_until(condition, timeout: float = GONE_WITHIN_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


class Served:
    """A `specviz serve` subprocess on a free loopback port."""

    def __init__(self, *flags: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "specviz", "serve", "--port", str(self.port), *flags],
            cwd=REPO,
            env=python_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.listening = self.process.stderr.readline()

    def stop(self, sent: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sent)
        try:
            return self.process.wait(timeout=GONE_WITHIN_S)
        finally:
            self.process.stdout.close()
            self.process.stderr.close()


@pytest.fixture
def served():
    servers: list[Served] = []

    def start(*flags: str) -> Served:
        servers.append(Served(*flags))
        return servers[-1]

    yield start
    for server in servers:
        server.stop(signal.SIGKILL)
        for pid in app_processes(server.process.pid):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def driver():
    with playwright_api.sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def chromium(driver):
    browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def open_app(browser, url: str):
    """A new page (of a browser or a browser context) on the app, once its first frame has arrived."""
    page = browser.new_page()
    page.set_viewport_size(SIZE)
    page.add_init_script(RECORD_FRAMES)
    page.goto(url)
    page.wait_for_function("document.body.classList.contains('-first-byte')", timeout=30_000)
    return page


class Terminal:
    """The terminal a page shows, rebuilt from the bytes it was sent (each frame fed once)."""

    def __init__(self, page) -> None:
        self.page = page
        self.screen = pyte.Screen(200, 60)
        self.stream = pyte.ByteStream(self.screen)
        self.frames_read = 0

    def read(self) -> pyte.Screen:
        frames = self.page.evaluate(f"window.__frames.slice({self.frames_read})")
        self.frames_read += len(frames)
        self.stream.feed(b"".join(bytes(frame) for frame in frames))
        return self.screen

    def wait_for(self, condition, timeout: float = 15.0) -> pyte.Screen:
        deadline = time.monotonic() + timeout
        while not condition(self.read()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.screen


def cell_at(screen, word: str):
    """The screen cell where `word` first appears, or None."""
    for y, line in enumerate(screen.display):
        x = line.find(word)
        if x >= 0:
            return screen.buffer[y][x]
    return None


def test_the_app_runs_in_a_tab_and_closing_the_tab_ends_its_process(served, chromium):
    server = served("-k", "5", "--seed", "42")
    assert f"serving the app on {server.url.rstrip('/')}" in server.listening
    page = open_app(chromium, server.url)
    assert page.title() == f"specviz · {server.url.rstrip('/')}"
    assert len(app_processes(server.process.pid)) == 1
    page.click(".textual-terminal")
    for _ in range(3):  # DRAFT, VERIFY, ACCEPT of round 1
        page.keyboard.press(" ")
        page.wait_for_timeout(300)

    def accepted(screen) -> bool:
        return cell_at(screen, "▶ ACCEPT") is not None and "✗" in "".join(screen.display)

    screen = Terminal(page).wait_for(accepted)
    accept, draft = cell_at(screen, "ACCEPT"), cell_at(screen, "DRAFT")
    # Highlighted: the current phase is drawn reversed and bold, the others not.
    assert accept.reverse and accept.bold and not draft.reverse
    text = "".join(screen.display)
    assert "✗" in text and "rejected" in text  # seed 42's first round rejects its first draft
    page.close()
    assert wait_until(lambda: not app_processes(server.process.pid)), app_processes(server.process.pid)
    assert server.process.poll() is None  # the server itself keeps serving


def test_a_killed_browser_leaves_no_process(served, driver, tmp_path):
    server = served()
    port = _free_port()
    browser = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            f"--remote-debugging-port={port}",
            "--user-data-dir=" + str(Path(os.environ.get("TMPDIR", "/tmp")) / f"specviz-chromium-{port}"),
            *CHROMIUM_ARGS,
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        remote = None
        for _ in range(100):  # until its debugging port answers
            try:
                remote = driver.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
                break
            except Exception:
                time.sleep(0.1)
        assert remote is not None, "chromium did not start"
        open_app(remote.contexts[0], server.url)
        assert len(app_processes(server.process.pid)) == 1
        os.killpg(browser.pid, signal.SIGKILL)  # no goodbye: the connection just drops
        browser.wait(timeout=10)
    finally:
        if browser.poll() is None:
            os.killpg(browser.pid, signal.SIGKILL)
    assert wait_until(lambda: not app_processes(server.process.pid)), app_processes(server.process.pid)


# A websocket client in its own process, for the tests that need a session but
# not a browser: it opens one, prints the status once the app's first frame has
# arrived (or the handshake's refusal), and holds it until killed.
SESSION_CLIENT = """
import asyncio, sys
import aiohttp

async def main(url):
    async with aiohttp.ClientSession() as client:
        try:
            async with client.ws_connect(url) as socket:
                async for message in socket:
                    if message.type == aiohttp.WSMsgType.BINARY:
                        print(101, flush=True)
                        break
                await asyncio.sleep(3600)
        except aiohttp.WSServerHandshakeError as refused:
            print(refused.status, flush=True)

asyncio.run(main(sys.argv[1]))
"""


@pytest.fixture
def session_client():
    clients: list[subprocess.Popen] = []

    def open_session(server: Served) -> tuple[subprocess.Popen, str]:
        client = subprocess.Popen(
            [sys.executable, "-c", SESSION_CLIENT, f"ws://127.0.0.1:{server.port}/ws?width=120&height=36"],
            stdout=subprocess.PIPE,
            text=True,
        )
        clients.append(client)
        return client, client.stdout.readline().strip()

    yield open_session
    for client in clients:
        client.kill()
        client.wait()
        client.stdout.close()


# One code path stops the server for all three; the suite sends SIGTERM, the long run each.
@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP] if LONG else [signal.SIGTERM])
def test_stopping_the_server_stops_every_app(served, session_client, sent):
    server = served()
    assert session_client(server)[1] == "101"
    assert len(app_processes(server.process.pid)) == 1
    assert server.stop(sent) == 128 + sent
    assert wait_until(lambda: not app_processes(server.process.pid)), app_processes(server.process.pid)


def test_a_server_killed_outright_still_leaves_no_app(served, session_client):
    server = served()
    assert session_client(server)[1] == "101"
    assert app_processes(server.process.pid)
    server.stop(signal.SIGKILL)  # no shutdown code runs: the apps' death signal does it
    assert wait_until(lambda: not app_processes(server.process.pid))


def test_sessions_beyond_the_limit_are_refused(served, session_client):
    server = served("--max-sessions", "1")
    first, status = session_client(server)
    assert status == "101"
    assert session_client(server)[1] == "503"
    assert len(app_processes(server.process.pid)) == 1
    first.kill()  # the first client vanishes: its app ends and the place is free again
    first.wait()
    assert wait_until(lambda: not app_processes(server.process.pid))
    assert session_client(server)[1] == "101"


def test_a_port_in_use_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_process("serve", "--port", str(port), timeout=30)
    assert_one_line_error(result.returncode, result.stderr, f"cannot listen on 127.0.0.1:{port}", "in use")


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--host", "no-such-host.invalid"], "is not an address or a name"),
        (["--port", "70000"], "allowed: 1 to 65535"),
        (["--port", "http"], "not a whole number"),
        (["--max-sessions", "0"], "too small"),
        (["-k", "0"], "draft length k"),
    ],
)
def test_bad_server_options_are_one_line(argv, words):
    code, out, err = run_cli("serve", *argv)
    assert out == ""
    assert_one_line_error(code, err, words)


def test_without_textual_serve_it_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "specviz.web.server", None)  # as if textual-serve were missing
    code, _, err = run_cli("serve")
    assert_one_line_error(code, err, "needs textual-serve", "pip install 'specviz[web]'")


def test_only_loopback_is_served_without_a_warning(monkeypatch):
    from specviz.web import server as web_server

    hosts = []
    monkeypatch.setattr(web_server.SpecvizServer, "serve", lambda self: hosts.append(self.host))
    for host, warned in (("127.0.0.1", False), ("::1", False), ("localhost", False), ("0.0.0.0", True)):
        code, _, err = run_cli("serve", "--host", host)
        assert code == 0 and hosts[-1] == host
        assert ("warning: listening on" in err and "can start specviz processes" in err) == warned, host
