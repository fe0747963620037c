"""The menu bar (File, View, Help), the keyboard shortcuts list and the shortcut-clash check.

The clash check runs over a window with every service (so every page builds all its actions),
and over a bare one; a clash is two shortcuts with the same keys that can be live at once (see
``desktop.views.shortcuts``), which Qt treats as ambiguous and ignores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QSettings, QThreadPool, QUrl
from pytestqt.qtbot import QtBot

from desktop.views import menus
from desktop.views.main_window import MainWindow
from desktop.views.ops import running_operations
from desktop.views.shortcuts import ShortcutsDialog, clashes, collect
from tests.helpers.gui import page_context
from tests.helpers.worlds import ADMIN, World


@pytest.fixture
def full_window(qtbot: QtBot, tmp_path: Path, settings: QSettings) -> Iterator[MainWindow]:
    """A main window over a world: every page has its services, so every page's actions exist."""
    with World(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path) as world:
        window = MainWindow(page_context(world, settings, actor=ADMIN))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        yield window
        qtbot.waitUntil(lambda: running_operations() == 0, timeout=20000)
        if shiboken6.isValid(window):  # pytest-qt's own teardown may have closed and deleted it already
            window.close()
        QThreadPool.globalInstance().waitForDone(10_000)


def _described(pairs: list[tuple[object, object]]) -> list[str]:
    return [f"{a.keys}: {a.text} ({a.where}) vs {b.text} ({b.where})" for a, b in pairs]  # type: ignore[attr-defined]


def test_no_two_live_shortcuts_share_keys(full_window: MainWindow) -> None:
    entries = collect(full_window)
    assert len(entries) > 40, "every page's actions were collected"
    assert _described(clashes(entries)) == []
    keys = {e.keys for e in entries}
    assert {"Ctrl+1", "Ctrl+8", "Ctrl+L", "Ctrl+Shift+L", "F1", "Ctrl+/", "Ctrl+Q"} <= keys


def test_the_clash_check_sees_a_clash(window: MainWindow) -> None:
    from PySide6.QtGui import QAction, QKeySequence
    assert _described(clashes(collect(window))) == []
    page = window.pages[1]
    extra = QAction("Duplicate of Ctrl+2", page)
    extra.setShortcut(QKeySequence("Ctrl+2"))
    page.addAction(extra)
    found = _described(clashes(collect(window)))
    assert any("Ctrl+2" in line and "Duplicate" in line for line in found), found


def test_menu_bar_has_file_view_and_help(window: MainWindow) -> None:
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&View", "&Help"]
    menus_by_title = {a.text(): a.menu() for a in window.menuBar().actions()}
    view = [a.text() for a in menus_by_title["&View"].actions() if not a.isSeparator()]
    assert view == [p.info.title for p in window.pages] + ["Error log"]
    helps = [a.text() for a in menus_by_title["&Help"].actions() if not a.isSeparator()]
    assert helps == ["&User guide", "&Keyboard shortcuts", "&Set-up assistant…", "&About Returns Ledger Sync"]


def test_keyboard_shortcuts_dialog_lists_what_the_actions_define(qtbot: QtBot, window: MainWindow) -> None:
    window.menu_actions["shortcuts"].trigger()
    dialog = window.help_actions.shortcuts_dialog
    assert isinstance(dialog, ShortcutsDialog)
    qtbot.waitExposed(dialog)
    table = dialog.table
    rows = {(table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())}
    assert table.rowCount() == len(collect(window))
    assert ("Connections", "Everywhere") in rows and ("Keyboard shortcuts", "Everywhere") in rows
    assert ("Test connection", "Connections page") in rows
    dialog.reject()


def test_user_guide_opens_the_bundled_guide(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[QUrl] = []
    monkeypatch.setattr(menus, "open_url", lambda url: opened.append(url) or True)
    window.menu_actions["guide"].trigger()
    assert len(opened) == 1 and opened[0].isLocalFile()
    path = Path(opened[0].toLocalFile())
    assert path.name == "index.md" and path.parent.name == "guide" and path.is_file()


def test_about_names_version_licence_data_and_database(qtbot: QtBot, window: MainWindow) -> None:
    window.menu_actions["about"].trigger()
    box = window.help_actions.about_box
    assert box is not None
    qtbot.waitExposed(box)
    text = box.text()
    assert menus.app_version() in text and "Licence" in text
    assert str(window.context.data_dir) in text and window.context.database_label in text
    box.accept()


def test_file_quit_closes_the_window(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.closed, timeout=5000):
        window.menu_actions["quit"].trigger()
