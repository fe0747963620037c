"""Statuses on the Returns and Reconciliation pages read as words a person knows.

Every status shown comes from the app's one status map (``desktop.views.models.status``): no
stored value — ``quarantined``, ``superseded``, ``sync_status: quarantined``, any snake_case
identifier — reaches the visible text of the grids, the detail, the filters or the variance diff.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSettings

from desktop.app import view_services
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import SystemClock
from desktop.services.core.events import EventBus
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    Organization,
    Platform,
    ReconciliationRun,
    ReconciliationStatus,
    Variance,
    VarianceStatus,
)
from desktop.views.context import ShellContext
from desktop.views.models.status import STATUSES
from desktop.views.ops import running_operations
from desktop.views.pages.reconciliation import ReconciliationPage
from desktop.views.pages.returns import ReturnsPage
from desktop.views.returns.model import ROW_ROLE
from tests.helpers.gui import visible_text
from tests.helpers.returns import seed_grid

RAW = re.compile(r"\b(quarantined|superseded|[a-z]+_[a-z_]+)\b", re.IGNORECASE)
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(qtbot, tmp_path: Path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'words.sqlite3'}"
    upgrade(url)
    db = Database(url)
    yield db
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=10_000)
    db.dispose()


def _raw(text: str) -> list[str]:
    return sorted({m.group(0) for m in RAW.finditer(text)})


def test_every_label_in_the_status_map_is_words() -> None:
    for value, (label, _colour) in STATUSES.items():
        assert label and not _raw(label), value


def test_the_returns_page_shows_no_stored_status(qtbot, tmp_path: Path, database: Database) -> None:  # type: ignore[no-untyped-def]
    seed_grid(database, 60)
    ctx = ShellContext(settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), user="olga",
                       services=view_services(database, SystemClock(), None), actor=Actor("olga", Role.OPERATOR))
    page = ReturnsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1200, 900)
    page.show()
    for value in ("quarantined", "superseded", None):
        page.status_combo.setCurrentIndex(page.status_combo.findData(value))
        qtbot.waitUntil(lambda v=value: page.model.filter.status == v and not page.model.counting  # type: ignore[misc]
                        and 0 < page.model.rowCount() == page.model.loaded_rows(), timeout=5000)
        page.table.selectRow(0)
        first = page.model.data(page.model.index(0, 0), ROW_ROLE)
        qtbot.waitUntil(lambda f=first: page.detail_panel.detail is not None  # type: ignore[misc]
                        and page.detail_panel.detail.row.id == f.id, timeout=5000)
        text = visible_text(page)
        assert first.rma in text and page.detail_panel.badge.text() in text
        assert _raw(text) == [], value


def _seed_variances(db: Database) -> None:
    with db.write_session() as s:
        org = Organization(code="ACME-US", name="Acme Outdoor US", platform=Platform.QBO, timezone="UTC",
                           home_currency="USD", settings={}, created_at=T0, updated_at=T0)
        s.add(org)
        s.flush()
        run = ReconciliationRun(organization_id=org.id, period_start=date(2026, 11, 1), period_end=date(2026, 11, 20),
                                started_at=T0, finished_at=T0, status=ReconciliationStatus.COMPLETED, summary={})
        s.add(run)
        s.flush()
        quarantined: dict[str, Any] = {"refund_total": {"rms": "40.00", "ledger": None},
                                       "sync_status": {"rms": "quarantined", "ledger": None}}
        memo: dict[str, Any] = {"total": {"rms": "40.00", "ledger": "35.00"},
                                "_doc": {"key": "ACME-US:RMA-2:credit_memo", "doc_type": "CreditMemo"}}
        s.execute(sa.insert(Variance), [
            {"run_id": run.id, "variance_class": "not_posted_quarantined", "rma": "RMA-1", "ledger_id": None,
             "difference_minor": -4000, "currency": "USD", "fields": quarantined, "status": VarianceStatus.OPEN},
            {"run_id": run.id, "variance_class": "amount_mismatch", "rma": "RMA-2", "ledger_id": "1002",
             "difference_minor": -500, "currency": "USD", "fields": memo, "status": VarianceStatus.ACCEPTED}])


def test_the_reconciliation_page_and_its_diff_show_no_stored_status(qtbot, shell_context: ShellContext,  # type: ignore[no-untyped-def]
                                                                     database: Database) -> None:
    _seed_variances(database)
    shell_context.actor = Actor("alice", Role.ADMIN)
    shell_context.services = view_services(database, SystemClock(), shell_context.bus or EventBus())
    page = ReconciliationPage(shell_context)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    page.show()
    qtbot.waitUntil(lambda: page.org_box.count() == 1 and page.model.rowCount() == 1, timeout=5000)
    page.status_box.setCurrentIndex(page.status_box.findData(None))  # all statuses
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=5000)
    for r in range(2):
        page.table.selectRow(r)
        qtbot.waitUntil(lambda: page.diff.rowCount() > 0, timeout=5000)
        text = visible_text(page)
        assert _raw(text) == [], text
    page.table.selectRow(next(r for r in range(2) if page.proxy.index(r, 1).data() == "RMA-1"))
    diff = visible_text(page.diff)
    assert "Sync status" in diff and STATUSES["quarantined"][0] in diff
    assert "Not posted: held by pre-flight" in visible_text(page)
    assert {page.proxy.index(r, 6).data() for r in range(2)} == {"Open: to review", "Accepted with a note"}
