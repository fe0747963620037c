"""The outbox on its own, on SQLite and PostgreSQL: enqueue once, lease, reclaim, back off, count."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from desktop.services.core import keys
from desktop.services.core.errors import NeedsPersonError, TransientError
from desktop.services.core.money import Money
from desktop.services.pipeline import outbox
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    ConnectionStatus,
    LedgerConnection,
    LedgerEnvironment,
    Organization,
    OutboxDocument,
    OutboxStatus,
    Platform,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[tuple[Database, int, int]]:
    upgrade(db_url)
    database = Database(db_url)
    with database.write_session() as s:
        org = Organization(code="ACME-US", name="Acme", platform=Platform.QBO, timezone="UTC", home_currency="USD",
                           settings={}, created_at=NOW, updated_at=NOW)
        s.add(org)
        s.flush()
        conn = LedgerConnection(organization_id=org.id, platform=Platform.QBO, environment=LedgerEnvironment.LOCAL,
                                remote_id="123", credential_ref="ref-1", status=ConnectionStatus.CONNECTED,
                                created_at=NOW, updated_at=NOW)
        s.add(conn)
        s.flush()
        ids = (org.id, conn.id)
    yield database, *ids
    database.dispose()


def doc(n: int, *, depends_on: str | None = None, role: str = "fee_journal") -> LedgerDocument:
    key = keys.idempotency_key("ACME-US", f"R{n}", 1, role)
    payload = {"TxnDate": "2026-11-20", "PrivateNote": keys.memo_text(key, f"RMA-{n}", 1),
               "Line": [{"Amount": Decimal("10.05")}]}
    return LedgerDocument(role=role, platform="qbo", doc_type="JournalEntry", idempotency_key=key,
                          txn_date=NOW.date(), currency="USD", total=Money(Decimal("10.05"), "USD"), payload=payload,
                          journal=(), source=("ACME-US", f"R{n}", 1), mapping_version=1, home_currency="USD",
                          depends_on=depends_on)


def test_enqueue_is_idempotent_and_exact(db: tuple[Database, int, int]) -> None:
    database, org, conn = db
    docs = [doc(n) for n in range(5)]
    with database.write_session() as s:
        assert len(outbox.enqueue(s, docs, org, conn, None, now=NOW)) == 5
    with database.write_session() as s:
        assert outbox.enqueue(s, [*docs, doc(9)], org, conn, None, now=NOW) == [doc(9).idempotency_key]
    with database.session() as s:
        rows = s.scalars(sa.select(OutboxDocument)).all()
        assert len(rows) == 6
        assert all(r.total == Money(Decimal("10.05"), "USD") and r.status is OutboxStatus.PENDING for r in rows)
        assert rows[0].payload["Line"][0]["Amount"] == Decimal("10.05")
        assert outbox.counts(s)["pending"] == 6


def test_two_planners_enqueueing_the_same_documents_insert_each_once(db: tuple[Database, int, int]) -> None:
    database, org, conn = db
    docs = [doc(n) for n in range(40)]
    inserted: list[list[str]] = []

    def plan() -> None:
        with database.write_session() as s:
            inserted.append(outbox.enqueue(s, docs, org, conn, None, now=NOW))

    threads = [threading.Thread(target=plan) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(len(i) for i in inserted) == [0, 0, 40]
    with database.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(OutboxDocument)) == 40


def test_claim_leases_due_documents_and_waits_for_dependencies(db: tuple[Database, int, int]) -> None:
    database, org, conn = db
    first, second = doc(1, role="credit_note"), doc(1, role="refund_payment")
    second = LedgerDocument(**{**second.__dict__, "depends_on": first.idempotency_key})
    with database.write_session() as s:
        outbox.enqueue(s, [second, first, doc(2)], org, conn, None, now=NOW)
    claimed = outbox.claim(database, "w1", conn, 10, 60, now=NOW)
    assert {r.idempotency_key for r in claimed} == {first.idempotency_key, doc(2).idempotency_key}
    assert all(r.status is OutboxStatus.IN_FLIGHT and r.lease_owner == "w1" for r in claimed)
    assert all(r.lease_expires_at == NOW + timedelta(seconds=60) for r in claimed)
    assert outbox.claim(database, "w2", conn, 10, 60, now=NOW) == [], "leased rows are not claimed twice"
    with database.write_session() as s:
        row = s.scalars(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == first.idempotency_key)).one()
        outbox.settle_posted(row, "77", "RMA-1-1C", "0", now=NOW)
    [payment] = outbox.claim(database, "w2", conn, 10, 60, now=NOW)
    assert payment.idempotency_key == second.idempotency_key


def test_expired_leases_come_back_uncertain_if_sent_else_pending(db: tuple[Database, int, int]) -> None:
    database, org, conn = db
    with database.write_session() as s:
        outbox.enqueue(s, [doc(1), doc(2)], org, conn, None, now=NOW)
    claimed = outbox.claim(database, "doomed", conn, 10, 30, now=NOW)
    outbox.mark_sent(database, [claimed[0].id], now=NOW)
    assert outbox.reclaim_expired(database, conn, now=NOW + timedelta(seconds=10)) == ([], 0), "lease still valid"
    uncertain, back = outbox.reclaim_expired(database, conn, now=NOW + timedelta(seconds=31))
    assert [r.idempotency_key for r in uncertain] == [claimed[0].idempotency_key] and back == 1
    with database.session() as s:
        counts = outbox.counts(s, connection_id=conn)
        assert (counts["uncertain"], counts["pending"], counts["in_flight"]) == (1, 1, 0)
        row = s.get(OutboxDocument, claimed[0].id)
        assert row is not None and row.attempts == 1 and row.sent_at == NOW


def test_failures_back_off_exponentially_with_jitter_then_quarantine(db: tuple[Database, int, int]) -> None:
    database, org, conn = db
    with database.write_session() as s:
        outbox.enqueue(s, [doc(1)], org, conn, None, now=NOW)
    backoff, rng = outbox.Backoff(base_s=10, cap_s=100), random.Random(3)
    waits: list[float] = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        [row] = outbox.claim(database, "w", conn, 1, 60, now=NOW + timedelta(days=attempt))
        outbox.mark_sent(database, [row.id], now=NOW)
        with database.write_session() as s:
            live = s.get(OutboxDocument, row.id)
            assert live is not None
            when = outbox.settle_failed(live, TransientError("throttled", platform="qbo", platform_code="3001"),
                                        now=NOW, backoff=backoff, rng=rng)
            if when is not None:
                waits.append((when - NOW).total_seconds())
                assert live.last_error is not None and live.last_error["platform_code"] == "3001"
    ceilings = [min(100, 10 * 2 ** (a - 1)) for a in range(1, len(waits) + 1)]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len(set(waits)) > len(waits) // 2, "jittered"
    with database.session() as s:
        row = s.scalars(sa.select(OutboxDocument)).one()
        assert row.status is OutboxStatus.QUARANTINED and row.attempts == outbox.MAX_ATTEMPTS
        assert row.last_error is not None and "gave up" in row.last_error["note"]


def test_retry_after_is_a_floor_and_quarantine_keeps_the_platforms_words(db: tuple[Database, int, int]) -> None:
    database, org, conn = db
    assert outbox.Backoff(base_s=1, cap_s=2).delay(1, random.Random(1), retry_after_s=30) == 30
    with database.write_session() as s:
        outbox.enqueue(s, [doc(1)], org, conn, None, now=NOW)
        row = s.scalars(sa.select(OutboxDocument)).one()
        outbox.settle_quarantined(row, NeedsPersonError("QuickBooks refused the document", platform="qbo",
                                                        platform_code="6210", platform_message="Account Period Closed"),
                                  now=NOW)
    with database.session() as s:
        err = s.scalars(sa.select(OutboxDocument.last_error)).one()
        assert err is not None
        assert (err["platform_code"], err["platform_message"]) == ("6210", "Account Period Closed")


def test_two_workers_claiming_at_once_get_disjoint_rows(db: tuple[Database, int, int]) -> None:
    database, org, conn = db
    with database.write_session() as s:
        outbox.enqueue(s, [doc(n) for n in range(60)], org, conn, None, now=NOW)
    got: dict[str, list[int]] = {}

    def work(name: str) -> None:
        mine: list[int] = []
        while rows := outbox.claim(database, name, conn, 7, 60, now=NOW):
            mine += [r.id for r in rows]
        got[name] = mine

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    every = [i for ids in got.values() for i in ids]
    assert len(every) == len(set(every)) == 60
