"""Several variances at once on the Reconciliation page: select them (mouse or keyboard), Accept or
Mark resolved asks ONE question that says how many, then each goes through the same
``ReconcileService.accept/resolve`` the single action uses — stored, audited — and the page sums up.
A viewer's bulk accept is refused per variance by the service and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QItemSelectionModel, Qt
from pytestqt.qtbot import QtBot

from desktop.app import view_services
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    AuditLog,
    Platform,
    ReconciliationRun,
    ReconciliationStatus,
    Variance,
    VarianceStatus,
)
from desktop.services.store.testing import make_org
from desktop.views.context import ShellContext
from desktop.views.pages.reconciliation import ReconciliationPage

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    """One organization, one finished run, three open variances (RMA-1 … RMA-3)."""
    url = f"sqlite:///{tmp_path / 'recon.sqlite3'}"
    upgrade(url)
    db = Database(url)
    with db.write_session() as s:
        org = make_org(s, code="ACME-US", platform=Platform.QBO, home_currency="USD")
        run = ReconciliationRun(organization_id=org.id, period_start=date(2026, 11, 1), period_end=date(2026, 11, 20),
                                started_at=T0, finished_at=T0, status=ReconciliationStatus.COMPLETED, summary={})
        s.add(run)
        s.flush()
        s.execute(sa.insert(Variance), [
            {"run_id": run.id, "variance_class": "rounding", "rma": f"RMA-{i}", "ledger_id": str(100 + i),
             "difference_minor": 1, "currency": "USD", "fields": {"total": {"rms": "40.00", "ledger": "40.01"}},
             "status": VarianceStatus.OPEN} for i in (1, 2, 3)])
    yield db
    db.dispose()


def _page(qtbot: QtBot, shell_context: ShellContext, db: Database, actor: Actor) -> ReconciliationPage:
    shell_context.actor = actor
    shell_context.services = view_services(db, ManualClock(T0), shell_context.bus or EventBus())
    page = ReconciliationPage(shell_context)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    page.show()
    qtbot.waitUntil(lambda: page.model.rowCount() == 3, timeout=5000)
    # The last reconciliation's line is in, so it cannot replace an outcome shown later.
    qtbot.waitUntil(lambda: page.status_label.text().startswith("Last reconciled"), timeout=5000)
    return page


def _select(page: ReconciliationPage, rmas: list[str]) -> None:
    sel = page.table.selectionModel()
    sel.clearSelection()
    for r in range(page.proxy.rowCount()):
        row: Any = page.model.row_at(page.proxy.mapToSource(page.proxy.index(r, 0)).row())
        if row["rma"] in rmas:
            sel.select(page.proxy.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                       | QItemSelectionModel.SelectionFlag.Rows)
    assert sorted(r["rma"] for r in page.selected_rows()) == sorted(rmas)


def _statuses(db: Database) -> dict[str, tuple[str, str | None, str | None]]:
    with db.session() as s:
        return {str(v.rma): (VarianceStatus(v.status).value, v.resolved_by, v.note)
                for v in s.scalars(sa.select(Variance))}


def _audit(db: Database) -> list[tuple[str, str, str | None]]:
    with db.session() as s:
        return [(a.action, a.actor, a.target) for a in s.scalars(sa.select(AuditLog).order_by(AuditLog.seq))
                if a.action.startswith("variance.")]


def test_bulk_accept_of_two_variances_asks_once_and_accepts_and_audits_both(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    page = _page(qtbot, shell_context, database, Actor("alice", Role.ADMIN))
    _select(page, ["RMA-1", "RMA-3"])
    assert page.accept_button.isEnabled() and page.accept_button.text() == "Accept 2 with note…"
    assert page.resolve_button.text() == "Resolve 2 with note…"
    page.accept_button.click()
    dialog = page.actions_.note_dialog
    assert dialog is not None and dialog.windowTitle() == "Accept 2 variances"
    assert "Accept the 2 selected open variances" in dialog.labelText()
    dialog.setTextValue("rounding cents, agreed with finance")
    dialog.accept()
    qtbot.waitUntil(lambda: page.status_label.text().startswith("2 accepted"), timeout=5000)
    assert page.status_label.text() == "2 accepted."
    assert _statuses(database) == {"RMA-1": ("accepted", "alice", "rounding cents, agreed with finance"),
                                   "RMA-2": ("open", None, None),
                                   "RMA-3": ("accepted", "alice", "rounding cents, agreed with finance")}
    ids = {rma: vid for vid, rma in _ids(database).items()}
    assert sorted(_audit(database)) == sorted([("variance.accepted", "alice", f"variance:{ids['RMA-1']}"),
                                               ("variance.accepted", "alice", f"variance:{ids['RMA-3']}")])
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=5000)  # the open queue is read again


def _ids(db: Database) -> dict[int, str]:
    with db.session() as s:
        return {vid: str(rma) for vid, rma in s.execute(sa.select(Variance.id, Variance.rma))}


def test_the_keyboard_selects_all_and_marks_them_resolved(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    page = _page(qtbot, shell_context, database, Actor("olivia", Role.OPERATOR))
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    assert len(page.selected_rows()) == 3
    qtbot.keyClick(page.table, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = page.actions_.note_dialog
    assert dialog is not None and dialog.windowTitle() == "Resolve 3 variances"
    dialog.setTextValue("credit memos corrected in QuickBooks")
    dialog.accept()
    qtbot.waitUntil(lambda: page.status_label.text() == "3 resolved.", timeout=5000)
    assert {v[0] for v in _statuses(database).values()} == {"resolved"}
    assert len(_audit(database)) == 3


def test_a_viewers_bulk_accept_is_refused_by_the_service_and_changes_nothing(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    page = _page(qtbot, shell_context, database, Actor("victor", Role.VIEWER))
    _select(page, ["RMA-1", "RMA-2"])
    for button in (page.accept_button, page.resolve_button):  # the buttons say why not …
        assert not button.isEnabled() and "victor is a viewer: only an operator or admin" in button.toolTip()
    page.actions_.review_many("accept", [(r["id"], r["rma"]) for r in page.selected_rows()], "")
    qtbot.waitUntil(lambda: page.status_label.text().startswith("0 accepted"), timeout=5000)
    assert "2 refused: RMA-" in page.status_label.text()
    assert "victor is a viewer and may not review variances" in page.status_label.text()
    assert {v[0] for v in _statuses(database).values()} == {"open"}
    assert _audit(database) == []
