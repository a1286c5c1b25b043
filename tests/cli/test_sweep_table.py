"""The sweep table (issue 20, item 19): laid out in time linear in its alphas."""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement

from specviz.engine import SimConfig
from specviz.engine.analysis.sweep import parse_alphas, run_sweep
from specviz.render.sweep import render_sweep


@pytest.fixture
def measurements(monkeypatch):
    """Counts every rich Measurement.get (the unit of rich's layout work)."""
    calls = [0]
    measure = Measurement.get.__func__

    def counted(cls, *args, **kwargs):
        calls[0] += 1
        return measure(cls, *args, **kwargs)

    monkeypatch.setattr(Measurement, "get", classmethod(counted))
    return calls


@pytest.mark.parametrize("alphas", ["0.05:0.95:0.05", "0:1:0.01", "0:1:0.001"])
def test_the_sweep_table_is_linear_in_its_cells_and_shows_each_alpha_once(alphas, measurements):
    width = 100
    result = run_sweep(SimConfig(draft_cost=0.05), 16, parse_alphas(alphas), rounds=500)
    console = Console(file=io.StringIO(), width=width)
    render_sweep(result, console)
    out = console.file.getvalue()
    cells = len(result.cells) + len(result.columns())  # with the "best" row
    # Re-measuring the candidate table per step took 45 calls a cell at 19
    # alphas and 220 at 101 (quadratic); measuring each column once takes < 7.
    assert measurements[0] <= 10 * cells
    headers = re.findall(r"α=(\S+)", out)
    assert headers == [f"{alpha:g}" for alpha in result.alphas]
    assert max(cell_len(line) for line in out.splitlines()) <= width
    # Tables share the columns out evenly: their sizes differ by one at most.
    sizes = [len(re.findall("α=", line)) for line in out.splitlines() if re.match(r"\s*k\s+α=", line)]
    assert len(sizes) == len(re.findall(r"^\s*best ", out, re.M)) and max(sizes) - min(sizes) <= 1


def test_a_grid_that_fits_is_one_table():
    result = run_sweep(SimConfig(), 4, parse_alphas("0.6,0.8,0.9"), rounds=300)
    console = Console(file=io.StringIO(), width=120)
    render_sweep(result, console)
    out = console.file.getvalue()
    assert len(re.findall(r"^\s*best ", out, re.M)) == 1 and len(re.findall(r"α=", out)) == 3
