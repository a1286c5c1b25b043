"""Issue 13: the help explains each method, policy and view, and ends with the
glossary; readable (scrollable) at 80x24."""

from __future__ import annotations

from textual.app import App

from specviz.app import help_screen, view_catalog
from specviz.app.help_screen import HelpScreen
from specviz.app.view_catalog import ViewEntry
from specviz.engine import catalog
from specviz.engine.drafting.policies import policy_class
from specviz.engine.verification.methods import method_class
from specviz.render import glossary
from tests.app.conftest import build_app


def test_the_help_lists_every_view_of_the_catalog_as_it_is_when_opened(monkeypatch):
    # A view added to the catalog (views 7 and 8 are on their way) is listed without touching the help.
    added = ViewEntry("distributions", "7", "Distributions", "p against q, the overlap and the residual")
    monkeypatch.setattr(view_catalog, "VIEW_CATALOG", (*view_catalog.VIEW_CATALOG, added))
    listed = help_screen.views_markdown()
    for entry in view_catalog.VIEW_CATALOG:
        assert f"`{entry.key}` **{entry.title}**: {entry.does}" in listed
    assert "`7` **Distributions**" in listed


def test_the_help_markdown_has_the_rules_the_views_and_the_glossary():
    markdown = build_app().help_markdown()
    for name in catalog.method_names():
        assert method_class(name).description in markdown
    for name in catalog.policy_names():
        assert policy_class(name).description in markdown
    assert help_screen.views_markdown() in markdown
    assert markdown.endswith(glossary.reference_markdown())


class HelpOnly(App[None]):
    """The help screen over an empty app: the main screen's run is not what this tests."""

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self._markdown = markdown

    def on_mount(self) -> None:
        self.push_screen(HelpScreen(self._markdown))


async def test_the_help_scrolls_to_its_last_line_at_80x24():
    app = HelpOnly(build_app().help_markdown())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        scroll = app.screen.query_one("#help-scroll")
        assert scroll.has_focus and scroll.max_scroll_y > 100  # far more than a screen of text
        await pilot.press("end")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        # On screen now: the end of "When speculation pays", not the top of the help.
        shown = app.export_screenshot().replace("&#160;", " ")
        assert "any setting." in shown and "Speculative decoding, one phase" not in shown
