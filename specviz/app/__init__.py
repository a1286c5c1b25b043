"""The specviz Textual app (issue 3). `run_app` is what `specviz` with no command calls."""

from specviz.app.app import SpecvizApp, make_app, run_app

__all__ = ["SpecvizApp", "make_app", "run_app"]
