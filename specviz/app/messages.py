"""Messages the App's workers post to it."""

from __future__ import annotations

from textual.message import Message

from specviz.app.view import Change


class RunAdvanced(Message):
    """The simulation moved on (a worker ran phases or rounds); views should catch up."""

    def __init__(self, change: Change) -> None:
        super().__init__()
        self.change = change


class RunFinished(Message):
    """A run to the end or an autoplay stopped (finished or cancelled)."""

    def __init__(self, worker_group: str) -> None:
        super().__init__()
        self.worker_group = worker_group
