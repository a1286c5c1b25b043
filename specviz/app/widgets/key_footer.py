"""The footer of keys, fitted to the terminal's width.

Below 110 columns it drops its spacing and the palette's key (ctrl+p still
opens the palette; help says so), so that at 80 columns every key of the run
shows: Step, End, Auto, Speed, Reset, Help, Quit, Views, k and α.
"""

from __future__ import annotations

from textual.events import Resize
from textual.widgets import Footer

COMPACT_BELOW = 110  # columns


class KeyFooter(Footer):
    """Textual's Footer, compact below COMPACT_BELOW columns."""

    def on_resize(self, event: Resize) -> None:
        compact = event.size.width < COMPACT_BELOW
        if compact != self.compact:
            self.compact = compact
            self.show_command_palette = not compact
