"""Documents for the outbox/posting/engine tests, built by hand with real QBO / Xero payloads
(API_FACTS §2, §8) and keys from ``core.keys``; and one worker process for the two-process test.

Run as ``python -m tests.helpers.posting DB_URL CONNECTION_ID WORKER_ID`` this module is a second
worker: its own services over the shared database and keyring, built by the runtime.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from desktop.services.core import keys
from desktop.services.core.clock import SystemClock
from desktop.services.core.money import Money
from desktop.services.pipeline.documents import LedgerDocument
from tests.helpers.worlds import World


def today() -> date:
    return SystemClock().now().date()


def key_for(tag: str, n: int, role: str = "fee_journal") -> str:
    return keys.idempotency_key("TEST", f"{tag}-{n}", 1, role)


def _doc(platform: str, doc_type: str, key: str, role: str, payload: dict[str, Any], amount: Decimal,
         currency: str, depends_on: str | None = None) -> LedgerDocument:
    return LedgerDocument(role=role, platform=platform, doc_type=doc_type, idempotency_key=key, txn_date=today(),
                          currency=currency, total=Money(amount, currency), payload=payload, journal=(),
                          source=("TEST", key, 1), mapping_version=1, home_currency=currency, depends_on=depends_on)


def qbo_accounts(world: World, connection_id: int) -> tuple[str, str]:
    """(expense account id, income account id) of the QBO company."""
    rows = world.connections.connector(connection_id).query_all("Account")  # type: ignore[attr-defined]
    expense = next(r["Id"] for r in rows if r.get("AccountType") == "Expense")
    income = next(r["Id"] for r in rows if r.get("AccountType") == "Income")
    return str(expense), str(income)


def qbo_journal(n: int, accounts: tuple[str, str], *, amount: str = "12.34", credit: str | None = None,
                tag: str = "je") -> LedgerDocument:
    key = key_for(tag, n)
    debit_acct, credit_acct = accounts
    payload = {
        "TxnDate": today().isoformat(), "DocNumber": keys.doc_number(f"RMA-{tag}-{n}", 1, "fee_journal"),
        "PrivateNote": keys.memo_text(key, f"RMA-{tag}-{n}", 1, "restocking fee"),
        "Line": [
            {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(amount), "Description": "Restocking fee",
             "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": debit_acct}}},
            {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(credit or amount), "Description": "Fee income",
             "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": credit_acct}}},
        ],
    }
    return _doc("qbo", "JournalEntry", key, "fee_journal", payload, Decimal(amount), "USD")


def qbo_journals(world: World, connection_id: int, count: int, tag: str = "je") -> list[LedgerDocument]:
    accounts = qbo_accounts(world, connection_id)
    return [qbo_journal(n, accounts, tag=tag) for n in range(count)]


def xero_journals(world: World, connection_id: int, count: int, tag: str = "mj") -> list[LedgerDocument]:
    codes = xero_codes(world, connection_id)
    return [xero_journal(n, codes, tag=tag) for n in range(count)]


def xero_codes(world: World, connection_id: int) -> dict[str, str]:
    """Account codes by Xero type (first of each: EXPENSE, REVENUE, BANK, …)."""
    from desktop.services.platforms.base import RefKind
    accounts = world.connections.connector(connection_id).reference_data([RefKind.ACCOUNT])[RefKind.ACCOUNT]
    out: dict[str, str] = {}
    for a in accounts:
        if a.code and a.active and a.type:
            out.setdefault(a.type, a.code)
    return out


def xero_journal(n: int, codes: dict[str, str], *, amount: str = "12.34", credit: str | None = None,
                 tag: str = "mj") -> LedgerDocument:
    key = key_for(tag, n)
    payload = {"ManualJournals": [{
        "Narration": keys.memo_text(key, f"RMA-{tag}-{n}", 1, "restocking fee"), "Date": today().isoformat(),
        "Status": "POSTED", "LineAmountTypes": "NoTax",
        "JournalLines": [
            {"LineAmount": Decimal(amount), "AccountCode": codes["EXPENSE"], "Description": "Restocking fee"},
            {"LineAmount": -Decimal(credit or amount), "AccountCode": codes["REVENUE"], "Description": "Fee income"},
        ]}]}
    return _doc("xero", "ManualJournal", key, "fee_journal", payload, Decimal(amount), "NZD")


def xero_refund(n: int, codes: dict[str, str], amount: str = "50.00") -> tuple[LedgerDocument, LedgerDocument]:
    """A CreditNote and the refund Payment that depends on it (its id filled in by the poster)."""
    cn_key, pay_key = key_for("cn", n, "credit_note"), key_for("cn", n, "refund_payment")
    note = {"CreditNotes": [{
        "Type": "ACCRECCREDIT", "Contact": {"Name": f"Test Customer {n}"}, "Date": today().isoformat(),
        "Status": "AUTHORISED", "LineAmountTypes": "NoTax", "CurrencyCode": "NZD",
        "Reference": keys.memo_text(cn_key, f"RMA-cn-{n}", 1),
        "LineItems": [{"Description": "Returned widget", "Quantity": Decimal(1), "UnitAmount": Decimal(amount),
                       "AccountCode": codes["REVENUE"]}]}]}
    pay = {"Payments": [{
        "CreditNote": {"CreditNoteID": "${id:" + cn_key + "}"}, "Account": {"Code": codes["BANK"]},
        "Date": today().isoformat(), "Amount": Decimal(amount),
        "Reference": keys.memo_text(pay_key, f"RMA-cn-{n}", 1, "refund")}]}
    return (_doc("xero", "CreditNote", cn_key, "credit_note", note, Decimal(amount), "NZD"),
            _doc("xero", "Payment", pay_key, "refund_payment", pay, Decimal(amount), "NZD", depends_on=cn_key))


def qbo_credit_memo_refs(world: World, connection_id: int) -> tuple[str, str]:
    """(customer id, service item id) of the QBO company, for hand-built credit memos."""
    conn = world.connections.connector(connection_id)
    customer = next(c for c in conn.query_all("Customer") if c.get("Active", True)  # type: ignore[attr-defined]
                    and (c.get("CurrencyRef") or {}).get("value", "USD") == "USD")
    item = next(i for i in conn.query_all("Item") if i.get("IncomeAccountRef"))  # type: ignore[attr-defined]
    return str(customer["Id"]), str(item["Id"])


def qbo_credit_memo(n: int, refs: tuple[str, str], *, number: str | None = None) -> LedgerDocument:
    key = key_for("cm", n, "credit_memo")
    customer, item = refs
    payload = {
        "CustomerRef": {"value": customer}, "TxnDate": today().isoformat(),
        "DocNumber": number or keys.doc_number(f"RMA-cm-{n}", 1, "credit_memo"),
        "PrivateNote": keys.memo_text(key, f"RMA-cm-{n}", 1),
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("50.00"), "Description": "Returned widget",
                  "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": Decimal(1),
                                          "UnitPrice": Decimal("50.00"), "TaxCodeRef": {"value": "NON"}}}],
    }
    return _doc("qbo", "CreditMemo", key, "credit_memo", payload, Decimal("50.00"), "USD")


def post_in_subprocess(db_url: str, connection_id: int, worker_id: str) -> None:
    """What a second worker process does: its own services over the shared database and keyring,
    built by the runtime (the vault's lock is PostgreSQL's advisory lock there)."""
    import json
    import tempfile
    from pathlib import Path

    from desktop.services.core.events import EventBus
    from desktop.services.pipeline.poster import Poster
    from desktop.services.runtime import connection_service
    from desktop.services.store.db import Database
    db = Database(db_url)
    clock = SystemClock()
    bus = EventBus(clock)
    with tempfile.TemporaryDirectory() as data_dir:
        _vault, connections = connection_service(db, bus, clock, Path(data_dir))
        result = Poster(db, bus, clock, connections).post_pending(connection_id, worker_id=worker_id)
    print(json.dumps({"posted": result.posted, "requests": result.requests}))  # noqa: T201 - the parent reads it
    db.dispose()


if __name__ == "__main__":
    import sys

    post_in_subprocess(sys.argv[1], int(sys.argv[2]), sys.argv[3])
