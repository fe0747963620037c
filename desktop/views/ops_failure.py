"""The GUI's error boundary: what a person sees when something fails — never a traceback.

Every failure of a background operation (:mod:`desktop.views.ops`) and every exception that
escapes a slot (``sys.excepthook``) or a thread (``threading.excepthook``) passes through
:func:`person_facing`, which asks :func:`desktop.services.core.failures.explain` what it means:

- an :class:`AppError` a service raised on purpose (needs a person, try again later) reaches the
  page unchanged: its message already says what to do, and pages may react to its type;
- anything else — a full disk, a locked or damaged database, an unreachable server, a bug —
  becomes an :class:`OperationFailed` carrying explain()'s message and action. An unexpected one
  (a bug) also writes a redacted crash report (once per kind of crash per session) and logs the
  traceback to the log file; its message says where the report is.

:func:`show_failure` is the one dialog for a failure: what happened, what to do, and for a bug the
report with buttons to copy the details or open it. :func:`install_error_boundary` (called by the
app's composition root) routes uncaught exceptions here and says where crash reports go.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
import traceback
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QRectF, QSize, Qt, QThread, QUrl
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFont,
    QGuiApplication,
    QPainter,
    QPalette,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop.services.core.errors import AppError, ErrorKind
from desktop.services.core.failures import EXIT_CODES, Explained, explain, write_crash_report

__all__ = ["FailureDialog", "OperationFailed", "crash_directory", "install_error_boundary", "person_facing",
           "show_failure"]

log = logging.getLogger(__name__)

_DEFAULT_CRASH_DIR = Path(tempfile.gettempdir()) / "returns-ledger-crash-reports"
_state: dict[str, Path] = {"crash_dir": _DEFAULT_CRASH_DIR}
#: Crash reports already written this session, by where the crash happened: a failure that
#: repeats (a paint event, a timer) writes one report, not thousands.
_reported: dict[tuple[str, str, int], Path] = {}
_reported_lock = threading.Lock()


class OperationFailed(AppError):
    """A failure in a person's words (see the module docstring); the original is ``__cause__``."""

    def __init__(self, explained: Explained, *, label: str, report: Path | None = None) -> None:
        kind = (ErrorKind.TRANSIENT if explained.exit_code == EXIT_CODES["transient"]
                else ErrorKind.FATAL if explained.unexpected else ErrorKind.NEEDS_PERSON)
        action = explained.action
        if explained.unexpected:
            action = (f"{action} ({report})" if report else
                      f"{action or 'restart the app'} (no crash report could be written)")
        super().__init__(explained.message, action=action)
        self.kind = kind
        self.explained = explained
        self.label = label
        self.report = report

    def __str__(self) -> str:  # pages show ``str(exc)`` in their status lines: the whole answer
        return self.user_message()


def crash_directory() -> Path:
    """Where crash reports go (the data directory's ``crash-reports`` once the app is running)."""
    return _state["crash_dir"]


def person_facing(exc: BaseException, label: str) -> AppError:
    """What a page may show for ``exc`` (see the module docstring); idempotent."""
    if isinstance(exc, OperationFailed):
        return exc
    if isinstance(exc, AppError) and exc.kind is not ErrorKind.FATAL:
        log.info("%s failed: %s", label, exc.user_message())
        return exc
    explained = explain(exc, gui=True)
    report = None
    if explained.unexpected:
        report = _crash_report(exc, label)
        log.error("%s failed unexpectedly (crash report: %s)", label, report or "not written",
                  exc_info=(type(exc), exc, exc.__traceback__))
    else:
        log.info("%s failed: %s (%s)", label, explained.text(), type(exc).__name__)
    failure = OperationFailed(explained, label=label, report=report)
    failure.__cause__ = exc
    return failure


def _crash_report(exc: BaseException, label: str) -> Path | None:
    frames = traceback.extract_tb(exc.__traceback__)
    where = (frames[-1].filename, frames[-1].lineno or 0) if frames else ("", 0)
    key = (type(exc).__name__, *where)
    with _reported_lock:
        if key in _reported:
            return _reported[key]
    path = (write_crash_report(exc, crash_directory(), context=label)
            or write_crash_report(exc, _DEFAULT_CRASH_DIR, context=label))
    if path is not None:
        with _reported_lock:
            _reported[key] = path
    return path


# --- the dialog ----------------------------------------------------------------------------------

#: Badge colours: amber for "something to fix", blue for "try again later", red for a bug.
_BADGE = {ErrorKind.NEEDS_PERSON: "#c77700", ErrorKind.TRANSIENT: "#2f6fd6", ErrorKind.FATAL: "#d03b3b"}


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def _badge(kind: ErrorKind, size: int, ratio: float) -> QPixmap:
    """A round badge with "!" (or "i" for try-again), drawn so it is crisp at any scale."""
    pixmap = QPixmap(QSize(round(size * ratio), round(size * ratio)))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(_BADGE[kind]))
    painter.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(round(size * 0.58))
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter,
                     "i" if kind is ErrorKind.TRANSIENT else "!")
    painter.end()
    return pixmap


class FailureDialog(QDialog):
    """What failed, what to do, and — for a bug — where the crash report is.

    Window-modal and opened with ``open()`` (no nested event loop); deletes itself when closed.
    """

    def __init__(self, parent: QWidget | None, label: str, failure: AppError) -> None:
        super().__init__(parent)
        self.setObjectName("FailureDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle("Could not finish" if failure.kind is not ErrorKind.FATAL else "Something went wrong")
        self.failure = failure
        self.report: Path | None = getattr(failure, "report", None)
        explained = getattr(failure, "explained", None)
        message = explained.message if explained is not None else failure.message
        if failure.platform_code or failure.platform_message:  # the platform's own words, as the page shows them
            message = failure.user_message().removesuffix(f" — {failure.action}" if failure.action else "")
        action = explained.action if explained is not None else failure.action

        self.badge = QLabel()
        self.badge.setObjectName("FailureBadge")
        self.badge.setPixmap(_badge(failure.kind, 36, self.devicePixelRatioF() or 1.0))
        self.badge.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.badge.setFixedWidth(44)

        self.headline = QLabel(message)
        self.headline.setObjectName("FailureHeadline")
        font = QFont(self.font())
        font.setPixelSize(16)
        font.setWeight(QFont.Weight.DemiBold)
        self.headline.setFont(font)
        self.action = QLabel(_sentence(action) if action else "")
        self.action.setObjectName("FailureAction")
        body_font = QFont(self.font())
        body_font.setPixelSize(13)
        self.action.setFont(body_font)
        self.action.setVisible(bool(action))
        self.context = QLabel(f"Task: {_sentence(label).removesuffix('.')}")
        self.context.setObjectName("FailureContext")
        self.context.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.report_label = QLabel()
        self.report_label.setObjectName("FailureReport")
        self.report_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.report_label.setVisible(self.report is not None)
        if self.report is not None:
            self.report_label.setText(f"Crash report: {self.report}")
        for text in (self.headline, self.action, self.context, self.report_label):
            text.setWordWrap(True)
            text.setTextFormat(Qt.TextFormat.PlainText)  # never rendered as markup
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        texts = QVBoxLayout()
        texts.setSpacing(8)
        texts.addWidget(self.headline)
        texts.addWidget(self.action)
        texts.addSpacing(4)
        texts.addWidget(self.context)
        texts.addWidget(self.report_label)
        texts.addStretch(1)
        body = QHBoxLayout()
        body.setSpacing(14)
        body.addWidget(self.badge)
        body.addLayout(texts, 1)

        # Secondary actions on the left, the one way out on the right, whatever the platform.
        self.buttons = QHBoxLayout()
        self.buttons.setSpacing(8)
        self.copy_button: QPushButton | None = None
        self.open_button: QPushButton | None = None
        if self.report is not None:
            self.copy_button = QPushButton("Copy details")
            self.copy_button.setToolTip("Copy what happened and where the crash report is")
            self.open_button = QPushButton("Show report")
            self.open_button.setToolTip("Open the crash report to send it to your support contact")
            self.copy_button.clicked.connect(self.copy_details)
            self.open_button.clicked.connect(self.open_report)
            self.buttons.addWidget(self.copy_button)
            self.buttons.addWidget(self.open_button)
        self.buttons.addStretch(1)
        self.close_button = QPushButton("Close")
        self.close_button.setObjectName("PrimaryButton")
        self.close_button.setDefault(True)
        self.close_button.setMinimumWidth(88)
        self.close_button.clicked.connect(self.accept)
        self.buttons.addWidget(self.close_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(22, 20, 22, 16)
        layout.setSpacing(18)
        layout.addLayout(body, 1)
        layout.addLayout(self.buttons)
        self._layout = layout
        self.setMinimumWidth(380)
        width = max(self.sizeHint().width(), 460)
        self.resize(width, self._height_for(width))

    def _height_for(self, width: int) -> int:
        """The height the wrapped texts need at ``width`` (a top-level window does not ask itself)."""
        return max(self._layout.totalHeightForWidth(width), self.minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        # Narrower means taller: never let the wrapped texts be cut off at the bottom.
        needed = self._height_for(event.size().width())
        if self.minimumHeight() != needed:
            self.setMinimumHeight(needed)
        super().resizeEvent(event)

    def text(self) -> str:
        """Everything the dialog says, as one line (explain()'s text, for a bug with the report's path)."""
        return self.failure.user_message()

    def details(self) -> str:
        lines = [self.headline.text(), self.action.text(), self.context.text()]
        if self.report is not None:
            lines.append(self.report_label.text())
        return "\n".join(line for line in lines if line)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details())

    def open_report(self) -> None:
        if self.report is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.report)))


def show_failure(parent: object, label: str, exc: BaseException) -> FailureDialog:
    """The failure dialog for ``exc`` (passed through :func:`person_facing` first), opened window-modal."""
    failure = person_facing(exc, label)
    widget = parent if isinstance(parent, QWidget) else None
    dialog = FailureDialog(widget, label, failure)
    if widget is None:
        dialog.show()
    else:
        dialog.open()
    return dialog


# --- uncaught exceptions -----------------------------------------------------------------------

_open_dialog: list[weakref.ref[FailureDialog]] = []


def _on_gui_thread() -> bool:
    app = QApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def _uncaught(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """``sys.excepthook``: an exception escaped a slot or an event handler on the GUI thread."""
    if exc is None:  # pragma: no cover - Python always passes the instance today
        exc = exc_type()
    if tb is not None and exc.__traceback__ is None:
        exc = exc.with_traceback(tb)
    if isinstance(exc, KeyboardInterrupt):
        log.info("interrupted")
        return
    failure = person_facing(exc, "the app")
    if not _on_gui_thread():
        return
    showing = [ref() for ref in _open_dialog]
    if any(d is not None and d.isVisible() for d in showing):
        return  # one at a time: a failure that repeats must not bury the window in dialogs
    dialog = show_failure(QApplication.activeWindow(), "the app", failure)
    _open_dialog[:] = [weakref.ref(dialog)]


def _uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    """``threading.excepthook``: a background thread died; log it and keep a crash report."""
    if args.exc_value is None or isinstance(args.exc_value, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "a background thread"
    person_facing(args.exc_value, f"background work ({name})")


def install_error_boundary(crash_dir: Path) -> Callable[[], None]:
    """Route uncaught exceptions to the failure dialog and crash reports to ``crash_dir``;
    returns the function that puts the previous hooks (and directory) back."""
    previous = (sys.excepthook, threading.excepthook, _state["crash_dir"])
    _state["crash_dir"] = crash_dir
    sys.excepthook = _uncaught
    threading.excepthook = _uncaught_in_thread

    def restore() -> None:
        sys.excepthook, threading.excepthook, _state["crash_dir"] = previous
        with _reported_lock:
            _reported.clear()

    return restore
