"""The Dashboard's three figures carry their definitions (the README's words) and months read "Nov 2026"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCharts import QBarCategoryAxis
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from desktop.app import view_services
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.queries.metrics import DEFINITIONS
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    OutboxDocument,
    OutboxStatus,
    Platform,
    ReconciliationRun,
    ReconciliationStatus,
)
from desktop.services.store.testing import make_connection, make_org, make_return
from desktop.views.context import ShellContext
from desktop.views.pages.dashboard import DashboardPage

NOW = datetime(2026, 12, 3, 9, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'dash.sqlite3'}"
    upgrade(url)
    database = Database(url)
    with database.write_session() as s:
        org = make_org(s, code="ACME-US", platform=Platform.QBO)
        make_connection(s, org, remote_id="acme")
        for n, at in enumerate((datetime(2026, 11, 10, 9, tzinfo=UTC), datetime(2026, 12, 1, 9, tzinfo=UTC))):
            ret = make_return(s, org, rms_id=f"R{n}", at=at)
            s.add(OutboxDocument(organization_id=org.id, idempotency_key=f"k{n}", return_id=ret.id, role="refund",
                                 platform=Platform.QBO, doc_type="CreditMemo", txn_date=at.date(), payload={},
                                 status=OutboxStatus.POSTED, created_at=at, updated_at=at, posted_at=at))
    yield database
    database.dispose()


def test_cards_and_charts_say_what_each_figure_means(qtbot: QtBot, db: Database, settings: QSettings) -> None:
    clock = ManualClock(NOW)
    bus = EventBus(clock)
    context = ShellContext(settings=settings, user="ada", actor=Actor("ada", Role.ADMIN), bus=bus,
                           services=view_services(db, clock, bus))
    page = DashboardPage(context)
    qtbot.addWidget(page)
    page.show()
    qtbot.waitUntil(lambda: page.data is not None and not page.loading, timeout=5000)
    assert [card.toolTip() for card in page.metrics] == list(DEFINITIONS.values())
    assert [c.toolTip() for c in (page.accuracy_chart, page.reconcile_chart, page.prevented_chart)] == list(
        DEFINITIONS.values())
    assert [card.title_label.text() for card in page.metrics] == ["Sync accuracy", "Time to reconcile",
                                                                 "Errors prevented"]
    assert page.period_label.text() == "Last 30 days · 4 Nov – 3 Dec 2026"
    # two documents due, nothing reconciled yet: 0 %, and the chart has both months, labelled in full
    assert page.metrics[0].value_label.text() == "0.00%"
    [axis] = [a for a in page.accuracy_chart.chart().axes() if isinstance(a, QBarCategoryAxis)]
    assert axis.categories() == ["Nov 2026", "Dec 2026"]
    assert page.accuracy_chart.points == [("accuracy", [0.0, 0.0])]
    # a clean reconciliation: the page reads the figures again as soon as it hears of it
    with db.write_session() as s:
        s.add(ReconciliationRun(organization_id=1, period_start=datetime(2026, 11, 1).date(),
                                period_end=NOW.date(), started_at=NOW, finished_at=NOW,
                                status=ReconciliationStatus.COMPLETED, summary={}))
    bus.emit(EventKind.RECONCILIATION_FINISHED, Severity.INFO, "Reconciled ACME-US", org="ACME-US")
    qtbot.waitUntil(lambda: page.metrics[0].value_label.text() == "100.00%", timeout=5000)
    assert page.accuracy_chart.points == [("accuracy", [100.0, 100.0])]
