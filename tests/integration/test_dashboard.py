"""The Dashboard's data: queue counts, last/next sync, health, budgets and the monthly metrics.

Real databases (SQLite file and PostgreSQL), real rows, the real connection service and a real
APScheduler-backed scheduler; only the sync steps are a do-nothing stand-in (nothing here runs a
sync, the dashboard only reads when the next one is due and pauses/resumes it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import PermissionDenied
from desktop.services.queries.dashboard import DashboardService
from desktop.services.store.models import Platform
from tests.helpers.dashboard import ADMIN, DUPLICATES, HISTORY, NOW, VIEWER, seed
from tests.helpers.worlds import NoSteps, World


@pytest.fixture
def rig(db_url: str, tmp_path: Path) -> Iterator[World]:
    """A world on a manual clock at NOW with a scheduler whose sync steps do nothing."""
    with World(db_url, tmp_path, clock=ManualClock(NOW)) as world:
        world.new_scheduler(NoSteps(), worker_id="dash-test", actor=ADMIN)
        yield world


@pytest.mark.db
def test_snapshot_counts_the_queue_and_finds_the_last_finished_run(rig: World) -> None:
    seed(rig.db)
    data = rig.dashboard.snapshot("ACME-US")
    assert data.org == "ACME-US" and data.org_name == "ACME-US Inc."
    # failed: one per month with `bad`; pending: this month's unverified, unfailed documents
    assert data.queue == {"pending": 1, "posted": 6 + 9 + 12 + 4 + (8 - 7) + (10 - 10),
                          "failed": 3, "quarantined": 0, "uncertain": 0}
    assert data.last_sync is not None
    assert (data.last_sync.kind, data.last_sync.status, data.last_sync.trigger) == ("pull", "partial", "manual")
    assert data.last_sync.finished_at == NOW - timedelta(minutes=2)
    assert rig.dashboard.last_sync() == data.last_sync  # the status bar's "Last sync" is the same run
    assert rig.dashboard.organizations() == [("ACME-US", "ACME-US Inc.")]


@pytest.mark.db
def test_metrics_trend_is_monthly_and_this_month_is_the_clocks(rig: World) -> None:
    seed(rig.db)
    report = rig.dashboard.snapshot("ACME-US").metrics
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
    later = rig.dashboard.snapshot("ACME-US").metrics
    assert later is not None and [m.period for m in later.months][-1] == "2026-12" and len(later.months) == 5
    assert later.headline.errors_prevented == 0 and later.headline.accuracy_pct is None


@pytest.mark.db
def test_health_and_rate_budgets_come_from_the_connection_service(rig: World) -> None:
    conn_id = seed(rig.db)
    health = rig.dashboard.snapshot("ACME-US").connections
    assert [(h.connection_id, h.state, h.minute_remaining, h.day_remaining) for h in health] == [
        (conn_id, "connected", None, None)]
    # the platform's headers as the throttle sees them on a real call
    http = rig.connections._http(Platform.QBO, conn_id, lambda _rejected: "token")
    http.throttle.observe({"X-DayLimit-Remaining": "4120", "X-MinLimit-Remaining": "57"})
    assert rig.connections.rate_budgets(conn_id) == (57, 4120)
    health = rig.dashboard.snapshot("ACME-US").connections
    assert (health[0].minute_remaining, health[0].day_remaining) == (57, 4120)


@pytest.mark.db
def test_pause_resume_and_next_run_respect_permissions(rig: World) -> None:
    seed(rig.db)
    rig.scheduler.start(["ACME-US"])
    data = rig.dashboard.snapshot("ACME-US")
    assert not data.paused and data.next_sync is not None and data.next_sync > datetime.now(UTC)
    assert rig.dashboard.can_control(ADMIN) and not rig.dashboard.can_control(VIEWER)
    with pytest.raises(PermissionDenied):
        rig.dashboard.pause(VIEWER, "ACME-US")
    with pytest.raises(PermissionDenied):
        rig.dashboard.sync_now(VIEWER, "ACME-US")
    assert not rig.scheduler.is_paused("ACME-US")
    rig.dashboard.pause(ADMIN, "ACME-US")
    paused = rig.dashboard.snapshot("ACME-US")
    assert paused.paused and paused.next_sync is None
    rig.dashboard.resume(ADMIN, "ACME-US")
    assert not rig.dashboard.snapshot("ACME-US").paused
    assert rig.dashboard.sync_now(ADMIN, "ACME-US").result(timeout=10) == {"ingest": {}, "push": {}, "pull": {}}


@pytest.mark.db
def test_an_unknown_organization_and_no_scheduler_give_an_empty_safe_snapshot(rig: World) -> None:
    seed(rig.db)
    assert rig.dashboard.snapshot("NOPE").org is None
    bare = DashboardService(rig.db, None, None, rig.clock)
    data = bare.snapshot("ACME-US")
    assert data.connections == [] and data.next_sync is None and not data.paused and data.queue["failed"] == 3
    assert not bare.can_control(ADMIN)
