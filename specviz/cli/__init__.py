"""The command line: `specviz` opens the app; `specviz run`, `theory`, ... are headless.

One module per command (`specviz.cli.run`, ...), each with `add_parser(commands)`
and `run(args)`; what they share lives in `specviz.cli.options`. Command
modules import nothing heavy at module level, so building the parser on every
start costs no numpy; headless commands never import textual (only
`specviz.cli.app` and `specviz.cli.replay` import the app, when they run).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence

from specviz.cli.options import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    OneLineParser,
    UsageError,
    add_simulation_options,
    config_from_args,
    wrap,
)
from specviz.engine.run.config import ConfigError, TraceError
from specviz.engine.safe_text import safe_line

# Command -> its module, in the order `specviz --help` lists them.
COMMANDS: dict[str, str] = {
    "run": "specviz.cli.run",
    "theory": "specviz.cli.theory",
    "replay": "specviz.cli.replay",
    "sweep": "specviz.cli.sweep",
    "audit": "specviz.cli.audit",
    "compare": "specviz.cli.compare",
    "import": "specviz.cli.import_",
    "serve": "specviz.cli.serve",
}
APP_LAUNCHER = "specviz.cli.app"

EXAMPLES = """commands:
  run       simulate headless and print the report (or --json)
  theory    closed forms for i.i.d. acceptance, and by batch size under a cost model
  replay    open the app on a recorded run
  sweep     speedup over k x alpha: closed form beside Monte Carlo
  audit     losslessness: the first tokens' joint law against the target's
  compare   every method and draft policy side by side
  import    read an engine's log or metrics, put it under specviz's names, advise k
  serve     the app in a web browser, each tab its own session

examples:
  specviz                                     open the app with the defaults
  specviz -k 8 -a 0.9                         open the app with k = 8, alpha = 0.9
  specviz run -k 5 -a 0.8 -n 200              simulate 200 tokens and print the report
  specviz run -n 20000 --json                 one JSON object with every statistic
  specviz theory -k 5 -a 0.8 --json           closed forms: E[tokens], speedup, optimal k

'specviz COMMAND --help' lists each command's options.
"""

__all__ = ["COMMANDS", "build_parser", "config_from_args", "main"]


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="specviz",
        description=wrap(
            "See and reason about speculative decoding. Without a command, opens the app "
            "with the simulation options given."
        ),
        epilog=EXAMPLES,
    )
    add_simulation_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for module in COMMANDS.values():
        importlib.import_module(module).add_parser(commands)
    return parser


def _prog(command: str | None) -> str:
    return f"specviz {command}" if command else "specviz"


# Signals that end a command as Ctrl-C does: cleanup runs (a trace's partial
# file is removed) and the exit status is 128 + the signal.
TERMINATING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """A terminating signal, raised where the process was so every `finally`
    and context manager on the way out runs. A BaseException, like
    KeyboardInterrupt: no `except Exception` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise Terminated (once: a second
    signal during the cleanup the first started is ignored). A signal the
    process was started ignoring (nohup) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (an embedding caller)
        return
    raised = False

    def handler(signum: int, frame: object) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Terminated(signum)

    previous = {}
    for signum in TERMINATING_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, was in previous.items():
            signal.signal(signum, was)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: str | None = getattr(args, "command", None)
    module = APP_LAUNCHER if command is None else COMMANDS.get(command, APP_LAUNCHER)
    try:
        run_command: Callable[[argparse.Namespace], int] = importlib.import_module(module).run
        with terminate_cleanly():
            return run_command(args)
    except (ConfigError, TraceError, UsageError) as error:
        # A message may quote a file name as it was given (a trace's): escaped here.
        print(f"{_prog(command)}: error: {safe_line(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (`specviz run | head`): stop quietly. Point
        # stdout at devnull so the interpreter's final flush does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        # A file a model needs (a corpus) that cannot be read.
        where = f" {error.filename}" if error.filename else ""
        print(
            f"{_prog(command)}: error: {safe_line(f'cannot read{where}: {error.strerror or error}')}", file=sys.stderr
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{_prog(command)}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as terminated:
        with contextlib.suppress(OSError):  # after a SIGHUP the terminal may be gone
            print(f"{_prog(command)}: terminated by {signal.Signals(terminated.signum).name}", file=sys.stderr)
        return 128 + terminated.signum


if __name__ == "__main__":
    raise SystemExit(main())
