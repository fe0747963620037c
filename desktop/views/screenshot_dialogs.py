"""Pictures of dialogs for the screenshot tour: the RMS dialog and the set-up assistant over the window.

Each shot opens the real dialog, starts its real test call (the organizations the demo's RMS sees,
with the stored key), waits on timers — never ``processEvents()`` — until the answer is on screen,
composes it over the dimmed window (:func:`~desktop.views.connections.preview.compose_over`) and
closes the dialog without saving anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QDialog, QWidget

from desktop.views.connections.preview import compose_over
from desktop.views.connections.rms import RmsForm

if TYPE_CHECKING:
    from desktop.views.main_window import MainWindow

log = logging.getLogger(__name__)
POLL_MS = 100


class DialogShot(QObject):
    """Open a dialog with ``open_dialog``, wait until ``ready(dialog)``, emit ``finished`` with the picture."""

    finished = Signal(object)

    def __init__(self, window: QWidget, open_dialog: Callable[[], QDialog | None], ready: Callable[[QDialog], bool], *,
                 size: tuple[int, int] = (640, 520), timeout_ms: int = 20_000, settle_ms: int = 300) -> None:
        super().__init__(window)
        self._window = window
        self._open = open_dialog
        self._ready = ready
        self._size = size
        self._timeout_ms = timeout_ms
        self._settle_ms = settle_ms
        self._waited = 0
        self._dialog: QDialog | None = None

    def start(self) -> None:
        self._dialog = self._open()
        if self._dialog is None:
            self._done(None, "the dialog did not open")
            return
        self._dialog.resize(*self._size)
        QTimer.singleShot(POLL_MS, self._poll)

    def _poll(self) -> None:
        dialog = self._dialog
        if dialog is not None and self._ready(dialog):
            QTimer.singleShot(self._settle_ms, self._grab)
            return
        self._waited += POLL_MS
        if self._waited >= self._timeout_ms:
            if dialog is not None:
                dialog.reject()
            self._done(None, "the dialog's content did not arrive in time")
            return
        QTimer.singleShot(POLL_MS, self._poll)

    def _grab(self) -> None:
        dialog = self._dialog
        assert dialog is not None
        canvas = compose_over(self._window, dialog)
        dialog.reject()
        self._done(canvas, None)

    def _done(self, pixmap: object, problem: str | None) -> None:
        if problem:
            log.info("no dialog screenshot: %s", problem)
        self.finished.emit(pixmap)


def _tested(form: RmsForm) -> bool:
    """Once the stored address is in, start the test call; ready when its answer shows."""
    if form.url_edit.text() and not form.busy and not form.result_label.text():
        form.test()
    text = form.result_label.text()
    return not form.busy and ("answers" in text or "refused" in text or "did not answer" in text)


def rms_dialog_shot(window: MainWindow) -> DialogShot:
    """``rms``: Connections → Returns system → Edit…, after its test call."""
    from desktop.views.pages.connections import ConnectionsPage

    def open_dialog() -> QDialog | None:
        window.show_page_by_key("connections")
        page = window.current_page
        if not isinstance(page, ConnectionsPage):
            return None
        page.rms_tile.edit()
        return page.rms_tile.dialog

    def ready(dialog: QDialog) -> bool:
        form = dialog.findChild(RmsForm)
        return form is not None and _tested(form)

    return DialogShot(window, open_dialog, ready, size=(560, 400))


def assistant_shot(window: MainWindow, step: str) -> DialogShot:
    """``assistant-<step>``: the set-up assistant at ``step`` (``rms`` after its test call, ``ledgers`` listed)."""
    from desktop.views.setup.assistant import LedgersPage, RmsPage, SetupAssistant

    def open_dialog() -> QDialog | None:
        window.setup.open()
        assistant = window.setup.assistant
        if not isinstance(assistant, SetupAssistant):
            return None
        while assistant.currentPage() is not assistant.steps[step] and assistant.currentId() >= 0:
            before = assistant.currentId()
            assistant.next()
            if assistant.currentId() == before:
                break
        return assistant

    def ready(dialog: QDialog) -> bool:
        page = dialog.currentPage() if hasattr(dialog, "currentPage") else None
        if isinstance(page, RmsPage):
            return _tested(page.form)
        if isinstance(page, LedgersPage):
            return page.list.count() > 0
        return True

    return DialogShot(window, open_dialog, ready, size=(720, 560))
