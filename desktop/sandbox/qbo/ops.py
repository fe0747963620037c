"""Entity operations shared by the REST endpoints, batch items and the control API's tamper.

Create, read, full/sparse update with SyncToken, delete and void, with the rules the real
service applies: stale SyncToken → 5010, unknown/deleted objects → 610, operations an entity
does not support → 500 "Unsupported Operation".
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from desktop.sandbox.qbo import names, stock, txn
from desktop.sandbox.qbo.refs import INACTIVE_DETAIL, business, required
from desktop.sandbox.qbo.store import ENTITIES, TRANSACTIONS, Company, Record
from desktop.sandbox.qbo.util import QboFault

URL_NAMES = {e.lower(): e for e in ENTITIES}
VOIDABLE = ("CreditMemo", "RefundReceipt", "Payment", "SalesReceipt")

Notify = Callable[[Company, Record, str], None]


def unsupported(what: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", f"Operation {what} is not supported.", "")


def not_found(entity: str, ident: str) -> QboFault:
    return QboFault("610", "Object Not Found", f"{INACTIVE_DETAIL} ({entity} Id={ident})", "Id")


@dataclass
class Operations:
    """The write/read rules; ``now`` is the QBO sandbox clock, ``notify`` feeds webhooks."""

    now: Callable[[], datetime]
    notify: Notify

    def read(self, c: Company, entity: str, ident: str) -> Record:
        rec = c.get(entity, ident)
        if rec is None:
            raise not_found(entity, ident)
        return rec

    def save(self, c: Company, entity: str, body: Any) -> Record:
        """Create (no Id) or update (Id + SyncToken; ``"sparse": true`` merges into the stored object)."""
        if not isinstance(body, dict):
            raise QboFault(
                "2010",
                "Request has invalid or unsupported property",
                f"The request body must be a {entity} object",
                "",
            )
        if entity not in TRANSACTIONS and entity not in names.WRITABLE:
            raise unsupported(f"Create/Update for {entity}")
        with c.lock:
            ident = str(body.get("Id") or "").strip()
            existing = None
            if ident:
                existing = self._current(c, entity, ident, body)
                if body.get("sparse") is True:
                    merged = copy.deepcopy(existing.obj)
                    merged.update({k: v for k, v in body.items() if k not in ("sparse", "SyncToken")})
                    body = merged
            elif entity == "CompanyCurrency" and "Code" not in body:
                raise required("Code")
            now = self.now()
            today = now.astimezone(c.tz).date()
            if entity in TRANSACTIONS:
                obj = txn.build(c, entity, body, today, existing)
            else:
                obj = names.build(c, entity, body, existing)
            if existing is not None:
                obj["Id"] = existing.id
                obj.pop("SyncToken", None)
            else:
                obj.pop("Id", None)
            old_links = _linked_memos(existing.obj) if existing is not None and entity == "Payment" else set()
            rec = c.put(entity, obj, now)
            stock.sync(c, entity, rec.id, rec)
            self._announce(c, rec, "Update" if existing is not None else "Create", old_links | _linked_memos(rec.obj))
            return rec

    def delete(self, c: Company, entity: str, body: Any) -> Record:
        return self._api_path(c, entity, body, TRANSACTIONS, f"Delete for {entity}; make it inactive instead",
                              self.force_delete)

    def force_delete(self, c: Company, rec: Record) -> Record:
        """Delete without the SyncToken check; a credit memo still applied to a payment refuses."""
        with c.lock:
            if rec.entity == "CreditMemo" and any(
                rec.id in _linked_memos(p.obj) for p in c.all("Payment") if p.status == "active"
            ):
                raise business(
                    "This credit memo is applied to a payment. Remove it from the payment "
                    "before you delete it.",
                    "Id",
                )
            tomb = c.remove(rec, self.now())
            stock.sync(c, rec.entity, rec.id, None)
            self._announce(c, tomb, "Delete", _linked_memos(rec.obj))
            return tomb

    def void(self, c: Company, entity: str, body: Any) -> Record:
        return self._api_path(c, entity, body, VOIDABLE, f"Void for {entity}", self.force_void)

    def force_void(self, c: Company, rec: Record) -> Record:
        """Void without the SyncToken check (the API path checks it first; tamper acts as a UI user)."""
        with c.lock:
            if rec.status == "voided":
                return rec
            new = c.put(
                rec.entity, txn.voided(rec.entity, rec.obj) | {"Id": rec.id}, self.now(), status="voided"
            )
            stock.sync(c, rec.entity, rec.id, new)
            self._announce(c, new, "Void", _linked_memos(rec.obj))
            return new

    def _api_path(self, c: Company, entity: str, body: Any, applies_to: Collection[str], unsupported_what: str,
                  act: Callable[[Company, Record], Record]) -> Record:
        """Delete or void as the API does it: refuse an entity the operation does not apply to, then
        ``act`` on the record the body names by ``Id``, at the ``SyncToken`` it was read at."""
        if entity not in applies_to:
            raise unsupported(unsupported_what)
        with c.lock:
            ident = str((body or {}).get("Id") or "").strip()
            if not ident:
                raise required("Id")
            c.takeback_requests[(entity, ident)] = c.takeback_requests.get((entity, ident), 0) + 1
            return act(c, self._current(c, entity, ident, body))

    def _current(self, c: Company, entity: str, ident: str, body: dict[str, Any]) -> Record:
        rec = c.get(entity, ident)
        if rec is None:
            raise not_found(entity, ident)
        token = body.get("SyncToken")
        if token is None:
            raise required("SyncToken")
        if str(token) != rec.obj["SyncToken"]:
            raise QboFault(
                "5010",
                "Stale Object Error",
                "Stale Object Error : You and another user were working on this at the same "
                "time. Your colleague finished before you did, so your work was not saved.",
                "SyncToken",
            )
        return rec

    def _announce(self, c: Company, rec: Record, operation: str, memos: set[str]) -> None:
        """Tell subscribers of ``rec``'s change; a payment's change also moves the credit memos it
        applies (``memos``: before and after)."""
        self.notify(c, rec, operation)
        if rec.entity == "Payment":
            self._refresh_memos(c, memos)

    def _refresh_memos(self, c: Company, memo_ids: set[str]) -> None:
        """Applying, changing or removing a payment moves the credit memos' Balance/RemainingCredit."""
        for mid in sorted(memo_ids):
            memo = c.get("CreditMemo", mid)
            if memo is None or memo.status != "active":
                continue
            remaining = txn.credit_remaining(c, memo)
            if remaining != memo.obj.get("RemainingCredit"):
                obj = copy.deepcopy(memo.obj)
                obj["RemainingCredit"] = remaining
                obj["Balance"] = remaining
                rate = obj.get("ExchangeRate", Decimal(1))
                if "HomeTotalAmt" in obj:
                    obj["HomeBalance"] = (remaining * rate).quantize(Decimal("0.01"))
                new = c.put("CreditMemo", obj, self.now())
                self.notify(c, new, "Update")


def _linked_memos(obj: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for line in obj.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") == "CreditMemo":
                out.add(str(link.get("TxnId")))
    return out
