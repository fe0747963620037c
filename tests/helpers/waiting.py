"""Waiting for what sends no event (a file, another process's rows, a flag): a condition with a deadline.

Prefer an event (the world's :meth:`~tests.helpers.worlds.World.wait_for`, ``threading.Event``,
``qtbot.waitSignal``); this is for the rest. It never sleeps a fixed time to hope something happened:
it returns as soon as the condition holds and fails with ``what`` when the deadline passes.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

#: The least time any wait gives its event, in seconds. A deadline is a failure detector, not a
#: timing: every wait returns the moment its event comes, so a long deadline costs a green run
#: nothing, while a short one turns a loaded machine (2 cores, another suite alongside) red.
PATIENCE = 60.0


def wait_until(condition: Callable[[], object], timeout: float = 10.0, *, what: str = "the condition",
               interval: float = 0.01) -> None:
    """Return once ``condition()`` is true; fail after ``timeout`` seconds naming ``what``."""
    timeout = max(timeout, PATIENCE)
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        pause.wait(interval)


def patient_qtbot() -> None:
    """Give every pytest-qt wait (``waitUntil``, ``waitSignal``…) at least :data:`PATIENCE`; a test's
    own shorter ``timeout=`` was written for a quiet machine. A timeout of 0 or None (wait forever)
    is left alone. Called once from ``tests/conftest.py``."""
    from pytestqt.qtbot import QtBot

    if getattr(QtBot, "_rls_patient", False):
        return
    floor_ms = int(PATIENCE * 1000)
    for name in ("waitUntil", "waitSignal", "waitSignals", "waitCallback", "waitExposed", "waitActive"):
        original = getattr(QtBot, name)

        def patient(self: Any, *args: Any, _original: Any = original, timeout: int | None = 5000,
                    **kwargs: Any) -> Any:
            return _original(self, *args, timeout=max(timeout, floor_ms) if timeout else timeout, **kwargs)

        setattr(QtBot, name, functools.wraps(original)(patient))
    QtBot._rls_patient = True  # type: ignore[attr-defined]
