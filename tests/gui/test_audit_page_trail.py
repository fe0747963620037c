"""The Audit page's filters by organization and return, its verdict in words pointing at the first bad entry,
and an export that ends with the checkpoint — over a real SQLite database and the real service."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pytestqt.qtbot import QtBot

from desktop.services.admin import audit
from desktop.services.admin.audit_trail import AuditTrail
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import Organization, Platform
from desktop.views.context import ShellContext
from desktop.views.pages.audit_log import AuditLogPage
from desktop.views.services import ViewServices

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
AUDITOR = Actor("dmitri", Role.VIEWER)


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    upgrade(url)
    db = Database(url)
    clock = ManualClock(T0)
    with db.write_session() as s:
        orgs = [Organization(code=code, name=code, platform=platform, timezone="UTC", home_currency="USD",
                             settings={}, is_active=True, created_at=T0, updated_at=T0)
                for code, platform in (("ACME-US", Platform.QBO), ("KIWI-NZ", Platform.XERO))]
        s.add_all(orgs)
        s.flush()
        for i in range(60):
            clock.advance(timedelta(minutes=1))
            org = orgs[i % 2]
            audit.append(s, clock, actor="system", action="document.posted", target=f"rls-doc-{i}",
                         organization_id=org.id, rma=f"RMA-{i % 6}", details={"doc_type": "CreditMemo"})
        audit.append(s, clock, actor="ben", action="return.replan", target="RMA-3", organization_id=orgs[1].id)
    yield db
    db.dispose()


def _page(qtbot: QtBot, shell_context: ShellContext, db: Database) -> AuditLogPage:
    shell_context.actor = AUDITOR
    shell_context.services = ViewServices(audit_trail=AuditTrail(db, clock=ManualClock(T0 + timedelta(days=1))),
                                          clock=ManualClock(T0 + timedelta(days=1)))
    page = AuditLogPage(shell_context)
    qtbot.addWidget(page)
    page.resize(1200, 900)
    page.show()
    qtbot.waitUntil(lambda: page.model.total == 61 and page.progress.isHidden(), timeout=5000)
    return page


def test_filters_by_organization_and_return(qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    page = _page(qtbot, shell_context, database)
    assert [page.org_combo.itemText(i) for i in range(page.org_combo.count())] == [
        "All organizations", "ACME-US", "KIWI-NZ"]
    page.org_combo.setCurrentIndex(page.org_combo.findData("KIWI-NZ"))
    qtbot.waitUntil(lambda: page.model.total == 31, timeout=5000)
    assert {page.model.entry_at(r).organization for r in range(page.model.rowCount())} == {"KIWI-NZ"}
    page.rma_edit.setText("RMA-3")  # the return's documents, and the re-plan that names it as its target
    qtbot.waitUntil(lambda: page.model.total == 11, timeout=5000)
    rows = [page.model.entry_at(r) for r in range(page.model.rowCount())]
    assert {e.rma or e.target for e in rows} == {"RMA-3"} and "return.replan" in {e.action for e in rows}
    assert page.count_label.text() == "11 entries match"


def test_a_broken_trail_is_said_in_words_and_the_first_bad_entry_shown(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    page = _page(qtbot, shell_context, database)
    with database.engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(sa.text("DELETE FROM audit_log WHERE seq = 40"))
    page.verify_button.click()
    qtbot.waitUntil(lambda: page.last_report is not None, timeout=10_000)
    first, second = page.chain_label.text().split("\n")
    assert first == "✗ Entry #40 is missing: deleted from the trail"
    assert second.startswith("The entry after the gap: #41 · ")
    selected = page.table.selectionModel().selectedRows()
    assert [page.model.entry_at(i.row()).seq for i in selected] == [41]
    assert page.entry_text.toPlainText().startswith("Entry #40 is missing. The entry after the gap:\n#41 ")


def test_export_with_filters_ends_with_the_checkpoint(qtbot: QtBot, shell_context: ShellContext, database: Database,
                                                       tmp_path: Path) -> None:
    page = _page(qtbot, shell_context, database)
    page.org_combo.setCurrentIndex(page.org_combo.findData("ACME-US"))
    qtbot.waitUntil(lambda: page.model.total == 30, timeout=5000)
    target = tmp_path / "acme.csv"
    page.export_to(target)
    qtbot.waitUntil(lambda: page.last_export == target, timeout=10_000)
    with target.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1 + 30 + 1 and {r[5] for r in rows[1:-1]} == {"ACME-US"}
    line = rows[-1]
    assert line[:2] == ["# checkpoint", "chain=intact"] and "head_seq=61" in line and "entries=61" in line
    assert any(cell.startswith("signature=") and len(cell) == len("signature=") + 64 for cell in line)
    assert page.status.text() == f"Exported 30 entries to {target}; checkpoint at entry #61."
