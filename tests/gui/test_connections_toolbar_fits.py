"""The Connections toolbar at 1024 px: the main buttons stay, the secondary ones move into "More"
(the same actions, enabled the same way), and nothing makes the page scroll sideways."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea
from pytestqt.qtbot import QtBot

from desktop.services.auth.roles import Actor, Role
from desktop.views.context import ShellContext
from desktop.views.main_window import MainWindow
from desktop.views.pages.connections import ConnectionsPage


def _page(qtbot: QtBot, shell_context: ShellContext, width: int, height: int) -> tuple[MainWindow, ConnectionsPage]:
    shell_context.actor = Actor("alice", Role.ADMIN)
    window = MainWindow(shell_context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.resize(width, height)
    window.show_page_by_key("connections")
    page = window.current_page
    assert isinstance(page, ConnectionsPage)
    return window, page


def test_at_1024_the_secondary_actions_are_in_more_and_nothing_scrolls_sideways(
        qtbot: QtBot, shell_context: ShellContext) -> None:
    _window, page = _page(qtbot, shell_context, 1024, 700)
    secondary = (page.buttons["refresh"], page.buttons["disconnect"], page.export_button)
    qtbot.waitUntil(lambda: page.more_button.isVisible(), timeout=3000)
    assert not any(b.isVisible() for b in secondary)
    assert all(page.buttons[k].isVisible() for k in ("connect", "reconnect", "test"))
    menu = page.more_button.menu()
    assert menu is not None
    assert [a.text().replace("&", "") for a in menu.actions()] == [
        "Refresh reference data", "Disconnect…", "Export CSV…"]
    a = page.actions_
    assert menu.actions() == [a.refresh_action, a.disconnect_action, a.export_action]  # one state for both
    scroll = page.findChild(QScrollArea, "PageScroll")
    assert scroll is not None
    qtbot.waitUntil(lambda: not scroll.horizontalScrollBar().isVisible(), timeout=3000)
    right = page.more_button.mapTo(scroll.viewport(), page.more_button.rect().topRight()).x()
    assert right <= scroll.viewport().width()


def test_on_a_wide_window_every_button_is_in_the_bar(qtbot: QtBot, shell_context: ShellContext) -> None:
    _window, page = _page(qtbot, shell_context, 1600, 1000)
    qtbot.waitUntil(lambda: page.export_button.isVisible(), timeout=3000)
    assert page.buttons["refresh"].isVisible() and page.buttons["disconnect"].isVisible()
    assert not page.more_button.isVisible()
