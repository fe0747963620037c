"""Shared document rules: line amounts and tax, account/tax/tracking checks, lock dates.

Xero computes every total server-side and rounds per line, so the emulator does the same; the
messages are the ones Xero's ``ValidationErrors`` carry (from its spec examples where available).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from desktop.sandbox.xero.msjson import FOUR, SIX, TWO, money_quantum, parse_date, to_decimal
from desktop.sandbox.xero.store import Doc, Tenant

LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
ZERO = Decimal("0")


@dataclass
class Totals:
    sub_total: Decimal = ZERO
    total_tax: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.sub_total + self.total_tax


@dataclass
class Problems:
    """Collected ``ValidationErrors`` messages for one element (Xero reports them all at once)."""

    messages: list[str] = field(default_factory=list)

    def add(self, message: str) -> None:
        if message not in self.messages:
            self.messages.append(message)

    def __bool__(self) -> bool:
        return bool(self.messages)


def line_tax(amount: Decimal, rate: Decimal, lat: str, quantum: Decimal, stated: Decimal | None) -> Decimal:
    """A line's tax as Xero works it out: the amount the line states (unless it carries no tax),
    else ``rate`` percent on top of an Exclusive amount or inside an Inclusive one, else zero."""
    if stated is not None and lat != "NoTax":
        return stated
    if lat == "Exclusive":
        return rnd(amount * rate / 100, quantum)
    if lat == "Inclusive":
        return rnd(amount * rate / (100 + rate), quantum)
    return rnd(ZERO, quantum)


def rnd(value: Decimal, quantum: Decimal = TWO) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def check_date(t: Tenant, raw: Any, default: date, posted: bool, problems: Problems) -> date:
    """Parse a document date and refuse one inside a locked period when it would post."""
    try:
        d = parse_date(raw) if raw not in (None, "") else default
    except ValueError:
        problems.add(f"The date '{raw}' is not a valid date.")
        return default
    lock = t.lock_date()
    if posted and lock is not None and d <= lock:
        which = (
            "end of year"
            if lock == t.organisation.get("EndOfYearLockDate") and lock != t.organisation.get("PeriodLockDate")
            else "period"
        )
        problems.add(
            f"The document date cannot be before the {which} lock date "
            f"({lock.strftime('%d %b %Y')}); it must be after {lock.strftime('%d/%m/%Y')}."
        )
    return d


def check_currency(t: Tenant, raw: Any, problems: Problems) -> tuple[str, Decimal]:
    code = str(raw or t.base_currency).upper()
    if code not in t.currencies:
        problems.add(f"Organisation is not subscribed to currency {code}")
        return code, Decimal("1.000000")
    return code, (Decimal("1.000000") if code == t.base_currency else t.rates[code])


def resolve_account(t: Tenant, line: dict[str, Any], problems: Problems, required: bool) -> Doc | None:
    if line.get("AccountID"):
        acc = t.accounts.get(str(line["AccountID"]).lower())
        label = str(line["AccountID"])
    elif line.get("AccountCode") not in (None, ""):
        label = str(line["AccountCode"])
        acc = t.account_by_code(label)
    else:
        if required:
            problems.add("Account code must be specified for each line item on an approved document.")
        return None
    if acc is None or acc.get("Status") == "DELETED":
        problems.add(f"Account code '{label}' is not a valid code for this document.")
        return None
    if acc.get("Status") == "ARCHIVED":
        problems.add(
            f"Account code '{label}' has been archived, or deleted. Each line item must reference a valid account."
        )
        return None
    return acc


def resolve_tax(t: Tenant, raw: Any, fallback: str, problems: Problems) -> Doc | None:
    tax_type = str(raw or fallback or "NONE")
    rate = t.tax_rates.get(tax_type.upper())
    if rate is None or rate.get("Status") != "ACTIVE":
        problems.add(f"The TaxType code '{tax_type}' does not exist or cannot be used for this type of transaction.")
        return None
    return rate


def resolve_tracking(t: Tenant, raw: Any, problems: Problems) -> list[Doc]:
    """Tracking by ids or by Name/Option; at most two categories per line."""
    out: list[Doc] = []
    if not raw:
        return out
    if not isinstance(raw, list) or len(raw) > 2:
        problems.add("A line item can have a maximum of 2 tracking categories.")
        return out
    for entry in raw:
        cat = None
        if entry.get("TrackingCategoryID"):
            cat = t.tracking.get(str(entry["TrackingCategoryID"]).lower())
        elif entry.get("Name"):
            cat = next((c for c in t.tracking.values() if c["Name"].lower() == str(entry["Name"]).lower()), None)
        if cat is None:
            problems.add(f"Tracking category '{entry.get('Name') or entry.get('TrackingCategoryID')}' does not exist.")
            continue
        opt = None
        for o in cat["Options"]:
            if (entry.get("TrackingOptionID") and o["TrackingOptionID"] == str(entry["TrackingOptionID"]).lower()) or (
                entry.get("Option") and o["Name"].lower() == str(entry["Option"]).lower()
            ):
                opt = o
        if opt is None or opt.get("Status") != "ACTIVE":
            problems.add(
                f"Tracking option '{entry.get('Option') or entry.get('TrackingOptionID')}' "
                f"is not a valid option for '{cat['Name']}'."
            )
            continue
        out.append(
            {
                "Name": cat["Name"],
                "Option": opt["Name"],
                "TrackingCategoryID": cat["TrackingCategoryID"],
                "TrackingOptionID": opt["TrackingOptionID"],
            }
        )
    return out


def sales_lines(
    t: Tenant, raw_lines: Any, lat: str, currency: str, require_account: bool, unitdp: int, problems: Problems,
    purchase: bool = False,
) -> tuple[list[Doc], Totals]:
    """Credit-note line items with Xero's per-line rounding; returns (lines, totals).

    ``purchase`` (a supplier credit note): an item's defaults come from its ``PurchaseDetails``, and a
    tracked item's line books to its inventory asset account.
    """
    lines: list[Doc] = []
    totals = Totals()
    if not isinstance(raw_lines, list):
        problems.add("LineItems must be an array.")
        return lines, totals
    quantum = money_quantum(currency)
    unit_q = FOUR if unitdp == 4 else TWO
    for raw in raw_lines:
        if not isinstance(raw, dict):
            problems.add("Each line item must be an object.")
            continue
        item = None
        if raw.get("ItemCode"):
            item = t.item_by_code(str(raw["ItemCode"]))
            if item is None:
                problems.add(f"Item code '{raw['ItemCode']}' is not valid.")
        details = (item or {}).get("PurchaseDetails" if purchase else "SalesDetails", {})
        line = dict(raw)
        if item and purchase and item.get("IsTrackedAsInventory"):
            line.pop("AccountID", None)
            line["AccountCode"] = item["InventoryAssetAccountCode"]
        elif item and not line.get("AccountCode") and not line.get("AccountID"):
            line["AccountCode"] = details.get("AccountCode")
        try:
            qty = rnd(to_decimal(raw.get("Quantity", 1)), FOUR)
            if raw.get("UnitAmount") is not None:
                unit = rnd(to_decimal(raw["UnitAmount"]), unit_q)
            elif raw.get("LineAmount") is not None:
                unit = rnd(to_decimal(raw["LineAmount"]) / (qty or Decimal(1)), unit_q)
            else:
                unit = rnd(Decimal(details.get("UnitPrice", 0)), unit_q)
            override = None if raw.get("TaxAmount") is None else rnd(to_decimal(raw["TaxAmount"]), quantum)
        except (ValueError, ArithmeticError) as exc:
            problems.add(f"Invalid number on line item: {exc}")
            continue
        acc = resolve_account(t, line, problems, require_account)
        if lat == "NoTax":
            tax_doc: Doc | None = t.tax_rates.get("NONE")
        else:
            tax_doc = resolve_tax(
                t, raw.get("TaxType") or details.get("TaxType"), (acc or {}).get("TaxType", "NONE"), problems
            )
        rate = (tax_doc or {}).get("EffectiveRate", ZERO)
        amount = (
            rnd(qty * unit, quantum)
            if raw.get("UnitAmount") is not None or raw.get("LineAmount") is None
            else rnd(to_decimal(raw["LineAmount"]), quantum)
        )
        tax = line_tax(amount, rate, lat, quantum, override)
        out: Doc = {
            "LineItemID": str(raw.get("LineItemID") or uuid.uuid4()).lower(),
            "Description": str(raw.get("Description", (item or {}).get("Description", ""))),
            "Quantity": qty,
            "UnitAmount": unit,
        }
        if item:
            out["ItemCode"] = item["Code"]
        if acc:
            out["AccountCode"] = acc["Code"]
            out["AccountID"] = acc["AccountID"]
        out["TaxType"] = (tax_doc or {}).get("TaxType", str(raw.get("TaxType", "NONE")))
        out["TaxAmount"] = tax
        out["LineAmount"] = amount
        out["Tracking"] = resolve_tracking(t, raw.get("Tracking"), problems)
        lines.append(out)
        totals.total_tax += tax
        totals.sub_total += amount - tax if lat == "Inclusive" else amount
    return lines, totals


def currency_rate(raw: Any, default: Decimal, problems: Problems) -> Decimal:
    if raw in (None, ""):
        return default
    try:
        value = to_decimal(raw)
    except ValueError:
        problems.add("CurrencyRate must be a number.")
        return default
    if value <= 0:
        problems.add("CurrencyRate must be greater than zero.")
        return default
    return rnd(value, SIX)
