"""Long work on the command line: one progress bar for every headless command, and the guard
that refuses work no one would wait for.

The bar is rich, on stderr, transient; shown only when stderr is a terminal, so
logs and `--json` output stay clean, and only once the work has taken `delay`
seconds, so quick runs stay quiet.

Work estimated at over LONG_WORK_SECONDS is refused with one line naming the
estimate and --allow-long, before it starts (sweep, compare: a short
calibration run times a round) or once its own first PACE_AFTER_SECONDS show
its pace (run, audit: every unit of their work costs about the same).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from specviz.cli.options import UsageError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

# report(done, total, description=None): total None means unknown.
ProgressReport = Callable[..., None]

LONG_WORK_SECONDS = 3600.0  # about an hour: longer is refused without --allow-long
PACE_AFTER_SECONDS = 0.5  # run and audit project their pace after this much work
ALLOW_LONG = "--allow-long"
# A callback per unit of work (an audit sample) is forwarded this often at most.
REPORT_EVERY_SECONDS = 0.05
# The clock the long-work guard and the throttle read (a test may replace it).
clock = time.monotonic


def add_allow_long_option(group: Any) -> None:
    group.add_argument(
        ALLOW_LONG,
        action="store_true",
        help=f"run work estimated at over {LONG_WORK_SECONDS / 3600:g} hour (without it such work is refused "
        "at once, with the estimate)",
    )


def duration_text(seconds: float) -> str:
    """`seconds` for people: 45 s, 38 min, 2.5 h, 37 days."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:,.0f} days"


def refuse_long_work(what: str, seconds: float, work: str, how: str) -> None:
    """Raise UsageError when `seconds` is past LONG_WORK_SECONDS: `what` (e.g.
    "this sweep") would take about that long for `work`, estimated `how`."""
    if seconds > LONG_WORK_SECONDS:
        raise UsageError(
            f"{what} would take about {duration_text(seconds)} ({work}, {how}); add {ALLOW_LONG} to run it anyway "
            f"(without it the limit is {LONG_WORK_SECONDS / 3600:g} h)"
        )


def pace_check(what: str, unit: str) -> Callable[[int, int], None]:
    """A `check(done, total)` for work whose units all cost about the same:
    once PACE_AFTER_SECONDS have passed, the pace so far projects the whole,
    and `refuse_long_work` decides (once)."""
    started = clock()
    decided = False

    def check(done: int, total: int) -> None:
        nonlocal decided
        if decided or done <= 0:
            return
        elapsed = clock() - started
        if elapsed < PACE_AFTER_SECONDS:
            return
        decided = True
        refuse_long_work(what, elapsed * total / done, f"{total:,} {unit}", f"at the pace of its first {elapsed:.1f} s")

    return check


def throttled(*callbacks: Callable[..., None] | None) -> Callable[..., None]:
    """One `progress(done, total, ...)` that forwards to each callback at most
    every REPORT_EVERY_SECONDS (and always at the end), for work that reports
    per unit (an audit sample: a callback each would cost more than the bar)."""
    targets = [callback for callback in callbacks if callback is not None]
    last = -REPORT_EVERY_SECONDS

    def progress(done: int, total: int, *rest: Any) -> None:
        nonlocal last
        now = clock()
        if now - last < REPORT_EVERY_SECONDS and done < total:
            return
        last = now
        for callback in targets:
            callback(done, total, *rest)

    return progress


def stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def stderr_progress(
    label: str, unit: str = "", enabled: bool = True, delay: float = 0.0, console: Console | None = None
) -> Iterator[ProgressReport | None]:
    """Yield a `report(done, total, description=None)` callback that drives a
    bar on stderr (or on `console`, a rich Console), or None when disabled or
    that is no terminal."""
    on_terminal = console.is_terminal if console is not None else stderr_is_terminal()
    if not enabled or not on_terminal:
        yield None
        return
    started = time.monotonic()
    state: dict[str, Any] = {}

    def report(done: int, total: int | None, description: str | None = None) -> None:
        if "bar" not in state:
            if time.monotonic() - started < delay:
                return
            state["bar"], state["task"] = _start(label, unit, console)
        fields: dict[str, Any] = {"completed": done, "total": total}
        if description is not None:
            fields["description"] = description
        state["bar"].update(state["task"], **fields)

    try:
        yield report
    finally:
        if "bar" in state:
            state["bar"].stop()


def _start(label: str, unit: str, console: Console | None) -> tuple[Progress, TaskID]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
    if unit:
        columns.append(TextColumn(unit))
    bar = Progress(
        *columns,
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console if console is not None else Console(stderr=True),
        transient=True,  # gone when done: stderr keeps only errors
    )
    bar.start()
    return bar, bar.add_task(label, total=None)
