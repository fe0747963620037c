"""The main window: eight pages, sidebar, shortcuts, the log dock, status bar, remembered geometry."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from desktop.views.context import ShellContext, describe_database
from desktop.views.main_window import MainWindow

PAGE_TITLES = ["Dashboard", "Connections", "Mappings", "Returns", "Reconciliation", "Manual entry",
               "Audit log", "Settings"]


def test_window_opens_with_eight_pages_in_sidebar_order(window: MainWindow) -> None:
    assert window.stack.count() == 8
    assert [p.info.title for p in window.pages] == PAGE_TITLES
    assert [window.nav.item(i).text() for i in range(window.nav.count())] == PAGE_TITLES
    assert window.current_page.info.key == "dashboard"
    assert window.windowTitle() == "Returns Ledger Sync"
    assert not window.windowIcon().isNull()
    assert window.size() == QSize(1280, 800)
    for page in window.pages:  # every placeholder explains itself
        assert page.title_label.text() == page.info.title
        assert len(page.description_label.text()) > 80


def test_ctrl_number_shortcuts_switch_pages(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitActive(window)
    order = [*range(7, -1, -1), 2]
    for index in order:
        qtbot.keyClick(window, Qt.Key(Qt.Key.Key_1 + index), Qt.KeyboardModifier.ControlModifier)
        assert window.stack.currentIndex() == index
        assert window.nav.currentRow() == index
        assert window.current_page.info.title == PAGE_TITLES[index]


def test_clicking_the_sidebar_switches_pages(qtbot: QtBot, window: MainWindow) -> None:
    item = window.nav.item(4)
    rect = window.nav.visualItemRect(item)
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.current_page.info.key == "reconciliation"


def test_ctrl_l_toggles_the_error_log(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitActive(window)
    assert window.log_dock.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert not window.log_dock.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.log_dock.isVisible()


def test_ctrl_shift_l_opens_the_log_filter(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitActive(window)
    window.log_dock.hide()
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert window.log_dock.isVisible()
    assert window.log_dock.filter_edit.hasFocus()


def test_empty_state_button_goes_to_the_page_it_names(qtbot: QtBot, window: MainWindow) -> None:
    dashboard = window.pages[0]
    button = next(b for b in dashboard.findChildren(QPushButton) if b.text() == "Connect a ledger")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert window.current_page.info.key == "connections"


def test_status_bar_shows_user_role_database_and_last_sync(window: MainWindow, tmp_path: Path) -> None:
    labels = {w.objectName(): w.text() for w in window.statusBar().findChildren(QLabel) if w.objectName()}
    assert labels["status-user"] == "alice · admin"
    assert labels["status-database"] == f"SQLite · {tmp_path / 'app.sqlite3'}"
    assert labels["status-sync"] == "Last sync: never"


def test_database_label_never_shows_a_password() -> None:
    shown = describe_database("postgresql+psycopg://rls:s3cr3t-pw@db.internal:5432/ledger")
    assert "s3cr3t-pw" not in shown
    assert "rls" in shown and "db.internal:5432/ledger" in shown
    assert describe_database("sqlite:////var/lib/app/x.sqlite3") == "SQLite · /var/lib/app/x.sqlite3"


def test_geometry_and_dock_state_are_remembered(qtbot: QtBot, shell_context: ShellContext,
                                                settings: QSettings) -> None:
    first = MainWindow(shell_context)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    first.resize(760, 560)  # within the offscreen screen (800×600): restore clamps to it
    first.log_dock.hide()
    first.close()
    assert settings.contains("window/geometry")
    assert all("token" not in key.lower() and "secret" not in key.lower() for key in settings.allKeys())

    second = MainWindow(shell_context)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert second.size() == QSize(760, 560)
    assert not second.log_dock.isVisible()


def test_the_status_bar_shows_the_last_finished_sync(qtbot: QtBot, shell_context: ShellContext,
                                                     tmp_path: Path) -> None:
    """Read from where the Dashboard reads it (the newest finished sync run), when a sync step finishes."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from PySide6.QtWidgets import QLabel

    from desktop.app import view_services
    from desktop.services.store.db import Database
    from desktop.services.store.migrate import upgrade
    from desktop.services.store.models import SyncRun, SyncRunStatus
    from desktop.services.store.testing import make_org

    url = f"sqlite:///{tmp_path / 'runs.sqlite3'}"
    upgrade(url)
    db = Database(url)
    window = MainWindow(replace(shell_context, services=view_services(db, shell_context.services.clock, None)))
    qtbot.addWidget(window)
    text = window.last_sync_label.findChild(QLabel, "status-sync")
    assert text is not None and text.text() == "Last sync: never"
    at = datetime(2026, 11, 20, 9, 12, tzinfo=UTC)
    with db.write_session() as s:
        org = make_org(s, code="ACME-US")
        s.add(SyncRun(organization_id=org.id, kind="push", started_at=at, finished_at=at,
                      status=SyncRunStatus.SUCCEEDED, counts={}))
    assert shell_context.bus is not None
    shell_context.bus.emit("sync.finished", "info", "push finished for ACME-US", org="ACME-US")
    qtbot.waitUntil(lambda: text.text() == "Last sync: 20 Nov 09:12 UTC · ACME-US", timeout=5000)
    window.close()
    db.dispose()
