"""One way for a long operation to say how far it is and to be asked to stop.

Sync, reconcile and exports (and the file import, through its own figures in
:mod:`desktop.services.rms.progress`) report ``done`` of ``total`` with a line of text, and look
at ``cancelled`` only where stopping is safe: between documents or batches, between phases, before
a file is put in place. Whoever starts the work supplies the :class:`OperationProgress`: the
views' ``Progress`` (a bar and a Cancel button), the CLI's bar on stderr (``Tracker`` with a
callback; Ctrl+C cancels), or nothing (:data:`NO_PROGRESS`).

A chain of steps that does not pass the object down every call (the scheduler → the pipeline's
steps → the poster) puts it in effect for the thread with :func:`reporting`; a step reads it with
:func:`current`. Nothing here imports Qt.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import IO, Protocol

from desktop.services.core.errors import AppError, ErrorKind

__all__ = ["NO_PROGRESS", "OperationCancelled", "OperationProgress", "Tracker", "bar_line", "check", "current",
           "fraction", "replace_when_done", "reporting"]


class OperationProgress(Protocol):
    """What a long operation is handed (the views' ``Progress`` is one)."""

    @property
    def cancelled(self) -> bool: ...

    def report(self, done: int, total: int | None = None, message: str = "") -> None: ...


class Tracker:
    """A plain :class:`OperationProgress`: reports go to ``on_report``; :meth:`cancel` (any thread) asks to stop."""

    def __init__(self, on_report: Callable[[int, int | None, str], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        self._on_report = on_report
        self._stop = stop if stop is not None else threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def cancel(self) -> None:
        self._stop.set()

    def report(self, done: int, total: int | None = None, message: str = "") -> None:
        if self._on_report is not None:
            self._on_report(done, total, message)


class _Nothing:
    cancelled = False

    def report(self, done: int, total: int | None = None, message: str = "") -> None:
        return None


#: Reports go nowhere and nobody cancels.
NO_PROGRESS: OperationProgress = _Nothing()


class OperationCancelled(AppError):
    """The person asked an operation to stop, and it stopped where that was safe (``message`` says what stays)."""

    kind = ErrorKind.NEEDS_PERSON


_CURRENT: ContextVar[OperationProgress] = ContextVar("operation_progress", default=NO_PROGRESS)


@contextlib.contextmanager
def reporting(progress: OperationProgress | None) -> Iterator[OperationProgress]:
    """Put ``progress`` in effect for the work this thread does inside the block (None: nothing)."""
    chosen = progress if progress is not None else NO_PROGRESS
    token = _CURRENT.set(chosen)
    try:
        yield chosen
    finally:
        _CURRENT.reset(token)


def current() -> OperationProgress:
    """The progress in effect (:func:`reporting`), or :data:`NO_PROGRESS`."""
    return _CURRENT.get()


@contextlib.contextmanager
def replace_when_done(path: Path, progress: OperationProgress | None = None, *,
                      what: str = "export") -> Iterator[IO[str]]:
    """Write a text file beside ``path`` and put it in place only when the block succeeds.

    A failure, or a cancel seen on leaving the block, deletes the partial file: ``path`` is either
    the whole new file or what it was before, never half of one. Raises :class:`OperationCancelled`
    when ``progress`` was cancelled."""
    part = path.with_name(f".{path.name}.part")
    try:
        with part.open("w", newline="", encoding="utf-8") as f:
            yield f
        if progress is not None and progress.cancelled:
            raise OperationCancelled(f"The {what} was stopped on request; {path.name} was not written")
        os.replace(part, path)
    finally:
        with contextlib.suppress(OSError):
            part.unlink()


def write_file(path: Path, text: str, *, what: str = "export") -> Path:
    """The one way a file the app writes for a person reaches the disk: whole, or not at all
    (:func:`replace_when_done` — a full disk or a crash never leaves half an export in ``path``)."""
    with replace_when_done(path, what=what) as f:
        f.write(text)
    return path


def check(progress: OperationProgress | None, message: str) -> None:
    """Raise :class:`OperationCancelled` with ``message`` if ``progress`` was asked to stop."""
    if progress is not None and progress.cancelled:
        raise OperationCancelled(message)


def bar_line(fraction: float | None, message: str, width: int = 30) -> str:
    """A one-line text bar, ``[#####-----]  42 %  message`` (just ``message`` when the share is unknown)."""
    if fraction is None:
        return message
    fraction = min(1.0, max(0.0, fraction))
    done = round(fraction * width)
    return f"[{'#' * done}{'-' * (width - done)}] {fraction * 100:3.0f} %  {message}"


def fraction(done: int, total: int | None) -> float | None:
    """``done`` of ``total`` as a share (None when the total is unknown or zero)."""
    return done / total if total else None
