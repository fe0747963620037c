"""Dragging on the Mappings page the way Qt does it, without a window system's drag loop.

The offscreen platform has no drag loop (its ``QDrag.exec`` returns at once), so the enter, move and
drop events the platform would send are sent to the ledger view's viewport here, carrying the code
model's own ``QMimeData`` in a real ``QDrag``; from there on it is Qt's own path
(``QAbstractItemView.dropEvent`` → ``model.dropMimeData`` → the editor).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDrag, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from desktop.views.mapping.editing import CodeRef

__all__ = ["drag_code_onto"]


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
