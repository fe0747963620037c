"""The views' one kind of timer: call a slot once, a moment after it was started.

Filters wait for the typing to pause, pages refresh once after a burst of events, the event
bridge and the tray gather what arrives within a moment — each a single-shot ``QTimer`` with an
interval and a slot. Built here, once.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

__all__ = ["single_shot_timer"]


def single_shot_timer(parent: QObject, interval_ms: int, slot: Callable[[], object]) -> QTimer:
    """A single-shot timer owned by ``parent`` that calls ``slot`` ``interval_ms`` after ``start()``
    (a ``start()`` while it waits restarts the wait)."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer
