"""Export for a manual import: the pending documents in the ledger's own import CSV.

:meth:`ManualEntryService.export_csv` writes the pending documents in
the platform's own import format:

- QuickBooks Online, *Import journal entries* (Settings → Import data → Journal entries): columns
  ``Journal No``, ``Journal Date``, ``Account Name``, ``Debits``, ``Credits``, ``Description``,
  ``Name`` — per Intuit's help article "Import journal entries" (quickbooks.intuit.com
  learn-support, en-au, import-journal-entries-quickbooks-online). Every pending document is
  written as its balanced debit/credit journal, one ``Journal No`` (its DocNumber) per document.
- Xero, *Credit Notes → Import* (the invoice template with ``CreditNoteNumber`` and
  ``CreditNoteDate`` in place of the invoice columns; ``*`` marks a required column):
  ``*ContactName``, ``EmailAddress``, ``*CreditNoteNumber``, ``Reference``, ``*CreditNoteDate``,
  ``*Description``, ``*Quantity``, ``*UnitAmount``, ``*AccountCode``, ``*TaxType``, ``Currency`` —
  per the public guides on importing credit notes to Xero (spreadsheetbroccoli.com "How to
  Import Credit Note to Xero"; its validator page lists the same required columns). Manual
  journals and refund payments have no credit-note row; they are listed as skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import sqlalchemy as sa

from desktop.services.errors import NeedsPersonError
from desktop.services.manual.ledger_docs import money_or_none
from desktop.services.manual.model import ExportResult
from desktop.services.manual.validate import Planning
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Return
from desktop.services.sync.documents import LedgerDocument, body_of
from desktop.services.sync.keys import DOC_NUMBER_MAX

__all__ = ["XERO_COLUMNS", "Exporting"]


class Exporting(Planning):
    """``export_csv`` of :class:`~desktop.services.manual.service.ManualEntryService`."""

    def export_csv(self, org: str) -> ExportResult:
        """Pending (not yet posted) documents of ``org`` in its ledger's own import CSV."""
        with self._db.session() as s:
            o = s.scalar(sa.select(Organization).where(Organization.code == org))
            if o is None:
                raise NeedsPersonError(f"There is no organization {org!r}")
            platform = o.platform.value
            pending = list(s.execute(sa.select(Return.rma_number, OutboxDocument.idempotency_key).join(
                Return, Return.id == OutboxDocument.return_id).where(
                OutboxDocument.organization_id == o.id,
                OutboxDocument.status.in_((OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.QUARANTINED)))
                .order_by(OutboxDocument.id)))
        wanted: dict[str, set[str]] = {}
        for rma, key in pending:
            wanted.setdefault(rma, set()).add(key)
        docs: list[tuple[LedgerDocument, str, str | None]] = []
        for rma, keys in wanted.items():
            prepared = self.prepare(org, rma)
            docs += [(d, rma, _customer(d)) for d in prepared.documents if d.idempotency_key in keys]
        return (_qbo_csv if platform == "qbo" else _xero_csv)(docs)


def _customer(doc: LedgerDocument) -> str | None:
    body = body_of(doc)
    contact = body.get("Contact") or {}
    return contact.get("Name") if isinstance(contact, dict) else None


def _qbo_csv(docs: Sequence[tuple[LedgerDocument, str, str | None]]) -> ExportResult:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Journal No", "Journal Date", "Account Name", "Debits", "Credits", "Description", "Name"])
    rows = 0
    for doc, rma, customer in docs:
        number = str(doc.payload.get("DocNumber") or rma)[:DOC_NUMBER_MAX]
        for ln in doc.journal:
            w.writerow([number, doc.txn_date.strftime("%m/%d/%Y"), ln.account_name,
                        f"{ln.debit.amount:f}" if ln.debit is not None else "",
                        f"{ln.credit.amount:f}" if ln.credit is not None else "",
                        ln.memo or f"{rma} {doc.role.replace('_', ' ')}", customer or ""])
            rows += 1
    return ExportResult(buf.getvalue(), rows, len(docs))


XERO_COLUMNS = ["*ContactName", "EmailAddress", "*CreditNoteNumber", "Reference", "*CreditNoteDate", "*Description",
                "*Quantity", "*UnitAmount", "*AccountCode", "*TaxType", "Currency"]


def _xero_csv(docs: Sequence[tuple[LedgerDocument, str, str | None]]) -> ExportResult:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(XERO_COLUMNS)
    rows = 0
    skipped: list[str] = []
    exported = 0
    for doc, rma, customer in docs:
        if doc.doc_type != "CreditNote":
            skipped.append(f"{rma} {doc.doc_type} ({doc.role.replace('_', ' ')})")
            continue
        body = body_of(doc)
        exported += 1
        number = str(body.get("CreditNoteNumber") or f"{rma}-CN")
        for item in body.get("LineItems") or []:
            w.writerow([customer or "", (body.get("Contact") or {}).get("EmailAddress", ""), number,
                        body.get("Reference", ""), doc.txn_date.strftime("%d/%m/%Y"), item.get("Description", ""),
                        f"{money_or_none(item.get('Quantity', 1)) or 1:f}",
                        f"{money_or_none(item.get('UnitAmount', 0)) or 0:f}",
                        item.get("AccountCode", ""), item.get("TaxType", ""), doc.currency])
            rows += 1
    return ExportResult(buf.getvalue(), rows, exported, skipped)
