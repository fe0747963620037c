"""Four months of history for the Dashboard's tests (service and page): one connected organization's
outbox documents, reconciliations, refused duplicates and sync runs, relative to :data:`NOW`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from desktop.services.auth.roles import Actor, Role
from desktop.services.store.db import Database
from desktop.services.store.models import (
    EventLog,
    OutboxDocument,
    OutboxStatus,
    Platform,
    ReconciliationRun,
    ReconciliationStatus,
    SyncRun,
    SyncRunStatus,
)
from desktop.services.store.testing import make_connection, make_org, make_return

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
ADMIN = Actor("ada", Role.ADMIN)
VIEWER = Actor("vic", Role.VIEWER)

#: Duplicates refused per month offset (``document.duplicate_prevented`` events).
DUPLICATES = {-2: 1, -1: 3, 0: 2}
#: (month offset from NOW's month, documents due, of which verified, of which failed/quarantined)
HISTORY = ((-3, 8, 6, 1), (-2, 10, 9, 1), (-1, 12, 12, 0), (0, 6, 4, 1))


def _month_start(offset: int, now: datetime = NOW) -> date:
    index = now.year * 12 + now.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def seed(db: Database, now: datetime = NOW, code: str = "ACME-US", platform: Platform = Platform.QBO) -> int:
    """One connected organization with four months of outbox history, runs and reconciliations.

    Returns the connection id. The service tests assert these figures and the page tests find them
    drawn.
    """
    with db.write_session() as s:
        org = make_org(s, code=code, platform=platform)
        conn = make_connection(s, org, remote_id=f"{code}-company")
        n = 0
        for offset, due, verified, bad in HISTORY:
            start = _month_start(offset, now)
            for i in range(due):
                n += 1
                txn = start + timedelta(days=i % 20)
                at = datetime(txn.year, txn.month, txn.day, 9, tzinfo=UTC)
                ret = make_return(s, org, rms_id=f"{code}-R{n}", at=at)
                status = (OutboxStatus.POSTED if i < verified else
                          OutboxStatus.FAILED if i < verified + bad else
                          OutboxStatus.PENDING if offset == 0 else OutboxStatus.POSTED)
                s.add(OutboxDocument(
                    organization_id=org.id, connection_id=conn.id, idempotency_key=f"{code}-k{n}",
                    return_id=ret.id, role="refund", platform=platform, doc_type="CreditMemo", txn_date=txn,
                    total_minor=3998, currency="USD", payload={}, status=status, created_at=at, updated_at=at,
                    posted_at=at + timedelta(minutes=5) if status is OutboxStatus.POSTED else None))
            # A reconciliation covering the month's first `verified` documents' dates, 2 hours later.
            last = start + timedelta(days=verified - 1)
            finished = datetime(last.year, last.month, last.day, 11, tzinfo=UTC)
            s.add(ReconciliationRun(organization_id=org.id, period_start=start, period_end=last,
                                    started_at=finished - timedelta(minutes=1), finished_at=finished,
                                    status=ReconciliationStatus.COMPLETED))
        for offset, many in DUPLICATES.items():
            start = _month_start(offset, now)
            for i in range(many):
                at = datetime(start.year, start.month, start.day + i + 1, 10, tzinfo=UTC)
                s.add(EventLog(event_id=f"{code}-dup-{offset}-{i}", kind="document.duplicate_prevented",
                               severity="info", level=20, message="A duplicate was refused", occurred_at=at,
                               org=code, details={}))
        s.add(SyncRun(organization_id=org.id, kind="push", trigger="scheduled", started_at=now - timedelta(minutes=9),
                      finished_at=now - timedelta(minutes=8), status=SyncRunStatus.SUCCEEDED, counts={"posted": 3}))
        s.add(SyncRun(organization_id=org.id, kind="pull", trigger="manual", started_at=now - timedelta(minutes=3),
                      finished_at=now - timedelta(minutes=2), status=SyncRunStatus.PARTIAL, counts={}))
        s.add(SyncRun(organization_id=org.id, kind="ingest", trigger="manual", started_at=now - timedelta(minutes=1),
                      finished_at=None, status=SyncRunStatus.RUNNING, counts={}))
        return int(conn.id)
