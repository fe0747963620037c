"""The ledger by document number: the raw HTTP manual entry needs until the platform interface has it.

A document a person typed into the ledger carries no idempotency key, only the number the ledger
showed them; adoption finds it by that number, and the Returns page's Void voids a posted document.
All of it — and the choice of platform by the connector's class — lives in this one small module,
so it can be swapped for the ledger platform interface's own methods in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from desktop.services.errors import NeedsPersonError
from desktop.services.ledgers.base import expect_ok
from desktop.services.store.coltypes import json_dumps_exact

__all__ = ["Found", "LedgerDocs", "find_by_number", "money_or_none"]


@dataclass(frozen=True)
class Found:
    """A document found in the ledger by its number."""

    remote_id: str
    number: str | None
    total: Decimal | None
    sync_token: str | None = None
    status: str | None = None


class LedgerDocs:
    """Look-up by number and void, over a connector's own ``http`` and ``base`` (QBO or Xero).

    The poster's writers look documents up by idempotency key; a document a person typed into the
    ledger carries no key, only the number the ledger showed them, hence this small reader.
    """

    def __init__(self, connector: Any) -> None:
        self.http = connector.http
        self.base = str(connector.base).rstrip("/")
        self.tenant_id: str | None = getattr(connector, "company_id", None)
        self.platform = "qbo" if type(connector).__name__.startswith("Qbo") else "xero"

    def _xero_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "xero-tenant-id": self.tenant_id or "",
                "Content-Type": "application/json"}

    def qbo_query(self, statement: str) -> dict[str, Any]:
        from desktop.services.ledgers.qbo import MINOR_VERSION, translate_error

        resp = self.http.request("GET", f"{self.base}/query", headers={"Accept": "application/json"},
                                 params={"minorversion": MINOR_VERSION, "query": statement})
        body: dict[str, Any] = expect_ok(resp, translate_error).get("QueryResponse") or {}
        return body

    def xero_get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        from desktop.services.ledgers.xero import translate_error

        resp = self.http.request("GET", f"{self.base}/{path}", headers=self._xero_headers(), params=params or {})
        body: dict[str, Any] = expect_ok(resp, translate_error)
        return body

    def void(self, doc_type: str, remote_id: str) -> None:
        """Void the document in the ledger (QBO: ``operation=void``; Xero: ``Status`` VOIDED)."""
        if self.platform == "qbo":
            from desktop.services.ledgers.qbo import MINOR_VERSION, translate_error

            current = self.qbo_query(_qbo_select(doc_type, "Id", remote_id)).get(doc_type) or []
            if not current:
                raise NeedsPersonError(f"QuickBooks has no {doc_type} {remote_id} to void")
            body = {"Id": remote_id, "SyncToken": str(current[0].get("SyncToken", "0"))}
            resp = self.http.request("POST", f"{self.base}/{doc_type.lower()}", headers={
                "Accept": "application/json", "Content-Type": "application/json"},
                params={"minorversion": MINOR_VERSION, "operation": "void"}, data=json_dumps_exact(body).encode())
            expect_ok(resp, translate_error)
            return
        from desktop.services.ledgers.xero import translate_error
        from desktop.services.ledgers.xero_post import COLLECTIONS

        collection, id_field, _n, _r = COLLECTIONS[doc_type]
        status = "DELETED" if doc_type == "Payment" else "VOIDED"
        xbody: dict[str, Any] = {collection: [{id_field: remote_id, "Status": status}]}
        resp = self.http.request("POST", f"{self.base}/{collection}/{remote_id}", headers=self._xero_headers(),
                                 data=json_dumps_exact(xbody).encode())
        expect_ok(resp, translate_error)


def _qbo_select(entity: str, field_name: str, value: str) -> str:
    """A statement of QBO's query language (not SQL): the value is escaped, names are our own."""
    quoted = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"SELECT * FROM {entity} WHERE {field_name} = '{quoted}'"  # noqa: S608 - escaped; not SQL


def find_by_number(docs: LedgerDocs, doc_type: str, number: str) -> Found | None:
    """The live document of ``doc_type`` numbered ``number`` (Xero journals/payments: by id)."""
    if not number:
        return None
    if docs.platform == "qbo":
        rows = docs.qbo_query(_qbo_select(doc_type, "DocNumber", number)).get(doc_type) or []
        if not rows:
            return None  # (a voided one totals 0.00: the amount check refuses it)
        r = rows[0]
        return Found(str(r["Id"]), r.get("DocNumber"), money_or_none(r.get("TotalAmt")), str(r.get("SyncToken", "0")))
    from desktop.services.ledgers.xero_post import COLLECTIONS

    collection, id_field, number_field, _ref = COLLECTIONS[doc_type]
    if number_field:
        safe = number.replace('"', "")
        items = docs.xero_get(collection, {"where": f'{number_field}=="{safe}"'}).get(collection) or []
    else:
        try:
            items = docs.xero_get(f"{collection}/{number}").get(collection) or []
        except NeedsPersonError:
            return None
    live = [i for i in items if str(i.get("Status", "")).upper() not in ("VOIDED", "DELETED")]
    if not live:
        return None
    i = live[0]
    total = i.get("Total", i.get("Amount"))
    return Found(str(i[id_field]), str(i.get(number_field)) if number_field and i.get(number_field) else number,
                 money_or_none(total) if total is not None else None, None, str(i.get("Status")))


def money_or_none(text: Any) -> Decimal | None:
    try:
        return Decimal(str(text))
    except (ArithmeticError, ValueError):
        return None
