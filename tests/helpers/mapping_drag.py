"""Dragging on the Mappings page the way Qt does it.

:func:`drag_code_onto` works without a window system's drag loop: the offscreen platform has none (its
``QDrag.exec`` returns at once), so the enter, move and drop events the platform would send are sent
to the ledger view's viewport, carrying the code model's own ``QMimeData`` in a real ``QDrag``; from
there on it is Qt's own path (``QAbstractItemView.dropEvent`` → ``model.dropMimeData`` → the editor).

:func:`mouse_drag_code_onto` is the whole drag with a mouse — ``QAbstractItemView.startDrag`` →
``QDrag.exec`` → drop — and needs an X server (:func:`rerun_under_xvfb`), where Qt's own drag loop
follows the synthesised mouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QDrag, QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.views.mapping.editing import CodeRef

__all__ = ["drag_code_onto", "mouse_drag_code_onto", "rerun_under_xvfb"]

ROOT = Path(__file__).resolve().parents[2]


def drag_code_onto(editor: Any, code: CodeRef, kind: str, remote_id: str) -> bool:
    """Drag ``code`` from the code tree onto the ledger record ``kind``/``remote_id``; whether the
    drop was taken (a refused drop leaves its reason in ``editor.last_refusal``)."""
    source = editor.code_model.index_of(code)
    assert source.isValid(), code
    data = editor.code_model.mimeData([source])
    assert isinstance(data, QMimeData)
    drag = QDrag(editor.code_view)
    drag.setMimeData(data)
    target = editor.ledger_filter.mapFromSource(editor.ledger_model.find(kind, remote_id))
    assert target.isValid(), (kind, remote_id)
    editor.ledger_view.scrollTo(target)  # expands the record's heading
    editor.ledger_view.doItemsLayout()
    pos = QPointF(editor.ledger_view.visualRect(target).center())
    viewport = editor.ledger_view.viewport()
    actions = Qt.DropAction.CopyAction
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    # Qt routes a drop only to the widget that accepted the drag's entry (QDragManager's target).
    enter = QDragEnterEvent(pos.toPoint(), actions, drag.mimeData(), left, none)
    QApplication.sendEvent(viewport, enter)
    assert enter.isAccepted(), "the ledger tree accepts our drags"
    QApplication.sendEvent(viewport, QDragMoveEvent(pos.toPoint(), actions, drag.mimeData(), left, none))
    drop = QDropEvent(pos, actions, drag.mimeData(), left, none)
    drop.setAccepted(False)  # QAbstractItemView accepts it only when the model took the drop
    QApplication.sendEvent(viewport, drop)
    return drop.isAccepted()


def rerun_under_xvfb(test_id: str) -> bool:
    """On the offscreen platform, run ``test_id`` (``path::name``) again under ``xvfb-run`` with the xcb
    platform, assert it passed there and return True; elsewhere return False (run the test here)."""
    if QGuiApplication.platformName() != "offscreen":
        return False
    xvfb = shutil.which("xvfb-run")
    assert xvfb, "xvfb-run is needed for the real drag loop (scripts/setup.sh installs it)"
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    done = subprocess.run([xvfb, "-a", sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_id],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout
    return True


def mouse_drag_code_onto(editor: Any, code: CodeRef, kind: str, remote_id: str) -> list[str]:
    """Press on ``code``, move past the drag distance (the view starts its ``QDrag``), and inside the
    drag loop move onto the ledger record and release; the steps the drag loop ran (``["in drag"]``).
    Returns once the drag loop has ended; wait for what the drop changes."""
    code_index = editor.code_index(code)
    editor.code_view.scrollTo(code_index)
    editor.code_view.doItemsLayout()
    source = editor.code_view.visualRect(code_index).center()
    target_index = editor.ledger_filter.mapFromSource(editor.ledger_model.find(kind, remote_id))
    assert target_index.isValid(), (kind, remote_id)
    editor.ledger_view.scrollTo(target_index)
    editor.ledger_view.doItemsLayout()
    target = editor.ledger_view.visualRect(target_index).center()
    ledger = editor.ledger_view.viewport()
    steps: list[str] = []

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
    return steps
