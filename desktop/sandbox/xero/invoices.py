"""Sales invoices written through the API: create (``PUT``/``POST /Invoices``), void and delete.

What the app posts (a dearer exchange's charge) is an ``ACCREC`` invoice, ``AUTHORISED``, then paid
by a ``Payment`` (:mod:`.payments`); the rules are Xero's for invoices [SPEC ``Invoice``]:

- ``Type`` ``ACCREC`` | ``ACCPAY``; ``Status`` on create ``DRAFT`` | ``SUBMITTED`` | ``AUTHORISED``;
  ``Contact``, ``Date`` (org-local today by default) and ``DueDate`` — an approved invoice needs one
  (UNCONFIRMED: Xero may take the contact's or organisation's payment terms instead; the emulator
  is strict); ``LineAmountTypes``, ``LineItems`` (computed like credit notes'), ``CurrencyCode``,
  ``CurrencyRate``, ``Reference`` (ACCREC), ``InvoiceNumber`` (ACCREC: unique, ``INV-0001``… if
  missing); read-only ``SubTotal``, ``TotalTax``, ``Total``, ``AmountDue``, ``AmountPaid``,
  ``AmountCredited``, ``Payments``, ``CreditNotes``.
- The total may not be negative; lines may be (UNCONFIRMED for the API; Xero's screens allow
  negative lines on an invoice whose total is zero or more).
- An ``AUTHORISED`` invoice is voided (``Status: VOIDED``) only while no payment or credit note is
  applied to it; only drafts are deleted; a paid or voided invoice cannot be edited.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from desktop.sandbox.xero.creditnotes import Outcome, _contact, named, touch
from desktop.sandbox.xero.msjson import iso_date_string
from desktop.sandbox.xero.store import Doc, Tenant
from desktop.sandbox.xero.validation import (
    LINE_AMOUNT_TYPES,
    Problems,
    check_currency,
    check_date,
    currency_rate,
    sales_lines,
)


def next_number(t: Tenant) -> str:
    """``INV-0001``… the first number no invoice uses yet."""
    used = {str(i.get("InvoiceNumber", "")).upper() for i in t.invoices.values()}
    n = 1
    while f"INV-{n:04d}" in used:
        n += 1
    return f"INV-{n:04d}"


def save_invoice(t: Tenant, raw: dict[str, Any], now: datetime, unitdp: int) -> Outcome:
    """Create, or change the status of the invoice the element names by ``InvoiceID``."""
    existing, refused = named(t.invoices, raw, "InvoiceID",
                              "An existing Invoice with the specified InvoiceID could not be found")
    if refused is not None:
        return refused
    if existing is not None:
        return _update(t, existing, raw, now, unitdp)
    problems = Problems()
    doc = _build(t, raw, None, now, unitdp, problems)
    if problems or doc is None:
        return Outcome(None, problems)
    t.invoices[doc["InvoiceID"]] = doc
    return Outcome(doc, problems, "CREATE")


def _update(t: Tenant, existing: Doc, raw: dict[str, Any], now: datetime, unitdp: int) -> Outcome:
    problems = Problems()
    status = existing["Status"]
    new_status = str(raw.get("Status", status)).upper()
    changes = {k for k in raw if k not in ("InvoiceID", "Status") and raw[k] != existing.get(k)}
    has_money = bool(existing["Payments"] or existing["CreditNotes"])
    if status in ("VOIDED", "DELETED", "PAID"):
        if new_status != status or changes:
            problems.add(f"This document cannot be edited as it has been {status.lower()}.")
        return Outcome(None if problems else existing, problems)
    if new_status == "VOIDED":
        if status != "AUTHORISED":
            problems.add("Only authorised documents can be voided; delete a draft instead.")
        elif has_money:
            problems.add("Invoice not of valid status for modification. This document has payments or credit "
                         "notes applied: remove them before voiding it.")
    elif new_status == "DELETED" and status == "AUTHORISED":
        problems.add("Authorised invoices cannot be deleted; void the invoice instead.")
    elif has_money and changes:
        problems.add("This document cannot be edited as it has a payment or credit note allocated to it.")
    if problems:
        return Outcome(None, problems)
    if new_status in ("VOIDED", "DELETED"):
        existing["Status"] = new_status
        touch(existing, now)
        return Outcome(existing, problems, "UPDATE")
    merged = {**{k: v for k, v in existing.items() if not k.startswith("_")}, **raw, "Status": new_status}
    doc = _build(t, merged, existing, now, unitdp, problems)
    if problems or doc is None:
        return Outcome(None, problems)
    existing.clear()
    existing.update(doc)
    return Outcome(existing, problems, "UPDATE")


def _build(t: Tenant, raw: dict[str, Any], existing: Doc | None, now: datetime, unitdp: int,
           problems: Problems) -> Doc | None:
    kind = str(raw.get("Type", "")).upper()
    if kind not in ("ACCREC", "ACCPAY"):
        problems.add("The Type of invoice must be ACCREC or ACCPAY.")
    status = str(raw.get("Status", "DRAFT")).upper()
    if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        problems.add(f"A new invoice cannot be created with status {status}." if existing is None
                     else f"The status {status} is not valid here.")
    lat = str(raw.get("LineAmountTypes", "Exclusive"))
    lat = next((v for v in LINE_AMOUNT_TYPES if v.lower() == lat.lower()), lat)
    if lat not in LINE_AMOUNT_TYPES:
        problems.add(f"LineAmountTypes '{lat}' is not valid; use Exclusive, Inclusive or NoTax.")
    contact = _contact(t, raw.get("Contact"), problems, now)
    posted = status == "AUTHORISED"
    day: date = check_date(t, raw.get("Date"), t.local_today(now), posted, problems)
    due: date | None = None
    if raw.get("DueDate") not in (None, ""):
        due = check_date(t, raw.get("DueDate"), day, False, problems)
    elif posted:
        problems.add("Due Date is required for an approved invoice.")
    currency, default_rate = check_currency(t, raw.get("CurrencyCode"), problems)
    rate = currency_rate(raw.get("CurrencyRate") if currency != t.base_currency else None, default_rate, problems)
    lines, totals = sales_lines(t, raw.get("LineItems", []), lat, currency, posted, unitdp, problems)
    if posted and not lines:
        problems.add("An invoice must have at least one line item to be approved.")
    if totals.total < 0:
        problems.add("The invoice total cannot be negative.")  # wording UNCONFIRMED
    inv_id = existing["InvoiceID"] if existing else str(uuid.uuid4())
    number = raw.get("InvoiceNumber")
    if kind == "ACCREC" and number and any(
            str(i.get("InvoiceNumber", "")).lower() == str(number).lower() and i["InvoiceID"] != inv_id
            and i["Type"] == "ACCREC" for i in t.invoices.values()):
        problems.add("Invoice # must be unique.")
    if problems:
        return None
    if kind == "ACCREC" and not number:
        number = next_number(t)
    if contact is not None and contact.pop("_new", False):
        contact["_announce"] = True  # the API layer sends the CONTACT CREATE webhook
        t.contacts[contact["ContactID"]] = contact
    none = Decimal("0.00")
    paid = sum((p["Amount"] for p in existing["Payments"]), none) if existing else none
    credited = existing.get("AmountCredited", none) if existing else none
    doc: Doc = {
        "Type": kind,
        "InvoiceID": inv_id,
        "InvoiceNumber": str(number or ""),
        "Reference": str(raw.get("Reference", "")),
        "Contact": {"ContactID": contact["ContactID"], "Name": contact["Name"]} if contact else {},
        "Date": day,
        "DateString": iso_date_string(day),
        "Status": status,
        "LineAmountTypes": lat,
        "LineItems": lines,
        "SubTotal": totals.sub_total,
        "TotalTax": totals.total_tax,
        "Total": totals.total,
        "AmountDue": totals.total - paid - credited,
        "AmountPaid": paid,
        "AmountCredited": credited,
        "CurrencyCode": currency,
        "CurrencyRate": rate,
        "HasAttachments": False,
        "IsDiscounted": False,
        "Payments": existing["Payments"] if existing else [],
        "CreditNotes": existing["CreditNotes"] if existing else [],
        "Prepayments": [],
        "Overpayments": [],
        "_posted": True,  # written through the API (the seeded sales are not): the control view lists these
    }
    if due is not None:
        doc["DueDate"] = due
        doc["DueDateString"] = iso_date_string(due)
    touch(doc, now)
    return doc
