"""The tree view (key 8), the tree fields of the control panel, and tree rounds on the main screen."""

from __future__ import annotations

import numpy as np
from textual.widgets import Input

from specviz.app.analysis_screen import AnalysisScreen
from specviz.app.widgets.control_panel import tree_label
from specviz.app.widgets.round_view import RoundView
from specviz.app.widgets.tree_view import CANDIDATE, KEPT, NO_TREE, ON_PATH, REJECTED, UNTRIED, tree_lines
from specviz.engine.run.config import SimConfig
from specviz.engine.run.simulation import Simulation
from tests.app.conftest import build_app, settle


def _plain(simulation) -> list[str]:
    return [line.plain for line in tree_lines(simulation)]


def _marked(lines: list[str], mark: str) -> int:
    """Node lines with `mark`: indent, the path mark or a space, then the mark."""
    return sum(line.lstrip(" ").lstrip(ON_PATH).startswith(f"{mark} ") for line in lines)


def test_a_chain_has_no_tree_to_draw():
    assert _plain(Simulation(SimConfig())) == [NO_TREE]


def test_the_tree_is_revealed_phase_by_phase():
    simulation = Simulation(SimConfig(tree_width=3, draft_length=2, seed=4))
    simulation.step()
    drafted = _plain(simulation)
    assert "DRAFT" in drafted[0] and _marked(drafted, CANDIDATE) == 12
    assert all("p …" in line for line in drafted if CANDIDATE in line)
    simulation.step()
    verified = _plain(simulation)
    assert "VERIFY" in verified[0] and "E[tokens | tree]" in verified[0]
    assert not any("p …" in line for line in verified)
    # Until ACCEPT nothing is marked kept or rejected.
    assert not any(mark in line for line in drafted + verified for mark in (KEPT, REJECTED, ON_PATH))
    round_ = simulation.step().round
    decided = _plain(simulation)
    assert sum(line.lstrip().startswith(ON_PATH) for line in decided) == round_.accepted
    assert _marked(decided, KEPT) == round_.accepted
    assert _marked(decided, REJECTED) == round_.verdicts.count(False)
    assert _marked(decided, UNTRIED) == round_.skipped
    assert decided[-1].startswith("» correction" if round_.rejected else "+ bonus")


def test_each_rejection_names_the_residual_it_leaves():
    # Seed 9 rejects a first candidate at the root: the line after it names
    # norm(max(0, p - q_t))'s most likely token.
    simulation = Simulation(SimConfig(tree_width=2, draft_length=1, seed=9, tree_sampling="distinct"))
    for _ in range(20):
        round_ = simulation.finish_round()
        if round_.verdicts and not round_.verdicts[0]:
            break
    else:
        raise AssertionError("no round rejected its first candidate")
    lines = _plain(simulation)
    first = next(i for i, line in enumerate(lines) if f"{REJECTED} " in line)
    residual = simulation.tree.residual_sequence(round_, -1)[1]
    top = simulation.model.vocab[int(np.argmax(residual))]
    assert lines[first + 1].strip().startswith("p′ = norm(max(0, p − q_t)): " + top)


def test_a_tree_beyond_width_4_gets_a_line_per_level():
    simulation = Simulation(SimConfig(tree_width=6, draft_length=2, seed=4))
    simulation.finish_round()
    lines = _plain(simulation)
    assert any("one line per level" in line for line in lines)
    assert [line.split(":")[0] for line in lines if line.startswith("depth")] == ["depth 1", "depth 2"]


def test_a_large_tree_folds_what_nobody_reached():
    simulation = Simulation(SimConfig(tree_width=4, draft_length=4, seed=4))  # 340 nodes
    simulation.finish_round()
    lines = _plain(simulation)
    assert len(lines) < 60 and any("nodes below" in line for line in lines)


def test_the_title_names_the_tree_and_a_lossy_threshold():
    assert tree_label(SimConfig()) == ""
    assert tree_label(SimConfig(tree_width=3)) == " · tree w=3 iid"
    assert "⚠ lossy" in tree_label(SimConfig(tree_width=2, tree_threshold=0.5))


async def test_the_panel_sets_a_tree_and_view_8_draws_it_at_80x24():
    app = build_app(target_length=200)
    async with app.run_test(size=(80, 24)) as pilot:
        # The tree row fits in 80 columns, its last field included.
        assert app.query_one("#input-tree_threshold", Input).region.right <= 80
        field = app.query_one("#input-tree_width", Input)
        field.focus()
        field.value = "9"
        await pilot.press("enter")
        await settle(pilot)
        assert app.config.tree_width == 1  # refused by the engine's rule, shown inline
        assert "tree width" in str(app.query_one("#config-message").render())
        field.value = "3"
        await pilot.press("enter")
        await settle(pilot)
        assert app.config.tree_width == 3 and app.simulation.tree is not None
        await pilot.press("escape", "space", "space", "space")
        await settle(pilot)
        # The round view lists the walk: each node tried, by depth, then the final token.
        rows = app.query_one(RoundView).rows
        round_ = app.simulation.current
        assert [row[0] for row in rows[:-1]] == [str(round_.depths[node]) for node in round_.tried]
        assert rows[-1][-1][0] in ("» correction", "+ bonus")
        await pilot.press("8")
        await settle(pilot)
        assert isinstance(app.screen, AnalysisScreen) and app.screen.active_view == "tree"
        view = app.screen.view("tree")
        assert any(KEPT in line.plain or REJECTED in line.plain for line in view.lines)
        assert "tree w=3" in app.sub_title


def test_the_sidebar_sets_a_tree_s_length_beside_its_own_theory():
    from specviz.app.widgets.stats_sidebar import NOT_MEASURED, measured_rows

    simulation = Simulation(SimConfig(tree_width=2, draft_length=3, target_length=100))
    simulation.run()
    rows = {labels[1]: theory for labels, _, theory in measured_rows(simulation)}
    assert rows["acc. length"] == f"{simulation.stats.expected_tokens_given_trees:.3f}"
    assert rows["draft acc."] == rows["speedup"] == rows["optimal k"] == rows["keep chance"] == NOT_MEASURED


def test_the_compare_view_sets_a_tree_run_against_the_chain_as_compare_trees_does():
    from specviz.app.widgets.comparison_view import comparison_of
    from specviz.engine.analysis.compare import compare

    chain, trees = comparison_of(SimConfig(tree_width=2, draft_length=3, target_length=60))
    assert trees and chain == SimConfig(draft_length=3, target_length=60)  # every row runs from the chain
    result = compare(chain, audit_samples=0, tree_rows=trees)
    assert result["tree_rows"][0]["drafting"] == "chain, k = 3" and len(result["tree_rows"]) > 1
    assert comparison_of(chain) == (chain, False)
