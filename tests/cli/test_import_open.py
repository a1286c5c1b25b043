"""`specviz import FILE --open` (issue 14): the import reaches the app; bad input stops before it opens."""

from __future__ import annotations

from pathlib import Path

import pytest

import specviz.app
from specviz.engine.io.importers.opened import OpenedImport
from tests.cli.cli_support import assert_one_line_error, run_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "import"
PROMETHEUS = str(FIXTURES / "vllm-prometheus.txt")  # two series: engine=0 and engine=1


@pytest.fixture
def opened(monkeypatch):
    """The (config, imported) each app launch was given; no app opens."""
    calls: list = []

    def fake_run_app(config, simulation=None, imported=None):
        calls.append((config, imported))
        return 0

    monkeypatch.setattr(specviz.app, "run_app", fake_run_app)
    return calls


@pytest.mark.parametrize(("series", "shown"), [(None, 0), ("engine=1, model_name=llama-8b", 1), ("2", 1)])
def test_open_hands_the_import_to_the_app(opened, series, shown):
    argv = ["import", PROMETHEUS, "--open", "--draft-cost", "0.05"]
    code, out, err = run_cli(*argv, *(["--series", series] if series else []))
    assert (code, out, err) == (0, "", "")
    [(config, imported)] = opened
    assert isinstance(imported, OpenedImport)
    assert [s["label"] for s in imported.series] == ["engine=0, model_name=llama-8b", "engine=1, model_name=llama-8b"]
    assert imported.shown == shown
    # The app opens priced as the advice was, and `i` sets that price again.
    assert config.draft_cost == imported.cost["draft_cost"] == 0.05
    assert imported.current["advice"]["cost_model"]["draft_cost"] == 0.05


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["--open", "--json"], ["--open and --json"]),
        (["--series", "2"], ["--series", "with --open"]),
        (["--open", "--series", "engine=7"], ["--series", "no series labelled 'engine=7'", "engine=0"]),
        (["--open", "--series", "3"], ["a number from 1 to 2"]),
        (["--open", "--draft-cost", "-1"], ["draft cost"]),
    ],
)
def test_bad_open_flags_are_one_line_before_the_app(opened, argv, fragments):
    code, _, err = run_cli("import", PROMETHEUS, *argv)
    assert_one_line_error(code, err, *fragments)
    assert opened == []


def test_open_refuses_stdin_and_files_with_no_record(opened, tmp_path):
    assert_one_line_error(*run_cli("import", "-", "--open")[::2], "--open cannot read - (standard input)")
    other = tmp_path / "other.log"
    other.write_text("INFO 10-01 12:00:00 nothing about speculation here\n")
    assert_one_line_error(*run_cli("import", str(other), "--open")[::2], "no speculative-decoding record found")
    assert opened == []
