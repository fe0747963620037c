"""The Manual entry page's **Export for import…** writes every file the ledger's import needs: for
Xero with a dearer exchange pending, the credit-note file as chosen and, beside it, the invoices and
the payments to apply by hand (issue 16 follow-up); the status line names them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSettings

from desktop.services.auth.platforms import Platform
from desktop.services.manual import ManualForm
from desktop.services.store.models import Return
from desktop.views.pages.manual_entry import ManualEntryPage
from tests.helpers.gui import page_context
from tests.helpers.returns import ReturnsWorld
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import ADMIN, XERO_ORG


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[ReturnsWorld]:
    with ReturnsWorld(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        yield w


def test_export_writes_the_xero_invoices_and_payments_beside_the_credit_notes(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, world: ReturnsWorld) -> None:
    assert world.sandbox is not None
    world.sandbox.control("POST", "rms/generate", {"org": XERO_ORG, "count": 12, "bad_ratio": 0, "seed": 16,
                                                   "exchanges": 1})
    _cid, org = world.ready(Platform.XERO)
    queued = 0
    with world.db.session() as s:
        rmas = list(s.scalars(sa.select(Return.rma_number).where(Return.refund_total_minor < 0)))
    for rma in rmas:
        prepared = world.manual.prepare(org, rma)
        if prepared.ok and {d.role for d in prepared.documents} & {"invoice"}:
            assert world.manual.submit(ADMIN, ManualForm(org, rma)).ok
            queued += 1
            break
    assert queued
    page = ManualEntryPage(page_context(world, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
                                        actor=ADMIN))
    qtbot.addWidget(page)
    chosen = tmp_path / "KIWI-import.csv"

    page.export_to(org, str(chosen))

    qtbot.waitUntil(lambda: "Exported" in page.status.text(), timeout=20000)
    assert chosen.read_text(encoding="utf-8").startswith("*ContactName,EmailAddress,*CreditNoteNumber")
    assert (tmp_path / "KIWI-import-invoices.csv").read_text(encoding="utf-8").startswith(
        "*ContactName,EmailAddress,*InvoiceNumber")
    assert (tmp_path / "KIWI-import-payments.csv").read_text(encoding="utf-8").startswith("Apply to,")
    assert "invoices, payments file(s) beside it" in page.status.text()
