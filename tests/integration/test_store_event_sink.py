"""The event-log sink: events published on many threads all land in the database, redacted."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from desktop.services.core.clock import ManualClock
from desktop.services.core.events import Event, EventBus, Severity
from desktop.services.store.db import Database
from desktop.services.store.event_sink import EventLogSink, as_event, recent_events
from desktop.services.store.models import EventLog
from desktop.services.store.testing import T0

pytestmark = pytest.mark.db


@pytest.fixture
def bus() -> EventBus:
    return EventBus(clock=ManualClock(T0, tick=timedelta(milliseconds=1)))


@pytest.fixture
def sink(db: Database, bus: EventBus) -> Iterator[EventLogSink]:
    sink = EventLogSink(db, batch_size=50)
    sink.attach(bus)
    yield sink
    sink.close()


def _count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(EventLog)) or 0


def test_events_from_many_threads_are_all_persisted(db: Database, bus: EventBus, sink: EventLogSink) -> None:
    threads, per_thread = 8, 60
    barrier = threading.Barrier(threads)
    published: list[list[Event]] = [[] for _ in range(threads)]

    def work(n: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            severity = Severity.ERROR if i % 10 == 0 else Severity.INFO
            published[n].append(bus.emit("document.posted", severity, f"worker {n} posted {i}",
                                         org=f"ORG{n % 2}", rma=f"RMA-{n}-{i}",
                                         details={"n": n, "i": i, "amount": Decimal("12.30")}))

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)

    assert sink.flush(timeout=30)
    expected = {e.event_id: e for batch in published for e in batch}
    assert len(expected) == threads * per_thread
    with db.session() as session:
        rows = {r.event_id: r for r in session.scalars(sa.select(EventLog))}
    assert rows.keys() == expected.keys()
    assert sink.written == threads * per_thread and sink.dropped == 0
    for event_id, event in expected.items():
        row = rows[event_id]
        assert (row.kind, row.severity, row.level, row.message, row.org, row.rma) == (
            event.kind, event.severity.value, event.severity.rank, event.message, event.org, event.rma)
        assert row.occurred_at == event.occurred_at and row.occurred_at.tzinfo is not None
        assert row.details == dict(event.details)
        assert as_event(row) == event


def test_secrets_never_reach_the_event_log(db: Database, bus: EventBus, sink: EventLogSink) -> None:
    bus.emit("auth.token_refreshed", "info", "refreshed with Bearer eyJhbGciOiJSUzI1NiJ9.abc.def",
             platform="qbo",
             details={"refresh_token": "AB11-secret-refresh", "nested": {"client_secret": "client-s3cr3t-value"},
                      "url": "https://x.test/cb?code=AUTHCODE123&state=ok"})
    assert sink.flush()
    with db.session() as session:
        stored = session.execute(sa.text("SELECT message, details FROM event_log")).one()
    text = f"{stored[0]} {stored[1]}"
    for secret in ("eyJhbGciOiJSUzI1NiJ9", "AB11-secret-refresh", "client-s3cr3t-value", "AUTHCODE123"):
        assert secret not in text
    assert "***" in text


def test_recent_events_filters(db: Database, bus: EventBus, sink: EventLogSink) -> None:
    bus.emit("sync.started", "debug", "tick", org="ACME")
    bus.emit("sync.started", "info", "run started", org="ACME")
    warn = bus.emit("ledger.throttled", "warning", "slow down", org="GLOBEX")
    err = bus.emit("document.failed", "error", "rejected", org="ACME", platform="xero", platform_code="400",
                   platform_message="Account code is not valid")
    assert sink.flush()

    newest_first = recent_events(db, limit=10)
    assert [r.message for r in newest_first] == ["rejected", "slow down", "run started", "tick"]
    assert [r.message for r in recent_events(db, limit=2)] == ["rejected", "slow down"]
    assert [r.message for r in recent_events(db, min_severity=Severity.WARNING)] == ["rejected", "slow down"]
    assert [r.message for r in recent_events(db, min_severity="error", org="ACME")] == ["rejected"]
    assert [r.message for r in recent_events(db, org="GLOBEX")] == ["slow down"]
    assert [r.message for r in recent_events(db, kinds=["sync.started"])] == ["run started", "tick"]
    warn_id = next(r.id for r in newest_first if r.event_id == warn.event_id)
    assert [r.event_id for r in recent_events(db, after_id=warn_id)] == [err.event_id]
    assert newest_first[0].platform_message == "Account code is not valid"


def test_the_same_event_twice_is_stored_once(db: Database, bus: EventBus, sink: EventLogSink) -> None:
    other_bus = EventBus(clock=bus.clock)
    sink.attach(other_bus)
    event = bus.emit("document.posted", "info", "posted")
    other_bus.publish(event)
    assert sink.flush()
    assert _count(db) == 1


def test_close_writes_what_is_queued_then_detaches(db: Database, bus: EventBus) -> None:
    sink = EventLogSink(db)
    sink.attach(bus)
    for i in range(120):
        bus.emit("rms.return_ingested", "info", f"ingested {i}")
    sink.close()
    assert _count(db) == 120
    assert bus.subscriber_count == 0

    bus.emit("rms.return_ingested", "info", "after close")
    assert _count(db) == 120
    sink.close()  # idempotent


@pytest.mark.allow_log_warnings
def test_a_full_queue_drops_instead_of_blocking_publishers(
    db: Database, bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    sink = EventLogSink(db, max_queue=5)
    try:
        # Hold the sink's writes back so its queue fills: SQLite's one writer, or a table lock.
        with db.write_session() as blocker:
            if not db.is_sqlite:
                blocker.execute(sa.text("LOCK TABLE event_log IN EXCLUSIVE MODE"))
            for i in range(50):
                sink.handle(Event("sync.started", Severity.INFO, f"e{i}", bus.clock.now()))
            dropped = sink.dropped
        assert sink.flush(timeout=30)
    finally:
        sink.close()
    assert dropped > 0
    assert _count(db) + sink.dropped == 50
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in errors] == [f"event log queue was full: {dropped} events were dropped"]
