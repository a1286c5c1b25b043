"""A terminal chart (textual-plotext) that never takes the app down at small sizes.

Plotext raises on some layouts too small to hold its axes (an 8x4 canvas, say);
below a minimum size, or if it still fails, the chart shows a one-line note;
likewise for a number it cannot draw (inf, nan, 1e307), whatever a view gives it.
The canvas follows the app's theme (PlotextPlot's theme "auto"); `theme_rgb`
gives the series the theme's own colours.
"""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import RenderResult
from textual.color import Color
from textual.widget import Widget
from textual_plotext import PlotextPlot

MIN_WIDTH = 20
MIN_HEIGHT = 5
TOO_SMALL = "(enlarge the terminal to see this chart)"
# Plotext scales limits and ticks by small factors and takes floor() of them:
# from about 1e307 a product overflows (OverflowError), and inf or nan break
# its tick arithmetic. A chart holding a number beyond this, or one that is
# not finite, is not drawn at all (a clipped bar would tell a lie); the note
# says why, and the view's caption still gives the figures.
MAX_MAGNITUDE = 1e300
UNDRAWABLE = "(a value here is too large or not a number: the chart cannot draw it)"
# The monitor's attributes that hold coordinates: series, text positions, limits, extra lines.
_COORDINATES = ("x", "y", "tx", "ty", "xlim", "ylim", "vcoord", "hcoord")


def drawable(value: object) -> bool:
    """False for a number plotext cannot place: inf, nan or beyond MAX_MAGNITUDE."""
    if isinstance(value, (list, tuple)):
        return all(drawable(item) for item in value)
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_MAGNITUDE  # exact: no float(10**400) overflow
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) <= MAX_MAGNITUDE
    return True  # None (an unset limit), a label


# Tick steps, times a power of ten, in the order tried: the round numbers a person reads.
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_ticks(upper: float, most: int) -> list[float]:
    """Ticks from 0 to `upper` at a round step (1, 2, 2.5 or 5 times a power
    of ten), at most `most` steps: 0, 250, 500, ... rather than plotext's
    even division of the axis (0, 479.8, 959.5, ...)."""
    if not upper > 0 or not math.isfinite(upper):
        return [0.0]
    raw = upper / max(1, most)
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(factor * magnitude for factor in NICE_STEPS if factor * magnitude >= raw * (1 - 1e-9))
    return [i * step for i in range(int(upper / step * (1 + 1e-9)) + 1)]


def tick_label(value: float) -> str:
    """A tick as a person writes it: 1,500 or 2.5, no trailing .0."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,g}"


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
        if not self.data_drawable():
            return Text(UNDRAWABLE, style="dim")
        try:
            return super().render()
        except OverflowError:  # a product of drawable values still too large
            return Text(UNDRAWABLE, style="dim")
        except (ValueError, IndexError, ZeroDivisionError):
            return Text(TOO_SMALL, style="dim")

    def data_drawable(self) -> bool:
        """Whether every coordinate given to the plot (series, text, limits, lines) is drawable."""
        # Plotext's figure keeps what it was given on its (untyped) monitor.
        monitor = getattr(self.plt, "monitor", None)
        return all(drawable(getattr(monitor, name, None)) for name in _COORDINATES)
