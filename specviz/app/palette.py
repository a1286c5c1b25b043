"""The command palette, guarded against a crash in Textual 8.2.8's option list.

The palette's list pages up and down from its index of lines, which the
option list builds only once it has a size. A PageUp or PageDown that arrives
after the first commands are in the list but before it is laid out (`v`,
ctrl+p, PageUp, 30 ms apart; random typing hits it too) raises `KeyError: 0`
and takes the app down. Until the list has a size, a page key goes to the
first or last command instead, which needs no lines; the app opens this
palette wherever Textual would open its own (ctrl+p, and the theme picker).
"""

from __future__ import annotations

from textual.command import CommandList, CommandPalette

# A page key before the list is laid out, and what it does instead.
PAGE_FALLBACK = {"page_up": "first", "page_down": "last"}


class Palette(CommandPalette):
    """Textual's CommandPalette, with page keys safe before its list has a size."""

    def _action_command_list(self, action: str) -> None:
        if action in PAGE_FALLBACK and not self.query_one(CommandList).scrollable_content_region:
            action = PAGE_FALLBACK[action]
        super()._action_command_list(action)
