"""THE way views start work: run a function off the GUI thread, get results back on it.

Modelled on Anki's ``aqt.operations``: ``run_in_background(parent, fn, on_success=…)`` runs ``fn``
on a ``QThreadPool`` worker and delivers its result, its exception, or its progress reports to
callbacks **on the GUI thread**. The worker never touches a widget — and never holds a reference
to any Qt object but one process-wide dispatcher that lives as long as the app: it works on a
plain-Python job, whose outcome the GUI thread takes out. (A Qt object whose last reference is
dropped on a pool thread is deleted there, racing the GUI thread: that crashed the app.) If
``parent`` is deleted before the work finishes, the callbacks are skipped (the work itself cannot
be interrupted, but it can poll :attr:`Progress.cancelled`).

A failure passes the GUI's error boundary first (:mod:`desktop.views.ops_failure`): the callback
gets a service's ``AppError`` as raised, anything else in explain()'s words (a bug with a crash
report), never a raw exception to show.

Progress is coalesced: a worker reporting 10,000 times a second posts at most one pending update;
the GUI sees the latest value, never a queue of stale ones.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QMetaObject, QObject, QRunnable, Qt, QThread, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QApplication

from desktop.services.core.errors import PermissionDenied
from desktop.views.ops_failure import person_facing, show_failure

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Set by the composition root: records a refused operation in the audit log (on the worker thread,
#: after the service call unwound). One recorder per process: the app's user service.
_refusal_recorder: list[Callable[[PermissionDenied], None]] = []


def record_refusals_with(recorder: Callable[[PermissionDenied], None] | None) -> None:
    """Audit every :class:`PermissionDenied` a background operation ends in through ``recorder`` (None: stop)."""
    _refusal_recorder[:] = [recorder] if recorder is not None else []


@dataclass(frozen=True)
class ProgressUpdate:
    """One progress report: ``done`` of ``total`` (None when unknown) and what is happening."""

    done: int
    total: int | None = None
    message: str = ""


class Progress:
    """Handed to the background function: report progress, check for cancellation."""

    def __init__(self, job: _Job) -> None:
        self._job = job
        self._cancel = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def report(self, done: int, total: int | None = None, message: str = "") -> None:
        """Thread-safe; cheap to call often (updates are coalesced)."""
        self._job.post_progress(ProgressUpdate(done, total, message))


class _Job:
    """The worker's half of an operation: plain Python, so a worker never owns a Qt object.

    Why this matters: whatever a pool thread holds a reference to may be freed *on that thread*
    when the runner is deleted after ``run()``. A ``QObject`` freed there while the GUI thread
    delivers (or deletes the receiver of) its queued call is a use-after-free — the segfault this
    design exists to prevent. So the job holds only the function and its outcome; the GUI thread
    takes both out (:meth:`take_outcome`), and the ``BackgroundOperation`` (a ``QObject``) is found
    by ``key`` in :data:`_RUNNING`, which only the GUI thread touches.
    """

    def __init__(self, key: int, fn: Callable[[Progress], Any]) -> None:
        self.key = key
        self._dispatcher = _dispatcher()  # made on the GUI thread; immortal, so safe to hold here
        self._fn: Callable[[Progress], Any] | None = fn
        self._lock = threading.Lock()
        self._latest: ProgressUpdate | None = None
        self._outcome: tuple[bool, Any] | None = None
        self.progress = Progress(self)

    def execute(self) -> None:
        """Runs on the worker. Keeps no local reference to the result or the exception, so the
        GUI thread, which takes them out of the job, is the one that lets them go."""
        fn = self._fn
        if fn is None:
            return
        try:
            self._outcome = (True, fn(self.progress))
        except BaseException as exc:  # delivered to on_failure; nothing escapes a pool thread
            self._outcome = (False, exc)
            if isinstance(exc, PermissionDenied):
                for record in list(_refusal_recorder):
                    record(exc)  # never raises: UserService.record_refusal logs what it cannot write
        del fn
        self._dispatcher.post(self, _DONE)

    def post_progress(self, update: ProgressUpdate) -> None:
        with self._lock:
            pending = self._latest is not None
            self._latest = update
        if not pending:
            self._dispatcher.post(self, _PROGRESS)

    def take_progress(self) -> ProgressUpdate | None:
        with self._lock:
            update, self._latest = self._latest, None
        return update

    def take_outcome(self) -> tuple[bool, Any]:
        """GUI thread: the outcome, and let go of the function (its closure dies here, not on a worker)."""
        outcome, self._outcome, self._fn = self._outcome, None, None
        assert outcome is not None
        return outcome


_PROGRESS, _DONE = "progress", "done"


class _Dispatcher(QObject):
    """One per process, on the GUI thread, never deleted while the app runs.

    Workers append ``(job, kind)`` to a locked queue and, when it was empty, post one queued call
    to :meth:`drain` (``QMetaObject.invokeMethod``; no per-operation signal). The only Qt object a
    worker ever references is this immortal one, so no Qt object's lifetime ends on a worker.
    """

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._queue: deque[tuple[_Job, str]] = deque()
        self._wake_pending = False

    def post(self, job: _Job, kind: str) -> None:
        """Any thread."""
        with self._lock:
            self._queue.append((job, kind))
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            QMetaObject.invokeMethod(self, "drain", Qt.ConnectionType.QueuedConnection)

    @Slot()
    def drain(self) -> None:
        """GUI thread: deliver every queued message in order (progress before the outcome)."""
        with self._lock:
            self._wake_pending = False
        while True:
            with self._lock:
                if not self._queue:
                    return
                job, kind = self._queue.popleft()
            op = _RUNNING.get(job.key)
            if op is None:
                continue
            try:
                op._deliver(job, kind)
            except BaseException:
                self._wake_again()  # a raising callback must not strand the messages behind it
                raise

    def _wake_again(self) -> None:
        with self._lock:
            wake = bool(self._queue) and not self._wake_pending
            self._wake_pending = self._wake_pending or wake
        if wake:
            QMetaObject.invokeMethod(self, "drain", Qt.ConnectionType.QueuedConnection)


_DISPATCHER: _Dispatcher | None = None
_DISPATCHER_LOCK = threading.Lock()


def _dispatcher() -> _Dispatcher:
    """The process's dispatcher (created on the GUI thread by the first ``run_in_background``)."""
    global _DISPATCHER
    with _DISPATCHER_LOCK:
        if _DISPATCHER is None or not shiboken6.isValid(_DISPATCHER):
            _DISPATCHER = _Dispatcher()
        return _DISPATCHER


class _Runner(QRunnable):
    """Deleted by the pool on the worker thread; holds nothing but the plain-Python job."""

    def __init__(self, job: _Job) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._job = job

    def run(self) -> None:
        self._job.execute()


class BackgroundOperation(QObject, Generic[T]):
    """A handle on one running operation: ``cancel()`` asks it to stop; ``finished`` fires once.

    Lives on the GUI thread and is only ever referenced from there (workers see its :class:`_Job`).
    """

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
        self._job = _Job(next(_KEYS), fn)
        self.progress = self._job.progress

    def cancel(self) -> None:
        self.progress.cancel()

    def _parent_alive(self) -> bool:
        return shiboken6.isValid(self._parent)

    def _deliver(self, job: _Job, kind: str) -> None:
        if kind == _PROGRESS:
            self._deliver_progress()
            return
        self._deliver_progress()  # a last report must not arrive after the outcome
        ok, value = job.take_outcome()
        self._finish()
        if not ok:  # the error boundary: a page only ever sees a failure in a person's words
            value = person_facing(value, self.label)
        if not self._parent_alive():
            return
        if ok:
            self._on_success(value)
        elif self._on_failure is not None:
            self._on_failure(value)
        else:
            show_failure(self._parent, self.label, value)

    def _deliver_progress(self) -> None:
        update = self._job.take_progress()
        if update is not None and self._on_progress is not None and not self.done and self._parent_alive():
            self._on_progress(update)

    def _finish(self) -> None:
        self.done = True
        _RUNNING.pop(self._job.key, None)
        # Not ``self.finished.emit()``: PySide6 6.12's ``SignalInstance.emit`` returns ``True``
        # without a reference, so every call costs ``True`` one refcount and a long session
        # eventually aborts in ``bool_dealloc``. Invoking the signal through the meta-object is the
        # same direct emission without that leak.
        QMetaObject.invokeMethod(self, "finished", Qt.ConnectionType.DirectConnection)


_KEYS = itertools.count(1)
#: Operations whose outcome has not been delivered, by job key. GUI thread only.
_RUNNING: dict[int, BackgroundOperation[Any]] = {}


def running_operations() -> int:
    """How many operations have not delivered their outcome yet (shutdown waits on these)."""
    return len(_RUNNING)


def run_in_background(
    parent: QObject,
    fn: Callable[[Progress], T],
    *,
    on_success: Callable[[T], None],
    on_failure: Callable[[BaseException], None] | None = None,
    on_progress: Callable[[ProgressUpdate], None] | None = None,
    label: str | None = None,
    pool: QThreadPool | None = None,
    long_running: bool = False,
) -> BackgroundOperation[T]:
    """Run ``fn(progress)`` on a worker; callbacks run on the GUI thread. Call from the GUI thread.

    Args:
        parent: the widget that asked; if it is deleted first, callbacks are skipped.
        fn: the work. Receives a :class:`Progress` to report with and to poll for cancellation.
        on_success: receives ``fn``'s return value.
        on_failure: receives the failure in a person's words (:func:`~desktop.views.ops_failure.person_facing`:
            a service's ``AppError`` as raised, anything else explained); default: the failure dialog.
        on_progress: receives the latest :class:`ProgressUpdate`.
        label: a human name for the operation (logs and the default error box).
        pool: thread pool (default: the global one, which serves reads).
        long_running: a sync, import, reconcile or export — it runs on :func:`long_operations_pool`,
            so the reads a page makes meanwhile (grid rows, a pre-flight) never queue behind it.
    """
    app = QApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("run_in_background must be called on the GUI thread")
    _dispatcher()  # first use creates it here, on the GUI thread
    _enough_readers()
    op: BackgroundOperation[T] = BackgroundOperation(parent, fn, on_success, on_failure, on_progress, label)
    _RUNNING[op._job.key] = op
    chosen = pool or (long_operations_pool() if long_running else QThreadPool.globalInstance())
    chosen.start(_Runner(op._job))
    return op


#: Reads wait on the database or the network, not the CPU: the global pool keeps at least this many
#: threads whatever the core count, so one slow read never leaves the others queued behind it.
READ_THREADS = 8


def _enough_readers() -> None:
    pool = QThreadPool.globalInstance()
    if pool.maxThreadCount() < READ_THREADS:
        pool.setMaxThreadCount(READ_THREADS)


#: Threads for long operations; reads keep the global pool (its size follows the CPU count, so on
#: a two-core machine one sync and one reconcile would otherwise take every thread reads have).
LONG_OPERATION_THREADS = 4
_LONG_POOL: QThreadPool | None = None


def long_operations_pool() -> QThreadPool:
    """The pool long operations run on (GUI thread; created on first use, lives as long as the app)."""
    global _LONG_POOL
    if _LONG_POOL is None or not shiboken6.isValid(_LONG_POOL):
        _LONG_POOL = QThreadPool()
        _LONG_POOL.setMaxThreadCount(LONG_OPERATION_THREADS)
    return _LONG_POOL


def wait_for_operations(msecs: int) -> None:
    """Shutdown: let the work on both pools finish (at most ``msecs`` each) before services stop."""
    QThreadPool.globalInstance().waitForDone(msecs)
    if _LONG_POOL is not None and shiboken6.isValid(_LONG_POOL):
        _LONG_POOL.waitForDone(msecs)
