"""Hostile and extreme input in the app (issue 20, items 11, 14, 15 and 17)."""

from __future__ import annotations

import asyncio
import math

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from specviz.app.widgets.chart import TOO_SMALL, UNDRAWABLE, Chart, drawable
from specviz.app.widgets.choice_field import ChoiceField
from specviz.engine.catalog import model_names
from tests.app.conftest import SIZE, build_app, settle
from tests.budget import LONG

# ---- 11: the chart wrapper draws any float or says why it cannot -----------------


class ChartApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Chart()


def test_drawable_numbers():
    assert all(drawable(value) for value in (0, -1e300, 1e300, 10**300, None, "label", [1.0, [2, 3]]))
    assert not any(drawable(value) for value in (1e301, -1e307, math.inf, math.nan, 10**400, [1.0, [2, math.nan]]))


@pytest.mark.parametrize("end", [1e307, 1.7e308, math.inf, -math.inf, math.nan])
async def test_a_chart_of_a_value_it_cannot_draw_says_so(end):
    app = ChartApp()
    async with app.run_test(size=(60, 20)) as pilot:
        chart = app.query_one(Chart)
        chart.plt.rectangle([0, end], [0.7, 1.3], fill=True)
        chart.plt.text("+3", end / 2, 1.5)
        chart.plt.xlim(0, end)
        chart.refresh()
        await pilot.pause()
        assert app.is_running
        assert chart.render().plain == UNDRAWABLE


async def test_a_chart_of_large_finite_values_is_drawn():
    app = ChartApp()
    async with app.run_test(size=(60, 20)) as pilot:
        chart = app.query_one(Chart)
        chart.plt.rectangle([0, 1e200], [0.7, 1.3], fill=True)
        chart.plt.xlim(0, 1e200 * 1.01)
        chart.refresh()
        await pilot.pause()
        assert chart.render().plain not in (UNDRAWABLE, TOO_SMALL)


async def test_the_timeline_at_the_cost_bounds_draws():
    app = build_app(target_pass_ms=1e9, draft_cost=1e6, verify_overhead=1e6, draft_length=64)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter", "enter", "enter", "4")
        await settle(pilot)
        assert app.is_running
        chart = app.screen.query_one("#timeline-chart", Chart)
        assert chart.render().plain not in (UNDRAWABLE, TOO_SMALL)


# ---- 15: a huge paste into a field ----------------------------------------------------


async def test_a_huge_paste_into_a_field_gives_a_short_message():
    app = build_app()
    async with app.run_test(size=SIZE) as pilot:
        field = app.query_one("#input-draft_length", Input)
        field.focus()
        await pilot.pause()
        field.value = "9" * 100_000 + "\x1b[2J"
        await pilot.press("enter")
        await settle(pilot)
        message = str(app.query_one("#config-message", Static).render())
        assert "(100,004 characters)" in message
        assert len(message) < 300
        assert "\x1b" not in message
        assert app.config.draft_length == 5  # nothing changed


# ---- 14: switching the model pair puts back what the new pair does not read ---------


async def _choose_model(pilot, value: str) -> None:
    choice = pilot.app.query_one("#input-model", ChoiceField)
    choice.focus()
    await pilot.pause()
    steps = model_names().index(value) - model_names().index(choice.value)
    await pilot.press(*(["right"] * steps if steps > 0 else ["left"] * -steps))
    await settle(pilot)


@pytest.mark.skipif("ngram" not in model_names(), reason="no ngram pair")
async def test_switching_to_the_synthetic_pair_resets_the_sampling_knobs_and_says_so():
    app = build_app(model="ngram", temperature=0.5, top_k=40)
    async with app.run_test(size=SIZE) as pilot:
        await _choose_model(pilot, "synthetic")
        assert app.config.model == "synthetic"
        assert (app.config.temperature, app.config.top_k) == (1.0, 0)
        assert app.simulation.config == app.config  # the run records nothing that did nothing
        message = str(app.query_one("#config-message", Static).render())
        assert "synthetic pair does not read them" in message
        assert "temperature 0.5 → 1.0" in message and "top-k 40 → 0" in message
        # The next edit replaces the note.
        await pilot.press("escape", "right_square_bracket")
        await settle(pilot)
        assert "does not read" not in str(app.query_one("#config-message", Static).render())


@pytest.mark.skipif("ngram" not in model_names(), reason="no ngram pair")
async def test_switching_to_the_ngram_pair_resets_alpha_and_says_so():
    app = build_app(acceptance_rate=0.9)
    async with app.run_test(size=SIZE) as pilot:
        await _choose_model(pilot, "ngram")
        assert app.config.model == "ngram" and app.config.acceptance_rate == 0.75
        message = str(app.query_one("#config-message", Static).render())
        assert "ngram pair does not read them: α 0.9 → 0.75" in message


# ---- 17: page keys in the command palette before its list is laid out ---------------


@pytest.mark.parametrize("keys", [("v", "ctrl+p", "pageup"), ("v", "ctrl+p", "pagedown"), ("ctrl+p", "pageup")])
async def test_page_keys_in_a_palette_still_filling_do_not_crash(keys):
    # Sent as a person types them, without waiting for the app between keys
    # (Pilot's press waits, and the list is full by then): at once in the
    # suite, and 30 ms apart too in the long run.
    for delay in (0.0, 0.03) if LONG else (0.0,):
        app = build_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for key in keys:
                event = events.Key(key, None)
                event.set_sender(app)
                app._driver.send_message(event)
                await asyncio.sleep(delay)
            await pilot.pause(0.3)
            assert app.is_running and app._exception is None, (keys, delay, app._exception)
            assert app.screen.has_class("--textual-command-palette")  # the palette is open and usable
            await pilot.press("escape")
            await pilot.pause()
        assert app.return_code in (None, 0)
