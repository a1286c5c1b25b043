"""The layers hold: engine <- render <- {cli, app}, and no module imports another that imports it back.

The contracts live in pyproject.toml ([tool.importlinter]); this test runs
them, so a back-edge fails CI rather than a review.
"""

from __future__ import annotations

import shutil
import sys

import grimp
from importlinter.cli import lint_imports

from tests.cli.cli_support import REPO


def test_import_contracts_hold(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    code = lint_imports(config_filename="pyproject.toml", no_cache=True)
    assert code == 0, capsys.readouterr().out


def test_no_two_modules_import_each_other():
    graph = grimp.build_graph("specviz", cache_dir=None)
    mutual = sorted(
        (a, b)
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if a < b and a in graph.find_modules_directly_imported_by(b)
    )
    assert not mutual


def test_the_contracts_catch_a_back_edge(tmp_path, monkeypatch, capsys):
    # The same contracts over a copy of the package with one upward import
    # added: the engine importing a renderer. They must fail it.
    shutil.copytree(REPO / "specviz", tmp_path / "specviz")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    theory = tmp_path / "specviz" / "engine" / "analysis" / "theory.py"
    theory.write_text(theory.read_text() + "\nimport specviz.render.report  # a back-edge\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "specviz" or m.startswith("specviz.")]:
        monkeypatch.delitem(sys.modules, name)  # so grimp finds the copy
    code = lint_imports(config_filename="pyproject.toml", no_cache=True)
    assert code != 0
    assert "specviz.engine.analysis.theory -> specviz.render.report" in capsys.readouterr().out
