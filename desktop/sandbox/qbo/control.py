"""The control API's view of the ledger: normalized documents, and tampering as an accountant would.

Tampering goes around the API's rules the way a person in the QBO UI can (back-dating, ignoring the
duplicate-number warning), but it leaves the same traces: SyncToken and LastUpdatedTime move, a
webhook fires and CDC shows the change. ``edit`` takes ``set: {"total"?, "tax"?, "date"?,
"quantity"?, "item"?}``: ``quantity`` re-states a sales line's ``Qty`` and ``UnitPrice`` keeping its
amount (the line of ``item``, an ``ItemRef`` id, else the largest), so an Inventory item's stock moves.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from desktop.sandbox.qbo import stock, txn
from desktop.sandbox.qbo.ops import Operations
from desktop.sandbox.qbo.store import TRANSACTIONS, Company, Record
from desktop.sandbox.qbo.util import TWO, QboFault, money


def normalized(rec: Record) -> dict[str, Any]:
    obj = rec.obj
    total = obj.get("TotalAmt", Decimal("0.00"))
    return {
        "type": rec.entity,
        "id": rec.id,
        "number": obj.get("DocNumber"),
        "reference": obj.get("PrivateNote"),
        "date": obj.get("TxnDate"),
        "currency": (obj.get("CurrencyRef") or {}).get("value"),
        "total": format(Decimal(total).quantize(TWO), "f"),
        "status": rec.status,
        "raw": copy.deepcopy(obj),
    }


def ledger_documents(c: Company) -> list[dict[str, Any]]:
    with c.lock:
        out: list[dict[str, Any]] = []
        for entity in TRANSACTIONS:
            recs = list(c.all(entity)) + list(c.tombstones.get(entity, {}).values())
            out.extend({**normalized(r), "takeback_requests": c.takeback_requests.get((entity, r.id), 0)}
                       for r in sorted(recs, key=lambda r: (r.num, r.id)))
        return out


def _find(c: Company, body: dict[str, Any]) -> Record:
    ident = str(body.get("id") or "")
    types = [body["type"]] if body.get("type") else list(TRANSACTIONS)
    for entity in types:
        rec = c.get(entity, ident)
        if rec is not None:
            return rec
    raise ValueError(f"no live document {ident!r} of type {types}")


def tamper(c: Company, ops: Operations, body: dict[str, Any]) -> dict[str, Any]:
    op = body.get("op")
    try:
        if op == "create":
            entity = body.get("type")
            if entity not in TRANSACTIONS:
                raise ValueError(f"create needs type in {TRANSACTIONS}")
            return normalized(ops.save(c, entity, dict(body.get("document") or {})))
        rec = _find(c, body)
        if op == "delete":
            return normalized(ops.force_delete(c, rec))
        if op == "void":
            return normalized(ops.force_void(c, rec))
        if op == "duplicate":
            with c.lock:
                obj = copy.deepcopy(rec.obj)
                for key in ("Id", "SyncToken", "MetaData"):
                    obj.pop(key, None)
                new = c.put(rec.entity, obj, ops.now(), status=rec.status)
                stock.sync(c, new.entity, new.id, new)
            ops.notify(c, new, "Create")
            return normalized(new)
        if op == "edit":
            return normalized(_edit(c, ops, rec, dict(body.get("set") or {})))
    except QboFault as fault:
        raise ValueError(f"{fault.code} {fault.message}: {fault.detail}") from fault
    raise ValueError(f"unknown tamper op {op!r}")


def _largest(lines: list[dict[str, Any]], kind: str, posting: str | None = None) -> dict[str, Any] | None:
    cands = [
        ln
        for ln in lines
        if ln.get("DetailType") == kind
        and (posting is None or ln.get("JournalEntryLineDetail", {}).get("PostingType") == posting)
    ]
    return max(cands, key=lambda ln: ln["Amount"], default=None)


def _requantify(lines: list[dict[str, Any]], changes: dict[str, Any]) -> None:
    """A person's new quantity on a sales line, its unit price re-derived so the amount stays."""
    item = changes.get("item")
    cands = [ln for ln in lines if ln.get("DetailType") == "SalesItemLineDetail" and (
        item is None or str((ln["SalesItemLineDetail"].get("ItemRef") or {}).get("value")) == str(item))]
    line = max(cands, key=lambda ln: ln["Amount"], default=None)
    if line is None:
        raise ValueError(f"no sales line of item {item!r} to change the quantity of")
    qty = Decimal(str(changes["quantity"]))
    price = line["Amount"] / qty if qty > 0 else Decimal(0)
    if qty <= 0 or price * qty != line["Amount"]:
        raise ValueError(f"Amount {line['Amount']} is not {qty} units at an exact unit price")
    line["SalesItemLineDetail"].update(Qty=qty, UnitPrice=price)


def _edit(c: Company, ops: Operations, rec: Record, changes: dict[str, Any]) -> Record:
    with c.lock:
        obj = copy.deepcopy(rec.obj)
        if "date" in changes:
            obj["TxnDate"] = str(changes["date"])
        lines = obj.get("Line") or []
        if rec.entity in txn.SALES_DOCS and "quantity" in changes:
            _requantify(lines, changes)
        if rec.entity in txn.SALES_DOCS and ("total" in changes or "tax" in changes):
            detail = obj.setdefault("TxnTaxDetail", {"TotalTax": Decimal("0.00"), "TaxLine": []})
            old_tax = detail.get("TotalTax", Decimal("0.00"))
            tax = money(changes["tax"]) if "tax" in changes else old_tax
            if tax != old_tax:
                tline = max(detail.get("TaxLine") or [], key=lambda ln: ln["Amount"], default=None)
                if tline is None:
                    detail.setdefault("TaxLine", []).append(
                        {
                            "Amount": tax,
                            "DetailType": "TaxLineDetail",
                            "TaxLineDetail": {"PercentBased": False},
                        }
                    )
                else:
                    tline["Amount"] += tax - old_tax
                detail["TotalTax"] = tax
            subtotal = sum(
                (ln["Amount"] for ln in lines if ln.get("DetailType") == "SalesItemLineDetail"),
                Decimal("0.00"),
            )
            total = money(changes["total"]) if "total" in changes else subtotal + tax
            delta = total - tax - subtotal
            line = _largest(lines, "SalesItemLineDetail")
            if line is not None and delta:
                line["Amount"] += delta
                sid = line.setdefault("SalesItemLineDetail", {})
                qty = Decimal(sid.get("Qty") or 1)
                price = (line["Amount"] / qty).quantize(TWO) if qty else line["Amount"]
                if price * qty == line["Amount"]:
                    sid["UnitPrice"] = price
                else:
                    sid["Qty"], sid["UnitPrice"] = Decimal(1), line["Amount"]
            for ln in lines:
                if ln.get("DetailType") == "SubTotalLineDetail":
                    ln["Amount"] = subtotal + delta
            obj["TotalAmt"] = total
            if rec.entity == "CreditMemo":
                applied = rec.obj["TotalAmt"] - rec.obj.get("RemainingCredit", rec.obj["TotalAmt"])
                obj["RemainingCredit"] = obj["Balance"] = total - applied
        elif rec.entity == "JournalEntry" and "total" in changes:
            delta = money(changes["total"]) - obj["TotalAmt"]
            for posting in ("Debit", "Credit"):
                line = _largest(lines, "JournalEntryLineDetail", posting)
                if line is not None:
                    line["Amount"] += delta
            obj["TotalAmt"] = money(changes["total"])
        elif rec.entity == "Payment" and "total" in changes:
            delta = money(changes["total"]) - obj["TotalAmt"]
            obj["TotalAmt"] = money(changes["total"])
            obj["UnappliedAmt"] = obj.get("UnappliedAmt", Decimal("0.00")) + delta
        rate = obj.get("ExchangeRate", Decimal(1))
        if "HomeTotalAmt" in obj:
            obj["HomeTotalAmt"] = (obj["TotalAmt"] * rate).quantize(TWO)
        new = c.put(rec.entity, obj, ops.now(), status=rec.status)
        stock.sync(c, new.entity, new.id, new)
    ops.notify(c, new, "Update")
    return new
