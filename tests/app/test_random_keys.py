"""Random keys and resizes from fixed seeds: no exception, engine invariants hold.

The suite runs a bounded budget (100 keys from one seed);
SPECVIZ_LONG_TESTS=1 runs thousands from each of six (docs/testing-long.md), and
SPECVIZ_FUZZ_PRESSES / SPECVIZ_FUZZ_SEEDS set either count.
"""

from __future__ import annotations

import asyncio
import random

import pytest
from textual import events

from specviz.app.autoplay import SPEEDS
from specviz.app.widgets.run_status import RunStatus
from specviz.app.widgets.token_stream import TokenStream
from specviz.engine.run.rounds import Phase
from specviz.engine.run.simulation import Simulation
from tests.app.conftest import build_app, settle
from tests.budget import budget

# Every bound key but quit, plus keys a person fumbles: digits, letters, tab
# (into the fields, where they are typed and submitted), escape, arrows.
KEYS = (
    ["space"] * 8
    + ["enter"] * 6
    + [
        "e",
        "a",
        "plus",
        "minus",
        "r",
        "left_square_bracket",
        "right_square_bracket",
        "comma",
        "full_stop",
        "f1",
        "question_mark",
        "escape",
        "escape",
    ]
    + ["tab", "shift+tab", "backspace", "up", "down", "left", "right", "pageup", "pagedown", "home", "end"]
    + list("0123456789.-x")
    + ["minus", "e"]
)
SIZES = [(120, 36), (80, 24), (60, 20), (100, 30), (61, 21), (140, 40)]
PRESSES = budget(100, 2000, "SPECVIZ_FUZZ_PRESSES")  # from each seed
# The first seed is the one this test always had; the others add other paths.
SEEDS = [20240601, *range(1, budget(1, 6, "SPECVIZ_FUZZ_SEEDS"))]
BATCH = 25  # keys posted before waiting for the app to catch up
CHECK_EVERY = 100  # keys between invariant checks
CHARACTERS = {
    "space": " ",
    "plus": "+",
    "minus": "-",
    "comma": ",",
    "full_stop": ".",
    "question_mark": "?",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
}


def character(key: str) -> str | None:
    return CHARACTERS.get(key, key if len(key) == 1 else None)


def check_invariants(app) -> None:
    simulation = app.simulation
    stats = simulation.stats
    emitted = simulation.emitted
    assert emitted <= simulation.config.target_length
    assert len(simulation.kinds) == emitted == stats.emitted
    assert stats.accepted + stats.rounds == stats.emitted  # each round: kept prefix + one token
    assert stats.drafted == stats.accepted + stats.corrections + stats.skipped
    assert sum(stats.length_histogram) == stats.rounds
    # The speed keys stay within the speeds there are, and the status shows the one in use.
    assert 0 <= app.speed_index < len(SPEEDS)
    assert app.query_one(RunStatus).autoplay_speed == SPEEDS[app.speed_index].label
    # Driven through the UI or by the engine alone, the run is the same.
    fresh = Simulation(simulation.config)
    fresh.run(max_rounds=stats.rounds)
    while fresh.last_phase is not simulation.last_phase and simulation.last_phase is not Phase.ACCEPT:
        fresh.step()
    assert fresh.history == simulation.history and fresh.kinds == simulation.kinds
    stream = app.query_one(TokenStream)
    if stream.layout is not None:
        width = stream.layout.width
        for y in range(stream.line_count):
            line = stream._line(y)
            assert line.cell_length <= width or len(line.text.split()) <= 1


@pytest.mark.parametrize("seed", SEEDS)
async def test_random_keys_and_resizes(seed):
    rng = random.Random(seed)
    app = build_app(target_length=300)
    async with app.run_test(size=(120, 36)) as pilot:
        for press in range(PRESSES):
            if rng.random() < 0.02:
                await pilot.resize_terminal(*rng.choice(SIZES))
            key = rng.choice(KEYS)
            # Posted as the terminal driver would (Pilot.press would wait for
            # the process to go idle after every key: minutes for 3,000 keys).
            app.post_message(events.Key(key, character(key)))
            await asyncio.sleep(0)
            if press % BATCH == BATCH - 1:
                await pilot.pause()
            if press % CHECK_EVERY == CHECK_EVERY - 1:
                await settle(pilot)
                if app.screen is app.screen_stack[0]:
                    check_invariants(app)
        await pilot.press("escape", "escape")
        await settle(pilot)
        check_invariants(app)
    assert app.return_code in (None, 0)
