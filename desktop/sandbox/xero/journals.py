"""Manual journals: Narration required, debits positive / credits negative, must balance."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from desktop.sandbox.xero.creditnotes import Outcome, named, touch
from desktop.sandbox.xero.msjson import iso_date_string, money_quantum, to_decimal
from desktop.sandbox.xero.store import Doc, Tenant
from desktop.sandbox.xero.validation import (
    LINE_AMOUNT_TYPES,
    ZERO,
    Problems,
    check_date,
    line_tax,
    resolve_account,
    resolve_tax,
    resolve_tracking,
    rnd,
)


def save_journal(t: Tenant, raw: dict[str, Any], now: datetime) -> Outcome:
    existing, refused = named(t.manual_journals, raw, "ManualJournalID",
                              "The document with the supplied id was not found for this endpoint.")
    if refused is not None:
        return refused
    problems = Problems()
    if existing is not None:
        status, new = existing["Status"], str(raw.get("Status", existing["Status"])).upper()
        if status in ("VOIDED", "DELETED"):
            problems.add(f"This manual journal cannot be edited as it has been {status.lower()}.")
        elif status == "POSTED" and new == "DELETED":
            problems.add("Posted manual journals cannot be deleted; void the journal instead.")
        elif status == "POSTED" and new == "DRAFT":
            problems.add("A posted manual journal cannot be returned to draft.")
        elif status == "DRAFT" and new == "VOIDED":
            problems.add("Only posted manual journals can be voided; delete a draft instead.")
        if problems:
            return Outcome(None, problems)
        if new in ("VOIDED", "DELETED"):
            existing["Status"] = new
            touch(existing, now, iso=False)
            return Outcome(existing, problems, "UPDATE")
        raw = {**{k: v for k, v in existing.items() if k != "UpdatedDateUTC"}, **raw, "Status": new}
    doc = _build(t, raw, existing, now, problems)
    if problems or doc is None:
        return Outcome(None, problems)
    if existing is not None:
        existing.clear()
        existing.update(doc)
        return Outcome(existing, problems, "UPDATE")
    t.manual_journals[doc["ManualJournalID"]] = doc
    return Outcome(doc, problems, "CREATE")


def _build(t: Tenant, raw: dict[str, Any], existing: Doc | None, now: datetime, problems: Problems) -> Doc | None:
    narration = str(raw.get("Narration") or "").strip()
    if not narration:
        problems.add("Narration must be provided.")
    status = str(raw.get("Status", "DRAFT")).upper()
    if status not in ("DRAFT", "POSTED"):
        problems.add(f"A manual journal cannot be saved with status {status}.")
    lat = str(raw.get("LineAmountTypes", "NoTax"))
    lat = next((v for v in LINE_AMOUNT_TYPES if v.lower() == lat.lower()), lat)
    if lat not in LINE_AMOUNT_TYPES:
        problems.add(f"LineAmountTypes '{lat}' is not valid; use Exclusive, Inclusive or NoTax.")
    day = check_date(t, raw.get("Date"), t.local_today(now), status == "POSTED", problems)
    quantum = money_quantum(t.base_currency)
    raw_lines = raw.get("JournalLines") or []
    if not isinstance(raw_lines, list) or len(raw_lines) < 2:
        problems.add("A manual journal must have at least two journal lines.")
        raw_lines = raw_lines if isinstance(raw_lines, list) else []
    lines: list[Doc] = []
    debits, credits = ZERO, ZERO
    for rl in raw_lines:
        try:
            amount = rnd(to_decimal(rl.get("LineAmount")), quantum)
        except (ValueError, AttributeError):
            problems.add("Each journal line needs a numeric LineAmount.")
            continue
        acc = resolve_account(t, rl, problems, True)
        tax_doc = (
            t.tax_rates.get("NONE")
            if lat == "NoTax"
            else resolve_tax(t, rl.get("TaxType"), (acc or {}).get("TaxType", "NONE"), problems)
        )
        rate: Decimal = (tax_doc or {}).get("EffectiveRate", ZERO)
        stated = rnd(to_decimal(rl["TaxAmount"]), quantum) if rl.get("TaxAmount") is not None and lat != "NoTax" \
            else None
        tax = line_tax(amount, rate, lat, quantum, stated)
        gross = amount + tax if lat == "Exclusive" else amount
        if gross >= 0:
            debits += gross
        else:
            credits += gross
        line: Doc = {
            "Description": str(rl.get("Description", "")),
            "TaxType": (tax_doc or {}).get("TaxType", "NONE"),
            "TaxAmount": tax,
            "LineAmount": amount,
            "Tracking": resolve_tracking(t, rl.get("Tracking"), problems),
            "IsBlank": False,
        }
        if acc:
            line.update(AccountCode=acc["Code"], AccountID=acc["AccountID"])
        lines.append(line)
    if lines and debits + credits != 0:
        problems.add(f"The total debits ({rnd(debits)}) must equal total credits ({rnd(credits)})")
    if problems:
        return None
    doc: Doc = {
        "ManualJournalID": existing["ManualJournalID"] if existing else str(uuid.uuid4()),
        "Narration": narration,
        "Date": day,
        "DateString": iso_date_string(day),
        "Status": status,
        "LineAmountTypes": lat,
        "JournalLines": lines,
        "ShowOnCashBasisReports": bool(raw.get("ShowOnCashBasisReports", True)),
        "HasAttachments": False,
    }
    if raw.get("Url"):
        doc["Url"] = str(raw["Url"])
    touch(doc, now, iso=False)
    return doc
