"""Reading a ledger's documents for a period back, and single documents by id.

QBO: ``SELECT * FROM <entity> WHERE TxnDate >= '…' AND TxnDate <= '…'`` for credit memos, refund
receipts, journal entries and payments (voided documents stay in the answer; deleted ones vanish,
so a posted document the period read lacks is read by id — a 610 "Object Not Found" confirms the
deletion). Xero: ``GET /CreditNotes|ManualJournals|Payments?where=Date>=DateTime(…)&&Date<=…``,
paged (deleted and voided documents stay listed with their status; a by-id 404 means gone).

Documents are normalised with the pull direction's readers (one notion of "our key", status and
totals across the app) plus what only reconciliation needs: the exchange rate and the accounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from desktop.services.errors import NeedsPersonError
from desktop.services.ledgers import qbo as qbo_api
from desktop.services.ledgers import xero as xero_api
from desktop.services.ledgers.base import expect_ok
from desktop.services.reconcile.model import LedgerDoc, Period
from desktop.services.sync.pull import qbo_doc, xero_doc

__all__ = ["QBO_ENTITIES", "XERO_LISTS", "LedgerReader", "from_qbo", "from_xero"]

QBO_ENTITIES = ("CreditMemo", "RefundReceipt", "JournalEntry", "Payment")
XERO_LISTS = {"CreditNotes": "CreditNote", "ManualJournals": "ManualJournal", "Payments": "Payment"}
_XERO_COLLECTION = {v: k for k, v in XERO_LISTS.items()}
XERO_PAGE = 100
#: What "this document does not exist" looks like: QBO fault 610, Xero HTTP 404.
_GONE = {"610", "404"}


def _dec(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except ArithmeticError:
            return None
    return None


def from_qbo(entity: str, obj: dict[str, Any]) -> LedgerDoc:
    base = qbo_doc(entity, obj)
    accounts: list[tuple[str, Decimal]] = []
    lines = obj.get("Line") or []
    for line in lines if isinstance(lines, list) else []:
        detail = line.get("JournalEntryLineDetail") if isinstance(line, dict) else None
        amount = _dec(line.get("Amount")) if isinstance(line, dict) else None
        if isinstance(detail, dict) and amount is not None:
            acct = str((detail.get("AccountRef") or {}).get("value", ""))
            accounts.append((acct, amount if detail.get("PostingType") == "Debit" else -amount))
    rate = _dec(obj.get("ExchangeRate"))
    return LedgerDoc(base.doc_type, base.remote_id, base.status, base.total, base.tax, base.txn_date,
                     base.currency, rate if rate is not None and rate != 1 else None, base.our_key, base.number,
                     tuple(accounts), max(1, len(base.lines or ())))


def from_xero(collection: str, obj: dict[str, Any]) -> LedgerDoc:
    base = xero_doc(collection, obj)
    accounts: list[tuple[str, Decimal]] = []
    for line in obj.get("JournalLines") or obj.get("LineItems") or []:
        amount = _dec(line.get("LineAmount")) if isinstance(line, dict) else None
        if amount is not None and line.get("AccountCode"):
            accounts.append((str(line["AccountCode"]), amount))
    rate = _dec(obj.get("CurrencyRate"))
    return LedgerDoc(base.doc_type, base.remote_id, base.status, base.total, base.tax, base.txn_date,
                     base.currency, rate if rate is not None and rate != 1 else None, base.our_key, base.number,
                     tuple(accounts), max(1, len(base.lines or ())))


class LedgerReader:
    """Reads one connection's ledger through its connector (``QboConnector`` or ``XeroConnector``)."""

    def __init__(self, connector: Any, platform: str) -> None:
        self._c = connector
        self.platform = platform

    def period(self, period: Period) -> list[LedgerDoc]:
        """Every transaction of the kinds we post, dated in ``period``."""
        if self.platform == "qbo":
            where = f"TxnDate >= '{period.start.isoformat()}' AND TxnDate <= '{period.end.isoformat()}'"
            return [from_qbo(e, obj) for e in QBO_ENTITIES for obj in self._c.query_all(e, where)]
        s, e = period.start, period.end
        where = (f"Date>=DateTime({s.year},{s.month:02d},{s.day:02d})&&"
                 f"Date<=DateTime({e.year},{e.month:02d},{e.day:02d})")
        out: list[LedgerDoc] = []
        for collection in XERO_LISTS:
            page = 1
            while True:
                body = self._xero_get(collection, {"where": where, "page": str(page), "pageSize": str(XERO_PAGE)})
                rows = [r for r in body.get(collection) or [] if isinstance(r, dict)]
                out += [from_xero(collection, r) for r in rows]
                count = int((body.get("pagination") or {}).get("pageCount") or page)
                if len(rows) < XERO_PAGE or page >= count:
                    break
                page += 1
        return out

    def by_id(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], LedgerDoc | None]:
        """Documents one by one; ``None`` for one the ledger says does not exist (deleted)."""
        out: dict[tuple[str, str], LedgerDoc | None] = {}
        for doc_type, remote_id in wanted:
            try:
                out[(doc_type, remote_id)] = self._one(doc_type, remote_id)
            except NeedsPersonError as exc:
                if exc.platform_code not in _GONE:
                    raise
                out[(doc_type, remote_id)] = None
        return out

    def _one(self, doc_type: str, remote_id: str) -> LedgerDoc | None:
        if self.platform == "qbo":
            resp = self._c.http.request("GET", f"{self._c.base}/{doc_type.lower()}/{remote_id}",
                                        headers={"Accept": "application/json"},
                                        params={"minorversion": qbo_api.MINOR_VERSION})
            body = expect_ok(resp, qbo_api.translate_error)
            obj = body.get(doc_type)
            return from_qbo(doc_type, obj) if isinstance(obj, dict) else None
        collection = _XERO_COLLECTION.get(doc_type)
        if collection is None:
            return None
        rows = self._xero_get(f"{collection}/{remote_id}", None).get(collection) or []
        return from_xero(collection, rows[0]) if rows and isinstance(rows[0], dict) else None

    def _xero_get(self, path: str, params: dict[str, str] | None) -> dict[str, Any]:
        resp = self._c.http.request("GET", f"{self._c.base}/{path}", params=params,
                                    headers={"Accept": "application/json", "xero-tenant-id": self._c.company_id})
        body: dict[str, Any] = expect_ok(resp, xero_api.translate_error)
        return body
