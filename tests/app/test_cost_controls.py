"""The batch size and cost-model fields, and the views that price by them (issue 15)."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static

from specviz.app.recent_rounds import recent_rounds
from specviz.app.widgets.choice_field import ChoiceField
from specviz.app.widgets.control_panel import C_UNUSED, ControlPanel, cost_options
from specviz.app.widgets.stats_sidebar import measured_rows
from specviz.app.widgets.timeline_view import DRAFT_LANE, OVERHEAD_LANE, pass_layout
from specviz.engine.analysis import theory
from specviz.engine.analysis.cost import preset_names
from specviz.engine.run.config import ConfigError, SimConfig, config_from_text
from specviz.engine.run.simulation import Simulation
from tests.app.conftest import SIZE, build_app, settle

LLAMA = "llama-7b-f16-v100-llamacpp"
EAGLE = "llama3.1-8b-eagle-h100"

COST_FILE = """\
name = "my-pair"
source = "a test"
overhead_ms = 0.5

[target]
fixed_ms = 10.0
per_token_ms = 1.0

[draft]
kind = "model"
fixed_ms = 2.0
"""


async def _type_into(pilot, name: str, text: str) -> None:
    field = pilot.app.query_one(f"#input-{name}", Input)
    field.focus()
    await pilot.pause()
    field.value = ""
    await pilot.press(*text, "enter")
    await settle(pilot)


async def _choose_cost(pilot, value: str) -> None:
    """Pick `value` in the cost field with the keyboard, as a person would."""
    choice = pilot.app.query_one("#input-cost_model", ChoiceField)
    choice.focus()
    await pilot.pause()
    values = [option for _, option in choice.options]
    steps = values.index(value) - values.index(choice.value)
    await pilot.press(*(["right"] * steps if steps > 0 else ["left"] * -steps))
    await settle(pilot)


async def test_the_batch_size_field_refuses_0_with_the_engines_words():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        simulation, config = app.simulation, app.config
        await _type_into(pilot, "batch_size", "0")
        with pytest.raises(ConfigError) as engine_error:
            config_from_text(config, {"batch_size": "0"})
        panel = app.query_one(ControlPanel)
        assert panel.errors == {"batch_size": str(engine_error.value)}
        label = app.query_one("#label-batch_size")
        assert str(label.render()).startswith("✗") and label.has_class("-invalid")
        assert str(engine_error.value) in str(app.query_one("#config-message").render())
        assert app.simulation is simulation and app.config == config
        await _type_into(pilot, "batch_size", "16")  # a valid b restarts the run at it
        assert app.simulation.cost_model.batch_size == 16 and panel.errors == {}
        assert not str(label.render()).startswith("✗")


async def test_choosing_a_preset_restarts_the_run_priced_by_it_and_disables_c():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        choice = app.query_one("#input-cost_model", ChoiceField)
        assert [value for _, value in choice.options][1:] == list(preset_names())
        c = app.query_one("#input-draft_cost", Input)
        assert app.simulation.cost_model.name == "constant ratio" and not c.disabled
        await pilot.press("enter", "enter")
        await _choose_cost(pilot, LLAMA)
        assert app.config.cost_model == LLAMA
        assert app.simulation.cost_model.name == LLAMA and app.simulation.stats.rounds == 0
        assert c.disabled and c.tooltip == C_UNUSED
        assert f"cost={LLAMA}" in app.sub_title
        await _choose_cost(pilot, "")  # back to the constant-ratio model: c applies again
        assert app.config.cost_model is None and app.simulation.cost_model.name == "constant ratio"
        assert not c.disabled and c.tooltip is None


async def test_a_cost_file_from_the_command_line_is_its_own_option_and_stays_chosen(tmp_path):
    path = tmp_path / "my.toml"
    path.write_text(COST_FILE)
    app = build_app(cost_model=str(path))
    async with app.run_test(size=SIZE) as pilot:
        choice = app.query_one("#input-cost_model", ChoiceField)
        assert choice.options == tuple(cost_options(str(path)))
        assert choice.options[-1] == ("my.toml", str(path)) and choice.value == str(path)
        assert app.query_one("#input-draft_cost", Input).disabled
        await _type_into(pilot, "draft_length", "3")  # an edit restarts the run, still priced by the file
        assert app.config.draft_length == 3 and app.simulation.cost_model.name == "my-pair"
        assert choice.value == str(path)
        await _choose_cost(pilot, LLAMA)
        await _choose_cost(pilot, str(path))  # chosen again after a preset
        assert app.simulation.cost_model.name == "my-pair"


async def test_a_cost_file_that_cannot_be_read_is_explained_beside_the_cost_field(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text(COST_FILE.replace("fixed_ms = 10.0", "fixed_ms = -1"))
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        simulation = app.simulation
        # A replayed config could name such a file: the panel adds it and the engine refuses it.
        app.query_one("#input-cost_model", ChoiceField).add_option("broken.toml", str(path))
        app.query_one("#input-cost_model", ChoiceField).focus()
        await pilot.press("left")  # from constant round to the last option, the file
        await settle(pilot)
        errors = app.query_one(ControlPanel).errors
        assert list(errors) == ["cost_model"] and "fixed_ms" in errors["cost_model"]
        assert app.query_one("#input-cost_model", ChoiceField).invalid
        assert app.simulation is simulation and app.config.cost_model is None


async def test_the_batch_caption_names_the_break_even_batch_size():
    app = build_app(cost_model=LLAMA, acceptance_rate=0.7)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await settle(pilot)
        caption = str(app.screen.view("speedup").query_one("#batch-caption", Static).render())
        # By hand: `specviz theory -a 0.7 --cost-model llama-7b-f16-v100-llamacpp --json` says 8.
        table = theory.by_batch_size(0.7, app.config.draft_length, app.simulation.cost_model)
        assert table["break_even_batch_size"] == 8
        assert "break-even b = 8 " in caption and "from b = 16 plain decoding wins" in caption


async def test_the_batch_caption_says_the_constant_ratio_model_is_flat():
    app = build_app(acceptance_rate=0.7)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await settle(pilot)
        caption = str(app.screen.view("speedup").query_one("#batch-caption", Static).render())
        assert "the constant-ratio model does not depend on batch size: choose a cost model" in caption
        assert "break-even" not in caption


@pytest.mark.parametrize(
    "changes",
    [
        {"cost_model": LLAMA},
        {"cost_model": LLAMA, "batch_size": 32, "draft_policy": "confidence", "confidence_threshold": 0.3},
        {"cost_model": EAGLE, "batch_size": 64, "context_length": 1024},
    ],
)
def test_the_timeline_adds_up_under_a_preset(changes):
    simulation = Simulation(SimConfig(target_length=300, seed=5, **changes))
    record = recent_rounds(simulation)
    simulation.run()
    passes, plain = pass_layout(list(record.rounds), simulation.cost_model)
    cost = simulation.cost()
    assert passes[-1][2] == pytest.approx(cost.total_ms)
    assert plain[-1][1] == pytest.approx(cost.baseline_ms)
    assert sum(end - start for lane, start, end, _ in passes if lane == DRAFT_LANE) == pytest.approx(cost.draft_ms)
    overhead = sum(end - start for lane, start, end, _ in passes if lane == OVERHEAD_LANE)
    assert overhead == pytest.approx(cost.overhead_ms)
    assert all(a[2] <= b[1] + 1e-9 for a, b in zip(passes, passes[1:]))


def test_the_sidebar_theory_is_priced_by_the_cost_model():
    simulation = Simulation(SimConfig(cost_model=LLAMA, acceptance_rate=0.7, draft_length=5))
    rows = {full: theory_cell for (full, _), _, theory_cell in measured_rows(simulation)}
    table = theory.by_batch_size(0.7, 5, simulation.cost_model)
    # At b = 1 the llama.cpp pair loses at k = 5 and wins at its best k, 2 (1.2249×).
    assert rows["speedup"] == f"{table['speedup_by_batch_size']['1']:.3f}" == "0.990"
    assert rows["optimal k (speedup)"] == f"2 ({table['best_speedup_by_batch_size']['1']:.2f})" == "2 (1.22)"
