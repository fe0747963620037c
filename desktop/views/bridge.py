"""Carries service events from any thread onto the GUI thread, in batches.

The ``EventBus`` calls subscribers on whatever thread published. Widgets may only be touched on the
GUI thread, and a burst of 50k events must not post 50k queued calls. So the bus callback only
appends to a locked buffer; the first event of a burst posts one queued "wake" to the GUI thread,
which starts a short timer; when it fires, the whole buffer is handed on as one list through
:attr:`EventBridge.events_arrived`. One burst → one model insert → one repaint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from desktop.views.timers import single_shot_timer

if TYPE_CHECKING:
    from desktop.services.core.events import Event, EventBus
class EventBridge(QObject):
    """Subscribes to a bus; emits ``events_arrived(list[Event])`` on the GUI thread.

    Create it on the GUI thread. Call :meth:`close` (or let the parent delete it) before the bus
    goes away; after ``close`` late events from workers are dropped, never delivered to a dead object.
    """

    events_arrived = Signal(list)
    _wake = Signal()

    def __init__(self, bus: EventBus, parent: QObject | None = None, *,
                 batch_interval_ms: int = 50, kinds: Iterable[str] | None = None,
                 max_batch: int = 5000) -> None:
        """``kinds`` limits the bridge to those event kinds (``"subject.*"`` prefixes allowed), so a
        listener that cares about three kinds (the tray) never buffers a 50,000-event burst.
        ``max_batch`` caps one delivery: a bigger backlog is handed on in slices, one per turn of
        the event loop, so inserting it never holds the GUI thread for long."""
        super().__init__(parent)
        self._lock = threading.Lock()
        self._buffer: list[Event] = []
        self._closed = False
        self._max_batch = max_batch
        self._timer = single_shot_timer(self, batch_interval_ms, self._flush)
        self._wake.connect(self._on_wake, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe: Callable[[], None] | None = bus.subscribe(self._on_bus_event, kinds=kinds)

    def _on_bus_event(self, event: Event) -> None:
        """Bus callback; runs on the publisher's thread, so it only buffers."""
        with self._lock:
            if self._closed:
                return
            first = not self._buffer
            self._buffer.append(event)
            if first:
                try:
                    self._wake.emit()  # queued: posts one event to the GUI thread, returns at once
                except RuntimeError:  # the Qt object is already gone (shutdown race): drop quietly
                    self._closed = True

    @Slot()
    def _on_wake(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    @Slot()
    def _flush(self) -> None:
        with self._lock:
            batch, self._buffer = self._buffer[:self._max_batch], self._buffer[self._max_batch:]
            more = bool(self._buffer)
        if more:  # the rest goes next turn, after input and paint events had their chance
            QTimer.singleShot(0, self, self._flush)
        if batch:
            self.events_arrived.emit(batch)

    def pending(self) -> int:
        """Events buffered but not yet delivered (for tests and the shutdown log)."""
        with self._lock:
            return len(self._buffer)

    def close(self) -> None:
        """Stop listening; idempotent. Delivers nothing further."""
        with self._lock:
            self._closed = True
            self._buffer.clear()
            unsubscribe, self._unsubscribe = self._unsubscribe, None
        self._timer.stop()
        if unsubscribe is not None:
            unsubscribe()
