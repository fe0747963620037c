"""A one-line progress display on stderr for long commands; quiet with ``--json`` or when stderr is no terminal.

Standard output stays for the result (text or JSON); the bar is redrawn in place (``\\r``) at most
ten times a second and cleared before the result is printed, so a pipe or a log never sees it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from typing import TextIO

__all__ = ["StderrBar"]


class StderrBar:
    """Call :meth:`show` with each new line of text; :meth:`close` clears it."""

    def __init__(self, args: argparse.Namespace, stream: TextIO | None = None, *, interval: float = 0.1) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.enabled = not getattr(args, "json", False) and self._isatty()
        self._interval = interval
        self._last = 0.0
        self._width = 0

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

    def close(self) -> None:
        """Clear the line (the result follows on stdout)."""
        if self.enabled and self._width:
            with contextlib.suppress(OSError):
                self._stream.write("\r" + " " * self._width + "\r")
                self._stream.flush()
            self._width = 0
