"""The app on an imported engine log (`specviz import FILE --open`, issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.content import Content

from specviz.app import SpecvizApp
from specviz.app.analysis_screen import AnalysisScreen
from specviz.engine.analysis.cost import cost_model_for
from specviz.engine.io.importers import import_stream
from specviz.engine.io.importers.derive import summarise
from specviz.engine.io.importers.opened import OpenedImport
from specviz.engine.run.config import SimConfig
from tests.app.conftest import SIZE, settle

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"


def opened_import(config: SimConfig, *names: str) -> OpenedImport:
    results = []
    for name in names:
        with open(FIXTURES / name, encoding="utf-8") as stream:
            results.append(import_stream(stream, name))
    return OpenedImport(summarise(results, cost_model_for(config)), config.section("cost"))


def plotted(app, view: str, label_part: str) -> tuple[list[float], list[float]]:
    """The (x, y) of the series whose legend label holds `label_part`, in `view`'s chart."""
    screen = app.screen
    assert isinstance(screen, AnalysisScreen)
    monitor = screen.view(view).query_one(f"#{view}-chart").plt.monitor
    [index] = [i for i, label in enumerate(monitor.label) if label_part in label]
    return list(monitor.x[index]), list(monitor.y[index])


def caption(app, view: str) -> str:
    return str(app.screen.query_one(f"#{view}-import").render())


def test_no_import_no_import_key():
    app = SpecvizApp(SimConfig())
    assert app.check_action("simulate_import", ()) is False  # hidden from the footer
    assert "Simulate the import" not in app.help_markdown()
    assert "## Import" not in app.help_markdown()


@pytest.mark.parametrize("size", [SIZE])
async def test_the_views_show_the_import_and_i_sets_k_and_alpha_from_it(size):
    config = SimConfig(draft_cost=0.05, draft_length=6, acceptance_rate=0.5)
    # Two vLLM engines, then a Spec-Bench file that gives neither k nor alpha_iid, and a label with markup.
    imported = opened_import(config, "vllm-prometheus.txt", "spec-bench.jsonl", "spec-bench-bad.jsonl")
    app = SpecvizApp(config, imported=imported)
    app.animation_level = "none"
    first, second, bench = imported.series[:3]
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        assert "import vLLM · engine=0, model_name=llama-8b (series 1 of 5" in str(
            app.query_one("#config-message").render()
        )
        assert app.active_bindings["i"].binding.id == "simulate_import" and app.active_bindings["i"].enabled
        key = app.active_bindings["i"].binding
        assert "## Import" in app.help_markdown() and key.tooltip in app.help_markdown()
        assert key.tooltip in {command.title for command in app.get_system_commands(app.screen)}

        await pilot.press("3")
        await settle(pilot)
        xs, ys = plotted(app, "positions", "engine=0, model_name=llama-8b: kept at i / steps (vLLM)")
        assert ys == pytest.approx(first["per_position_acceptance"])
        assert [round(x) for x in xs] == [1, 2]
        _, ys = plotted(app, "positions", "kept / reached at i")
        assert ys == pytest.approx(first["conditional_acceptance"])
        _, ys = plotted(app, "positions", "α_iid^i")
        assert ys == pytest.approx([first["alpha_iid"] ** i for i in (1, 2)])
        assert f"α_iid = {first['alpha_iid']:.3f}" in caption(app, "positions")

        await pilot.press("1")
        await settle(pilot)
        rows = first["advice"]["speedup_by_k"]
        xs, ys = plotted(app, "speedup", "from its measured rates")
        assert (xs, ys) == ([1, 2], pytest.approx([row["speedup"] for row in rows[:2]]))
        xs, ys = plotted(app, "speedup", "extrapolated")
        assert (xs, ys) == ([3, 4], pytest.approx([row["speedup"] for row in rows[2:]]))
        assert f"best k = {first['advice']['best_k']}" in caption(app, "speedup")

        # The palette switches series (its command, run as the palette runs it): the views follow.
        commands = [c for c in app.get_system_commands(app.screen) if c.title.startswith("Import: show series")]
        assert len(commands) == 5
        # The palette reads titles as markup: a label's brackets stay text.
        assert Content.from_markup(commands[4].title).plain.endswith("category \\x1b[31mred\\x1b[0m [bold]x[/bold]")
        switch = commands[1]
        switch.callback()
        await settle(pilot)
        _, ys = plotted(app, "speedup", "engine=1, model_name=llama-8b: from its measured rates")
        assert ys == pytest.approx([row["speedup"] for row in second["advice"]["speedup_by_k"][:2]])

        await pilot.press("escape", "i")
        await settle(pilot)
        assert (app.config.draft_length, app.config.draft_cost) == (2, 0.05)
        assert app.config.acceptance_rate == pytest.approx(second["alpha_iid"], abs=5e-5)
        assert app.query_one("#input-draft_length").value == "2"
        assert app.query_one("#input-acceptance_rate").value == f"{app.config.acceptance_rate}"
        message = str(app.query_one("#config-message").render())
        assert "k = 2 (the log's draft_length)" in message and "alpha_iid" in message

        # A series whose k and alpha are null: kept, and said so inline.
        app.action_show_series(2)
        await pilot.press("i")
        await settle(pilot)
        assert bench["draft_length"] is None and bench["alpha_iid"] is None
        assert app.config.draft_length == 2
        message = str(app.query_one("#config-message").render())
        assert "k unknown" in message and "kept 2" in message and "α unknown" in message
