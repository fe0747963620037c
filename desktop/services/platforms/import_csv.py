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
  Import Credit Note to Xero"; its validator page lists the same required columns). A dearer
  exchange's invoice goes to a second file in Xero's sales-invoice template, and payments (refunds
  paid out, differences paid in) to a third, a list to apply by hand (Xero imports no payments);
  manual journals have no import here and are listed as skipped. QuickBooks' journal import
  carries every document (its sales receipt too) in the one file.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from desktop.services.core.csv_safe import SafeWriter

__all__ = ["QBO_COLUMNS", "XERO_COLUMNS", "XERO_INVOICE_COLUMNS", "XERO_PAYMENT_COLUMNS", "ImportDoc", "ImportLine",
           "ImportSheet", "qbo_journal_csv", "xero_import_csv"]

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
    #: Further files the format needs beside the main one (name → CSV text), e.g. Xero's invoices.
    files: dict[str, str] = field(default_factory=dict)


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


#: Xero's sales-invoice import (Sales → Invoices → Import; same public guides): a dearer exchange's
#: ``ACCREC`` invoice. Its returned goods are negative lines against the replacement's positive ones
#: (the total, the difference charged, is positive) — UNCONFIRMED that the import takes a negative
#: line (Xero's own invoice screen does); if it refuses one, key that invoice in by hand from the row.
XERO_INVOICE_COLUMNS = ["*ContactName", "EmailAddress", "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate",
                        "*Description", "*Quantity", "*UnitAmount", "*AccountCode", "*TaxType", "Currency"]
#: Xero has no import for payments: each is listed to be applied by hand to its document (Receive /
#: Make a payment on the credit note or invoice), into or out of the account named.
XERO_PAYMENT_COLUMNS = ["Apply to", "Payment date", "Amount", "Paid from / into account", "Currency", "Reference"]

#: Per Xero document type that a file carries: (its file — "" the main one — and the number a
#: person gives it when the payload has none). Payments name their document by the same number.
_XERO_FILES: dict[str, tuple[str, str, str]] = {
    "CreditNote": ("", "CreditNoteNumber", "CN"),
    "Invoice": ("invoices", "InvoiceNumber", "INV"),
    "Payment": ("payments", "", ""),
}


def _xero_number(doc_type: str, rma: str, body: Mapping[str, Any]) -> str:
    _file, field_name, suffix = _XERO_FILES[doc_type]
    return str(body.get(field_name) or f"{rma}-{suffix}")


def _xero_line(item: Mapping[str, Any]) -> tuple[str, str]:
    """A line item's quantity and unit amount; a line given by its exact amount (``LineAmount``)
    as one unit of that amount, so the row carries the line's money either way."""
    if item.get("UnitAmount") is None and item.get("LineAmount") is not None:
        return "1", f"{_number(item['LineAmount'], Decimal(0)):f}"
    return (f"{_number(item.get('Quantity', 1), Decimal(1)) or 1:f}",
            f"{_number(item.get('UnitAmount', 0), Decimal(0)) or 0:f}")


def xero_import_csv(docs: Sequence[ImportDoc],
                    entity_of: Callable[[str, Mapping[str, Any]], Mapping[str, Any]]) -> ImportSheet:
    """Xero's imports: credit notes in the main file, a dearer exchange's invoices in the invoice
    template (``files["invoices"]``), payments as a list to apply by hand (``files["payments"]``);
    manual journals have no import here and are named in ``skipped``. All through one CSV writer."""
    bufs: dict[str, io.StringIO] = {}
    writers: dict[str, SafeWriter] = {}
    heads = {"": XERO_COLUMNS, "invoices": XERO_INVOICE_COLUMNS, "payments": XERO_PAYMENT_COLUMNS}
    rows = exported = 0
    skipped: list[str] = []

    def writer(name: str) -> SafeWriter:
        if name not in writers:
            bufs[name] = io.StringIO()
            writers[name] = SafeWriter(bufs[name])
            writers[name].writerow(heads[name])
        return writers[name]

    writer("")
    for doc in docs:
        if doc.doc_type not in _XERO_FILES:
            skipped.append(f"{doc.rma} {doc.doc_type} ({doc.what})")
            continue
        name = _XERO_FILES[doc.doc_type][0]
        body = entity_of(doc.doc_type, doc.payload)
        exported += 1
        if name == "payments":
            paid = next((t for t, (_f, field_name, _s) in _XERO_FILES.items() if field_name and t in body), None)
            account = body.get("Account") or {}
            writer(name).writerow([f"{doc.what}: {_xero_number(paid, doc.rma, {})}" if paid else doc.what,
                                   doc.txn_date.strftime("%d/%m/%Y"), f"{_number(body.get('Amount'), Decimal(0)):f}",
                                   account.get("Code") or account.get("AccountID") or "", doc.currency,
                                   body.get("Reference", "")])
            rows += 1
            continue
        contact = body.get("Contact") or {}
        number, day = _xero_number(doc.doc_type, doc.rma, body), doc.txn_date.strftime("%d/%m/%Y")
        dates = [day, day] if name else [day]  # an invoice is due the day it is paid (recipes/xero.py)
        for item in body.get("LineItems") or []:
            quantity, unit = _xero_line(item)
            writer(name).writerow([contact.get("Name") or "", contact.get("EmailAddress", ""), number,
                                   body.get("Reference", ""), *dates, item.get("Description", ""), quantity, unit,
                                   item.get("AccountCode", ""), item.get("TaxType", ""), doc.currency])
            rows += 1
    files = {n: b.getvalue() for n, b in bufs.items() if n}
    return ImportSheet(bufs[""].getvalue(), rows, exported, skipped, files)
