"""The embedded browser's part of ``--self-test``: QtWebEngine loads a page over HTTP and runs its script.

The sign-in dialog (:mod:`desktop.views.login_dialog`) needs QtWebEngine's helper process
(``QtWebEngineProcess``), its resources and locales, and a working network stack. This probe
proves all of them the way the dialog uses them: an off-the-record profile loads a page from a
loopback HTTP server, the page's script computes a value, and the probe reads it back. A missing
helper process or resource shows up as a failed load instead of a broken sign-in later.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import shiboken6
from PySide6.QtCore import QLibraryInfo, QObject, QUrl, Signal
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile

log = logging.getLogger(__name__)


def missing_helper() -> str | None:
    """Where QtWebEngine's helper process should be, if it is not there (Linux and Windows).

    Qt aborts the whole program when it cannot find the helper, so the self-test looks first and
    says so in words. (On macOS the helper lives inside the QtWebEngineCore framework; not checked.)
    """
    if sys.platform == "darwin":
        return None
    name = "QtWebEngineProcess.exe" if sys.platform == "win32" else "QtWebEngineProcess"
    configured = os.environ.get("QTWEBENGINEPROCESS_PATH")
    path = Path(configured) if configured else \
        Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.LibraryExecutablesPath)) / name
    return None if path.is_file() else str(path)


class _PageServer:
    """One page on 127.0.0.1, served from a background thread until :meth:`stop`."""

    def __init__(self, body: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("self-test page server: " + format, *args)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="self-test-page", daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/self-test"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class WebEngineProbe(QObject):
    """Emits :attr:`finished` ``(ok, detail)`` once: after the page's script answered, or the load failed."""

    finished = Signal(bool, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._token = secrets.token_hex(8)
        page = f"<html><head><title>self-test</title></head><body><script>" \
               f"window.answer = ['{self._token}'].map(s => s.split('').reverse().join(''))[0];" \
               f"</script></body></html>"
        self._server = _PageServer(page.encode())
        self.profile = QWebEngineProfile(self)  # off the record, like the sign-in dialog's
        self.page = QWebEnginePage(self.profile, self)
        self.page.loadFinished.connect(self._on_loaded)
        self._done = False

    def start(self) -> None:
        self.page.load(QUrl(self._server.url))

    def _on_loaded(self, ok: bool) -> None:
        if not ok:
            self._finish(False, f"the page at {self._server.url} did not load")
            return
        self.page.runJavaScript("window.answer", 0, self._on_answer)

    def _on_answer(self, value: object) -> None:
        if value == self._token[::-1]:
            self._finish(True, "loaded a page over HTTP and ran its script")
        else:
            self._finish(False, f"the page's script answered {value!r}")

    def _finish(self, ok: bool, detail: str) -> None:
        if self._done:
            return
        self._done = True
        self.finished.emit(ok, detail)

    def stop(self) -> None:
        """Stop the page server; delete the page before its profile (Qt warns otherwise), as the
        sign-in dialog does."""
        self._server.stop()
        if shiboken6.isValid(self.page):
            shiboken6.delete(self.page)
            shiboken6.delete(self.profile)
