"""The Dashboard's data: queue counts, last/next sync, health, budgets and the monthly metrics.

Real databases (SQLite file and PostgreSQL), real rows, the real connection service and a real
APScheduler-backed scheduler; only the sync steps are a do-nothing stand-in (nothing here runs a
sync, the dashboard only reads when the next one is due and pauses/resumes it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import PermissionDenied
from desktop.services.core.events import EventBus
from desktop.services.pipeline.scheduler import SyncScheduler
from desktop.services.queries.dashboard import DashboardService
from desktop.services.runtime import connection_service
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
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


class NoSteps:
    """The sync engine's place: nothing runs in these tests."""

    def ingest(self, org: str) -> Mapping[str, Any]:
        return {}

    def push(self, org: str, worker_id: str) -> Mapping[str, Any]:
        return {}

    def pull(self, org: str) -> Mapping[str, Any]:
        return {}


def _month_start(offset: int, now: datetime = NOW) -> date:
    index = now.year * 12 + now.month - 1 + offset
    return date(index // 12, index % 12 + 1, 1)


def seed(db: Database, now: datetime = NOW, code: str = "ACME-US", platform: Platform = Platform.QBO) -> int:
    """One connected organization with four months of outbox history, runs and reconciliations.

    Returns the connection id. Shared with the GUI tests (and screenshots), so the page draws
    exactly what this module asserts.
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


class Rig:
    def __init__(self, db_url: str, data_dir: Path) -> None:
        upgrade(db_url)
        self.db = Database(db_url)
        self.clock = ManualClock(NOW)
        self.bus = EventBus(self.clock)
        _vault, self.connections = connection_service(self.db, self.bus, self.clock, data_dir)
        self.scheduler = SyncScheduler(NoSteps(), self.connections, lambda _org: [], self.clock, self.bus,
                                       db=self.db, actor=ADMIN, worker_id="dash-test")
        self.service = DashboardService(self.db, self.connections, self.scheduler, self.clock)

    def close(self) -> None:
        self.scheduler.shutdown(wait=True)
        self.db.dispose()


@pytest.fixture
def rig(db_url: str, tmp_path: Path) -> Iterator[Rig]:
    r = Rig(db_url, tmp_path)
    try:
        yield r
    finally:
        r.close()


@pytest.mark.db
def test_snapshot_counts_the_queue_and_finds_the_last_finished_run(rig: Rig) -> None:
    seed(rig.db)
    data = rig.service.snapshot("ACME-US")
    assert data.org == "ACME-US" and data.org_name == "ACME-US Inc."
    # failed: one per month with `bad`; pending: this month's unverified, unfailed documents
    assert data.queue == {"pending": 1, "posted": 6 + 9 + 12 + 4 + (8 - 7) + (10 - 10),
                          "failed": 3, "quarantined": 0, "uncertain": 0}
    assert data.last_sync is not None
    assert (data.last_sync.kind, data.last_sync.status, data.last_sync.trigger) == ("pull", "partial", "manual")
    assert data.last_sync.finished_at == NOW - timedelta(minutes=2)
    assert rig.service.last_sync() == data.last_sync  # the status bar's "Last sync" is the same run
    assert rig.service.organizations() == [("ACME-US", "ACME-US Inc.")]


@pytest.mark.db
def test_metrics_trend_is_monthly_and_this_month_is_the_clocks(rig: Rig) -> None:
    seed(rig.db)
    report = rig.service.snapshot("ACME-US").metrics
    assert report is not None
    assert [m.period for m in report.months] == ["2026-08", "2026-09", "2026-10", "2026-11"]
    assert [m.due for m in report.months] == [due for _o, due, _v, _b in HISTORY]
    assert [m.verified for m in report.months] == [v for _o, _d, v, _b in HISTORY]
    assert report.months[-1].accuracy_pct == "66.67" and report.months[2].accuracy_pct == "100.00"
    # the headline is the last 30 days (22 Oct – 20 Nov): November's documents, not October's 1–12
    assert (report.start, report.end) == (date(2026, 10, 22), date(2026, 11, 20))
    assert report.headline.label == "22 Oct – 20 Nov 2026"
    assert (report.headline.due, report.headline.verified, report.headline.accuracy_pct) == (6, 4, "66.67")
    # verified by the month's reconciliation, which finished after every RMS event it covers
    assert report.headline.reconcile_median_s is not None and report.headline.reconcile_median_s > 0
    assert [m.duplicate_refusals for m in report.months] == [DUPLICATES.get(o, 0) for o, *_r in HISTORY]
    assert report.headline.errors_prevented == 2
    # a clock a month on: an empty headline, the trend kept (with the empty month)
    rig.clock.set(datetime(2026, 12, 23, tzinfo=UTC))
    later = rig.service.snapshot("ACME-US").metrics
    assert later is not None and [m.period for m in later.months][-1] == "2026-12" and len(later.months) == 5
    assert later.headline.errors_prevented == 0 and later.headline.accuracy_pct is None


@pytest.mark.db
def test_health_and_rate_budgets_come_from_the_connection_service(rig: Rig) -> None:
    conn_id = seed(rig.db)
    health = rig.service.snapshot("ACME-US").connections
    assert [(h.connection_id, h.state, h.minute_remaining, h.day_remaining) for h in health] == [
        (conn_id, "connected", None, None)]
    # the platform's headers as the throttle sees them on a real call
    http = rig.connections._http(Platform.QBO, conn_id, lambda _rejected: "token")
    http.throttle.observe({"X-DayLimit-Remaining": "4120", "X-MinLimit-Remaining": "57"})
    assert rig.connections.rate_budgets(conn_id) == (57, 4120)
    health = rig.service.snapshot("ACME-US").connections
    assert (health[0].minute_remaining, health[0].day_remaining) == (57, 4120)


@pytest.mark.db
def test_pause_resume_and_next_run_respect_permissions(rig: Rig) -> None:
    seed(rig.db)
    rig.scheduler.start(["ACME-US"])
    data = rig.service.snapshot("ACME-US")
    assert not data.paused and data.next_sync is not None and data.next_sync > datetime.now(UTC)
    assert rig.service.can_control(ADMIN) and not rig.service.can_control(VIEWER)
    with pytest.raises(PermissionDenied):
        rig.service.pause(VIEWER, "ACME-US")
    with pytest.raises(PermissionDenied):
        rig.service.sync_now(VIEWER, "ACME-US")
    assert not rig.scheduler.is_paused("ACME-US")
    rig.service.pause(ADMIN, "ACME-US")
    paused = rig.service.snapshot("ACME-US")
    assert paused.paused and paused.next_sync is None
    rig.service.resume(ADMIN, "ACME-US")
    assert not rig.service.snapshot("ACME-US").paused
    assert rig.service.sync_now(ADMIN, "ACME-US").result(timeout=10) == {"ingest": {}, "push": {}, "pull": {}}


@pytest.mark.db
def test_an_unknown_organization_and_no_scheduler_give_an_empty_safe_snapshot(rig: Rig) -> None:
    seed(rig.db)
    assert rig.service.snapshot("NOPE").org is None
    bare = DashboardService(rig.db, None, None, rig.clock)
    data = bare.snapshot("ACME-US")
    assert data.connections == [] and data.next_sync is None and not data.paused and data.queue["failed"] == 3
    assert not bare.can_control(ADMIN)
