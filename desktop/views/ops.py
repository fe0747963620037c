"""THE way views start work: run a function off the GUI thread, get results back on it.

Modelled on Anki's ``aqt.operations``: ``run_in_background(parent, fn, on_success=…)`` runs ``fn``
on a ``QThreadPool`` worker and delivers its result, its exception, or its progress reports to
callbacks **on the GUI thread**, through queued signals of a relay object that lives there. The
worker never touches a widget. If ``parent`` is deleted before the work finishes, the callbacks are
skipped (the work itself cannot be interrupted, but it can poll :attr:`Progress.cancelled`).

Progress is coalesced: a worker reporting 10,000 times a second posts at most one pending update;
the GUI sees the latest value, never a queue of stale ones.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThread, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from desktop.services.errors import AppError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ProgressUpdate:
    """One progress report: ``done`` of ``total`` (None when unknown) and what is happening."""

    done: int
    total: int | None = None
    message: str = ""


class Progress:
    """Handed to the background function: report progress, check for cancellation."""

    def __init__(self, relay: _Relay) -> None:
        self._relay = relay
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def report(self, done: int, total: int | None = None, message: str = "") -> None:
        """Thread-safe; cheap to call often (updates are coalesced)."""
        self._relay.post_progress(ProgressUpdate(done, total, message))


class _Relay(QObject):
    """Lives on the GUI thread; its queued signals carry worker outcomes there."""

    succeeded = Signal(object)
    failed = Signal(object)
    progressed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._latest: ProgressUpdate | None = None

    def post_progress(self, update: ProgressUpdate) -> None:
        with self._lock:
            pending = self._latest is not None
            self._latest = update
        if not pending:
            self.progressed.emit()

    def take_progress(self) -> ProgressUpdate | None:
        with self._lock:
            update, self._latest = self._latest, None
        return update


class _Runner(QRunnable):
    def __init__(self, fn: Callable[[Progress], Any], progress: Progress, relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._progress = progress
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn(self._progress)
        except BaseException as exc:  # delivered to on_failure; nothing escapes a pool thread
            self._relay.failed.emit(exc)
        else:
            self._relay.succeeded.emit(result)


class BackgroundOperation(QObject, Generic[T]):
    """A handle on one running operation: ``cancel()`` asks it to stop; ``finished`` fires once."""

    finished = Signal()

    def __init__(self, parent: QObject, fn: Callable[[Progress], T], on_success: Callable[[T], None],
                 on_failure: Callable[[BaseException], None] | None,
                 on_progress: Callable[[ProgressUpdate], None] | None, label: str | None) -> None:
        super().__init__()
        self._parent = parent
        self._on_success = on_success
        self._on_failure = on_failure
        self._on_progress = on_progress
        self.label: str = label or str(getattr(fn, "__name__", "operation"))
        self.done = False
        self._relay = _Relay()
        self.progress = Progress(self._relay)
        kind = Qt.ConnectionType.QueuedConnection
        self._relay.succeeded.connect(self._on_relay_succeeded, kind)
        self._relay.failed.connect(self._on_relay_failed, kind)
        self._relay.progressed.connect(self._on_relay_progressed, kind)
        self._runner = _Runner(fn, self.progress, self._relay)

    def cancel(self) -> None:
        self.progress.cancel()

    def _parent_alive(self) -> bool:
        return shiboken6.isValid(self._parent)

    @Slot()
    def _on_relay_progressed(self) -> None:
        update = self._relay.take_progress()
        if update is not None and self._on_progress is not None and not self.done and self._parent_alive():
            self._on_progress(update)

    @Slot(object)
    def _on_relay_succeeded(self, result: T) -> None:
        self._on_relay_progressed()  # a last report must not arrive after success
        self._finish()
        if self._parent_alive():
            self._on_success(result)

    @Slot(object)
    def _on_relay_failed(self, exc: BaseException) -> None:
        self._finish()
        if not self._parent_alive():
            return
        if self._on_failure is not None:
            self._on_failure(exc)
        else:
            show_failure(self._parent, self.label, exc)

    def _finish(self) -> None:
        self.done = True
        _RUNNING.discard(self)
        self.finished.emit()


_RUNNING: set[BackgroundOperation[Any]] = set()


def running_operations() -> int:
    """How many operations have not delivered their outcome yet (shutdown waits on these)."""
    return len(_RUNNING)


def show_failure(parent: QObject, label: str, exc: BaseException) -> QMessageBox | None:
    """Default failure handler: an ``AppError`` says what to do; anything else is logged as a bug.

    The box is opened window-modal with ``open()``, not ``exec()``, so no nested event loop runs.
    """
    if isinstance(exc, AppError):
        text = exc.user_message()
        log.info("%s failed: %s", label, text)
    else:
        log.error("%s failed unexpectedly", label, exc_info=(type(exc), exc, exc.__traceback__))
        text = f"Something went wrong while running “{label}”. The details are in the log file."
    widget = parent if isinstance(parent, QWidget) else None
    box = QMessageBox(QMessageBox.Icon.Warning, "Could not finish", text,
                      QMessageBox.StandardButton.Ok, widget)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


def run_in_background(
    parent: QObject,
    fn: Callable[[Progress], T],
    *,
    on_success: Callable[[T], None],
    on_failure: Callable[[BaseException], None] | None = None,
    on_progress: Callable[[ProgressUpdate], None] | None = None,
    label: str | None = None,
    pool: QThreadPool | None = None,
) -> BackgroundOperation[T]:
    """Run ``fn(progress)`` on a worker; callbacks run on the GUI thread. Call from the GUI thread.

    Args:
        parent: the widget that asked; if it is deleted first, callbacks are skipped.
        fn: the work. Receives a :class:`Progress` to report with and to poll for cancellation.
        on_success: receives ``fn``'s return value.
        on_failure: receives the exception; default shows ``AppError.user_message()`` in a box.
        on_progress: receives the latest :class:`ProgressUpdate`.
        label: a human name for the operation (logs and the default error box).
        pool: thread pool (default: the global one).
    """
    app = QApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("run_in_background must be called on the GUI thread")
    op: BackgroundOperation[T] = BackgroundOperation(parent, fn, on_success, on_failure, on_progress, label)
    _RUNNING.add(op)
    (pool or QThreadPool.globalInstance()).start(op._runner)
    return op
