"""Shared helpers for the app tests: a fixed size and seed, animations off."""

from __future__ import annotations

import os

# For any subprocess; the app in this process gets animation_level directly,
# because textual reads the variable when it is first imported.
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

from specviz.app import SpecvizApp, make_app  # noqa: E402
from specviz.engine.run.config import SimConfig  # noqa: E402

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


def keys_then_settle(*keys: str, settle_each: bool = False):
    """A snapshot's `run_before`: press `keys`, then wait for workers and the
    screen (after every key with `settle_each`, so each one's work is done
    before the next: the analysis views compute in the background)."""

    async def run_before(pilot) -> None:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            if settle_each:
                await settle(pilot)
        await settle(pilot)

    return run_before


async def run_from_palette(pilot, query: str) -> None:
    """Open the command palette, type `query`, and run the best match, as a person would."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*query)
    await pilot.pause(0.3)  # the palette searches in the background
    await pilot.press("enter")
    await pilot.pause(0.1)
