"""One way to ask before doing something that cannot be taken back.

Every such question looks and behaves the same: a window-modal box with Cancel as the default
(so Enter never destroys anything) and one button naming the action. Opened with ``open()``, not
``exec()``, so the event loop keeps running and tests can click it; the box deletes itself once
closed, and the caller keeps the returned box in an attribute for as long as it is open.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget


def ask(parent: QWidget, icon: QMessageBox.Icon, title: str, text: str, action: str,
        on_yes: Callable[[], object], *, role: QMessageBox.ButtonRole = QMessageBox.ButtonRole.DestructiveRole,
        on_no: Callable[[], object] | None = None) -> QMessageBox:
    """Open the question; ``on_yes`` runs when ``action`` is clicked, ``on_no`` (if any) otherwise."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Cancel, parent)
    confirm = box.addButton(action, role)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)

    def clicked(button: QAbstractButton) -> None:
        if button is confirm:
            on_yes()
        elif on_no is not None:
            on_no()

    box.buttonClicked.connect(clicked)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
