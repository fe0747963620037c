"""Tracked inventory in the Xero emulator: items, quantity on hand and the postings Xero makes for them.

Xero's ``Item`` [SPEC xero_accounting.yaml]: an item is tracked (``IsTrackedAsInventory``) when it has
an ``InventoryAssetAccountCode`` (an INVENTORY account) and ``PurchaseDetails.COGSAccountCode``;
``QuantityOnHand`` and ``TotalCostPool`` ("calculated using average cost accounting") are read-only.

An approved customer credit note (``ACCRECCREDIT``) with a tracked ``ItemCode`` puts the goods back:
``QuantityOnHand`` rises by the line's ``Quantity`` and Xero debits the inventory asset account,
crediting the COGS account at the item's average cost (``TotalCostPool`` / ``QuantityOnHand``; the
purchase price when none is on hand). An approved supplier credit note (``ACCPAYCREDIT``) sends
them back: its tracked lines book to the inventory asset account, ``QuantityOnHand`` falls by the
quantity and ``TotalCostPool`` by the line's net amount (debit accounts payable, credit inventory).
Voiding or deleting the credit note takes the effect back; drafts have none.

UNCONFIRMED against the real service (docs/inventory-emulation.md): the exact average-cost rounding,
the refusal wording when a supplier credit would take more than is on hand, and that a voided
credit note restores the cost pool at the value it took out.
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from desktop.sandbox.xero.store import Doc, Tenant
from desktop.sandbox.xero.validation import Problems

TWO = Decimal("0.01")
POSTED = ("AUTHORISED", "PAID")


def tracked(item: Doc | None) -> bool:
    return bool(item and item.get("IsTrackedAsInventory"))


def _cogs(item: Doc) -> str:
    return str((item.get("PurchaseDetails") or {}).get("COGSAccountCode", ""))


def _average(item: Doc) -> Decimal:
    qty, pool = Decimal(item.get("QuantityOnHand") or 0), Decimal(item.get("TotalCostPool") or 0)
    if qty > 0:
        return pool / qty
    return Decimal((item.get("PurchaseDetails") or {}).get("UnitPrice") or 0)


def _ap_code(t: Tenant) -> str:
    return next((str(a["Code"]) for a in t.accounts.values() if a.get("SystemAccount") == "CREDITORS"), "800")


def effect(t: Tenant, doc: Doc) -> list[dict[str, Any]]:
    """The inventory entries an approved credit note makes (empty for drafts, voids and untracked lines)."""
    if doc.get("Status") not in POSTED:
        return []
    out: list[dict[str, Any]] = []
    supplier = doc.get("Type") == "ACCPAYCREDIT"
    for line in doc.get("LineItems") or []:
        item = t.item_by_code(str(line.get("ItemCode") or "")) if line.get("ItemCode") else None
        if item is None or not tracked(item):
            continue
        qty = Decimal(line.get("Quantity") or 0)
        if qty == 0:
            continue
        asset = str(item["InventoryAssetAccountCode"])
        if supplier:
            net = Decimal(line["LineAmount"]) - (
                Decimal(line.get("TaxAmount") or 0) if doc.get("LineAmountTypes") == "Inclusive" else 0)
            out.append({"item": item["Code"], "qty": -qty, "amount": net, "debit_account": _ap_code(t),
                        "credit_account": asset})
        else:
            amount = (qty * _average(item)).quantize(TWO, rounding=ROUND_HALF_UP)
            out.append({"item": item["Code"], "qty": qty, "amount": amount, "debit_account": asset,
                        "credit_account": _cogs(item)})
    return out


def check(t: Tenant, cn_type: str, status: str, lines: list[Doc], doc_id: str, problems: Problems) -> None:
    """A supplier credit may not send back more of a tracked item than is on hand."""
    if cn_type != "ACCPAYCREDIT" or status not in POSTED:
        return
    given_back = {e["item"]: -e["qty"] for e in t.stock.get(doc_id, [])}
    wanted: dict[str, Decimal] = {}
    for line in lines:
        item = t.item_by_code(str(line.get("ItemCode") or "")) if line.get("ItemCode") else None
        if tracked(item):
            assert item is not None
            wanted[item["Code"]] = wanted.get(item["Code"], Decimal(0)) + Decimal(line.get("Quantity") or 0)
    for code, qty in wanted.items():
        item = t.item_by_code(code)
        assert item is not None
        on_hand = Decimal(item.get("QuantityOnHand") or 0) + given_back.get(code, Decimal(0))
        if qty > on_hand:
            problems.add(f"The quantity of {code} on this transaction ({_qty(qty)}) is more than the "
                         f"quantity on hand ({_qty(on_hand)}).")


def _qty(value: Decimal) -> str:
    """A quantity as people write it (``20``, ``2.5``), never in exponent form."""
    return format(value.normalize(), "f")


def sync(t: Tenant, doc: Doc) -> None:
    """Make quantities and cost pools follow a credit note's new state."""
    doc_id = str(doc["CreditNoteID"])
    for entry in t.stock.pop(doc_id, []):
        _move(t, entry, -1)
    new = effect(t, doc)
    for entry in new:
        _move(t, entry, 1)
    if new:
        t.stock[doc_id] = new


def _move(t: Tenant, entry: dict[str, Any], sign: int) -> None:
    item = t.item_by_code(entry["item"])
    if item is None:
        return
    item["QuantityOnHand"] = Decimal(item.get("QuantityOnHand") or 0) + sign * entry["qty"]
    value = entry["amount"] if entry["qty"] > 0 else -entry["amount"]
    item["TotalCostPool"] = (Decimal(item.get("TotalCostPool") or 0) + sign * value).quantize(TWO)


def view(t: Tenant) -> dict[str, Any]:
    """The control API's read: tracked items, each credit note's inventory entries, account balances."""
    items = [{"id": i["ItemID"], "code": i["Code"], "name": i.get("Name"),
              "qty_on_hand": _qty(Decimal(i.get("QuantityOnHand") or 0)),
              "cost_pool": format(Decimal(i.get("TotalCostPool") or 0), "f"),
              "asset_account": i["InventoryAssetAccountCode"], "cogs_account": _cogs(i)}
             for i in t.items.values() if tracked(i)]
    balances: dict[str, Decimal] = {}
    effects = []
    for doc_id, entries in sorted(t.stock.items()):
        for e in entries:
            balances[e["debit_account"]] = balances.get(e["debit_account"], Decimal(0)) + e["amount"]
            balances[e["credit_account"]] = balances.get(e["credit_account"], Decimal(0)) - e["amount"]
        effects.append({"type": "CreditNote", "id": doc_id, "entries": [
            {**copy.deepcopy(e), "qty": _qty(e["qty"]), "amount": format(e["amount"], "f")}
            for e in entries]})
    return {"tracks_inventory": bool(items), "items": items, "effects": effects,
            "balances": {k: format(v, "f") for k, v in sorted(balances.items())}}
