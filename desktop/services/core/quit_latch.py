"""Ctrl+C and SIGTERM during start-up: remembered, acted on once the app can shut down cleanly.

Starting the GUI takes a few seconds (migrations, the embedded sandbox, the window). A signal in
that time used to hit Python's default handlers — a ``KeyboardInterrupt`` in the middle of
building services, or an outright kill — leaving a half-started app and, in demo mode, its
throwaway folder behind. :func:`install` replaces both handlers first thing with one that only
sets an event; the composition root checks it after building, and the shell checks it once its
own signal wiring is in place, so the app always shuts down through its normal path.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["QuitLatch", "install"]


class QuitLatch:
    """Set by SIGINT/SIGTERM; ``requested()`` says whether one arrived."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._previous: dict[int, Any] = {}

    def requested(self) -> bool:
        return self._event.is_set()

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._event.set()

    def restore(self) -> None:
        """Put back the handlers that were there before :func:`install`."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


def install() -> QuitLatch:
    """A latch whose handlers are installed now (only the main thread can install handlers; on any
    other thread the latch never fires and the default handlers stay)."""
    latch = QuitLatch()
    if threading.current_thread() is threading.main_thread():
        handler: Callable[[int, object], None] = latch._on_signal
        for sig in (signal.SIGINT, signal.SIGTERM):
            latch._previous[sig] = signal.signal(sig, handler)
    return latch
