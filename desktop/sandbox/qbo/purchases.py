"""VendorCredit: what a vendor owes back — goods returned to the vendor, or an expense credited.

Finance.xsd: ``VendorCredit`` extends ``PurchaseByVendor`` (``VendorRef``, ``APAccountRef``) and
``Transaction`` (``Line``, ``TotalAmt``…), adds the read-only ``Balance`` [SPEC]. Lines are
``AccountBasedExpenseLineDetail`` (``AccountRef``) or ``ItemBasedExpenseLineDetail`` (``ItemRef``,
``Qty``, ``UnitPrice``); an Inventory item's line lowers its quantity on hand (:mod:`.stock`).
Intuit's reference lists create, read, query, update and delete for it — no void (the emulator
answers ``operation=void`` with 500 Unsupported Operation, as for journal entries). The emulator
computes no purchase tax on vendor credits (UNCONFIRMED how QuickBooks taxes them; the app sends none).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from desktop.sandbox.qbo.refs import business, optional, required, resolve
from desktop.sandbox.qbo.store import Company
from desktop.sandbox.qbo.util import TWO, QboFault, money

_KINDS = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")


def _amount(line: dict[str, Any]) -> Decimal:
    if line.get("Amount") is None:
        raise required("Line.Amount")
    try:
        amount = money(line["Amount"])
    except (ValueError, ArithmeticError):
        raise QboFault("2010", "Request has invalid or unsupported property",
                       f"Property Name:Amount specified is unsupported or invalid: {line['Amount']!r}",
                       "Line.Amount") from None
    if amount < 0:
        raise business("Vendor credit line amounts must be zero or greater.", "Line.Amount")
    return amount


def vendor_credit(c: Company, obj: dict[str, Any]) -> None:
    """Validate a VendorCredit and fill what the service computes (TotalAmt, Balance, APAccountRef)."""
    vendor = resolve(c, "Vendor", obj.get("VendorRef"), "VendorRef", name_key="DisplayName")
    cur = (vendor.obj.get("CurrencyRef") or {}).get("value", c.home_currency)
    if cur != obj["CurrencyRef"]["value"]:
        raise business(f"The transaction currency {obj['CurrencyRef']['value']} must match the vendor's "
                       f"currency {cur}.", "CurrencyRef")
    if obj.get("APAccountRef"):
        ap = resolve(c, "Account", obj["APAccountRef"], "APAccountRef")
        if ap.obj.get("AccountType") != "Accounts Payable":
            raise business("APAccountRef must be an Accounts Payable account.", "APAccountRef")
    else:
        ap_id = next((r.id for r in c.all("Account") if r.obj.get("AccountType") == "Accounts Payable"
                      and r.obj.get("Active", True)), None)
        if ap_id is None:
            raise required("APAccountRef")
        obj["APAccountRef"] = {"value": ap_id, "name": c.get("Account", ap_id).obj["Name"]}  # type: ignore[union-attr]
    lines = obj.get("Line")
    if not isinstance(lines, list) or not lines:
        raise required("Line")
    total = Decimal("0.00")
    for i, line in enumerate(lines, start=1):
        kind = line.get("DetailType")
        if kind not in _KINDS:
            raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {kind}", "Line.DetailType")
        amount = _amount(line)
        detail = line.get(kind)
        if not isinstance(detail, dict):
            raise required(f"Line.{kind}")
        if kind == "AccountBasedExpenseLineDetail":
            resolve(c, "Account", detail.get("AccountRef"), f"Line.{kind}.AccountRef")
        else:
            item = resolve(c, "Item", detail.get("ItemRef"), f"Line.{kind}.ItemRef")
            if item.obj.get("Type") not in ("Inventory", "NonInventory", "Service"):
                raise business(f"The item {item.obj.get('Name')} cannot be used on a purchase line.",
                               f"Line.{kind}.ItemRef")
            if item.obj.get("Type") != "Inventory" and not item.obj.get("ExpenseAccountRef"):
                raise business(f"The item {item.obj.get('Name')} has no expense account.", f"Line.{kind}.ItemRef")
            qty, price = detail.get("Qty"), detail.get("UnitPrice")
            if qty is not None and price is not None and (
                    Decimal(str(qty)) * Decimal(str(price))).quantize(TWO, rounding=ROUND_HALF_UP) != amount:
                raise QboFault("6070", "Amount is not equal to UnitPrice * Qty",
                               f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}", "Line.Amount")
        for key, entity in (("ClassRef", "Class"), ("CustomerRef", "Customer")):
            if key in detail:
                optional(c, entity, detail, key, f"Line.{kind}.{key}")
        line["Amount"] = amount
        line["Id"] = str(i)
        line["LineNum"] = i
        total += amount
    obj["TotalAmt"] = total
    obj["Balance"] = total
