"""The Mappings page, loaded with an organization's chart, in a 1024-pixel window (the page gets 776
pixels beside the navigation): nothing makes it wider than that, so it never scrolls sideways and
Save stays in sight. Before, the ledger panel's title and search on one line and the toolbar on
one line made the page 829 pixels wide."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from desktop.views.theme import ThemeManager
from tests.helpers.mapping_world import open_page
from tests.helpers.worlds import World

PAGE_WIDTH_AT_1024 = 776


def test_the_loaded_page_fits_a_small_window_without_scrolling_sideways(qtbot: QtBot, world: World,
                                                                        settings: QSettings,
                                                                        theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme)
    page.resize(PAGE_WIDTH_AT_1024, 700)
    scroll = page.findChild(QScrollArea, "PageScroll")
    canvas = page.findChild(QWidget, "PageCanvas")
    assert scroll is not None and canvas is not None and page.editor is not None
    qtbot.waitUntil(lambda: canvas.width() <= scroll.viewport().width())
    assert canvas.minimumSizeHint().width() <= scroll.viewport().width(), canvas.minimumSizeHint()
    assert not scroll.horizontalScrollBar().isVisible()
    save = page.editor.buttons["save"]
    assert save.mapTo(canvas, save.rect().topRight()).x() <= scroll.viewport().width()
    # the ledger panel is narrow here: its search goes under its title, and the title reads whole
    # (it is set when the chart arrives, after the panel was laid out)
    title, search = page.editor.ledger_title, page.editor.search_edit
    assert title.text().endswith("chart of accounts")
    qtbot.waitUntil(lambda: search.mapTo(canvas, search.rect().topLeft()).y()
                    > title.mapTo(canvas, title.rect().bottomLeft()).y())
    assert title.width() >= title.sizeHint().width(), (title.width(), title.sizeHint())
    ledger = page.editor.ledger_view  # the chart's names keep two thirds of a narrow panel
    assert ledger.header().sectionSize(1) <= ledger.viewport().width() // 3 + 1


def test_code_names_get_their_width_up_to_three_fifths_and_the_tree_never_scrolls_sideways(
        qtbot: QtBot, world: World, settings: QSettings, theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme)
    assert page.editor is not None
    codes = page.editor.code_view
    for width in (1280 - 248, PAGE_WIDTH_AT_1024):  # the page beside the navigation at 1280 and 1024
        page.resize(width, 800)
        qtbot.waitUntil(lambda: codes.header().sectionSize(0)
                        == min(codes.sizeHintForColumn(0), codes.viewport().width() * 3 // 5))
        qtbot.waitUntil(lambda: codes.header().length() <= codes.viewport().width() + 1)  # nothing to scroll to
