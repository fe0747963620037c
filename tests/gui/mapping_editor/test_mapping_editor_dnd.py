"""The whole drag and drop with a mouse: QAbstractItemView.startDrag → QDrag.exec → drop, on an X server.

The offscreen platform has no drag loop, so this test re-runs itself under ``xvfb-run`` with the
xcb platform, where Qt's own drag loop (QSimpleDrag/QXcbDrag) follows the synthesised mouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.services.core.domain import Component
from desktop.services.mapping.model import Rule
from desktop.views.mapping.editing import CodeRef
from desktop.views.theme import ThemeManager
from tests.helpers.mapping_world import account, open_page
from tests.helpers.worlds import World

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_a_mouse_drag_through_qdrag_creates_a_rule(qtbot: QtBot, world: World, settings: QSettings,
                                                   theme: ThemeManager) -> None:
    if QGuiApplication.platformName() == "offscreen":
        xvfb = shutil.which("xvfb-run")
        assert xvfb, "xvfb-run is needed for the real drag loop (scripts/setup.sh installs it)"
        env = dict(os.environ, QT_QPA_PLATFORM="xcb")
        done = subprocess.run([xvfb, "-a", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"{__file__}::test_a_mouse_drag_through_qdrag_creates_a_rule"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert "1 passed" in done.stdout
        return
    page = open_page(qtbot, world, settings, theme)
    editor = page.editor
    assert editor is not None
    income = account(world, "ACME-US", "Income")
    code = CodeRef("reason_code", "DAMAGED")
    editor.code_view.scrollTo(editor.code_index(code))  # the code list grew (goods components): keep it in view
    editor.code_view.doItemsLayout()
    source = editor.code_view.visualRect(editor.code_index(code)).center()
    target_index = editor.ledger_filter.mapFromSource(editor.ledger_model.find("account", income))
    editor.ledger_view.scrollTo(target_index)
    editor.ledger_view.doItemsLayout()
    target = editor.ledger_view.visualRect(target_index).center()
    ledger = editor.ledger_view.viewport()
    steps: list[Any] = []

    def during_drag() -> None:  # runs inside QDrag.exec's event loop
        steps.append("in drag")
        QTest.mouseMove(ledger, target - QPoint(3, 0))
        QTimer.singleShot(50, lambda: QTest.mouseMove(ledger, target))
        QTimer.singleShot(120, lambda: QTest.mouseRelease(ledger, Qt.MouseButton.LeftButton,
                                                          Qt.KeyboardModifier.NoModifier, target))

    QTimer.singleShot(100, during_drag)
    viewport = editor.code_view.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, source)
    for dx in (4, 24, 48):  # past QApplication.startDragDistance(): the view starts the QDrag
        pos = QPointF(source + QPoint(dx, 0))
        QApplication.sendEvent(viewport, QMouseEvent(QEvent.Type.MouseMove, pos, viewport.mapToGlobal(pos),
                                                     Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton,
                                                     Qt.KeyboardModifier.NoModifier))
    qtbot.waitUntil(lambda: bool(editor.rules), timeout=5000)
    assert steps == ["in drag"]
    assert editor.rules == (Rule(Component.MERCHANDISE, reason_code="DAMAGED", account_id=income),)
