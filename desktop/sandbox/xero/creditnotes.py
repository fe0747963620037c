"""Credit notes: create/update with Xero's status rules, totals, numbering and allocations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from desktop.sandbox.xero import stock
from desktop.sandbox.xero.msjson import TWO, iso_date_string, iso_utc_string, to_decimal
from desktop.sandbox.xero.store import Doc, Tenant
from desktop.sandbox.xero.validation import (
    LINE_AMOUNT_TYPES,
    ZERO,
    Problems,
    check_currency,
    check_date,
    currency_rate,
    rnd,
    sales_lines,
)


@dataclass
class Outcome:
    """Result of saving one element: the stored doc (None on error), messages, webhook event."""

    doc: Doc | None
    problems: Problems = field(default_factory=Problems)
    event: str | None = None  # "CREATE" | "UPDATE"


def named(docs: dict[str, Doc], raw: dict[str, Any], id_field: str, missing: str) -> tuple[Doc | None, Outcome | None]:
    """The stored document an element names by ``id_field`` (None: it names none), or — when it names
    one that does not exist — the refusal to answer with, saying ``missing``."""
    if not raw.get(id_field):
        return None, None
    found = docs.get(str(raw[id_field]).lower())
    if found is None:
        problems = Problems()
        problems.add(missing)
        return None, Outcome(None, problems)
    return found, None


def touch(doc: Doc, now: datetime, iso: bool = True) -> None:
    """Bump UpdatedDateUTC (and its ISO companion where the entity's schema has one)."""
    doc["UpdatedDateUTC"] = now
    if iso:
        doc["UpdatedDateUTCString"] = iso_utc_string(now)


def refresh_balance(doc: Doc, now: datetime) -> None:
    """RemainingCredit and the PAID ⇄ AUTHORISED flip after payments or allocations change."""
    used = sum((a["Amount"] for a in doc["Allocations"]), ZERO) + sum((p["Amount"] for p in doc["Payments"]), ZERO)
    doc["RemainingCredit"] = doc["Total"] - used
    if doc["Status"] == "AUTHORISED" and doc["RemainingCredit"] == 0 and doc["Total"] > 0:
        doc["Status"] = "PAID"
        doc["FullyPaidOnDate"] = max([a["Date"] for a in doc["Allocations"]] + [p["Date"] for p in doc["Payments"]])
    elif doc["Status"] == "PAID" and doc["RemainingCredit"] > 0:
        doc["Status"] = "AUTHORISED"
        doc.pop("FullyPaidOnDate", None)
    touch(doc, now)


def _contact(t: Tenant, raw: Any, problems: Problems, now: datetime) -> Doc | None:
    if not isinstance(raw, dict) or not (raw.get("ContactID") or raw.get("Name") or raw.get("ContactNumber")):
        problems.add(
            "The Contact must contain at least 1 of the following elements to identify the contact: "
            "Name, ContactID, ContactNumber"
        )
        return None
    if raw.get("ContactID"):
        contact = t.contacts.get(str(raw["ContactID"]).lower())
        if contact is None:
            problems.add("The contact with the specified ContactID could not be found.")
        return contact
    if raw.get("Name"):
        found = t.contact_by_name(str(raw["Name"]))
        if found is None:  # Xero creates a contact from a new name on the fly
            cid = str(uuid.uuid4())
            found = {
                "ContactID": cid,
                "ContactStatus": "ACTIVE",
                "Name": str(raw["Name"]).strip(),
                "Addresses": [],
                "Phones": [],
                "ContactGroups": [],
                "ContactPersons": [],
                "IsSupplier": False,
                "IsCustomer": True,
                "HasAttachments": False,
                "HasValidationErrors": False,
                "UpdatedDateUTC": now,
                "_new": True,
            }
        return found
    found = next((c for c in t.contacts.values() if c.get("ContactNumber") == raw.get("ContactNumber")), None)
    if found is None:
        problems.add("The contact with the specified ContactNumber could not be found.")
    return found


def save_credit_note(t: Tenant, raw: dict[str, Any], now: datetime, unitdp: int, allow_number_match: bool) -> Outcome:
    """Create, or update when the element names an existing credit note (by id or number)."""
    existing, refused = named(t.credit_notes, raw, "CreditNoteID",
                              "An existing Credit Note with the specified CreditNoteID could not be found")
    if refused is not None:
        return refused
    problems = Problems()
    if existing is None and allow_number_match and raw.get("CreditNoteNumber"):
        existing = next(
            (
                c
                for c in t.credit_notes.values()
                if c["Type"] == "ACCRECCREDIT"
                and str(c.get("CreditNoteNumber", "")).lower() == str(raw["CreditNoteNumber"]).lower()
                and c["Status"] != "DELETED"
            ),
            None,
        )
    if existing is not None:
        out = _update(t, existing, raw, now, unitdp)
        if out.doc is not None and not out.problems:
            stock.sync(t, out.doc)
        return out
    merged = dict(raw)
    doc = _build(t, merged, None, now, unitdp, problems)
    if problems or doc is None:
        return Outcome(None, problems)
    t.credit_notes[doc["CreditNoteID"]] = doc
    stock.sync(t, doc)
    return Outcome(doc, problems, "CREATE")


def _update(t: Tenant, existing: Doc, raw: dict[str, Any], now: datetime, unitdp: int) -> Outcome:
    problems = Problems()
    status = existing["Status"]
    new_status = str(raw.get("Status", status)).upper()
    changes = {k for k in raw if k not in ("CreditNoteID", "Status") and raw[k] != existing.get(k)}
    if status in ("VOIDED", "DELETED", "PAID"):
        if new_status != status or changes:
            problems.add(
                f"This document cannot be edited as it has been {status.lower()}."
                if status != "PAID"
                else "This document cannot be edited as it has been paid."
            )
        return Outcome(None if problems else existing, problems)
    has_money = bool(existing["Allocations"] or existing["Payments"])
    if status == "AUTHORISED":
        if new_status == "DELETED":
            problems.add("Authorised credit notes cannot be deleted; void the credit note instead.")
        elif new_status in ("DRAFT", "SUBMITTED"):
            problems.add(f"The status of an authorised credit note cannot be changed to {new_status}.")
        elif new_status == "VOIDED" and has_money:
            problems.add("This credit note cannot be voided as it has payments or allocations applied.")
        elif has_money and changes:
            problems.add("This document cannot be edited as it has a payment or credit note allocated to it.")
        if problems:
            return Outcome(None, problems)
        if new_status == "VOIDED":
            existing["Status"] = "VOIDED"
            touch(existing, now)
            return Outcome(existing, problems, "UPDATE")
    elif new_status == "VOIDED":
        problems.add("Only authorised documents can be voided; delete a draft instead.")
        return Outcome(None, problems)
    if new_status == "DELETED":
        existing["Status"] = "DELETED"
        touch(existing, now)
        return Outcome(existing, problems, "UPDATE")
    merged = {**{k: v for k, v in existing.items() if not k.startswith("_")}, **raw}
    if "LineItems" not in raw:
        # Keep the lines; a changed LineAmountTypes makes Xero recompute each line's tax.
        retax = "LineAmountTypes" in raw and raw["LineAmountTypes"] != existing["LineAmountTypes"]
        merged["LineItems"] = [
            {k: v for k, v in li.items() if not (retax and k == "TaxAmount")} for li in existing["LineItems"]
        ]
    merged["Status"] = new_status
    doc = _build(t, merged, existing, now, unitdp, problems)
    if problems or doc is None:
        return Outcome(None, problems)
    existing.clear()
    existing.update(doc)
    return Outcome(existing, problems, "UPDATE")


def _build(
    t: Tenant, raw: dict[str, Any], existing: Doc | None, now: datetime, unitdp: int, problems: Problems
) -> Doc | None:
    cn_type = str(raw.get("Type", "")).upper()
    if cn_type not in ("ACCRECCREDIT", "ACCPAYCREDIT"):
        problems.add("The Type of credit note must be ACCRECCREDIT or ACCPAYCREDIT.")
    status = str(raw.get("Status", "DRAFT")).upper()
    if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        problems.add(
            f"A new credit note cannot be created with status {status}."
            if existing is None
            else f"The status {status} is not valid here."
        )
    lat = str(raw.get("LineAmountTypes", "Exclusive"))
    lat = next((v for v in LINE_AMOUNT_TYPES if v.lower() == lat.lower()), lat)
    if lat not in LINE_AMOUNT_TYPES:
        problems.add(f"LineAmountTypes '{lat}' is not valid; use Exclusive, Inclusive or NoTax.")
    contact = _contact(t, raw.get("Contact"), problems, now)
    posted = status == "AUTHORISED"
    day: date = check_date(t, raw.get("Date"), t.local_today(now), posted, problems)
    currency, default_rate = check_currency(t, raw.get("CurrencyCode"), problems)
    rate = currency_rate(raw.get("CurrencyRate") if currency != t.base_currency else None, default_rate, problems)
    lines, totals = sales_lines(t, raw.get("LineItems", []), lat, currency, posted, unitdp, problems,
                                purchase=cn_type == "ACCPAYCREDIT")
    if posted and not lines:
        problems.add("A credit note must have at least one line item to be approved.")
    number = raw.get("CreditNoteNumber")
    cn_id = existing["CreditNoteID"] if existing else str(uuid.uuid4())
    stock.check(t, cn_type, status, lines, cn_id, problems)
    if cn_type == "ACCRECCREDIT" and number:
        clash = any(
            str(c.get("CreditNoteNumber", "")).lower() == str(number).lower()
            and c["CreditNoteID"] != cn_id
            and c["Type"] == "ACCRECCREDIT"
            for c in t.credit_notes.values()
        )
        if clash:
            problems.add("Credit Note # must be unique.")
    if problems:
        return None
    if cn_type == "ACCRECCREDIT" and not number:
        number = t.next_credit_note_number()
    if contact is not None and contact.pop("_new", False):
        contact["_announce"] = True  # the API layer sends the CONTACT CREATE webhook
        t.contacts[contact["ContactID"]] = contact
    if contact is not None and cn_type == "ACCPAYCREDIT" and posted:
        contact["IsSupplier"] = True  # Xero marks a contact a supplier once it has payables
    doc: Doc = {
        "Type": cn_type,
        "CreditNoteID": cn_id,
        "CreditNoteNumber": str(number or ""),
        "Reference": str(raw.get("Reference", "")) if cn_type == "ACCRECCREDIT" else "",  # ACCRECCREDIT only
        "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]} if contact else {},
        "Date": day,
        "DateString": iso_date_string(day),
        "Status": status,
        "LineAmountTypes": lat,
        "LineItems": lines,
        "SubTotal": totals.sub_total,
        "TotalTax": totals.total_tax,
        "Total": totals.total,
        "CurrencyCode": currency,
        "CurrencyRate": rate,
        "RemainingCredit": totals.total,
        "Allocations": existing["Allocations"] if existing else [],
        "Payments": existing["Payments"] if existing else [],
        "HasAttachments": False,
        "SentToContact": False,
    }
    touch(doc, now)
    return doc


def allocate(t: Tenant, cn: Doc, raw: dict[str, Any], now: datetime) -> tuple[Doc | None, Problems]:
    """Apply part of an approved credit note to an approved invoice of the same contact/currency."""
    problems = Problems()
    if cn["Status"] != "AUTHORISED":
        problems.add("Only authorised credit notes can be allocated.")
        return None, problems
    inv_ref = raw.get("Invoice") or {}
    inv = t.invoices.get(str(inv_ref.get("InvoiceID", "")).lower()) if isinstance(inv_ref, dict) else None
    if inv is None:
        problems.add("Invoice could not be found.")
        return None, problems
    try:
        amount = rnd(to_decimal(raw.get("Amount")), TWO)
    except ValueError:
        problems.add("Amount must be a number.")
        return None, problems
    day = check_date(t, raw.get("Date"), t.local_today(now), True, problems)
    if inv["Status"] != "AUTHORISED":
        problems.add("Credit notes can only be allocated to authorised invoices.")
    if inv["CurrencyCode"] != cn["CurrencyCode"]:
        problems.add("The invoice and credit note must be in the same currency.")
    if inv["Contact"]["ContactID"] != cn["Contact"].get("ContactID"):
        problems.add("The invoice and credit note must belong to the same contact.")
    if amount <= 0:
        problems.add("Amount must be greater than zero.")
    elif amount > cn["RemainingCredit"]:
        problems.add("The amount being allocated exceeds the remaining credit on the credit note.")
    elif amount > inv["AmountDue"]:
        problems.add("The amount being allocated exceeds the amount due on the invoice.")
    if problems:
        return None, problems
    alloc: Doc = {
        "AllocationID": str(uuid.uuid4()),
        "Amount": amount,
        "Date": day,
        "Invoice": {"InvoiceID": inv["InvoiceID"], "InvoiceNumber": inv["InvoiceNumber"]},
    }
    cn["Allocations"].append(alloc)
    refresh_balance(cn, now)
    inv["AmountCredited"] += amount
    inv["AmountDue"] -= amount
    inv["CreditNotes"].append(
        {
            "CreditNoteID": cn["CreditNoteID"],
            "CreditNoteNumber": cn["CreditNoteNumber"],
            "AppliedAmount": amount,
        }
    )
    if inv["AmountDue"] == 0:
        inv["Status"] = "PAID"
    touch(inv, now)
    return alloc, problems


def delete_allocation(t: Tenant, cn: Doc, allocation_id: str, now: datetime) -> Doc | None:
    alloc = next((a for a in cn["Allocations"] if a["AllocationID"] == allocation_id.lower()), None)
    if alloc is None:
        return None
    cn["Allocations"].remove(alloc)
    refresh_balance(cn, now)
    inv = t.invoices.get(alloc["Invoice"]["InvoiceID"])
    if inv is not None:
        inv["AmountCredited"] -= alloc["Amount"]
        inv["AmountDue"] += alloc["Amount"]
        inv["CreditNotes"] = [
            c
            for c in inv["CreditNotes"]
            if c["CreditNoteID"] != cn["CreditNoteID"] or c["AppliedAmount"] != alloc["Amount"]
        ]
        if inv["Status"] == "PAID" and inv["AmountDue"] > 0:
            inv["Status"] = "AUTHORISED"
        touch(inv, now)
    return {**alloc, "IsDeleted": True}
