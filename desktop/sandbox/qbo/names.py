"""Name-list entities (Account, Item, Customer, Class, Department, CompanyCurrency): create/update rules."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from desktop.sandbox.qbo.refs import business, optional, required, resolve
from desktop.sandbox.qbo.stock import inventory_item
from desktop.sandbox.qbo.store import Company, Record
from desktop.sandbox.qbo.util import QboFault

WRITABLE = ("Account", "Item", "Customer", "Vendor", "Class", "Department", "CompanyCurrency")
ACCOUNT_TYPES = {
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Equity": "Equity",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Long Term Liability": "Liability",
    "Other Current Liability": "Liability",
    "Income": "Revenue",
    "Other Income": "Revenue",
}


def _duplicate(name: str, other: Record) -> QboFault:
    return QboFault(
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {other.entity.lower()} is already using "
        f"this name. Please use a different name. Id={other.id}",
        "Name",
    )


def _unique(c: Company, entity: str, key: str, value: str, existing: Record | None) -> None:
    for rec in c.all(entity):
        if rec.obj.get(key, "").strip().lower() == value.strip().lower() and (
            existing is None or rec.id != existing.id
        ):
            raise _duplicate(value, rec)


def build(c: Company, entity: str, body: dict[str, Any], existing: Record | None) -> dict[str, Any]:
    obj = copy.deepcopy(body)
    obj.setdefault("Active", True)
    if entity in ("Customer", "Vendor"):
        display = (
            obj.get("DisplayName")
            or " ".join(p for p in (obj.get("GivenName"), obj.get("FamilyName")) if p)
            or obj.get("CompanyName")
        )
        if not display:
            raise required("DisplayName")
        obj["DisplayName"] = display
        for other in ("Customer", "Vendor"):  # one name space for customers and vendors
            _unique(c, other, "DisplayName", display, existing if other == entity else None)
        obj["FullyQualifiedName"] = display
        obj.setdefault("PrintOnCheckName", display)
        cur = (obj.get("CurrencyRef") or {}).get("value", c.home_currency)
        if not c.currency_enabled(cur):
            raise business(f"The currency {cur} is not enabled for this company.", "CurrencyRef")
        obj["CurrencyRef"] = {"value": cur}
        if existing is not None and existing.obj.get("CurrencyRef", {}).get("value") != cur:
            raise business(f"You can't change the currency of a {entity.lower()}.", "CurrencyRef")
        obj["Balance"] = existing.obj.get("Balance", Decimal("0.00")) if existing else Decimal("0.00")
        if entity == "Vendor":
            obj.setdefault("Vendor1099", False)
            return obj
        obj["BalanceWithJobs"] = obj["Balance"]
        obj.setdefault("Taxable", True)
        obj.setdefault("Job", False)
        obj.setdefault("BillWithParent", False)
        return obj
    if entity == "CompanyCurrency":
        code = str(obj.get("Code") or "").upper()
        if not code:
            raise required("Code")
        if existing is None and any(r.obj.get("Code") == code for r in c.all("CompanyCurrency")):
            raise QboFault(
                "6240", "Duplicate Name Exists Error", f"Currency {code} is already in the list", "Code"
            )
        obj["Code"] = code
        return obj
    name = obj.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required("Name")
    if ":" in name or '"' in name:
        raise QboFault(
            "2050", "Invalid string", 'Name cannot contain a colon (:) or a double quote (").', "Name"
        )
    _unique(c, entity, "Name", name, existing)
    obj["FullyQualifiedName"] = name
    if entity == "Account":
        atype = obj.get("AccountType")
        if atype is None:
            raise required("AccountType")
        if atype not in ACCOUNT_TYPES:
            raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {atype}", "AccountType")
        obj["Classification"] = ACCOUNT_TYPES[atype]
        obj.setdefault("SubAccount", False)
        cur = (obj.get("CurrencyRef") or {}).get("value", c.home_currency)
        obj["CurrencyRef"] = {"value": cur}
        obj["CurrentBalance"] = (
            existing.obj.get("CurrentBalance", Decimal("0.00")) if existing else Decimal("0.00")
        )
        obj["CurrentBalanceWithSubAccounts"] = obj["CurrentBalance"]
    elif entity == "Item":
        itype = obj.setdefault("Type", "Service")
        if itype not in ("Service", "NonInventory", "Inventory", "Category", "Group"):
            raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {itype}", "Type")
        if itype in ("Service", "NonInventory", "Inventory"):
            acct = resolve(c, "Account", obj.get("IncomeAccountRef"), "IncomeAccountRef")
            if acct.obj.get("Classification") != "Revenue":
                raise business(
                    "The income account of an item must be an Income or Other Income account.",
                    "IncomeAccountRef",
                )
        optional(c, "Account", obj, "ExpenseAccountRef", "ExpenseAccountRef")
        optional(c, "TaxCode", obj, "SalesTaxCodeRef", "SalesTaxCodeRef")
        if itype == "Inventory":
            inventory_item(c, obj, existing)
        else:
            obj.setdefault("TrackQtyOnHand", False)
    elif entity in ("Class", "Department"):
        obj.setdefault(f"Sub{entity}", False)
    return obj
