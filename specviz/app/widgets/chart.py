"""A terminal chart (textual-plotext) that never takes the app down at small sizes.

Plotext raises on some layouts too small to hold its axes (an 8x4 canvas, say);
below a minimum size, or if it still fails, the chart shows a one-line note.
The canvas follows the app's theme (PlotextPlot's theme "auto"); `theme_rgb`
gives the series the theme's own colours.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual.widget import Widget
from textual_plotext import PlotextPlot

MIN_WIDTH = 20
MIN_HEIGHT = 5
TOO_SMALL = "(enlarge the terminal to see this chart)"


def theme_rgb(widget: Widget, variable: str) -> tuple[int, int, int]:
    """The app theme's colour `variable` ("primary", "warning", ...) as RGB for plotext."""
    value = widget.app.theme_variables.get(variable) or widget.app.theme_variables["foreground"]
    return Color.parse(value).rgb


class Chart(PlotextPlot):
    """PlotextPlot with a note instead of an exception when the canvas is too small."""

    DEFAULT_CSS = """
    Chart {
        width: 1fr;
        height: 1fr;
        min-height: 3;
    }
    """

    def render(self) -> RenderResult:
        width, height = self.size
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            return Text(TOO_SMALL, style="dim")
        try:
            return super().render()
        except (ValueError, IndexError, ZeroDivisionError):
            return Text(TOO_SMALL, style="dim")
