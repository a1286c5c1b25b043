"""The sidebar and the positions view name each figure (issue 12 items 3, 4, 7, 11):
sum_x min(p, q) apart from the method's keep chance, no theory before anything is
measured, per-position rates by whose definition they are."""

from __future__ import annotations

import re

from specviz.app.widgets.stats_sidebar import NOT_MEASURED, measured_rows
from specviz.engine.run.config import SimConfig
from specviz.engine.run.run_state import RunState
from specviz.engine.run.simulation import Simulation
from tests.app.conftest import SIZE, build_app, settle


def rows_by_label(simulation) -> dict[str, tuple[str, str]]:
    return {full: (measured, theory) for (full, _), measured, theory in measured_rows(simulation)}


def sidebar_text(app) -> str:
    return str(app.query_one("#stats-measured").render())


def test_no_theory_numbers_before_a_draft_is_tested_where_alpha_is_measured():
    for simulation in (
        RunState.before_start(SimConfig(model="ngram")),
        Simulation(SimConfig(model="ngram", target_length=1)),
    ):
        simulation_rows = rows_by_label(simulation)
        for label, (measured, theory) in simulation_rows.items():
            assert theory in ("", NOT_MEASURED), (label, theory)
            if label in ("draft acceptance rate", "α = mean Σmin(p,q)", "method keep chance"):
                assert measured == NOT_MEASURED, (label, measured)
        if isinstance(simulation, Simulation):
            simulation.run()  # one round, cut to no draft: still nothing tested
            assert all(theory in ("", NOT_MEASURED) for _, theory in rows_by_label(simulation).values())


def test_a_set_alpha_gives_theory_before_the_first_round():
    rows = rows_by_label(RunState.before_start(SimConfig(acceptance_rate=0.8, draft_cost=0.02)))
    assert rows["mean accept. length"] == (NOT_MEASURED, "3.689")
    assert rows["optimal k (speedup)"] == ("", "11 (3.82)")


def test_greedy_shows_sum_min_and_its_own_keep_chance_each_by_name():
    simulation = Simulation(SimConfig(method="greedy", target_length=2000))
    simulation.run()
    rows = rows_by_label(simulation)
    stats = simulation.stats
    assert rows["α = mean Σmin(p,q)"] == ("0.750", "0.750")  # the synthetic pair's promise
    keep = f"{stats.method_keep_rate:.3f}"
    assert rows["method keep chance"] == (keep, keep) and float(keep) < 0.06


def test_free_drafts_show_the_supremum_not_a_maximiser():
    rows = rows_by_label(RunState.before_start(SimConfig(acceptance_rate=0.5, draft_cost=0.0)))
    assert rows["optimal k (speedup)"] == ("", "6 →2.00")


async def test_the_sidebar_says_run_a_round_on_the_ngram_pair():
    app = build_app(model="ngram")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = sidebar_text(app)
        assert "theory: α is measured: run a round" in text
        assert "optimal k" in text and not re.search(r"optimal k.*\d", text)
        assert "0.000" not in text and "0.667" not in text
        await pilot.press("enter")
        await settle(pilot)
        text = sidebar_text(app)
        stats = app.simulation.stats
        assert f"{stats.method_keep_rate:.3f}" in text and "theory: i.i.d., α = keep chance" in text


async def test_the_positions_view_names_vllms_rate_and_the_conditional_rate():
    app = build_app(target_length=3000, draft_policy="heuristic")
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(20):  # on the main screen (no chart redrawn per round), then open the view
            await pilot.press("enter")
        await pilot.press("3")
        await settle(pilot)
        screen = app.screen
        caption = str(screen.view("positions").query(".view-caption").first().render())
        stats = app.simulation.stats
        assert f"position 2: vLLM {stats.per_position_acceptance[1]:.3f}" in caption
        assert f"of drafted {stats.per_position_acceptance_of_drafted[1]:.3f}" in caption
        assert f"conditional {stats.conditional_acceptance[1]:.3f}" in caption
