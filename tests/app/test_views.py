"""Pilot and unit tests for the analysis views (issues 6 and 7): they follow the run,
draw only when shown, switch by key and palette, and survive small terminals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console
from textual.widgets import Static

from specviz.app.analysis_screen import VIEW_NAMES, AnalysisScreen
from specviz.app.context_counts import counts_for
from specviz.app.recent_rounds import recent_rounds
from specviz.app.view_catalog import VIEW_CATALOG
from specviz.app.widgets.comparison_view import ComparisonView
from specviz.app.widgets.lossless_view import LosslessView
from specviz.app.widgets.timeline_view import pass_layout
from specviz.engine.analysis.compare import compare
from specviz.engine.run.config import SimConfig
from specviz.engine.run.simulation import Simulation
from tests.app.conftest import SIZE, build_app, run_from_palette, settle
from tests.budget import LONG

KEYS = {entry.name: entry.key for entry in VIEW_CATALOG}


def caption(app, name: str) -> str:
    screen = app.screen
    assert isinstance(screen, AnalysisScreen)
    return str(screen.view(name).query(".view-caption").first().render())


# ---- unit: the helpers the views draw from ----------------------------------------


def test_recent_rounds_record_what_the_stats_count():
    simulation = Simulation(SimConfig(target_length=400, draft_policy="heuristic", seed=3))
    record = recent_rounds(simulation)
    assert recent_rounds(simulation) is record  # one listener per simulation
    simulation.run()
    rounds = list(record.rounds)
    assert len(rounds) == simulation.stats.rounds
    assert sum(r.emitted for r in rounds) == simulation.emitted
    assert sum(r.drafted for r in rounds) == simulation.stats.drafted
    assert sum(r.draft_passes for r in rounds) == simulation.stats.draft_passes
    assert len({r.planned for r in rounds}) > 1  # the heuristic policy moved k


@pytest.mark.parametrize(
    "changes",
    [{}, {"draft_policy": "confidence", "confidence_threshold": 0.3}, {"verify_overhead": 0.05, "draft_cost": 0.3}],
)
def test_the_timeline_adds_up_to_the_cost_model(changes):
    config = SimConfig(target_length=300, seed=5, **changes)
    simulation = Simulation(config)
    record = recent_rounds(simulation)
    simulation.run()
    passes, plain = pass_layout(list(record.rounds), simulation.cost_model)
    cost = simulation.cost()
    assert passes[-1][2] == pytest.approx(cost.total_ms)
    assert plain[-1][1] == pytest.approx(cost.baseline_ms)
    draft = sum(end - start for lane, start, end, _ in passes if lane == 2.0)
    assert draft == pytest.approx(cost.draft_ms)
    # Passes never overlap: one device does the work.
    assert all(a[2] <= b[1] + 1e-9 for a, b in zip(passes, passes[1:]))


@pytest.mark.parametrize("model", ["synthetic", "ngram"])
def test_context_counts_match_a_brute_force_count(model):
    simulation = Simulation(SimConfig(model=model, target_length=3000, seed=11))
    counts = counts_for(simulation)
    while not simulation.done:
        simulation.run(max_rounds=37)
        counts.update(simulation.history)  # incrementally, as the view does
    history = list(simulation.history)
    order = simulation.model.context_order
    expected = np.zeros(len(simulation.model.vocab), dtype=np.int64)
    seen: dict[tuple, int] = {}
    for t in range(max(simulation.prompt_length, order), len(history)):
        context = tuple(history[t - order : t])
        seen[context] = seen.get(context, 0) + 1
        if context == counts.context:
            expected[history[t]] += 1
    assert np.array_equal(counts.counts, expected)
    # The chosen context is the most frequent one, or within the switching margin of it.
    assert seen[counts.context] * 1.10 >= max(seen.values())


# ---- Pilot: keys, palette, updates ------------------------------------------------


async def test_v_and_digits_open_and_switch_the_views():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, AnalysisScreen) and app.screen.active_view == "speedup"
        for name, key in KEYS.items():
            await pilot.press(key)
            await pilot.pause()
            assert app.screen.active_view == name
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AnalysisScreen)
        await pilot.press("3")  # a digit from the run opens its view directly
        await pilot.pause()
        assert isinstance(app.screen, AnalysisScreen) and app.screen.active_view == "positions"
        await pilot.press("v")
        await pilot.pause()
        assert not isinstance(app.screen, AnalysisScreen)
        await pilot.press("v")  # v reopens the last view
        await pilot.pause()
        assert app.screen.active_view == "positions"
        await settle(pilot)


async def test_a_view_opens_from_the_command_palette():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        await run_from_palette(pilot, "timeline of draft")
        assert isinstance(app.screen, AnalysisScreen) and app.screen.active_view == "timeline"


async def test_views_are_in_the_help_and_the_palette():
    app = build_app()
    async with app.run_test(size=SIZE):
        markdown = app.help_markdown()
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for name in VIEW_NAMES:
            binding = next(b for b in app.BINDINGS if b.id == f"view_{name}")
            assert binding.tooltip in titles and binding.tooltip in markdown
        assert "**Timeline**" in markdown and "**Losslessness**" in markdown


FOLLOWING_VIEWS = ("speedup", "lengths", "positions", "timeline", "lossless")


# One app visits every view (an app per view cost the suite ~25 s); the
# heuristic policy moves k, which the timeline shows.
async def test_each_view_follows_the_run():
    app = build_app(target_length=5000, draft_policy="heuristic")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(KEYS[FOLLOWING_VIEWS[0]])
        await pilot.pause()
        for _ in range(3):
            await pilot.press("enter")
        await settle(pilot)
        before = {}
        for name in FOLLOWING_VIEWS:
            await pilot.press(KEYS[name])
            await settle(pilot)
            before[name] = caption(app, name)
        assert app.simulation.stats.rounds == 3
        # 17 more rounds: the timeline (12 rounds at most) has slid past the first three.
        for _ in range(17):
            await pilot.press("enter")
        await settle(pilot)
        stats = app.simulation.stats
        for name in FOLLOWING_VIEWS:
            await pilot.press(KEYS[name])
            await settle(pilot)
            after = caption(app, name)
            assert after != before[name], name
            if name in ("lengths", "positions"):
                assert f"{stats.rounds:,} rounds" in after
            if name == "speedup":
                assert f"{app.simulation.cost().speedup:.2f}× measured" in after
            if name == "timeline":
                assert f"–{stats.rounds:,}:" in after
            if name == "lossless":
                view = app.screen.view("lossless")
                assert view.counts.scanned == len(app.simulation.history)


async def test_a_hidden_view_does_no_work_and_catches_up_when_shown():
    app = build_app(target_length=5000)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")  # lengths shown; speedup hidden in its tab
        await pilot.press("enter", "enter")
        await settle(pilot)
        speedup = app.screen.view("speedup")
        lengths = app.screen.view("lengths")
        assert not speedup.displayed and lengths.displayed
        drawn = []
        speedup.draw = lambda simulation: drawn.append(simulation.stats.rounds)  # type: ignore[method-assign]
        for _ in range(5):
            await pilot.press("enter")
        assert drawn == []  # hidden: nothing drawn
        await pilot.press("1")
        await settle(pilot)
        assert drawn == [7]  # shown: one catch-up with the latest run
        await pilot.press("escape")
        await pilot.pause()
        lossless = app.screen_stack  # the views screen is off the stack: the App no longer reaches it
        assert not any(isinstance(screen, AnalysisScreen) for screen in lossless)
        await pilot.press("enter")
        assert drawn == [7]


LOSSLESS_TOKENS = 30_000


async def test_the_lossless_view_passes_speculative_and_fails_typical():
    for method, consistent in (("speculative", True), ("typical", False)):
        app = build_app(method=method, target_length=LOSSLESS_TOKENS, seed=1)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5", "e")
            await settle(pilot)
            await pilot.press("4", "5")  # the last update comes after the run: draw it
            await settle(pilot)
            view = app.screen.view("lossless")
            assert isinstance(view, LosslessView)
            assert view.counts.samples > 1000
            assert view.fit is not None
            _, pvalue = view.fit
            assert (pvalue >= 1e-3) is consistent, (method, pvalue)
            verdict = str(view.query_one("#lossless-verdict").render())
            assert ("consistent with the reference" in verdict) is consistent


async def test_the_comparison_view_shows_the_compare_rows_and_reruns_on_a_new_config():
    app = build_app(target_length=200)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await settle(pilot)
        view = app.screen.view("compare")
        assert isinstance(view, ComparisonView) and view.comparison is not None
        headless = compare(app.config, audit_samples=2000)
        assert [(r["method"], r["policy"], r["speedup"]) for r in view.comparison["rows"]] == [
            (r["method"], r["policy"], r["speedup"]) for r in headless["rows"]
        ]
        console = Console(file=io.StringIO(), width=120)
        console.print(view.query_one("#compare-table", Static).content)
        table = console.file.getvalue()
        assert "LOSSY" in table and "typical" in table
        await pilot.press("right_square_bracket")  # k + 1 restarts the run: the table follows
        await settle(pilot)
        assert view.comparison["config"]["draft_length"] == app.config.draft_length == 6


# The three chart views built on ChartView alone (speedup, lengths, positions)
# share their layout code: the suite resizes one of them, every other view too,
# all in one app; the long run each view in an app of its own. The
# distributions view is resized to 40x12 in its snapshot test.
SUITE_RESIZED = ("speedup", "timeline", "compare", "tree")  # lossless: a ChartView and one caption more
RESIZED_VIEWS = [(name,) for name in VIEW_NAMES] if LONG else [SUITE_RESIZED]
# The smallest size and back in the suite (80x24 and 60x20 have tests and
# snapshots of their own); every step down in the long run.
RESIZES = [(80, 24), (60, 20), (40, 12), (120, 36)] if LONG else [(40, 12), (120, 36)]


@pytest.mark.parametrize("names", RESIZED_VIEWS, ids="+".join)
async def test_resizing_with_a_view_open_does_not_crash(names):
    app = build_app(target_length=300)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await settle(pilot)
        for name in names:
            await pilot.press(KEYS[name])
            await settle(pilot)
            for size in RESIZES:
                await pilot.resize_terminal(*size)
                await pilot.pause()
                await pilot.press("enter")  # the run is done: nothing moves, and nothing breaks
                await settle(pilot)
            assert isinstance(app.screen, AnalysisScreen) and app.screen.active_view == name


async def test_the_views_follow_a_replayed_run(tmp_path):
    from specviz.engine.io.trace import ReplaySimulation, TraceWriter

    config = SimConfig(target_length=300, seed=9, draft_policy="confidence")
    recorded = Simulation(config)
    path = tmp_path / "run.jsonl"
    with TraceWriter(str(path), recorded):
        recorded.run()
    replay = ReplaySimulation.from_file(str(path))
    app = build_app(replay, target_length=300, seed=9, draft_policy="confidence")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        for _ in range(12):
            await pilot.press("enter")
        await settle(pilot)
        rounds = list(recent_rounds(replay).rounds)
        assert len(rounds) == 12 and replay.stats.rounds == 12
        assert "rounds 5–12:" in caption(app, "timeline")
        await pilot.press("5", "e")
        await settle(pilot)
        await pilot.press("1", "5")
        await settle(pilot)
        assert replay.history == recorded.history
        assert app.screen.view("lossless").counts.scanned == len(recorded.history)
