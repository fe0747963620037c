"""Inventory in the QBO emulator: Inventory items, quantity on hand and the postings QBO makes for them.

QuickBooks keeps an Inventory item's quantity on hand itself and books its cost: a credit memo or
refund receipt line selling an Inventory item *back* (``SalesItemLineDetail.ItemRef`` + ``Qty``)
raises ``QtyOnHand`` by ``Qty`` and debits the item's ``AssetAccountRef``, crediting its
``ExpenseAccountRef`` (the Cost of Goods Sold account) at ``Qty`` × the item's cost; a vendor
credit's ``ItemBasedExpenseLineDetail`` for one lowers ``QtyOnHand`` and credits the asset
account. Voiding or deleting the document takes the effect back. Field names: Finance.xsd
``Item`` / ``VendorCredit`` / ``ItemBasedExpenseLineDetail`` [SPEC].

UNCONFIRMED against the real service (docs/inventory-emulation.md lists them): QuickBooks values
the goods at the item's *average* cost; the emulator uses ``PurchaseCost``. A line without ``Qty``
counts as one unit. The item's ``SyncToken`` does not move when only its quantity does.

The postings are not a report of the real API: the control API shows them
(``GET /_sandbox/stock/qbo/{company}``) so tests can assert them.
"""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from desktop.sandbox.qbo.refs import business, required, resolve
from desktop.sandbox.qbo.store import Company, Record
from desktop.sandbox.qbo.util import TWO, QboFault

SELLS_BACK = ("CreditMemo", "RefundReceipt")


def tracks_inventory(c: Company) -> bool:
    """The company preference ``ProductAndServicesPrefs.QuantityOnHand`` (inventory tracking on)."""
    prefs = c.singleton("Preferences").obj
    return bool((prefs.get("ProductAndServicesPrefs") or {}).get("QuantityOnHand"))


def _decimal(value: Any, element: str) -> Decimal:
    try:
        if isinstance(value, bool):
            raise ValueError(value)
        return Decimal(str(value))
    except (ValueError, ArithmeticError):
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Property Name:{element} specified is unsupported or invalid: {value!r}", element) from None


def inventory_item(c: Company, obj: dict[str, Any], existing: Record | None) -> None:
    """Validate and complete an ``Inventory`` item: asset and COGS accounts, quantity, start date."""
    if not tracks_inventory(c):
        raise business("Inventory tracking is turned off for this company. Turn on quantity on hand "
                       "tracking before you add an inventory item.", "Type")
    asset = resolve(c, "Account", obj.get("AssetAccountRef"), "AssetAccountRef")
    if asset.obj.get("AccountType") != "Other Current Asset":
        raise business("The inventory asset account must be an Other Current Asset account.", "AssetAccountRef")
    cogs = resolve(c, "Account", obj.get("ExpenseAccountRef"), "ExpenseAccountRef")
    if cogs.obj.get("AccountType") != "Cost of Goods Sold":
        raise business("The expense account of an inventory item must be a Cost of Goods Sold account.",
                       "ExpenseAccountRef")
    if obj.get("TrackQtyOnHand") is False:
        raise business("An inventory item tracks its quantity on hand.", "TrackQtyOnHand")
    obj["TrackQtyOnHand"] = True
    if existing is None:
        for element in ("QtyOnHand", "InvStartDate"):
            if obj.get(element) in (None, ""):
                raise required(element)
    elif obj.get("QtyOnHand") is None:
        obj["QtyOnHand"] = existing.obj.get("QtyOnHand", Decimal(0))
    obj["QtyOnHand"] = _decimal(obj["QtyOnHand"], "QtyOnHand")
    if obj.get("PurchaseCost") is not None:
        obj["PurchaseCost"] = _decimal(obj["PurchaseCost"], "PurchaseCost")


def _tracked(c: Company, ref: Any) -> Record | None:
    item = c.get("Item", str((ref or {}).get("value", ""))) if isinstance(ref, dict) else None
    if item is None or item.obj.get("Type") != "Inventory" or not item.obj.get("TrackQtyOnHand"):
        return None
    return item


def _round(value: Decimal) -> Decimal:
    return value.quantize(TWO, rounding=ROUND_HALF_UP)


def effect(c: Company, entity: str, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The inventory entries a document makes: one per line with a tracked item (empty: none)."""
    out: list[dict[str, Any]] = []
    for line in obj.get("Line") or []:
        kind = line.get("DetailType")
        if entity in SELLS_BACK and kind == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            sign = Decimal(1)
        elif entity == "VendorCredit" and kind == "ItemBasedExpenseLineDetail":
            detail = line.get("ItemBasedExpenseLineDetail") or {}
            sign = Decimal(-1)
        else:
            continue
        item = _tracked(c, detail.get("ItemRef"))
        if item is None:
            continue
        qty = Decimal(str(detail["Qty"])) if detail.get("Qty") is not None else Decimal(1)
        if qty == 0:
            continue  # a voided document's lines
        asset = str(item.obj["AssetAccountRef"]["value"])
        if sign > 0:  # goods back on the shelf at the item's cost: Dr inventory asset, Cr COGS
            cost = Decimal(str(item.obj.get("PurchaseCost") or 0))
            amount = _round(qty * cost)
            debit, credit = asset, str(item.obj["ExpenseAccountRef"]["value"])
        else:  # goods back to the vendor at the line's amount: Dr accounts payable, Cr inventory asset
            amount = Decimal(str(line.get("Amount") or 0))
            debit, credit = str((obj.get("APAccountRef") or {}).get("value", "")), asset
        out.append({"item": item.id, "sku": item.obj.get("Sku"), "qty": sign * qty, "amount": amount,
                    "debit_account": debit, "credit_account": credit})
    return out


def sync(c: Company, entity: str, ident: str, rec: Record | None) -> None:
    """Make the stock follow a document's new state (``rec`` None or not active: it has no effect)."""
    if entity not in (*SELLS_BACK, "VendorCredit"):
        return
    with c.lock:
        old = c.stock.pop((entity, ident), [])
        new = effect(c, entity, rec.obj) if rec is not None and rec.status == "active" else []
        moved: dict[str, Decimal] = {}
        for entry in old:
            moved[entry["item"]] = moved.get(entry["item"], Decimal(0)) - entry["qty"]
        for entry in new:
            moved[entry["item"]] = moved.get(entry["item"], Decimal(0)) + entry["qty"]
        if new:
            c.stock[(entity, ident)] = new
        for item_id, delta in moved.items():
            item = c.get("Item", item_id)
            if item is not None and delta:
                item.obj["QtyOnHand"] = Decimal(str(item.obj.get("QtyOnHand") or 0)) + delta
                item.refresh_text()


def view(c: Company) -> dict[str, Any]:
    """The control API's read: tracked items, each document's inventory entries, account balances."""
    with c.lock:
        items = [{"id": r.id, "name": r.obj.get("Name"), "sku": r.obj.get("Sku"),
                  "qty_on_hand": format(Decimal(str(r.obj.get("QtyOnHand") or 0)).normalize(), "f"),
                  "cost": format(Decimal(str(r.obj.get("PurchaseCost") or 0)), "f"),
                  "asset_account": r.obj["AssetAccountRef"]["value"],
                  "cogs_account": r.obj["ExpenseAccountRef"]["value"]}
                 for r in c.all("Item") if _tracked(c, {"value": r.id}) is not None]
        balances: dict[str, Decimal] = {}
        effects = []
        for (entity, ident), entries in sorted(c.stock.items(), key=lambda kv: (kv[0][0], int(kv[0][1]))):
            for e in entries:
                balances[e["debit_account"]] = balances.get(e["debit_account"], Decimal(0)) + e["amount"]
                balances[e["credit_account"]] = balances.get(e["credit_account"], Decimal(0)) - e["amount"]
            effects.append({"type": entity, "id": ident, "entries": [
                {**copy.deepcopy(e), "qty": format(e["qty"].normalize(), "f"), "amount": format(e["amount"], "f")}
                for e in entries]})
        return {"tracks_inventory": tracks_inventory(c), "items": items, "effects": effects,
                "balances": {k: format(v, "f") for k, v in sorted(balances.items())}}
