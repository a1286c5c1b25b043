"""Placeholder until the TUI lands (issue 3)."""


def run_app(config) -> int:
    raise SystemExit("specviz: the app is not built yet; use 'specviz run'")
