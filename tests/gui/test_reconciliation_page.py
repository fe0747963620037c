"""The Reconciliation page over a real ReconcileService and SQLite database: the lazy variance
grid (qtmodeltester), the document diff highlighting the fields that differ, accept-with-note
through the service (audited), and the CSV / PDF report exports."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.app import view_services
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import SystemClock
from desktop.services.core.events import EventBus
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    AuditLog,
    Organization,
    Platform,
    ReconciliationRun,
    ReconciliationStatus,
    Variance,
    VarianceStatus,
)
from desktop.views.context import ShellContext
from desktop.views.pages.reconciliation import ReconciliationPage
from desktop.views.reconcile.diff import DiffView
from desktop.views.reconcile.model import CHUNK, VarianceModel, grouped

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CLASSES = ("amount_mismatch", "missing_in_ledger", "duplicate_in_ledger", "rounding", "voided_in_ledger")


def seed(db: Database, n: int, org: str = "ACME-US") -> None:
    """An organization, one completed run and ``n`` open variances with per-field RMS/ledger values."""
    with db.write_session() as s:
        o = Organization(code=org, name="Acme Outdoor US", platform=Platform.QBO, timezone="UTC",
                         home_currency="USD", settings={}, created_at=T0, updated_at=T0)
        s.add(o)
        s.flush()
        run = ReconciliationRun(organization_id=o.id, period_start=date(2026, 11, 1), period_end=date(2026, 11, 20),
                                started_at=T0, finished_at=T0, status=ReconciliationStatus.COMPLETED, summary={})
        s.add(run)
        s.flush()
        rows = []
        for i in range(n):
            cls = CLASSES[i % len(CLASSES)]
            diff = {"amount_mismatch": -500, "missing_in_ledger": -4000, "duplicate_in_ledger": 4000,
                    "rounding": 1, "voided_in_ledger": -1250}[cls]
            fields: dict[str, Any] = {"total": {"rms": "40.00", "ledger": f"{(4000 + diff) / 100:.2f}"},
                                      "txn_date": {"rms": "2026-11-18", "ledger": "2026-11-18"},
                                      "customer": {"rms": "Grace Hopper", "ledger": "Grace Hopper"},
                                      "_doc": {"key": f"ACME-US:RMA-{i:05d}:credit_memo", "doc_type": "CreditMemo"}}
            rows.append({"run_id": run.id, "variance_class": cls, "rma": f"RMA-{i:05d}", "ledger_id": str(1000 + i),
                         "difference_minor": diff, "currency": "USD", "fields": fields,
                         "status": VarianceStatus.OPEN})
        s.execute(sa.insert(Variance), rows)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'recon.sqlite3'}"
    upgrade(url)
    db = Database(url)
    yield db
    db.dispose()


def make_page(qtbot: Any, shell_context: ShellContext, db: Database) -> ReconciliationPage:
    shell_context.actor = Actor("alice", Role.ADMIN)
    shell_context.services = view_services(db, SystemClock(), shell_context.bus or EventBus())
    page = ReconciliationPage(shell_context)
    qtbot.addWidget(page)
    page.resize(1400, 900)
    page.show()
    qtbot.waitUntil(lambda: page.org_box.count() == 1, timeout=5000)
    qtbot.waitUntil(lambda: page.model.rowCount() > 0, timeout=5000)
    return page


def test_the_variance_model_passes_qtmodeltester_and_fetches_lazily(qtbot, qtmodeltester) -> None:  # type: ignore[no-untyped-def]
    model = VarianceModel()
    rows = [{"id": i, "class": CLASSES[i % 5], "rma": f"R{i}", "difference_minor": -i, "currency": "USD",
             "status": "open", "fields": {}} for i in range(CHUNK * 3)]
    model.set_rows(grouped(rows))
    assert model.rowCount() == CHUNK and model.canFetchMore(model.index(-1, -1))
    qtmodeltester.check(model)
    while model.canFetchMore(model.index(-1, -1)):
        model.fetchMore(model.index(-1, -1))
    assert model.rowCount() == CHUNK * 3
    ends = [model.row_at(r) for r in (0, CHUNK * 3 - 1)]
    assert [r["class"] for r in ends if r] == ["amount_mismatch", "voided_in_ledger"]
    assert model.data(model.index(0, 4)) == f"{-(CHUNK * 3 - 5) / 100:,.2f} USD"  # the amount with its currency


def test_the_grid_opens_100k_variances_and_formats_only_what_is_fetched(qtbot) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": i, "class": CLASSES[i % 5], "rma": f"R{i}", "difference_minor": i, "currency": "USD",
             "status": "open", "fields": {}} for i in range(100_000)]
    model = VarianceModel()
    model.set_rows(rows)
    for r in range(model.rowCount()):
        model.data(model.index(r, 4))
    assert model.rowCount() == CHUNK and len(model.rows()) == 100_000


def test_the_diff_highlights_only_the_fields_that_differ(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = DiffView()
    qtbot.addWidget(view)
    view.show_fields({"total": {"rms": "40.00", "ledger": "35.00"}, "customer": {"rms": "Ada", "ledger": "Ada"},
                      "_doc": {"key": "k"}})
    assert view.rowCount() == 2 and view.differing == ["Total"]
    items = [(view.item(r, 0), view.item(r, 1)) for r in range(2)]
    bold = {a.text(): b.font().bold() for a, b in items if a is not None and b is not None}
    assert bold == {"Customer": False, "Total": True}


def test_the_page_reviews_a_variance_and_exports_the_report(qtbot, shell_context: ShellContext,  # type: ignore[no-untyped-def]
                                                            database: Database, tmp_path: Path) -> None:
    seed(database, 12)
    page = make_page(qtbot, shell_context, database)
    assert page.model.rowCount() == 12
    assert "Amount differs: 3" in page.class_summary.text()
    page.table.selectRow(0)
    assert page.diff.differing == ["Total"] and page.accept_button.isEnabled()
    current = page.current_row()
    assert current is not None
    vid = int(current["id"])

    page.review("accept", vid, "cent of rounding, agreed with finance")
    qtbot.waitUntil(lambda: page.model.rowCount() == 11, timeout=5000)
    with database.session() as s:
        v = s.get(Variance, vid)
        assert v is not None and v.status is VarianceStatus.ACCEPTED and v.resolved_by == "alice"
        audit = s.scalars(sa.select(AuditLog).where(AuditLog.target == f"variance:{vid}")).one()
        assert audit.action == "variance.accepted"

    out = tmp_path / "variances.csv"
    page.export_csv_to(out)
    qtbot.waitUntil(lambda: "Exported 11" in page.status_label.text(), timeout=5000)
    with out.open(encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0][:2] == ["Class", "RMA"] and len(table) == 12

    pdf = tmp_path / "report.pdf"
    page.show_totals({"by_currency": {"USD": {"rms": "1200.00", "ledger": "1187.50"},
                                      "CAD": {"rms": "10.00", "ledger": "10.00"}}})
    diff = page.diff_card.value_label.text()
    # Each currency in its own colour: only the line that does not tie out is marked.
    assert re.fullmatch(r'(CAD \+0\.00<br><span style="color: #[0-9a-f]{6};">USD -12\.50</span>|'
                        r'<span style="color: #[0-9a-f]{6};">USD -12\.50</span><br>CAD \+0\.00)', diff), diff
    assert page.rms_card.value_label.objectName() == "MetricValueList"  # two currencies read smaller
    page.export_pdf_to(pdf)
    qtbot.waitUntil(lambda: "Exported the report" in page.status_label.text(), timeout=10000)
    assert pdf.read_bytes().startswith(b"%PDF")

    pack = tmp_path / "pack.json"
    page.save_audit_pack("RMA-00001", pack)
    qtbot.waitUntil(lambda: "audit pack" in page.status_label.text(), timeout=5000)
    saved = json.loads(pack.read_text(encoding="utf-8"), parse_float=Decimal)
    assert saved["rma"] == "RMA-00001" and saved["reconciliation"][0]["class"] == "missing_in_ledger"
    assert saved["status"] == "open variances"


def test_the_adjusting_entry_dialog_says_when_there_is_no_chart_of_accounts(  # type: ignore[no-untyped-def]
        qtbot, shell_context: ShellContext, database: Database) -> None:
    seed(database, 3)
    page = make_page(qtbot, shell_context, database)
    page.table.selectRow(0)
    assert page.adjust_button.isEnabled()
    page.adjust_button.click()
    dialog = page.adjust_dialog
    qtbot.waitUntil(lambda: "No chart of accounts" in dialog.problems.text(), timeout=5000)
    dialog.submit()
    assert dialog.problems.text() == "Choose two different accounts."
    dialog.reject()


def test_without_a_service_the_page_shows_its_empty_state(qtbot, shell_context: ShellContext) -> None:  # type: ignore[no-untyped-def]
    page = ReconciliationPage(shell_context)
    qtbot.addWidget(page)
    assert not hasattr(page, "model")
    assert page.findChild(DiffView) is None


def test_opening_the_page_shows_the_newest_reconciliation_and_its_period(qtbot: Any, shell_context: ShellContext,
                                                                         database: Database) -> None:
    """A scheduled (or the demo's) reconciliation ran while the page was elsewhere: opening it shows
    that run's period, bridge figures and counts — not dashes until someone presses Reconcile."""
    seed(database, 3)
    page = make_page(qtbot, shell_context, database)
    qtbot.waitUntil(lambda: page.status_label.text().startswith("Last reconciled 2026-11-01"), timeout=5000)
    with database.write_session() as s:  # a newer run finished meanwhile, elsewhere
        org_id = s.scalar(sa.select(Organization.id).where(Organization.code == "ACME-US"))
        s.add(ReconciliationRun(organization_id=org_id, period_start=date(2026, 10, 1), period_end=date(2026, 11, 30),
                                started_at=T0, finished_at=T0.replace(hour=10), status=ReconciliationStatus.COMPLETED,
                                summary={"counts": {"amount_mismatch": 2, "rounding": 1}, "matched": 40,
                                         "totals": {"by_currency": {"USD": {"rms": "100.00", "ledger": "95.00"}}}}))
    page.activated()  # the seeded run was the newest when the page opened; now the later one is
    qtbot.waitUntil(lambda: page.status_label.text().startswith("Last reconciled 2026-10-01"), timeout=5000)
    assert page.status_label.text() == ("Last reconciled 2026-10-01 … 2026-11-30 at 20 Nov 10:00 UTC: "
                                        "3 variance(s), 40 matched.")
    assert (page.from_edit.date().toString("yyyy-MM-dd"), page.to_edit.date().toString("yyyy-MM-dd")) == (
        "2026-10-01", "2026-11-30")
    assert "USD -5.00" in page.diff_card.value_label.text() and page.totals is not None
