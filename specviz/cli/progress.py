"""One progress bar for every headless command: rich, on stderr, transient.

Shown only when stderr is a terminal, so logs and `--json` output stay clean,
and only once the work has taken `delay` seconds, so quick runs stay quiet.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

# report(done, total, description=None): total None means unknown.
ProgressReport = Callable[..., None]


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
