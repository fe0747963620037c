"""A picture of the sign-in dialog over the Connections page, for the screenshot tour and the docs.

The dialog is a window of its own, so grabbing the main window alone would miss it. This opens
the real sign-in (the provider's consent page, loaded in QtWebEngine), waits — on timers, never
``processEvents()`` — until the page has loaded, then composes the dimmed main window with the
dialog centred on it, and closes the dialog without signing in.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QWidget

from desktop.services.auth.platforms import Environment
from desktop.services.platforms.registry import DEFAULT_PLATFORM
from desktop.views.connections.dialog import ConnectRequest

if TYPE_CHECKING:
    from desktop.views.pages.connections import ConnectionsPage

log = logging.getLogger(__name__)
POLL_MS = 100
TITLE_H = 30


class SignInShot(QObject):
    """Open the sign-in for ``request`` on ``page`` and emit :attr:`finished` with the picture (or None)."""

    finished = Signal(object)

    def __init__(self, window: QWidget, page: ConnectionsPage, request: ConnectRequest | None = None, *,
                 timeout_ms: int = 30_000, settle_ms: int = 400) -> None:
        super().__init__(window)
        self._window = window
        self._page = page
        # The demo's ACME-US is on the default platform (QuickBooks Online).
        self._request = request or ConnectRequest("ACME-US", DEFAULT_PLATFORM, Environment.LOCAL)
        self._timeout_ms = timeout_ms
        self._settle_ms = settle_ms
        self._waited = 0

    def start(self) -> None:
        actions = self._page.actions_
        if actions.service is None:
            self._done(None, "the Connections page has no connection service")
            return
        actions.login_dialog = None
        actions.open_sign_in(self._request)
        QTimer.singleShot(POLL_MS, self._poll)

    def _poll(self) -> None:
        dialog = self._page.actions_.login_dialog
        if dialog is not None and dialog.status.text() == "":
            dialog.resize(860, 600)  # a size that leaves the page behind it recognisable
            QTimer.singleShot(self._settle_ms, self._grab)  # let the page paint its fonts
            return
        self._waited += POLL_MS
        if self._waited >= self._timeout_ms:
            self._done(None, "the sign-in page did not load in time")
            return
        QTimer.singleShot(POLL_MS, self._poll)

    def _grab(self) -> None:
        dialog = self._page.actions_.login_dialog
        if dialog is None:
            self._done(None, "the sign-in dialog closed before it could be pictured")
            return
        canvas = compose_over(self._window, dialog)
        dialog.reject()
        self._done(canvas, None)

    def _done(self, pixmap: QPixmap | None, problem: str | None) -> None:
        if problem:
            log.info("no sign-in screenshot: %s", problem)
        self.finished.emit(pixmap)


def compose_over(window: QWidget, dialog: QWidget) -> QPixmap:
    """``window`` dimmed, with ``dialog`` centred on it under the title bar a window manager would draw."""
    base = window.grab()
    shot = dialog.grab()
    canvas = QPixmap(base.size())
    canvas.setDevicePixelRatio(base.devicePixelRatio())
    painter = QPainter(canvas)
    painter.drawPixmap(0, 0, base)
    painter.fillRect(QRect(QPoint(0, 0), base.deviceIndependentSize().toSize()), QColor(0, 0, 0, 110))
    size = shot.deviceIndependentSize().toSize()
    window_size = base.deviceIndependentSize().toSize()
    scale = min(1.0, (window_size.width() - 80) / max(1, size.width()),
                (window_size.height() - 60 - TITLE_H) / max(1, size.height()))
    width, height = round(size.width() * scale), round(size.height() * scale)
    frame = QRect((window_size.width() - width) // 2, (window_size.height() - height - TITLE_H) // 2,
                  width, height + TITLE_H)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.setPen(Qt.PenStyle.NoPen)
    for spread, alpha in ((14, 20), (8, 30), (3, 45)):  # a soft shadow under the dialog
        painter.setBrush(QColor(0, 0, 0, alpha))
        painter.drawRoundedRect(frame.adjusted(-spread, -spread + 4, spread, spread + 4), 10, 10)
    # The title bar a window manager would draw (offscreen there is none).
    palette = dialog.palette()
    painter.setBrush(palette.color(QPalette.ColorRole.Window).darker(108))
    painter.drawRoundedRect(frame, 8, 8)
    painter.setPen(palette.color(QPalette.ColorRole.WindowText))
    font = QFont(dialog.font())
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QRect(frame.left(), frame.top(), frame.width(), TITLE_H),
                     int(Qt.AlignmentFlag.AlignCenter), dialog.windowTitle())
    painter.drawPixmap(QRect(frame.left(), frame.top() + TITLE_H, width, height), shot)
    painter.end()
    return canvas
