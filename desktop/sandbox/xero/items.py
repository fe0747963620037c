"""Items: create (``PUT``/``POST /Items``), with the tracked-inventory rules of Xero's ``Item`` schema.

An item is tracked when it is created with an ``InventoryAssetAccountCode`` (an INVENTORY account)
and ``PurchaseDetails.COGSAccountCode`` [SPEC]; ``IsTrackedAsInventory``, ``QuantityOnHand`` and
``TotalCostPool`` are Xero's to set (a client's values are ignored). Quantities then move only
through documents (:mod:`.stock`). Updating an existing item is not modelled (UNCONFIRMED rules).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from desktop.sandbox.xero.creditnotes import Outcome, touch
from desktop.sandbox.xero.msjson import TWO, to_decimal
from desktop.sandbox.xero.store import Doc, Tenant
from desktop.sandbox.xero.validation import Problems


def _details(t: Tenant, raw: Any, problems: Problems, cogs: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(raw, dict):
        return out
    if raw.get("UnitPrice") is not None:
        out["UnitPrice"] = to_decimal(raw["UnitPrice"]).quantize(TWO)
    for key in ("AccountCode", "COGSAccountCode") if cogs else ("AccountCode",):
        if raw.get(key):
            if t.account_by_code(str(raw[key])) is None:
                problems.add(f"Account code '{raw[key]}' is not a valid code for this document.")
            out[key] = str(raw[key])
    if raw.get("TaxType"):
        if str(raw["TaxType"]).upper() not in t.tax_rates:
            problems.add(f"The TaxType code '{raw['TaxType']}' does not exist or cannot be used for this type of "
                         "transaction.")
        out["TaxType"] = str(raw["TaxType"]).upper()
    return out


def create_item(t: Tenant, raw: dict[str, Any], now: datetime) -> Outcome:
    problems = Problems()
    code = str(raw.get("Code") or "").strip()
    if not code or len(code) > 30:
        problems.add("Item code must be between 1 and 30 characters.")
    elif t.item_by_code(code) is not None:
        problems.add(f"Item code '{code}' already exists.")
    name = str(raw.get("Name") or code).strip()
    if len(name) > 50:
        problems.add("Item name must be 50 characters or fewer.")
    elif any(str(i.get("Name", "")).lower() == name.lower() for i in t.items.values()):
        problems.add(f"Item name '{name}' already exists.")
    purchase = _details(t, raw.get("PurchaseDetails"), problems, cogs=True)
    sales = _details(t, raw.get("SalesDetails"), problems, cogs=False)
    asset_code = str(raw.get("InventoryAssetAccountCode") or "")
    tracked = bool(asset_code)
    if tracked:
        asset = t.account_by_code(asset_code)
        if asset is None or asset.get("Type") != "INVENTORY":
            problems.add("The InventoryAssetAccountCode must be an account of type INVENTORY.")
        if not purchase.get("COGSAccountCode"):
            problems.add("A COGSAccountCode in PurchaseDetails is required to track this item as inventory.")
        purchase.pop("AccountCode", None)
    elif purchase.get("COGSAccountCode"):
        problems.add("An InventoryAssetAccountCode is required to track this item as inventory.")
    if problems:
        return Outcome(None, problems)
    item: Doc = {
        "ItemID": str(uuid.uuid4()), "Code": code, "Name": name, "Description": str(raw.get("Description", "")),
        "PurchaseDescription": str(raw.get("PurchaseDescription", "")),
        "IsSold": bool(raw.get("IsSold", True)), "IsPurchased": bool(raw.get("IsPurchased", True)),
        "IsTrackedAsInventory": tracked, "SalesDetails": sales, "PurchaseDetails": purchase,
    }
    if tracked:
        item.update(InventoryAssetAccountCode=asset_code, QuantityOnHand=Decimal(0), TotalCostPool=Decimal("0.00"))
    touch(item, now, iso=False)
    t.items[item["ItemID"]] = item
    return Outcome(item, problems, "CREATE")
