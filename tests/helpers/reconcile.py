"""Ledger documents for the reconciliation tests, dated the world's today.

They go into the emulated ledger through :meth:`~tests.helpers.worlds.World.post` (which adds our
key to the memo and records the document as posted) or straight through the control API.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.helpers.worlds import QBO_ORG, XERO_ORG, World


def qbo_memo(world: World, amount: str = "40.00") -> dict[str, Any]:
    connector = world.connector(QBO_ORG)
    customer = next(c for c in connector.query_all("Customer")
                    if (c.get("CurrencyRef") or {}).get("value", "USD") == "USD")["Id"]
    item = next(i for i in connector.query_all("Item") if i.get("Type") == "Service")["Id"]
    return {"CustomerRef": {"value": customer}, "TxnDate": world.today.isoformat(),
            "Line": [{"Amount": Decimal(amount), "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": Decimal(amount),
                                              "TaxCodeRef": {"value": "NON"}}}]}


def qbo_journal(world: World, amount: str = "12.50") -> dict[str, Any]:
    rows = world.connector(QBO_ORG).query_all("Account")
    expense = next(r["Id"] for r in rows if r.get("AccountType") == "Expense")
    income = next(r["Id"] for r in rows if r.get("AccountType") == "Income")
    return {"TxnDate": world.today.isoformat(), "Line": [
        {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(amount), "Description": "Restocking fee",
         "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": expense}}},
        {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(amount), "Description": "Fee income",
         "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": income}}}]}


def xero_refs(world: World) -> dict[str, str]:
    connector = world.connector(XERO_ORG)
    accounts = connector._get("Accounts")["Accounts"]
    return {"revenue": next(a["Code"] for a in accounts if a["Type"] in ("REVENUE", "SALES")),
            "expense": next(a["Code"] for a in accounts if a["Type"] in ("EXPENSE", "DIRECTCOSTS")),
            "bank": next(a["Code"] for a in accounts if a["Type"] == "BANK"),
            "contact": connector._get("Contacts", {"page": "1"})["Contacts"][0]["ContactID"]}


def xero_note(world: World, refs: dict[str, str], amount: str = "50.00") -> dict[str, Any]:
    return {"Type": "ACCRECCREDIT", "Contact": {"ContactID": refs["contact"]}, "Status": "AUTHORISED",
            "Date": world.today.isoformat(), "LineAmountTypes": "NoTax", "CurrencyCode": "NZD",
            "LineItems": [{"Description": "Returned goods", "Quantity": Decimal(1), "UnitAmount": Decimal(amount),
                           "LineAmount": Decimal(amount), "AccountCode": refs["revenue"], "TaxType": "NONE"}]}


def xero_journal(world: World, refs: dict[str, str], amount: str = "12.50") -> dict[str, Any]:
    return {"Narration": "", "Date": world.today.isoformat(), "Status": "POSTED", "LineAmountTypes": "NoTax",
            "JournalLines": [{"LineAmount": Decimal(amount), "AccountCode": refs["expense"], "Description": "Fee"},
                             {"LineAmount": -Decimal(amount), "AccountCode": refs["revenue"], "Description": "Fee"}]}


def xero_payment(world: World, refs: dict[str, str], note_id: str, amount: str = "50.00") -> dict[str, Any]:
    return {"CreditNote": {"CreditNoteID": note_id}, "Account": {"Code": refs["bank"]},
            "Date": world.today.isoformat(), "Amount": Decimal(amount)}
