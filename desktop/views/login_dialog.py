"""Sign in to QuickBooks Online or Xero in an embedded browser.

The provider's own page loads in a QWebEngineView with an off-the-record profile (no cookie,
cache or storage outlives the dialog). When the page is about to navigate to our redirect URI
— a server redirect or a form post — the navigation is stopped inside the browser and the URL
handed to :meth:`SignIn.complete` on a background thread, so an HTTPS redirect URI registered
with Intuit works without any local server. "Use my system browser" switches to a loopback
listener (RFC 8252) for single sign-on providers that refuse embedded browsers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.auth.signin import SignIn
from desktop.services.core.errors import AppError
from desktop.views.ops import Progress, ProgressUpdate, run_in_background

log = logging.getLogger(__name__)


class InterceptingPage(QWebEnginePage):
    """A page that refuses to navigate to the redirect URI and reports it instead."""

    redirect_captured = Signal(str)

    def __init__(self, profile: QWebEngineProfile, is_redirect: Callable[[str], bool], parent: QWidget) -> None:
        super().__init__(profile, parent)
        self._is_redirect = is_redirect
        self._captured = False

    def acceptNavigationRequest(self, url: QUrl | str, type: QWebEnginePage.NavigationType,
                                isMainFrame: bool) -> bool:
        text = url.toString() if isinstance(url, QUrl) else str(url)
        if self._is_redirect(text):
            if not self._captured:
                self._captured = True
                self.redirect_captured.emit(text)
            return False
        return super().acceptNavigationRequest(url, type, isMainFrame)

    def javaScriptConsoleMessage(self, level: QWebEnginePage.JavaScriptConsoleMessageLevel, message: str,
                                 line: int, source: str) -> None:
        log.debug("login page console: %s (%s:%s)", message, source, line)


class LoginDialog(QDialog):
    """The sign-in window. Emits :attr:`finished_ok` with ``finish``'s result on success."""

    finished_ok = Signal(object)

    def __init__(self, sign_in: SignIn[Any], *, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sign_in = sign_in
        self.result_value: Any = None
        self.error: AppError | None = None
        self.setWindowTitle(title)
        self.resize(980, 760)

        # An off-the-record profile: constructed without a storage name, nothing is written.
        self.profile = QWebEngineProfile(self)
        self.profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        self.profile.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies)
        self.page = InterceptingPage(self.profile, sign_in.is_redirect, self)
        self.page.redirect_captured.connect(self._on_page_redirect_captured)
        self.view = QWebEngineView(self)
        self.view.setPage(self.page)

        self.heading = QLabel(f"Sign in to {sign_in.platform_label} and choose the company to connect.")
        self.heading.setWordWrap(True)
        self.status = QLabel("Loading the sign-in page…")
        self.status.setObjectName("loginStatus")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(True)
        self.system_button = QPushButton("Use my system browser")
        self.system_button.setToolTip("For single sign-on that refuses embedded browsers: sign in in your usual "
                                      "browser; the app listens on this computer for the answer.")
        self.system_button.clicked.connect(self._on_system_button_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)

        bottom = QHBoxLayout()
        bottom.addWidget(self.progress)
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.system_button)
        bottom.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.view, 1)
        layout.addLayout(bottom)

        self.view.loadFinished.connect(self._on_view_load_finished)
        self.view.load(QUrl(sign_in.authorize_url))

    # --- browser ---------------------------------------------------------------------------
    def _on_view_load_finished(self, ok: bool) -> None:
        if self.result_value is not None or self.error is not None:
            return
        self.progress.setVisible(False)
        self.status.setText("" if ok else "The sign-in page could not be loaded. Check your internet "
                            "connection, or use your system browser.")

    def _on_page_redirect_captured(self, url: str) -> None:
        self.view.setEnabled(False)
        self._start(lambda p: self._sign_in.complete(url, lambda m: p.report(0, None, m)),
                    "Completing the sign-in…")

    # --- system browser --------------------------------------------------------------------
    def _on_system_button_clicked(self) -> None:
        url = self._sign_in.begin_system_browser()
        QDesktopServices.openUrl(QUrl(url))
        self.view.setEnabled(False)
        self.system_button.setEnabled(False)
        self._start(lambda p: self._sign_in.wait_system_browser(report=lambda m: p.report(0, None, m)),
                    "Waiting for you to sign in in your browser…")

    # --- background completion -------------------------------------------------------------
    def _start(self, fn: Callable[[Progress], Any], message: str) -> None:
        self.status.setText(message)
        self.progress.setVisible(True)
        run_in_background(self, fn, on_success=self._on_signin_succeeded, on_failure=self._on_signin_failed,
                          on_progress=self._on_signin_progressed, label="Connecting")

    def _on_signin_progressed(self, update: ProgressUpdate) -> None:
        if update.message:
            self.status.setText(update.message)

    def _on_signin_succeeded(self, result: Any) -> None:
        self.result_value = result
        self.progress.setVisible(False)
        self.status.setText("Connected.")
        self.finished_ok.emit(result)
        self.accept()

    def _on_signin_failed(self, exc: BaseException) -> None:
        self.progress.setVisible(False)
        self.error = exc if isinstance(exc, AppError) else None
        text = exc.user_message() if isinstance(exc, AppError) else "Something went wrong; see the log file."
        if not isinstance(exc, AppError):
            log.error("sign-in failed unexpectedly", exc_info=(type(exc), exc, exc.__traceback__))
        self.status.setText(f"<span style='color:#c62828'>Not connected:</span> {text}")
        self.system_button.setEnabled(True)

    def reject(self) -> None:
        self._sign_in.cancel_system_browser()
        super().reject()

    def done(self, r: int) -> None:
        # QtWebEngine requires the page to go before its profile; the off-the-record profile
        # takes everything the sign-in page stored with it.
        if shiboken6.isValid(self.page):
            shiboken6.delete(self.view)
            shiboken6.delete(self.page)
            shiboken6.delete(self.profile)
        super().done(r)
