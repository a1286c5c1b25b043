"""The footer of keys, fitted to the terminal's width.

Below 110 columns it drops its spacing and the palette's key (ctrl+p still
opens the palette; help says so), so that at 80 columns every key of the run
shows: Step, End, Auto, Speed, Reset, Help, Quit, Views, k and α.
"""

from __future__ import annotations

from typing import Any

from textual.events import Resize
from textual.widgets import Footer

COMPACT_BELOW = 110  # columns


class KeyFooter(Footer):
    """Textual's Footer, compact below COMPACT_BELOW columns, built again only
    when what it shows changed."""

    _shown: tuple[Any, ...] | None = None  # what the keys were last built from

    def _showing(self) -> tuple[Any, ...]:
        keys = tuple(
            (key, b.binding.action, b.binding.description, b.binding.key_display, b.binding.show)
            + (b.binding.group, b.enabled, b.tooltip)
            for key, b in self.screen.active_bindings.items()
        )
        return keys, self.compact, self.show_command_palette, self.combine_groups, self._bindings_ready

    async def recompose(self) -> None:
        # Textual recomposes the footer on every change of the bindings in
        # force: three times at start-up, and on focus moves that change no
        # key. Building the keys was a quarter of an app's start-up.
        showing = self._showing()
        if showing == self._shown:
            return
        self._shown = showing
        await super().recompose()

    def on_resize(self, event: Resize) -> None:
        compact = event.size.width < COMPACT_BELOW
        if compact != self.compact:
            self.compact = compact
            self.show_command_palette = not compact
