"""The Dashboard page over a real SQLite database, connection service and scheduler.

The rows are the integration tests' seed (``tests/helpers/dashboard.py``), so the page is checked
against figures those tests assert from the service; the sync steps are a do-nothing stand-in (the
page only starts, pauses and resumes sync). Loading happens in the background; tests wait for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from desktop.app import view_services
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import Severity
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Platform
from desktop.views.context import ShellContext
from desktop.views.dashboard.widgets import QueueModel, format_duration
from desktop.views.pages.dashboard import NO_PERMISSION, DashboardPage
from tests.helpers.dashboard import ADMIN, NOW, seed
from tests.helpers.db import migrated
from tests.helpers.gui import page_context
from tests.helpers.worlds import NoSteps, World


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Two seeded organizations on a manual clock, and a started scheduler whose sync steps do nothing."""
    with World(f"sqlite:///{tmp_path / 'dash.sqlite3'}", tmp_path, clock=ManualClock(NOW)) as w:
        scheduler = w.new_scheduler(NoSteps(), worker_id="dash-gui", actor=ADMIN)
        seed(w.db)
        seed(w.db, code="KIWI-NZ", platform=Platform.XERO)
        scheduler.start(["ACME-US", "KIWI-NZ"])
        yield w


def _context(world: World, settings: QSettings, actor: Actor | None = ADMIN) -> ShellContext:
    return page_context(world, settings, actor=actor, user="alice")


def _open(qtbot, context: ShellContext) -> DashboardPage:  # type: ignore[no-untyped-def]
    page = DashboardPage(context)
    qtbot.addWidget(page)
    page.resize(1280, 900)
    page.show()
    qtbot.waitUntil(lambda: page.data is not None and not page.loading, timeout=5000)
    return page


def test_the_page_draws_the_first_organizations_metrics_health_queue_and_trends(  # type: ignore[no-untyped-def]
        qtbot, world: World, settings: QSettings) -> None:
    page = _open(qtbot, _context(world, settings))
    assert page.data is not None and page.data.org == "ACME-US"
    assert [page.org_combo.itemData(i) for i in range(page.org_combo.count())] == ["ACME-US", "KIWI-NZ"]
    assert page.metrics[0].value_label.text() == "66.67%"
    assert page.metrics[0].hint_label.text() == "4 of 6 documents due verified"
    assert page.period_label.text().startswith("Last 30 days · 22 Oct – 20 Nov 2026")
    rec = page.data.metrics.headline if page.data.metrics else None
    assert rec is not None and page.metrics[1].value_label.text() == format_duration(rec.reconcile_median_s)
    assert page.metrics[2].value_label.text() == "2"
    assert page.prevented_chart.points[1] == ("Duplicates refused", [0.0, 1.0, 3.0, 2.0])
    counts = {page.queue_model.index(r, 0).data(): page.queue_model.index(r, 1).data()
              for r in range(page.queue_model.rowCount())}
    assert counts == {"Pending": "1", "Posted": "32", "Failed": "3", "Quarantined": "0", "Uncertain": "0"}
    assert page.accuracy_chart.points == [("accuracy", [75.0, 90.0, 100.0, 66.67])]
    assert [n for n, _v in page.prevented_chart.points] == ["Pre-flight refusals", "Duplicates refused"]
    assert not page.empty.isVisible() and page.charts.isVisible()
    assert page.sync_button.isEnabled() and page.pause_button.text() == "Pause"


def test_choosing_another_organization_loads_it(qtbot, world: World, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    page = _open(qtbot, _context(world, settings))
    page.org_combo.setCurrentIndex(1)
    page.org_combo.activated.emit(1)
    qtbot.waitUntil(lambda: page.data is not None and page.data.org == "KIWI-NZ" and not page.loading, timeout=5000)
    assert page.org_combo.currentData() == "KIWI-NZ"


def test_pause_and_resume_reach_the_scheduler_and_flip_the_button(qtbot, world: World, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    page = _open(qtbot, _context(world, settings))
    page.pause_button.click()
    qtbot.waitUntil(lambda: page.data is not None and page.data.paused and not page.loading, timeout=5000)
    assert world.scheduler.is_paused("ACME-US") and page.pause_button.text() == "Resume"
    assert page.status.text() == "Scheduled sync is paused"
    page.pause_button.click()
    qtbot.waitUntil(lambda: page.data is not None and not page.data.paused and not page.loading, timeout=5000)
    assert not world.scheduler.is_paused("ACME-US") and page.pause_button.text() == "Pause"


def test_sync_now_runs_the_chain_in_the_background(qtbot, world: World, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    page = _open(qtbot, _context(world, settings))
    page.sync_button.click()
    qtbot.waitUntil(lambda: page.status.text().startswith("Sync of ACME-US finished"), timeout=10000)
    qtbot.waitUntil(lambda: not page.loading and page.sync_button.isEnabled(), timeout=5000)


def test_a_viewer_sees_the_figures_but_not_the_controls(qtbot, world: World, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    page = _open(qtbot, _context(world, settings, Actor("vic", Role.VIEWER)))
    assert page.metrics[0].value_label.text() == "66.67%"
    for button in (page.sync_button, page.pause_button):
        assert not button.isEnabled() and button.toolTip() == NO_PERMISSION
    page.sync_now()
    page.toggle_pause()
    assert not world.scheduler.is_paused("ACME-US")


def test_a_bus_event_refreshes_the_queue(qtbot, world: World, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    page = _open(qtbot, _context(world, settings))
    with world.db.write_session() as s:
        org = s.query(Organization).filter_by(code="ACME-US").one()
        at = NOW - timedelta(minutes=1)
        s.add(OutboxDocument(organization_id=org.id, idempotency_key="late-1", role="refund", platform=Platform.QBO,
                             doc_type="CreditMemo", txn_date=NOW.date(), payload={}, status=OutboxStatus.QUARANTINED,
                             created_at=at, updated_at=at))
    world.bus.emit("document.quarantined", Severity.INFO, "held", org="ACME-US")
    qtbot.waitUntil(lambda: page.data is not None and page.data.queue["quarantined"] == 1, timeout=5000)
    assert page.queue_model.index(3, 1).data() == "1"


def test_nothing_connected_or_no_services_shows_the_empty_state(qtbot, settings: QSettings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bare = DashboardPage(ShellContext(settings=settings, user="alice"))
    qtbot.addWidget(bare)
    bare.show()
    assert bare.empty.isVisible() and not bare.charts.isVisible() and not bare.sync_button.isEnabled()
    with migrated(f"sqlite:///{tmp_path / 'empty.sqlite3'}") as db:
        page = DashboardPage(ShellContext(settings=settings, user="alice", actor=ADMIN,
                                          services=view_services(db, ManualClock(NOW), None)))
        qtbot.addWidget(page)
        page.show()
        qtbot.waitUntil(lambda: not page.loading, timeout=5000)
        assert page.data is None and page.empty.isVisible() and not page.charts.isVisible()
        assert page.org_combo.count() == 0


def test_the_queue_model_passes_qtmodeltester(qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = QueueModel()
    qtmodeltester.check(model)
    model.set_counts({"pending": 2, "posted": 100_000, "failed": 1})
    qtmodeltester.check(model)
    assert model.index(1, 1).data() == "100,000" and model.rowCount() == 5
