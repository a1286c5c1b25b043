"""`specviz serve`: the app in a browser, one app process per tab (textual-serve)."""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys

from specviz.cli.options import (
    SIMULATION_OPTIONS,
    Commands,
    UsageError,
    add_simulation_options,
    config_from_args,
    count_at_least,
    wrap,
)

SUMMARY = "serve the app to web browsers (each tab its own session)"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_MAX_SESSIONS = 4  # each session is a Python process running the engine

EXAMPLES = """examples:
  specviz serve                                   http://127.0.0.1:8000, the app with the defaults
  specviz serve --port 8080 -k 4 -a 0.8           every tab opens the app with k = 4, alpha = 0.8
  specviz serve --host 0.0.0.0 --max-sessions 8   reachable from other machines: read the warning
"""


def add_parser(commands: Commands) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "serve",
        help=SUMMARY,
        description=wrap(
            "Serve the app to web browsers with textual-serve: every tab gets its own app process with the "
            "simulation options given here. Closing a tab, a browser that vanishes, and stopping the server "
            "(Ctrl+C, SIGTERM, SIGHUP) each stop the tab's app process."
        ),
        epilog=EXAMPLES,
    )
    add_simulation_options(parser)
    web = parser.add_argument_group("server")
    web.add_argument(
        "--host",
        default=None,
        metavar="HOST",
        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only; any other needs this flag and "
        "lets anyone who can reach the port start processes here)",
    )
    web.add_argument(
        "--port",
        type=count_at_least(1),
        default=DEFAULT_PORT,
        metavar="PORT",
        help=f"TCP port, 1 to 65535 (default: {DEFAULT_PORT})",
    )
    web.add_argument(
        "--max-sessions",
        type=count_at_least(1),
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help=f"app processes running at once; a tab beyond them is refused (default: {DEFAULT_MAX_SESSIONS})",
    )
    return parser


def app_command(args: argparse.Namespace) -> list[str]:
    """The command each tab's app runs: this Python, `-m specviz`, the simulation flags given."""
    argv = [sys.executable, "-m", "specviz"]
    for flags, name, _ in SIMULATION_OPTIONS:
        if hasattr(args, name):
            argv += [flags[-1], str(getattr(args, name))]
    return argv


def run(args: argparse.Namespace) -> int:
    config_from_args(args)  # a bad option is one line now, not an error in every tab
    if args.port > 65535:
        raise UsageError(f"--port {args.port} is too large (allowed: 1 to 65535)")
    host = DEFAULT_HOST if args.host is None else args.host
    _check_host(host)
    try:
        from specviz.web.server import SpecvizServer
    except ImportError as error:
        raise UsageError(
            f"specviz serve needs textual-serve ({error.name or error} is missing): pip install 'specviz[web]'"
        ) from None
    if not _is_loopback(host):
        print(
            f"specviz serve: warning: listening on {host}: anyone who can reach port {args.port} can start "
            "specviz processes on this machine",
            file=sys.stderr,
        )
    server = SpecvizServer(app_command(args), host, args.port, args.max_sessions)
    try:
        server.serve()
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{args.port}: {error.strerror or error}") from None
    return 128 + server.stopped_by if server.stopped_by is not None else 0


def _check_host(host: str) -> None:
    try:
        socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        raise UsageError(f"--host {host!r} is not an address or a name this machine can resolve") from None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
