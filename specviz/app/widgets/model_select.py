"""A Select for the model pair that survives PgUp/PgDn before its list is drawn.

Textual 8.2.8's SelectOverlay looks up the highlighted option's line in
`_move_page`; pressed right after the overlay opens, before its first layout,
that lookup raises KeyError and takes the app down (found by the random-key
test). Paging before the list is drawn now does nothing.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Select
from textual.widgets._select import SelectCurrent, SelectOverlay


class _LaidOutSelectOverlay(SelectOverlay):
    def _move_page(self, direction) -> None:  # type: ignore[no-untyped-def]
        if self.highlighted is not None and self.highlighted not in self._index_to_line:
            return  # not laid out yet
        super()._move_page(direction)


class ModelSelect(Select[str]):
    """Select, with the overlay guarded as above."""

    def compose(self) -> ComposeResult:
        yield SelectCurrent(self.prompt)
        yield _LaidOutSelectOverlay(type_to_search=self._type_to_search).data_bind(compact=Select.compact)
