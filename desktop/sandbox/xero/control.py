"""Control-API hooks: list a tenant's ledger documents and change them as a person in Xero would.

``tamper`` ops (body ``{"op": …}``):

* ``edit`` ``{"id", "set": {"total"?, "tax"?, "date"?}}`` — like editing in Xero's UI: a new total
  is absorbed by the last line (net re-derived, tax overridden so the total is exact; its quantity
  kept and the unit amount re-derived where that is exact, else one unit), a new tax
  total overrides the last line's tax; manual journals move the first debit and first credit line.
  ``set: {"quantity", "item"?}`` re-states a credit note line's ``Quantity`` and ``UnitAmount``
  keeping its amount (the line of ``ItemCode`` ``item``, else the last), so a tracked item's stock moves.
* ``delete`` — drafts only for credit notes / manual journals (Xero lets approved ones be voided,
  not deleted); payments are deleted ("Remove & Redo").
* ``void`` — approved credit notes without payments/allocations, posted manual journals.
* ``duplicate`` — re-keying by a person: a credit note gets the SAME Reference and lines but a NEW
  CreditNoteNumber (Xero keeps ACCRECCREDIT numbers unique); a journal keeps its Narration.
* ``create`` ``{"type": "CreditNote"|"ManualJournal"|"Payment", "document": {…Xero JSON…}}``.

Every change bumps ``UpdatedDateUTC`` (so If-Modified-Since sees it) and credit-note changes send
webhooks. Unknown ids raise ``KeyError``; refused changes raise ``ValueError`` with Xero's reason.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from desktop.sandbox.xero import creditnotes, invoices, journals, payments, stock
from desktop.sandbox.xero.creditnotes import Outcome, refresh_balance, touch
from desktop.sandbox.xero.msjson import FOUR, TWO, iso_date_string, money_quantum, parse_date, render, to_decimal
from desktop.sandbox.xero.store import Doc, Tenant
from desktop.sandbox.xero.validation import ZERO, rnd

Notify = Callable[[Tenant, str, str, Doc], None]


def normalize(t: Tenant, kind: str, doc: Doc) -> dict[str, Any]:
    status = str(doc.get("Status", ""))
    norm = "deleted" if status == "DELETED" else "voided" if status == "VOIDED" else "active"
    if kind in ("CreditNote", "Invoice"):
        return {
            "type": kind,
            "id": doc[f"{kind}ID"],
            "number": doc.get(f"{kind}Number") or None,
            "reference": doc.get("Reference") or None,
            "date": doc["Date"].isoformat(),
            "currency": doc["CurrencyCode"],
            "total": str(doc["Total"]),
            "status": norm,
            "raw": render(doc),
        }
    if kind == "ManualJournal":
        total = sum((ln["LineAmount"] for ln in doc["JournalLines"] if ln["LineAmount"] > 0), ZERO)
        return {
            "type": kind,
            "id": doc["ManualJournalID"],
            "number": None,
            "reference": doc["Narration"],
            "date": doc["Date"].isoformat(),
            "currency": t.base_currency,
            "total": str(rnd(total)),
            "status": norm,
            "raw": render(doc),
        }
    target = doc.get("CreditNote") or doc.get("Invoice") or {}
    return {
        "type": kind,
        "id": doc["PaymentID"],
        "number": target.get("CreditNoteNumber") or target.get("InvoiceNumber"),
        "reference": doc.get("Reference") or None,
        "date": doc["Date"].isoformat(),
        "currency": target.get("CurrencyCode", t.base_currency),
        "total": str(doc["Amount"]),
        "status": norm,
        "raw": render(doc),
    }


def ledger_documents(t: Tenant) -> list[dict[str, Any]]:
    out = [normalize(t, "CreditNote", d) for d in t.credit_notes.values()]
    out += [normalize(t, "ManualJournal", d) for d in t.manual_journals.values()]
    out += [normalize(t, "Payment", d) for d in t.payments.values()]
    out += [normalize(t, "Invoice", d) for d in t.invoices.values() if d.get("_posted")]  # not the seeded sales
    return [{**d, "takeback_requests": t.takeback_requests.get(str(d["id"]).lower(), 0)} for d in out]


def _find(t: Tenant, doc_id: str) -> tuple[str, Doc]:
    key = str(doc_id).lower()
    for kind, docs in (
        ("CreditNote", t.credit_notes),
        ("ManualJournal", t.manual_journals),
        ("Payment", t.payments),
        ("Invoice", t.invoices),
    ):
        if key in docs:
            return kind, docs[key]
    for cn in t.credit_notes.values():  # a person may name a credit note by its number
        if str(cn.get("CreditNoteNumber", "")).lower() == key:
            return "CreditNote", cn
    raise KeyError(f"no Xero document {doc_id!r} in {t.rms_org}")


def _retotal(doc: Doc, now: datetime) -> None:
    lines = doc["LineItems"]
    tax = sum((ln["TaxAmount"] for ln in lines), ZERO)
    amount = sum((ln["LineAmount"] for ln in lines), ZERO)
    doc["TotalTax"] = tax
    doc["SubTotal"] = amount - tax if doc["LineAmountTypes"] == "Inclusive" else amount
    doc["Total"] = doc["SubTotal"] + tax
    refresh_balance(doc, now)


def _rate(t: Tenant, line: Doc) -> Decimal:
    return Decimal(t.tax_rates.get(line.get("TaxType", "NONE"), {}).get("EffectiveRate", ZERO))


def _restate(line: Doc, amount: Decimal, q: Decimal) -> None:
    """A person's new line amount, as Xero's UI takes it: the quantity stays and the unit amount
    (to four places) is re-derived when that gives the amount exactly, else one unit at the amount."""
    qty = line.get("Quantity") or Decimal(1)
    unit = rnd(amount / qty, FOUR) if qty > 0 else amount
    if qty <= 0 or rnd(qty * unit, q) != amount:
        qty, unit = Decimal("1.0000"), rnd(amount, TWO)
    line.update(Quantity=qty, UnitAmount=unit, LineAmount=amount)


def _edit_credit_note(t: Tenant, doc: Doc, changes: dict[str, Any], now: datetime) -> None:
    if doc["Status"] in ("VOIDED", "DELETED", "PAID") or doc["Allocations"] or doc["Payments"]:
        raise ValueError(
            "This document cannot be edited as it has a payment or credit note allocated to it."
            if doc["Status"] not in ("VOIDED", "DELETED")
            else f"This document cannot be edited as it has been {doc['Status'].lower()}."
        )
    if not doc["LineItems"]:
        raise ValueError("the credit note has no lines to edit")
    q = money_quantum(doc["CurrencyCode"])
    if "date" in changes:
        day = parse_date(changes["date"])
        doc["Date"], doc["DateString"] = day, iso_date_string(day)
    last = doc["LineItems"][-1]
    if "total" in changes:
        target = rnd(to_decimal(changes["total"]), q)
        others = doc["LineItems"][:-1]
        lat = doc["LineAmountTypes"]
        other_total = sum((ln["LineAmount"] + (ln["TaxAmount"] if lat == "Exclusive" else ZERO) for ln in others), ZERO)
        rest = target - other_total
        rate = _rate(t, last) if lat != "NoTax" else ZERO
        if lat == "Exclusive":
            net = rnd(rest * 100 / (100 + rate), q)
            _restate(last, net, q)
            last["TaxAmount"] = rest - net
        else:
            _restate(last, rest, q)
            last["TaxAmount"] = rnd(rest * rate / (100 + rate), q)
    if "quantity" in changes:
        item = changes.get("item")
        line = next((ln for ln in reversed(doc["LineItems"]) if item is None or ln.get("ItemCode") == item), None)
        if line is None:
            raise ValueError(f"no line of item {item!r} to change the quantity of")
        qty = to_decimal(changes["quantity"])
        unit = line["LineAmount"] / qty if qty > 0 else ZERO
        if qty <= 0 or rnd(unit, TWO) * qty != line["LineAmount"]:
            raise ValueError(f"LineAmount {line['LineAmount']} is not {qty} units at an exact unit amount")
        line.update(Quantity=rnd(qty, Decimal("0.0001")), UnitAmount=rnd(unit, TWO))
    if "tax" in changes:
        target_tax = rnd(to_decimal(changes["tax"]), q)
        current = sum((ln["TaxAmount"] for ln in doc["LineItems"]), ZERO)
        taxed = next((ln for ln in reversed(doc["LineItems"]) if _rate(t, ln) > 0), last)
        taxed["TaxAmount"] = taxed["TaxAmount"] + target_tax - current
    _retotal(doc, now)


def _edit_journal(doc: Doc, changes: dict[str, Any], now: datetime) -> None:
    if doc["Status"] in ("VOIDED", "DELETED"):
        raise ValueError(f"This manual journal cannot be edited as it has been {doc['Status'].lower()}.")
    if "date" in changes:
        day = parse_date(changes["date"])
        doc["Date"], doc["DateString"] = day, iso_date_string(day)
    if "total" in changes:
        lines = doc["JournalLines"]
        debit = next(ln for ln in lines if ln["LineAmount"] > 0)
        credit = next(ln for ln in lines if ln["LineAmount"] < 0)
        delta = rnd(to_decimal(changes["total"])) - sum(
            (ln["LineAmount"] for ln in lines if ln["LineAmount"] > 0), ZERO
        )
        debit["LineAmount"] += delta
        credit["LineAmount"] -= delta
    if "tax" in changes:
        raise ValueError("manual journals carry no tax total to edit")
    touch(doc, now, iso=False)


def _raise_if(out: Outcome) -> Doc:
    if out.doc is None or out.problems:
        raise ValueError("; ".join(out.problems.messages) or "refused")
    return out.doc


def tamper(t: Tenant, body: dict[str, Any], now: datetime, notify: Notify) -> dict[str, Any]:
    op = str(body.get("op", "")).lower()
    if op == "create":
        kind = str(body.get("type", ""))
        raw = dict(body.get("document") or {})
        if kind == "CreditNote":
            doc = _raise_if(creditnotes.save_credit_note(t, raw, now, 2, allow_number_match=False))
            contact = t.contacts.get(doc["Contact"].get("ContactID", ""), {})
            if contact.pop("_announce", False):
                notify(t, "CONTACT", "CREATE", contact)
            notify(t, "CREDITNOTE", "CREATE", doc)
        elif kind == "ManualJournal":
            doc = _raise_if(journals.save_journal(t, raw, now))
        elif kind == "Payment":
            doc = _raise_if(payments.create_payment(t, raw, now))
        else:
            raise ValueError(f"unknown document type {kind!r}; use CreditNote, ManualJournal or Payment")
        return normalize(t, kind, doc)
    kind, doc = _find(t, str(body.get("id", "")))
    if kind == "Invoice":  # a dearer exchange's charge: a person voids or deletes it, nothing more here
        if op not in ("delete", "void"):
            raise ValueError("the sandbox changes an invoice's status only (void or delete)")
        doc = _raise_if(invoices.save_invoice(t, {"InvoiceID": doc["InvoiceID"],
                                                  "Status": "DELETED" if op == "delete" else "VOIDED"}, now, 2))
        notify(t, "INVOICE", "UPDATE", doc)
        return normalize(t, kind, doc)
    if op == "edit":
        changes = dict(body.get("set") or {})
        if kind == "CreditNote":
            _edit_credit_note(t, doc, changes, now)
            if "quantity" in changes:
                stock.sync(t, doc)  # a person's new quantity moves the tracked item's stock
        elif kind == "ManualJournal":
            _edit_journal(doc, changes, now)
        else:
            raise ValueError("Xero does not let a payment be edited; delete it and enter it again")
    elif op in ("delete", "void"):
        if kind == "Payment":
            doc = _raise_if(payments.delete_payment(t, doc, {"Status": "DELETED"}, now))
        elif kind == "CreditNote":
            doc = _raise_if(
                creditnotes.save_credit_note(
                    t,
                    {
                        "CreditNoteID": doc["CreditNoteID"],
                        "Status": "DELETED" if op == "delete" else "VOIDED",
                    },
                    now,
                    2,
                    allow_number_match=False,
                )
            )
        else:
            doc = _raise_if(
                journals.save_journal(
                    t,
                    {
                        "ManualJournalID": doc["ManualJournalID"],
                        "Status": "DELETED" if op == "delete" else "VOIDED",
                    },
                    now,
                )
            )
    elif op == "duplicate":
        copy_doc = copy.deepcopy(doc)
        if kind == "CreditNote":
            copy_doc.update(
                CreditNoteID=str(uuid.uuid4()),
                CreditNoteNumber=t.next_credit_note_number(),
                Allocations=[],
                Payments=[],
            )
            for ln in copy_doc["LineItems"]:
                ln["LineItemID"] = str(uuid.uuid4())
            copy_doc.pop("FullyPaidOnDate", None)
            if copy_doc["Status"] == "PAID":
                copy_doc["Status"] = "AUTHORISED"
            t.credit_notes[copy_doc["CreditNoteID"]] = copy_doc
            _retotal(copy_doc, now)
        elif kind == "ManualJournal":
            copy_doc["ManualJournalID"] = str(uuid.uuid4())
            t.manual_journals[copy_doc["ManualJournalID"]] = copy_doc
            touch(copy_doc, now, iso=False)
        else:
            target = (
                {"CreditNote": {"CreditNoteID": doc["CreditNote"]["CreditNoteID"]}}
                if "CreditNote" in doc
                else {"Invoice": {"InvoiceID": doc["Invoice"]["InvoiceID"]}}
            )
            copy_doc = _raise_if(
                payments.create_payment(
                    t,
                    {
                        **target,
                        "Account": {"AccountID": doc["Account"]["AccountID"]},
                        "Amount": doc["Amount"],
                        "Date": doc["Date"],
                        "Reference": doc["Reference"],
                    },
                    now,
                )
            )
        if kind == "CreditNote":
            notify(t, "CREDITNOTE", "CREATE", copy_doc)
        return normalize(t, kind, copy_doc)
    else:
        raise ValueError(f"unknown tamper op {op!r}; use edit, delete, void, duplicate or create")
    if kind == "CreditNote":
        notify(t, "CREDITNOTE", "UPDATE", doc)
    elif kind == "Payment" and "CreditNote" in doc:
        notify(t, "CREDITNOTE", "UPDATE", t.credit_notes[doc["CreditNote"]["CreditNoteID"]])
    return normalize(t, kind, doc)
