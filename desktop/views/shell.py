"""Runs the Qt side of the app: QApplication, theme, main window, and the headless modes.

``desktop.app`` builds the services and calls :func:`run_shell`; this module owns everything Qt
from there on, so the composition root stays free of widgets. Three modes share one code path:

- interactive: show the window, run until it is closed;
- ``--self-test``: open the window offscreen, prove an event travels bus → bridge → log model and
  that the embedded browser loads a page (:mod:`desktop.views.web_check`), close it cleanly;
- ``--screenshots DIR``: wait for the demo sandbox, then grab every page in light and dark.

None of them calls ``processEvents()``: each waits by running the real event loop.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QCoreApplication,
    QMessageLogContext,
    QSettings,
    QSize,
    QSocketNotifier,
    Qt,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication

from desktop import APP_NAME, DESKTOP_ID, __version__
from desktop.views.context import ShellContext
from desktop.views.main_window import MainWindow
from desktop.views.ops import wait_for_operations
from desktop.views.resources import app_icon
from desktop.views.screenshots import ScreenshotTour
from desktop.views.services import ViewServices
from desktop.views.theme import ThemeManager, ThemeMode

if TYPE_CHECKING:
    from desktop.services.auth.roles import Actor
    from desktop.services.core.config import AppConfig
    from desktop.services.core.events import EventBus
log = logging.getLogger(__name__)
qt_log = logging.getLogger("qt")

SELF_TEST_TIMEOUT_MS = 60_000  # QtWebEngine's first start is slow on a loaded machine
_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}
#: Harmless platform-plugin chatter (offscreen / headless); kept at DEBUG so the log stays useful.
_QT_NOISE = ("This plugin does not support", "QVulkanInstance")


@dataclass(frozen=True)
class ShellOutcome:
    exit_code: int
    summary: str


def _on_qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    level = _QT_LEVELS.get(kind, logging.WARNING)
    if any(noise in message for noise in _QT_NOISE):
        level = logging.DEBUG
    qt_log.log(level, "%s", message)


def _application() -> QApplication:
    existing = QApplication.instance()
    if existing is None:
        # The embedded sign-in browser (QtWebEngine) needs shared GL contexts, set before the app.
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(DESKTOP_ID)  # the installed .desktop entry (Wayland)
    app.setWindowIcon(app_icon())
    return app


def _saved_mode(settings: QSettings) -> ThemeMode:
    try:
        return ThemeMode(str(settings.value("appearance/mode", ThemeMode.SYSTEM.value)))
    except ValueError:
        return ThemeMode.SYSTEM


def _quit_on_signals(app: QApplication) -> Callable[[], None]:
    """Ctrl+C / SIGTERM quit cleanly (services shut down) even while Qt's loop holds the thread.

    Python runs signal handlers only when it gets control, which a C++ event loop never gives it.
    ``signal.set_wakeup_fd`` makes the interpreter write a byte to a socket the moment a signal
    arrives; a ``QSocketNotifier`` on the other end wakes the Qt loop, which then quits. Returns
    a function that restores the previous handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno())
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, app)

    def on_signal() -> None:
        with contextlib.suppress(OSError):
            reader.recv(64)
        log.info("quit requested by a signal")
        app.quit()

    notifier.activated.connect(on_signal)

    def restore() -> None:
        notifier.setEnabled(False)
        notifier.deleteLater()
        signal.set_wakeup_fd(previous_fd)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        reader.close()
        writer.close()

    return restore


def run_shell(bus: EventBus, config: AppConfig, *, self_test: bool = False, screenshots: Path | None = None,
              sandbox_ready: Callable[[], bool] | None = None,
              history: Callable[[], Any] | None = None,
              services: ViewServices | None = None, actor: Actor | None = None,
              quit_requested: Callable[[], bool] | None = None,
              screenshot_size: tuple[int, int] | None = None) -> ShellOutcome:
    """Open the main window in the requested mode and run the event loop until it is done.

    ``services`` is what the pages call (built by the composition root); ``actor`` is who is at the desk.
    """
    previous_handler = qInstallMessageHandler(_on_qt_message)
    app = _application()
    settings = QSettings(str(config.data_dir / "settings.ini"), QSettings.Format.IniFormat)
    theme = ThemeManager(app, _saved_mode(settings))
    context = ShellContext(settings=settings, database_url=config.db_url, data_dir=config.data_dir,
                           bus=bus, theme=theme, demo=config.demo, actor=actor,
                           services=services if services is not None else ViewServices())
    window = MainWindow(context)
    window.closed.connect(app.quit)
    restore_signals = _quit_on_signals(app)
    if quit_requested is not None and quit_requested():  # a signal came while the window was being built
        QTimer.singleShot(0, app.quit)
    if history is not None and not self_test:
        window.load_history(history)
    try:
        if self_test:
            return _self_test(app, window, bus)
        if screenshots is not None:
            return _screenshots(app, window, theme, screenshots, sandbox_ready, screenshot_size)
        window.show()
        window.setup.offer_if_empty()  # the set-up assistant, on an empty installation
        return ShellOutcome(app.exec(), "closed")
    finally:
        wait_for_operations(10_000)  # background ops (reads and long ones) finish before services stop
        restore_signals()
        window.save_state()
        window.deleteLater()
        theme.detach()
        qInstallMessageHandler(previous_handler)


def _self_test(app: QApplication, window: MainWindow, bus: EventBus) -> ShellOutcome:
    """Open, prove the live log works, load a page in the embedded browser, close. Fails (exit 1)
    if a step fails or anything hangs past the timeout."""
    from desktop.views.web_check import WebEngineProbe, missing_helper
    missing = missing_helper()
    if missing is not None:  # Qt would abort the program on the first page
        return ShellOutcome(1, f"embedded browser: FAILED: its helper process is missing ({missing}); "
                               "reinstall the app")
    result: dict[str, str] = {}
    probe = WebEngineProbe()

    def on_rows() -> None:
        model = window.log_dock.model
        if "log" not in result and any(model.event_at(r).kind == "app.self_test" for r in range(model.rowCount())):
            result["log"] = "ok"
            probe.start()  # the embedded browser next: its helper process starts on the first page

    def on_probe(ok: bool, detail: str) -> None:
        result["browser"] = detail if ok else f"FAILED: {detail}"
        window.close()

    def on_timeout() -> None:
        step = "the test event" if "log" not in result else "the embedded browser's test page"
        result.setdefault("browser", f"FAILED: no answer within {SELF_TEST_TIMEOUT_MS // 1000} s")
        log.error("self-test: %s did not finish within %d ms", step, SELF_TEST_TIMEOUT_MS)
        window.close()

    window.log_dock.model.rowsInserted.connect(on_rows)
    probe.finished.connect(on_probe)
    window.show()
    QTimer.singleShot(0, lambda: bus.emit("app.self_test", "info", "Self-test: the live error log works"))
    QTimer.singleShot(SELF_TEST_TIMEOUT_MS, on_timeout)
    try:
        code = app.exec()
    finally:
        probe.stop()
    if not result.get("log"):
        return ShellOutcome(1, "the main window never showed the test event")
    browser = result.get("browser", "FAILED: not run")
    summary = (f"{window.stack.count()} pages, live event log, {app.platformName()} platform; "
               f"embedded browser: {browser}")
    return ShellOutcome(1 if browser.startswith("FAILED") else code, summary)


def _screenshots(app: QApplication, window: MainWindow, theme: ThemeManager, directory: Path,
                 sandbox_ready: Callable[[], bool] | None, size: tuple[int, int] | None = None) -> ShellOutcome:
    tour = ScreenshotTour(window, theme, directory, ready=sandbox_ready, size=QSize(*size) if size else None)
    tour.finished.connect(window.close)
    window.show()
    tour.start()
    code = app.exec()
    if tour.error:
        log.error("screenshots failed: %s", tour.error)
        return ShellOutcome(1, tour.error)
    return ShellOutcome(code, f"{len(tour.written)} screenshots")
