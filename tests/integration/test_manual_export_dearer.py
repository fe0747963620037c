"""Issue 16 follow-up: the manual-entry export carries a dearer exchange's documents on both ledgers.

While the sync is down a person keys pending documents in from the export. A dearer exchange (the
customer pays the difference) is a QuickBooks sales receipt — written, like every QuickBooks
document, as its balanced journal in the journal import — and on Xero an ``ACCREC`` invoice and its
payment: the invoice in Xero's sales-invoice template beside the credit-note file, the payment in
the list of payments to apply by hand (Xero imports none). Nothing of the exchange is left out, and
every file goes through the one CSV writer (a hostile customer name stays text). SQLite and
PostgreSQL, real HTTP to the sandbox."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.manual import ManualForm
from desktop.services.store.models import Return
from tests.helpers.returns import ReturnsWorld
from tests.helpers.worlds import ADMIN, QBO_ORG, XERO_ORG

HOSTILE = '=HYPERLINK("http://x","y")'
CHARGES = frozenset({"sales_receipt", "invoice"})
#: Per ledger: its organization, the file the charge's lines land in ("" the main one) and the
#: column naming the document there, and the files the export writes.
LEDGERS: dict[Platform, tuple[str, str, str, set[str]]] = {
    Platform.QBO: (QBO_ORG, "", "Journal No", set()),
    Platform.XERO: (XERO_ORG, "invoices", "*InvoiceNumber", {"invoices", "payments"}),
}


def _dearer(rworld: ReturnsWorld, org: str) -> str:
    """A new RMA the customer pays a difference on, whose documents pass pre-flight."""
    with rworld.db.session() as s:
        rmas = list(s.scalars(sa.select(Return.rma_number).where(Return.refund_total_minor < 0).order_by(Return.id)))
    for rma in rmas:
        prepared = rworld.manual.prepare(org, rma)
        if prepared.ok and {d.role for d in prepared.documents} & CHARGES:
            return rma
    raise AssertionError(f"{org} has no clean dearer exchange among {rmas}")


@pytest.mark.db
@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_the_export_carries_a_dearer_exchange(rworld: ReturnsWorld, platform: Platform) -> None:
    org, where, column, files = LEDGERS[platform]
    assert rworld.sandbox is not None
    rworld.sandbox.control("POST", "rms/generate", {"org": org, "count": 12, "bad_ratio": 0, "seed": 16,
                                                    "exchanges": 1})
    rworld.ready(platform)
    rma = _dearer(rworld, org)
    with rworld.db.write_session() as s:  # a stranger's name, as the RMS could send it
        s.execute(sa.update(Return).where(Return.rma_number == rma).values(customer_name=HOSTILE))
    prepared = rworld.manual.prepare(org, rma)
    assert rworld.manual.submit(ADMIN, ManualForm(org, rma)).ok

    out = rworld.manual.export_csv(org)

    assert set(out.files) == files, out.files
    queued = rworld.outbox_rows(rma)
    roles = {d.role for d in queued}
    assert not [s for s in out.skipped if any(r.replace("_", " ") in s for r in roles - {"label_journal",
                                                                                       "fee_journal",
                                                                                       "goods_journal"})]
    assert out.documents + len(out.skipped) == len(queued), (out.documents, out.skipped, roles)
    charge = next(d for d in prepared.documents if d.role in CHARGES)
    text = out.files.get(where, out.text) if where else out.text
    rows = list(csv.DictReader(io.StringIO(text)))
    number = str(charge.payload.get("DocNumber") or rma)  # QuickBooks' DocNumber; Xero's is made from the RMA
    mine = [r for r in rows if r[column] and (r[column].startswith(number) or number.startswith(r[column]))]
    assert mine, (rma, rows[:3])
    if "payments" in out.files:  # Xero: the difference paid in, against the invoice's number
        paid = list(csv.DictReader(io.StringIO(out.files["payments"])))
        assert [p for p in paid if p["Apply to"].endswith(mine[0][column])
                and Decimal(p["Amount"]) == charge.total.amount], paid
    for body in (out.text, *out.files.values()):  # every file through the one writer: no formula cell
        cells = [c for row in csv.reader(io.StringIO(body)) for c in row]
        assert not [c for c in cells if c.lstrip()[:1] in ("=", "+", "@")], cells
