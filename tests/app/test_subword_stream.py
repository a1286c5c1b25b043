"""Token boundaries in the stream for subword tokens (issue 16): pieces of a
subword tokenizer join without spaces, so every other token is shaded."""

from __future__ import annotations

from specviz.app.app import SpecvizApp
from specviz.app.widgets.token_stream import TokenStream
from specviz.engine import SimConfig, Simulation
from tests.app.conftest import SIZE, settle


async def test_subword_tokens_are_shaded_in_turn_and_words_are_not():
    config = SimConfig(target_length=60, seed=2)
    for subword in (False, True):
        simulation = Simulation(config)
        simulation.model.subword_tokens = subword  # as the hf pair's model says
        simulation.run()
        app = SpecvizApp(config, simulation)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            stream = app.query_one(TokenStream)
            start = simulation.prompt_length
            stop = start + 12
            segments = stream._history_segments_plain(start, stop, start)
            boundary = stream._style("token-stream--boundary")
            shaded = [segment.style is not None and boundary.bgcolor == segment.style.bgcolor for segment in segments]
            if subword:
                # Unmarked tokens one segment each, every other shaded: no two shaded in a row.
                assert any(shaded) and not all(shaded)
                assert not any(a and b for a, b in zip(shaded, shaded[1:]))
            else:
                assert not any(shaded)
