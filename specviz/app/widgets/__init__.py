"""The app's widgets, one per module; each module's `.tcss` sits beside it."""

from pathlib import Path

STYLESHEETS = sorted(str(path) for path in Path(__file__).parent.glob("*.tcss"))
