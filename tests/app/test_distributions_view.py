"""The distributions view (7), past rounds (< >) and the round table's columns per method (issue 13)."""

from __future__ import annotations

import pytest

from specviz.app.recent_rounds import recent_rounds
from specviz.app.round_choice import RoundChoice
from specviz.app.widgets.round_view import RoundView
from specviz.app.widgets.token_stream import TokenStream
from specviz.engine.run.config import SimConfig
from specviz.engine.run.rounds import Phase
from specviz.engine.run.simulation import Simulation
from tests.app.conftest import SIZE, build_app, settle


def marked_position(app) -> int | None:
    """The position the round table marks ▸ (a position chosen by hand), if any."""
    view = app.query_one(RoundView)
    marked = [i for i, cells in enumerate(view.rows) if str(cells[0]).startswith("▸")]
    return None if not marked else view._positions[marked[0]]


async def test_past_rounds_and_back_to_the_run():
    app = build_app(target_length=2000, seed=3)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(4):
            await pilot.press("enter")
        await settle(pilot)
        live = app.simulation.current
        # A click on the round table's second row picks draft position 2 for the distributions view.
        await pilot.click("#round-table", offset=(3, 2))
        await pilot.pause()
        assert marked_position(app) == 1
        assert app.round_choice.position(live, Phase.ACCEPT) == 1
        # < steps back a round: the round table and the stream's highlight show round 3.
        await pilot.press("less_than_sign")
        await pilot.pause()
        past = app.round_choice.past
        assert past is not None and past.index == live.index - 1
        assert app.query_one(RoundView).border_title.startswith("Round 3 · past")
        assert marked_position(app) is None  # another round: its rejection (or bonus) first
        start = app.simulation.prompt_length + past.start
        assert app.query_one(TokenStream)._highlight == (start, start + past.accepted + 1)
        assert past.dists == []  # a past round keeps its record, not its distributions
        await pilot.press("less_than_sign", "less_than_sign", "less_than_sign")  # stops at round 1
        await pilot.pause()
        assert app.round_choice.past.index == 0
        for _ in range(3):
            await pilot.press("greater_than_sign")
        await pilot.pause()
        assert app.round_choice.live and app.query_one(TokenStream)._highlight is None
        assert app.query_one(RoundView).border_title == f"Round {live.index + 1}"
        assert app.simulation.current is live  # nothing ran meanwhile
        # Stepping back pauses autoplay; forward past the newest resumes it.
        await pilot.press("a", "less_than_sign")
        await pilot.pause()
        assert not app.autoplaying and not app.round_choice.live
        await pilot.press("greater_than_sign")
        await pilot.pause()
        assert app.autoplaying and app.round_choice.live
        await pilot.press("a")
        await settle(pilot)


@pytest.mark.parametrize(
    ("method", "fifth", "sixth"),
    [
        ("speculative", "p/q", "u"),
        ("greedy", "p/q", "argmax p"),
        ("typical", "H(p)", "thresh"),
        ("sample-match", "u", "y ~ p"),
    ],
)
def test_the_round_table_shows_what_the_method_reads(method, fifth, sixth):
    simulation = Simulation(SimConfig(method=method, target_length=400, seed=5))
    while True:
        round_ = simulation.finish_round()
        if round_.rejected and round_.accepted:
            break
    table = RoundView()
    columns, rows, positions = table._rows(simulation, round_, Phase.ACCEPT, None)
    assert [column.header for column in columns][4:6] == [fifth, sixth]
    assert positions == [*range(len(round_.drafted)), round_.accepted]
    vocab = simulation.model.vocab
    kept, rejected = rows[0], rows[round_.accepted]
    caption = str(table._caption(simulation, round_, Phase.ACCEPT))
    if method == "greedy":
        # Kept drafts are argmax p; the correction is argmax p, chosen, and no u is shown.
        assert kept[5] == kept[1] and rejected[5] == vocab[round_.correction] != rejected[1]
        assert "chosen (argmax p)" in caption and "drawn" not in caption
    elif method == "typical":
        assert float(kept[3]) > float(kept[5]) and float(rejected[3]) <= float(rejected[5])
    elif method == "sample-match":
        assert kept[5] == kept[1] and rejected[5] == vocab[round_.correction]
        assert f"u = {rejected[4]}" in caption
    else:
        assert float(rejected[5]) >= float(rejected[4])  # u >= p/q


def test_the_round_choice_steps_within_the_window_and_clamps_the_position():
    simulation = Simulation(SimConfig(target_length=400, seed=2))
    record = recent_rounds(simulation)
    choice = RoundChoice()
    assert choice.cannot_step(simulation, -1) == "No completed round to step back to yet"
    for _ in range(3):
        simulation.finish_round()
    assert choice.cannot_step(simulation, 1).startswith("Already at the run's own round")
    choice.step(simulation, -1)
    assert choice.past is record.past[-2] and choice.shown(simulation) == (record.past[-2], Phase.ACCEPT)
    choice.step(simulation, -1)
    assert choice.past.index == 0 and "oldest kept" in choice.cannot_step(simulation, -1)
    # Only the run's current round still holds its distributions.
    assert [len(r.dists) > 0 for r in record.past] == [False, False, True]
    choice.choose_position(choice.past, Phase.ACCEPT, 99)
    assert choice.position(choice.past, Phase.ACCEPT) == len(choice.past.drafted)
    assert choice.chosen(record.past[-1], Phase.ACCEPT) is None  # chosen for one round only
    choice.step(simulation, 1)
    choice.step(simulation, 1)
    assert choice.live and choice.shown(simulation) == (simulation.current, Phase.ACCEPT)
