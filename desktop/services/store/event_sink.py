"""Persist every published :class:`~desktop.services.core.events.Event` into ``event_log``.

Publishing happens on whatever thread did the work (sync workers, the scheduler, HTTP callbacks),
and the bus delivers synchronously, so the sink's callback must be cheap: it only puts the event
on a bounded queue. One writer thread drains the queue in batches — one short write transaction
per batch, which also suits SQLite's single-writer rule. :meth:`EventLogSink.flush` waits until
everything published so far is on disk; :meth:`EventLogSink.close` flushes and stops the thread.

If the queue is full (the database is stalled and events keep coming) new events are dropped and
counted rather than blocking the workers; the writer logs how many it lost. Writing the same
event twice (one event published on two buses) is harmless: ``event_id`` is unique and
duplicates are skipped.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select

from desktop.services.core.events import Event, EventBus, Severity, redact
from desktop.services.core.redaction import redact_flat
from desktop.services.store.bulk_insert import BulkWriter, row_keys
from desktop.services.store.db import Database
from desktop.services.store.models import EventLog

__all__ = ["EventLogSink", "as_event", "recent_events"]

logger = logging.getLogger(__name__)

_STOP = object()


def _row(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "kind": event.kind,
        "severity": event.severity.value,
        "level": event.severity.rank,
        "message": event.message,
        "occurred_at": event.occurred_at,
        "org": event.org,
        "rma": event.rma,
        "document_key": event.document_key,
        "platform": event.platform,
        "platform_code": event.platform_code,
        "platform_message": event.platform_message,
        # Event already redacts; doing it again here costs little and guards against a subclass
        # or a future change that forgets to (flat details — most events' — in one pass).
        "details": _redacted(event.details),
    }


def _redacted(details: Any) -> dict[str, Any]:
    flat = redact_flat(details)
    return flat if flat is not None else redact(dict(details))


class EventLogSink:
    """Writes events to the event log from a background thread.

    Args:
        database: where to write.
        batch_size: most events per write transaction.
        max_queue: events held in memory while the database catches up; beyond that, dropped.
    """

    def __init__(self, database: Database, *, batch_size: int = 500, max_queue: int = 50_000) -> None:
        self._db = database
        self._batch_size = batch_size
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._cond = threading.Condition()
        self._enqueued = 0   # events accepted onto the queue
        self._settled = 0    # events written (or given up on)
        self._dropped = 0    # events refused because the queue was full or the sink closed
        self._written = 0
        self._dropped_reported = 0
        self._closed = False
        self._unsubscribers: list[Callable[[], None]] = []
        self._thread = threading.Thread(target=self._run, name="event-log-writer", daemon=True)
        self._thread.start()

    # -- the publishing side (any thread) -------------------------------------------------------

    def attach(self, bus: EventBus) -> Callable[[], None]:
        """Subscribe to every event on ``bus``; returns a function that detaches again."""
        unsubscribe = bus.subscribe(self.handle)
        with self._cond:
            self._unsubscribers.append(unsubscribe)
        return unsubscribe

    def handle(self, event: Event) -> None:
        """The bus callback: queue ``event`` for writing (never blocks)."""
        with self._cond:
            if self._closed:
                self._dropped += 1
                return
            try:
                self._queue.put_nowait(event)
            except queue.Full:
                self._dropped += 1
                return
            self._enqueued += 1

    # -- control ---------------------------------------------------------------------------------

    @property
    def written(self) -> int:
        """Events written so far (duplicates skipped by the database count as written)."""
        return self._written

    @property
    def dropped(self) -> int:
        """Events lost because the queue was full or the sink was already closed."""
        return self._dropped

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every event queued before this call is written; False on timeout."""
        with self._cond:
            target = self._enqueued
            return self._cond.wait_for(lambda: self._settled >= target, timeout=timeout)

    def close(self, timeout: float | None = 10.0) -> None:
        """Detach from every bus, write what is queued, and stop the writer thread."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            unsubscribers, self._unsubscribers = self._unsubscribers, []
        for unsubscribe in unsubscribers:
            unsubscribe()
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.error("event log writer did not stop within %s s", timeout)

    # -- the writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            batch: list[Event] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                elif isinstance(item, Event):
                    batch.append(item)
                if len(batch) >= self._batch_size:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._write(batch)
        # Anything put after the stop marker (a race with close()) is written too.
        rest: list[Event] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, Event):
                rest.append(item)
        if rest:
            self._write(rest)

    def _write(self, batch: Sequence[Event]) -> None:
        try:
            rows = [_row(event) for event in batch]
            with self._db.write_session() as session, BulkWriter(session) as writer:
                shape = writer.shape(EventLog, row_keys(rows))
                writer.many(shape, shape.tuples(rows), " ON CONFLICT (event_id) DO NOTHING")
        except Exception:
            logger.exception("could not write %d events to the event log; they are lost", len(batch))
        else:
            self._written += len(batch)
        with self._cond:
            self._settled += len(batch)
            newly_dropped = self._dropped - self._dropped_reported
            self._dropped_reported = self._dropped
            self._cond.notify_all()
        if newly_dropped:
            logger.error("event log queue was full: %d events were dropped", newly_dropped)


def recent_events(
    database: Database,
    limit: int = 200,
    min_severity: Severity | str | None = None,
    org: str | None = None,
    *,
    after_id: int | None = None,
    kinds: Sequence[str] | None = None,
) -> list[EventLog]:
    """The newest events first, as detached rows (safe to hand to a view).

    Args:
        limit: at most this many rows.
        min_severity: only this severity and worse (``"warning"`` → WARNING, ERROR, CRITICAL).
        org: only events about this organization code.
        after_id: only rows newer than this id — a live pane polls with the last id it has.
        kinds: only these exact kinds.
    """
    stmt = select(EventLog).order_by(EventLog.id.desc()).limit(limit)
    if min_severity is not None:
        stmt = stmt.where(EventLog.level >= Severity.parse(min_severity).rank)
    if org is not None:
        stmt = stmt.where(EventLog.org == org)
    if after_id is not None:
        stmt = stmt.where(EventLog.id > after_id)
    if kinds is not None:
        stmt = stmt.where(EventLog.kind.in_(list(kinds)))
    with database.session() as session:
        return list(session.scalars(stmt))


def as_event(row: EventLog) -> Event:
    """Rebuild the :class:`Event` a row was written from (for alerting or re-display)."""
    return Event(
        kind=row.kind,
        severity=Severity.parse(row.severity),
        message=row.message,
        occurred_at=row.occurred_at,
        org=row.org,
        rma=row.rma,
        document_key=row.document_key,
        platform=row.platform,
        platform_code=row.platform_code,
        platform_message=row.platform_message,
        details=row.details,
        event_id=row.event_id,
    )
