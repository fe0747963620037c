"""Pending documents in a ledger's own import CSV, for a person to import by hand while the sync is down.

Each platform's profile renders its import format (:meth:`PlatformProfile.manual_import_csv`); the
formats are here, side by side, and both write through the app's one CSV writer
(:class:`~desktop.services.core.csv_safe.SafeWriter`): customer names, descriptions and memos come from
the RMS — from strangers — and a cell such as ``=HYPERLINK(…)`` must reach the spreadsheet as text.

- QuickBooks Online, *Import journal entries* (Settings → Import data → Journal entries): columns
  ``Journal No``, ``Journal Date``, ``Account Name``, ``Debits``, ``Credits``, ``Description``,
  ``Name`` — per Intuit's help article "Import journal entries" (quickbooks.intuit.com
  learn-support, en-au, import-journal-entries-quickbooks-online). Every pending document is
  written as its balanced debit/credit journal, one ``Journal No`` (its DocNumber) per document.
  ``Name`` stays empty: QuickBooks payloads name the customer by id, which the import cannot use.
- Xero, *Credit Notes → Import* (the invoice template with ``CreditNoteNumber`` and
  ``CreditNoteDate`` in place of the invoice columns; ``*`` marks a required column):
  ``*ContactName``, ``EmailAddress``, ``*CreditNoteNumber``, ``Reference``, ``*CreditNoteDate``,
  ``*Description``, ``*Quantity``, ``*UnitAmount``, ``*AccountCode``, ``*TaxType``, ``Currency`` —
  per the public guides on importing credit notes to Xero (spreadsheetbroccoli.com "How to
  Import Credit Note to Xero"; its validator page lists the same required columns). Manual
  journals and refund payments have no credit-note row; they are listed as skipped.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from desktop.services.core.csv_safe import SafeWriter

__all__ = ["QBO_COLUMNS", "XERO_COLUMNS", "ImportDoc", "ImportLine", "ImportSheet", "qbo_journal_csv",
           "xero_credit_note_csv"]

QBO_COLUMNS = ["Journal No", "Journal Date", "Account Name", "Debits", "Credits", "Description", "Name"]
XERO_COLUMNS = ["*ContactName", "EmailAddress", "*CreditNoteNumber", "Reference", "*CreditNoteDate", "*Description",
                "*Quantity", "*UnitAmount", "*AccountCode", "*TaxType", "Currency"]


@dataclass(frozen=True)
class ImportLine:
    """One debit or credit of a document's balanced journal (exactly one of the two is set)."""

    account_name: str
    debit: Decimal | None
    credit: Decimal | None
    memo: str


@dataclass(frozen=True)
class ImportDoc:
    """One pending document of return ``rma``: its payload as it would post, and its journal."""

    rma: str
    role: str
    doc_type: str
    txn_date: date
    currency: str
    payload: Mapping[str, Any]
    lines: tuple[ImportLine, ...]

    @property
    def what(self) -> str:
        """The document's role in words ("fee journal")."""
        return self.role.replace("_", " ")


@dataclass(frozen=True)
class ImportSheet:
    """The CSV text, its data rows, the documents written, and those the format cannot carry."""

    text: str
    rows: int
    documents: int
    skipped: list[str] = field(default_factory=list)


def _number(value: Any, default: Decimal) -> Decimal:
    """A payload's quantity or price as Decimal (``default`` when it has none, or not a number)."""
    if value is None or isinstance(value, bool):
        return default
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        return default


def qbo_journal_csv(docs: Sequence[ImportDoc], number_max: int | None) -> ImportSheet:
    """QuickBooks' journal-entry import: every document as its balanced journal, numbered by DocNumber."""
    buf = io.StringIO()
    w = SafeWriter(buf)
    w.writerow(QBO_COLUMNS)
    rows = 0
    for doc in docs:
        number = str(doc.payload.get("DocNumber") or doc.rma)[:number_max]
        for ln in doc.lines:
            w.writerow([number, doc.txn_date.strftime("%m/%d/%Y"), ln.account_name,
                        f"{ln.debit:f}" if ln.debit is not None else "",
                        f"{ln.credit:f}" if ln.credit is not None else "",
                        ln.memo or f"{doc.rma} {doc.what}", ""])
            rows += 1
    return ImportSheet(buf.getvalue(), rows, len(docs))


def xero_credit_note_csv(docs: Sequence[ImportDoc],
                         entity_of: Callable[[str, Mapping[str, Any]], Mapping[str, Any]]) -> ImportSheet:
    """Xero's credit-note import: one row per line item; other document types are skipped (named)."""
    buf = io.StringIO()
    w = SafeWriter(buf)
    w.writerow(XERO_COLUMNS)
    rows = 0
    skipped: list[str] = []
    exported = 0
    for doc in docs:
        if doc.doc_type != "CreditNote":
            skipped.append(f"{doc.rma} {doc.doc_type} ({doc.what})")
            continue
        body = entity_of(doc.doc_type, doc.payload)
        contact = body.get("Contact") or {}
        exported += 1
        number = str(body.get("CreditNoteNumber") or f"{doc.rma}-CN")
        for item in body.get("LineItems") or []:
            w.writerow([contact.get("Name") or "", contact.get("EmailAddress", ""), number, body.get("Reference", ""),
                        doc.txn_date.strftime("%d/%m/%Y"), item.get("Description", ""),
                        f"{_number(item.get('Quantity', 1), Decimal(1)) or 1:f}",
                        f"{_number(item.get('UnitAmount', 0), Decimal(0)) or 0:f}",
                        item.get("AccountCode", ""), item.get("TaxType", ""), doc.currency])
            rows += 1
    return ImportSheet(buf.getvalue(), rows, exported, skipped)
