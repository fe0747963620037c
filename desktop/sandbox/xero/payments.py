"""Payments: cash refunds of credit notes (and invoice receipts), deleted by POSTing Status DELETED."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from desktop.sandbox.xero.creditnotes import Outcome, refresh_balance, touch
from desktop.sandbox.xero.msjson import TWO, iso_date_string, to_decimal
from desktop.sandbox.xero.store import Doc, Tenant
from desktop.sandbox.xero.validation import Problems, check_date, currency_rate, rnd

_TYPES = {
    "ACCRECCREDIT": "ARCREDITPAYMENT",
    "ACCPAYCREDIT": "APCREDITPAYMENT",
    "ACCREC": "ACCRECPAYMENT",
    "ACCPAY": "ACCPAYPAYMENT",
}


def _target(t: Tenant, raw: dict[str, Any], problems: Problems) -> tuple[str, Doc | None]:
    if isinstance(raw.get("CreditNote"), dict):
        ref = raw["CreditNote"]
        if ref.get("CreditNoteID"):
            return "CreditNote", t.credit_notes.get(str(ref["CreditNoteID"]).lower())
        num = str(ref.get("CreditNoteNumber", "")).lower()
        return "CreditNote", next(
            (c for c in t.credit_notes.values() if num and str(c.get("CreditNoteNumber", "")).lower() == num),
            None,
        )
    if isinstance(raw.get("Invoice"), dict):
        ref = raw["Invoice"]
        if ref.get("InvoiceID"):
            return "Invoice", t.invoices.get(str(ref["InvoiceID"]).lower())
        num = str(ref.get("InvoiceNumber", "")).lower()
        return "Invoice", next((i for i in t.invoices.values() if num and i["InvoiceNumber"].lower() == num), None)
    problems.add("A payment must be made against an Invoice or a CreditNote.")
    return "", None


def create_payment(t: Tenant, raw: dict[str, Any], now: datetime) -> Outcome:
    problems = Problems()
    kind, doc = _target(t, raw, problems)
    if kind and doc is None:
        problems.add(f"The {kind} specified for this payment could not be found.")
    acc_ref = raw.get("Account") if isinstance(raw.get("Account"), dict) else {}
    account = t.account_by_ref(acc_ref or {})
    if account is None:
        problems.add("Account could not be found")
    elif account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
        problems.add("Payments can only be made to bank accounts or accounts with Enable Payments set.")
    elif account["Status"] != "ACTIVE":
        problems.add(f"Account code '{account['Code']}' has been archived, or deleted.")
    try:
        amount = rnd(to_decimal(raw.get("Amount")), TWO)
    except ValueError:
        problems.add("Amount must be a number.")
        return Outcome(None, problems)
    day = check_date(t, raw.get("Date"), t.local_today(now), True, problems)
    if doc is not None:
        outstanding = doc["RemainingCredit"] if kind == "CreditNote" else doc["AmountDue"]
        if doc["Status"] != "AUTHORISED":
            problems.add("Payments can only be made against authorised documents.")
        elif amount <= 0:
            problems.add("Payment amount must be greater than zero.")
        elif amount > outstanding:
            problems.add("Payment amount exceeds the amount outstanding on this document")
        if account is not None and account.get("CurrencyCode") not in (
            None,
            doc["CurrencyCode"],
            t.base_currency,
        ):
            problems.add("The currency of the bank account must match the currency of the document.")
    if problems or doc is None or account is None:
        return Outcome(None, problems)
    rate = currency_rate(raw.get("CurrencyRate"), doc["CurrencyRate"], problems)
    pid = str(uuid.uuid4())
    summary: Doc = {"Type": doc["Type"], "Contact": dict(doc["Contact"]), "CurrencyCode": doc["CurrencyCode"]}
    if kind == "CreditNote":
        summary.update(CreditNoteID=doc["CreditNoteID"], CreditNoteNumber=doc["CreditNoteNumber"])
    else:
        summary.update(InvoiceID=doc["InvoiceID"], InvoiceNumber=doc["InvoiceNumber"])
    payment: Doc = {
        "PaymentID": pid,
        "Date": day,
        "DateString": iso_date_string(day),
        "Amount": amount,
        "BankAmount": amount
        if account.get("CurrencyCode", doc["CurrencyCode"]) == doc["CurrencyCode"]
        else rnd(amount / rate, TWO),
        "CurrencyRate": rate,
        "Reference": str(raw.get("Reference", "")),
        "IsReconciled": False,
        "Status": "AUTHORISED",
        "PaymentType": _TYPES[doc["Type"]],
        "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
        kind: summary,
        "HasAccount": False,
        "HasValidationErrors": False,
    }
    touch(payment, now)
    t.payments[pid] = payment
    doc["Payments"].append(
        {
            "PaymentID": pid,
            "Date": day,
            "Amount": amount,
            "Reference": payment["Reference"],
            "CurrencyRate": rate,
            "HasAccount": False,
            "HasValidationErrors": False,
        }
    )
    _rebalance(doc, kind, now)
    return Outcome(payment, problems, "CREATE")


def _rebalance(doc: Doc, kind: str, now: datetime) -> None:
    if kind == "CreditNote":
        refresh_balance(doc, now)
        return
    paid = sum((p["Amount"] for p in doc["Payments"]), rnd(to_decimal(0), TWO))
    doc["AmountPaid"] = paid
    doc["AmountDue"] = doc["Total"] - paid - doc["AmountCredited"]
    doc["Status"] = "PAID" if doc["AmountDue"] == 0 else "AUTHORISED"
    touch(doc, now)


def target_of(t: Tenant, payment: Doc) -> tuple[str, Doc | None]:
    if "CreditNote" in payment:
        return "CreditNote", t.credit_notes.get(payment["CreditNote"]["CreditNoteID"])
    return "Invoice", t.invoices.get(payment["Invoice"]["InvoiceID"])


def delete_payment(t: Tenant, payment: Doc, raw: dict[str, Any], now: datetime) -> Outcome:
    """POST /Payments/{id} — the API only lets a payment be deleted, not edited."""
    problems = Problems()
    if str(raw.get("Status", "")).upper() != "DELETED":
        problems.add("Payments can only be deleted (Status DELETED); they cannot be edited.")
    elif payment["Status"] == "DELETED":
        problems.add("This payment has already been deleted.")
    if problems:
        return Outcome(None, problems)
    payment["Status"] = "DELETED"
    touch(payment, now)
    kind, doc = target_of(t, payment)
    if doc is not None:
        doc["Payments"] = [p for p in doc["Payments"] if p["PaymentID"] != payment["PaymentID"]]
        _rebalance(doc, kind, now)
    return Outcome(payment, problems, "UPDATE")
