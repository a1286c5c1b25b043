"""Shared helpers for the app tests: a fixed size and seed, animations off."""

from __future__ import annotations

import os

# For any subprocess; the app in this process gets animation_level directly,
# because textual reads the variable when it is first imported.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

from specviz.app import SpecvizApp, make_app  # noqa: E402
from specviz.engine.config import SimConfig  # noqa: E402

SIZE = (120, 36)


def build_app(simulation=None, **changes) -> SpecvizApp:
    """The app as the CLI builds it, for a SimConfig with `changes`, animations off."""
    app = make_app(SimConfig(**changes), simulation)
    app.animation_level = "none"
    return app


async def settle(pilot) -> None:
    """Wait for the app's workers (a cancelled one counts as finished), then for the screen."""
    from textual.worker import WorkerCancelled

    try:
        await pilot.app.workers.wait_for_complete()
    except WorkerCancelled:
        pass
    await pilot.pause()
