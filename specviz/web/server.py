"""Serve the app to browsers with textual-serve, and account for every app process.

textual-serve starts one app process per browser tab. Left to itself it runs
the command through a shell and, when a tab goes, asks the app to quit and
waits for it; an app that does not answer (a browser killed mid-run) is left
running, and stopping the server orphans its children. Here each tab's app is
started without a shell, in a session of its own and with a death signal tied
to the server; when its tab goes, it is asked to quit, then terminated, then
killed, each after a grace period; when the server stops, every app still
running goes the same way. At most `max_sessions` run at once: a page reloaded
in a loop cannot fork without bound.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.web_runner import GracefulExit
from textual_serve.app_service import AppService
from textual_serve.server import Server

# Set in each app's environment to the server's pid, so tests (and people) can
# find the processes a server started.
SESSION_MARK = "SPECVIZ_SERVED_BY"
QUIT_GRACE_S = 2.0  # for the app to quit when asked
TERM_GRACE_S = 2.0  # for it to exit on SIGTERM, before SIGKILL
PR_SET_PDEATHSIG = 1  # prctl(2): a signal sent to the child when its parent dies
# Our page (a title, no web fonts fetched from elsewhere) over textual-serve's bundled xterm.js;
# textual-serve renders it by the name app_index.html.
TEMPLATES = Path(__file__).parent / "templates"


def _die_with_server() -> None:
    """In the child, before exec: receive SIGTERM if the server dies (Linux), so
    even a server killed with SIGKILL leaves no app behind."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the server's own shutdown still stops its apps


class SessionService(AppService):
    """One browser tab's app process, started without a shell and stopped for sure."""

    def __init__(self, argv: Sequence[str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = list(argv)

    async def _open_app_process(self, width: int = 80, height: int = 24) -> asyncio.subprocess.Process:
        environment = self._build_environment(width=width, height=height)
        environment[SESSION_MARK] = str(os.getpid())
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,  # its own process group: signals reach all of it
            preexec_fn=_die_with_server,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def stop(self) -> None:
        """Ask the app to quit; if it has not exited within the grace period, end it."""
        try:
            await asyncio.wait_for(super().stop(), QUIT_GRACE_S)
        except (TimeoutError, ConnectionError, RuntimeError):
            pass
        await self.end()

    async def end(self) -> None:
        """SIGTERM the app's process group, then SIGKILL it if it is still there."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        for sent in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sent)
            except ProcessLookupError:
                return
            try:
                await asyncio.wait_for(process.wait(), TERM_GRACE_S)
                return
            except TimeoutError:
                continue


class SpecvizServer(Server):
    """textual-serve's server, with sessions counted and stopped for sure."""

    def __init__(self, argv: Sequence[str], host: str, port: int, max_sessions: int) -> None:
        super().__init__(" ".join(argv), host=host, port=port, templates_path=TEMPLATES)
        self.title = f"specviz · {self.public_url}"  # the page's title says where it is served
        self.argv = list(argv)
        self.max_sessions = max_sessions
        self.sessions: set[SessionService] = set()
        self.stopped_by: int | None = None  # the signal that stopped the server

    async def on_startup(self, app: web.Application) -> None:
        pass  # no textual-serve banner on stdout; `serve` says where, once listening

    def _listening(self, *_: Any) -> None:
        print(
            f"specviz serve: serving the app on {self.public_url} (at most {self.max_sessions} "
            "sessions at once; Ctrl+C stops)",
            file=sys.stderr,
            flush=True,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        await asyncio.gather(*(session.end() for session in list(self.sessions)))

    # A refused session is answered 503, not with a websocket.
    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        if len(self.sessions) >= self.max_sessions:
            return web.Response(
                status=503, text=f"specviz serve: {self.max_sessions} sessions already running; close a tab first"
            )
        websocket = web.WebSocketResponse(heartbeat=15)  # a vanished browser is noticed within ~30 s
        await websocket.prepare(request)
        session = SessionService(
            self.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.sessions.add(session)
        try:
            await session.start(_size(request, "width", 80), _size(request, "height", 24))
            await self._relay(websocket, session)
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            try:
                await asyncio.shield(session.stop())
            finally:
                self.sessions.discard(session)
                if not websocket.closed:
                    await websocket.close()
        return websocket

    async def _relay(self, websocket: web.WebSocketResponse, session: SessionService) -> None:
        """What the browser sends, to the app: keys, resizes, focus."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, data = message.json()
            except (ValueError, TypeError):
                continue  # not an envelope from textual-serve's page: ignore it
            if kind == "stdin" and isinstance(data, str):
                await session.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await session.set_terminal_size(_bounded(data.get("width")), _bounded(data.get("height")))
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await session.blur()
            elif kind == "focus":
                await session.focus()

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT, SIGTERM or SIGHUP; every app is stopped on the way out."""
        self.debug = debug
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        def stop(signum: int) -> None:
            self.stopped_by = signum
            raise GracefulExit()

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop, signum)
        web.run_app(
            self._make_app(), host=self.host, port=self.port, handle_signals=False, loop=loop, print=self._listening
        )


def _size(request: web.Request, name: str, default: int) -> int:
    try:
        return _bounded(int(request.query.get(name, default)))
    except ValueError:
        return default


def _bounded(value: Any) -> int:
    """A terminal dimension from the browser, kept within what a screen can be."""
    return min(max(value, 1), 1000) if isinstance(value, int) and not isinstance(value, bool) else 80
