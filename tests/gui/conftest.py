"""GUI test setup: offscreen Qt, isolated QSettings, a real EventBus, a theme manager per test.

Environment variables must be set before the QApplication exists, hence module level here
(pytest-qt creates ``qapp`` lazily, after conftest import).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
if hasattr(os, "geteuid") and os.geteuid() == 0:
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Chromium refuses to sandbox as root

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from desktop.services.core.events import EventBus
from desktop.views.context import ShellContext
from desktop.views.main_window import MainWindow
from desktop.views.theme import ThemeManager, ThemeMode


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/gui needs a QApplication: mark it so ``-m 'not gui'`` works."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.gui)


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """QSettings in a throwaway INI file, so tests never touch the user's real settings."""
    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def theme(qapp: QApplication) -> Iterator[ThemeManager]:
    manager = ThemeManager(qapp, ThemeMode.LIGHT)
    yield manager
    manager.set_mode(ThemeMode.LIGHT)
    manager.detach()
    manager.setParent(None)
    manager.deleteLater()


@pytest.fixture
def shell_context(settings: QSettings, bus: EventBus, theme: ThemeManager, tmp_path: Path) -> ShellContext:
    return ShellContext(settings=settings, bus=bus, theme=theme, data_dir=tmp_path,
                        database_url=f"sqlite:///{tmp_path / 'app.sqlite3'}", user="alice")


@pytest.fixture
def window(qtbot, shell_context: ShellContext) -> MainWindow:  # type: ignore[no-untyped-def]
    win = MainWindow(shell_context)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    return win
