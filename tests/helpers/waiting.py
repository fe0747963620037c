"""Waiting for what sends no event (a file, another process's rows, a flag): a condition with a deadline.

Prefer an event (the world's :meth:`~tests.helpers.worlds.World.wait_for`, ``threading.Event``,
``qtbot.waitSignal``); this is for the rest. It never sleeps a fixed time to hope something happened:
it returns as soon as the condition holds and fails with ``what`` when the deadline passes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float = 10.0, *, what: str = "the condition",
               interval: float = 0.01) -> None:
    """Return once ``condition()`` is true; fail after ``timeout`` seconds naming ``what``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        pause.wait(interval)
