"""Issue 13, "found tried as a new user would": what the app shows at 80x24 and
120x36, in a text field, for the n-gram pair, after the run, and how it writes
its figures. Few pilot tests, each checking many things (they cost 1-3 s each)."""

from __future__ import annotations

import io
import re

from rich.console import Console
from textual.fuzzy import Matcher

from specviz.app import SpecvizApp
from specviz.app.run_details import config_markdown, config_title
from specviz.app.view_catalog import VIEW_CATALOG
from specviz.app.widgets.chart import nice_ticks, tick_label
from specviz.app.widgets.control_panel import ControlPanel, field_text
from specviz.app.widgets.run_status import RunStatus, fitted, status_forms
from specviz.app.widgets.speedup_view import same_cell
from specviz.app.widgets.stats_sidebar import (
    NOT_MEASURED,
    PLAIN_WINS_LABELS,
    format_ms_column,
    measured_rows,
    open_round_note,
)
from specviz.app.widgets.token_stream import TokenStream
from specviz.app.wording import counted
from specviz.engine.run.config import SimConfig
from specviz.engine.run.run_state import RunState
from specviz.engine.run.simulation import Simulation
from tests.app.conftest import build_app, settle


def screen_text(app) -> str:
    """The screen as a person sees it, as plain text."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True, record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def footer_line(pilot) -> str:
    """The footer's line, once it has recomposed (it does so after a change of keys)."""
    await pilot.pause()
    await pilot.pause()
    app = pilot.app
    return screen_text(app).splitlines()[app.size[1] - 1]


def status_text(app) -> str:
    return str(app.query_one(RunStatus).render())


async def test_80x24_keys_legend_correction_row_status_marks_fields_and_ngram_alpha():
    app = build_app(target_length=1_000_000)  # long enough that `e` is still running when checked
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = await footer_line(pilot)
        for key in ("⏎ Step", "e End", "a Auto", "-+ Speed", "r Reset", "? Help", "q Quit", "v Views", "[] k", ",. α"):
            assert key in footer, (key, footer)
        await pilot.press("space", "space", "space")  # round 1 at seed 42: a rejection, then a correction
        await settle(pilot)
        text = screen_text(app)
        assert app.simulation.current.rejected
        assert "» correct" in text  # the correction row, below the skipped drafts, is on screen
        assert app.query_one(TokenStream).border_subtitle in text  # the legend, whole
        assert "autoplay off" in text
        # Round 3 drafts "." after "always": a mark before punctuation keeps a space before it.
        await pilot.press("enter", "space", "space", "space")
        await settle(pilot)
        stream = app.query_one(TokenStream)
        lines = [stream._line(y).text for y in range(stream.line_count)]
        assert any("·." in line for line in lines), lines
        for line in lines:
            assert not re.search(r"\S[»✓✗·]", line), line
        app.action_run_to_end()  # e, without waiting for the run's first slices
        await pilot.pause()
        assert app.running  # 1,000,000 tokens: still going
        assert "stop" in status_text(app) and status_text(app) in screen_text(app).replace("\n", "")
        app.action_run_to_end()  # e again stops it
        await settle(pilot)
        assert not app.running
        # In a text field, no key that would be typed there is offered; esc leaves it.
        app.query_one("#input-target_length").focus()
        footer = await footer_line(pilot)
        for typed in ("Speed", "? Help", "Step", "Quit", "Views"):
            assert typed not in footer, (typed, footer)
        assert "esc" in footer
        # F1 is not typed into a field: its unlisted binding still opens help from there.
        assert any(b.key == "f1" and b.action == "help('field')" for b in app.BINDINGS)
        assert app.check_action("help", ("field",)) and not app.check_action("help", ())
        await pilot.press("escape")
        assert isinstance(app.focused, TokenStream)
        assert "? Help" in await footer_line(pilot)
        # The n-gram pair measures α: no α keys, and the title and the α field say so.
        app.restart(app.config.replace(model="ngram", acceptance_rate=SimConfig().acceptance_rate))
        footer = await footer_line(pilot)
        assert "α" not in footer and "[] k" in footer, footer
        assert "α measured" in app.sub_title and "α=" not in app.sub_title
        assert app.query_one("#input-acceptance_rate").value == "measured"
        await pilot.press("comma")
        assert app.config.acceptance_rate == SimConfig().acceptance_rate and not app.query_one(ControlPanel).errors


def test_the_status_line_keeps_its_state_at_every_width():
    forms = status_forms(
        (8_701, 28_434, 1_000_000), running=True, autoplaying=False, done=False, replaying=False, speed=""
    )
    assert "(any step key stops)" in fitted(forms, 200).plain
    # Widths the status line gets beside the phases at 120, 80 and 60 columns: never cut, always the state.
    for width in (85, 45, 25):
        line = fitted(forms, width)
        assert line.cell_length <= width and "▶▶" in line.plain and "stop" in line.plain, (width, line.plain)
    done = fitted(status_forms((16, 50, 50), running=False, autoplaying=False, done=True, replaying=True, speed=""), 40)
    assert "REPLAY" in done.plain and "r runs" in done.plain
    # The speedup view's marks: on one cell the run's hides ◆ (so it is drawn ◈), a cell away it does not.
    assert same_cell((5.0, 2.16), (5, 2.19), (10, 1.2), (112, 15))
    assert not same_cell((5.0, 1.9), (5, 2.19), (10, 1.2), (112, 15))
    assert not same_cell((4.6, 2.19), (5, 2.19), (10, 1.2), (112, 15))


async def test_after_the_run_and_the_lossless_view_at_n_50():
    app = build_app()
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.press("e")
        await settle(pilot)
        assert app.simulation.done and "r runs it again" in status_text(app)
        await pilot.press("space")  # does nothing to the run, and says what would
        await pilot.pause()
        assert any("r runs it again" in note.message for note in app._notifications)
        await pilot.press("5")
        await settle(pilot)
        view = app.screen.view("lossless")
        assert not view.enough and view.fit is None  # no verdict drawn from 3 tokens
        verdict = str(view.query_one("#lossless-verdict").render())
        caption = str(view.query(".view-caption").first().render())
        assert "too few tokens to judge" in verdict and "chance alone gives TV" in verdict
        assert "by chance alone" in caption


def test_the_palette_finds_a_view_by_its_name_alone():
    # The palette ranks its commands (the bindings' tooltips) with Textual's fuzzy
    # matcher and keeps the first of equal scores: `v`'s once listed every view
    # name, so "timeline" + enter opened the view shown last, and "lengths"
    # ran to the end ("Run to the target length n").
    commands = {binding.action: binding.tooltip for binding in SpecvizApp.BINDINGS if binding.description}
    for entry in VIEW_CATALOG:
        scores = {action: Matcher(entry.name).match(title) for action, title in commands.items()}
        best = max(scores.values())
        assert [action for action, score in scores.items() if score == best] == [f"show_view('{entry.name}')"]


def test_sidebar_counts_finished_rounds_names_rounds_and_says_when_plain_decoding_wins():
    simulation = Simulation(SimConfig())
    assert open_round_note(simulation) == ""
    simulation.step()  # DRAFT: the round view shows 5 draft passes, the figures wait
    assert open_round_note(simulation) == "round 1 open: not counted yet"
    simulation.step()
    simulation.step()
    assert open_round_note(simulation) == ""
    labels = [full for (full, _), _, _ in measured_rows(simulation)]
    assert "rounds (num_drafts)" in labels and "tokens / target pass" not in labels
    assert len(labels) == len(set(labels))
    # specviz -a 0: no k beats plain decoding.
    rows = {labels: cell for labels, _, cell in measured_rows(RunState.before_start(SimConfig(acceptance_rate=0.0)))}
    assert rows[PLAIN_WINS_LABELS] == "max 0.91" and not any("optimal" in full for full, _ in rows)
    rows = {labels[0]: cell for labels, _, cell in measured_rows(RunState.before_start(SimConfig()))}
    assert rows["optimal k (speedup)"] == "5 (2.19)" and rows["speedup"] != NOT_MEASURED


def test_whole_configuration_and_formatting():
    config = SimConfig(
        model="ngram",
        temperature=0.8,
        top_k=40,
        prompt="The [b]cat[/b]",
        target_pass_ms=20.0,
        verify_overhead=0.05,
        target_length=1_000_000,
    )
    title = config_title(config)
    for part in ("T=20.0 ms", "v=0.05", "temp=0.8", "top-k=40", "“The [b]cat[/b]”", "n=1,000,000"):
        assert part in title, (part, title)
    assert "top-p" not in title  # at its default
    help_text = config_markdown(config)
    for flag in ("verify\\-overhead", "temperature", "top\\-p", "target\\-ms", "prompt", "cost\\-model"):
        assert flag in help_text, flag
    assert "not read\\: the ngram pair ignores it" in help_text  # α
    # The title writes values as the fields do.
    full = SimConfig(acceptance_rate=1.0, target_length=1_000_000)
    assert f"α={field_text(full, 'acceptance_rate')}" in config_title(full) and "α=1.0" in config_title(full)
    assert f"n={field_text(full, 'target_length')}" in config_title(full)
    assert SimConfig().replace(target_length=int(field_text(full, "target_length").replace(",", ""))) is not None
    # One unit for a column of times.
    assert format_ms_column([960.0, 25_000.0]) == ["1.0 s", "25.0 s"]
    assert format_ms_column([950.0, 2_500.0]) == ["950.0 ms", "2,500.0 ms"]
    assert counted(1, "token") == "1 token" and counted(1_000, "round") == "1,000 rounds"
    # Round ticks: 0, 200, 400, ... not 0, 479.8, 959.5.
    for upper, most in ((1919.0, 4), (0.37, 5), (3.0e6, 8), (969.0, 10)):
        ticks = nice_ticks(upper, most)
        step = ticks[1] - ticks[0]
        mantissa = step / 10 ** int(f"{step:e}".split("e")[1])
        assert round(mantissa, 9) in (1.0, 2.0, 2.5, 5.0), (upper, ticks)
        assert ticks[0] == 0 and len(ticks) - 1 <= most and ticks[-1] <= upper < ticks[-1] + step
    assert [tick_label(t) for t in nice_ticks(1919.0, 4)] == ["0", "500", "1,000", "1,500"]
