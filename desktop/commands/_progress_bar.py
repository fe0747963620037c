"""A one-line progress display on stderr for long commands; quiet with ``--json`` or when stderr is no terminal.

Standard output stays for the result (text or JSON); the bar is redrawn in place (``\\r``) at most
ten times a second and cleared before the result is printed, so a pipe or a log never sees it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

__all__ = ["StderrBar", "stop_on_interrupt"]


class StderrBar:
    """Call :meth:`show` with each new line of text; :meth:`close` clears it."""

    def __init__(self, args: argparse.Namespace, stream: TextIO | None = None, *, interval: float = 0.1) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = not getattr(args, "json", False) and self._isatty()
        self._interval = interval
        self._last = 0.0
        self._width = 0
        self._drawing = threading.Lock()

    def _isatty(self) -> bool:
        try:
            return bool(self._stream.isatty())
        except (AttributeError, ValueError):
            return False

    def show(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        with contextlib.suppress(OSError):
            self._stream.write("\r" + text.ljust(self._width))
            self._stream.flush()
        self._width = len(text)

    def counts(self, done: int, total: int | None, message: str) -> None:
        """Draw ``done`` of ``total`` (a bar when the total is known) and ``message``: a
        :class:`~desktop.services.core.progress.Tracker`'s callback. Safe from several threads."""
        from desktop.services.core.progress import bar_line, fraction
        with self._drawing:
            self.show(bar_line(fraction(done, total), message))

    def close(self) -> None:
        """Clear the line (the result follows on stdout)."""
        if self.enabled and self._width:
            with contextlib.suppress(OSError):
                self._stream.write("\r" + " " * self._width + "\r")
                self._stream.flush()
            self._width = 0


@contextlib.contextmanager
def stop_on_interrupt(what: str = "Stopping after the batch being written…") -> Iterator[threading.Event]:
    """The first Ctrl+C sets the event (the work stops where it is safe); a second one interrupts at once."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def first(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with contextlib.suppress(OSError):
            print(f"\n{what} (Ctrl+C again to stop at once)", file=sys.stderr)  # noqa: T201

    previous = signal.signal(signal.SIGINT, first)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
