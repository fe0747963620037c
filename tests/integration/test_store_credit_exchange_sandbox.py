"""Issue 16, items 2 and 3 against the sandbox ledgers over real HTTP: store credit posted to a
liability account, an even exchange and an exchange refunding the difference — on QuickBooks and
on Xero, in a foreign currency — with what the ledger then holds read field by field, and the app's
reconciliation of those documents clean (no variance; ledger = expected, difference = explained = 0).

Documents go through the app's connector one by one (``tests/helpers/ledger_recipes``), the mapping
is the shipped template (which maps replacement goods) plus the store credit liability rule.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.core.domain import (
    Component,
    Customer,
    OrgSettings,
    ReturnLine,
    ReturnRecord,
    StoreCreditTreatment,
)
from desktop.services.core.enums import RefundMethod
from desktop.services.mapping import apply_template
from desktop.services.mapping.io import default_template_name
from desktop.services.mapping.model import Rule
from desktop.services.mapping.resolve import Resolver
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.preflight import preflight
from desktop.services.pipeline.recipes import build_documents
from desktop.services.reconcile.compare import CompareResult
from tests.helpers.ledger_recipes import SandboxLedger, connect_ledger, post_documents, reconcile_posted
from tests.helpers.recipes import make_return, taxed_line
from tests.helpers.sandbox import SandboxHandle

pytestmark = [pytest.mark.slow]

LIABILITY = OrgSettings(store_credit=StoreCreditTreatment.LIABILITY)
TZ = {Platform.QBO: "America/Los_Angeles", Platform.XERO: "Pacific/Auckland"}


def _resolver(ledger: SandboxLedger, liability: str) -> Resolver:
    """The shipped template (it maps exchanges' replacement goods to sales) plus the store credit
    liability rule an admin adds once the accountant has made that account."""
    snap = ledger.snapshot
    template = default_template_name(ledger.platform.value, ledger.connector.company_info().country)
    rules, problems = apply_template(template, snap)
    assert problems == [], problems
    assert any(r.component is Component.REPLACEMENT for r in rules)
    rules = [r.with_id(n) for n, r in enumerate([*rules, Rule(Component.STORE_CREDIT, account_id=liability)], 1)]
    return Resolver(rules, 1, account_codes=snap.account_codes())


def _ledger_rate(ledger: SandboxLedger, currency: str) -> FxRates:
    """QuickBooks publishes its rates: the one the ledger holds for today."""
    day = datetime.now(UTC).astimezone(ZoneInfo(TZ[ledger.platform])).date()
    row = ledger.connector._get("exchangerate", {"sourcecurrencycode": currency, "asofdate": day.isoformat()})
    return FxRates.from_qbo("USD", [row["ExchangeRate"]])


def _entered_rate(ledger: SandboxLedger, currency: str) -> FxRates:
    """Xero's API publishes none: the rate an admin entered."""
    return FxRates.from_xero("NZD", [(currency, date(2020, 1, 1), Decimal("0.915400"))])


#: Where each ledger's exchange rate comes from (the app asks the profile's ``publishes_rates``).
RATES = {Platform.QBO: _ledger_rate, Platform.XERO: _entered_rate}


def _rates(ledger: SandboxLedger, currency: str) -> FxRates:
    return RATES[ledger.platform](ledger, currency)


def _ret(org: str, cur: str, lines: list[ReturnLine], method: RefundMethod,
         replacements: tuple[ReturnLine, ...] = ()) -> ReturnRecord:
    rma = f"RMA-{uuid.uuid4().hex[:6].upper()}"
    who = Customer(f"c-{rma}", f"Exchanger {rma[-6:]}", f"{rma.lower()}@mail.example")
    base = make_return(org, cur, lines, (), method, customer=who, updated=datetime.now(UTC))
    return replace(base, rma_number=rma, rms_id=rma.lower(), replacements=replacements)


def _post(ledger: SandboxLedger, resolver: Resolver, ret: ReturnRecord, settings: OrgSettings,
          rates: FxRates) -> tuple[list[LedgerDocument], dict[str, dict[str, Any]], CompareResult]:
    docs, problems = build_documents(ret, resolver, ledger.snapshot, settings, rates, tz=TZ[ledger.platform])
    problems += preflight(docs, ret, ledger.snapshot, settings, docs[0].txn_date)
    assert problems == [], problems
    posted = post_documents(ledger, ret, docs)
    result = reconcile_posted(ledger, docs, posted, docs[0].txn_date)
    assert result.variances == [], result.variances
    assert result.matched == len(docs) and result.totals["by_currency"], result.totals
    for cur, row in result.totals["by_currency"].items():
        assert Decimal(row["difference"]) == Decimal(row["explained"]) == 0, (cur, row)
        assert Decimal(row["ledger"]) == Decimal(row["expected"]), (cur, row)
    return docs, {k: dict(v.raw) for k, v in posted.items()}, result


def _swap(cur: str, price: str, taxes: list[tuple[str, str]]) -> tuple[ReturnLine, ...]:
    return (replace(taxed_line(9, "1", price, cur, taxes), reason_code="EXCHANGE", disposition="EXCHANGE"),)


def test_qbo_store_credit_liability_and_exchanges_post_and_reconcile(sandbox: SandboxHandle) -> None:
    ledger = connect_ledger(sandbox, "ACME-US")
    liability = ledger.create_account(f"Store Credit Liability {uuid.uuid4().hex[:4]}", "", "Other Current Liability")
    resolver = _resolver(ledger, liability)
    cad = _rates(ledger, "CAD")
    receivable = next(a.remote_id for a in ledger.snapshot.accounts.values() if a.type == "Accounts Receivable")

    # store credit as a liability, foreign currency: a credit memo, then A/R → liability
    ret = _ret("ACME-US", "CAD", [taxed_line(1, "2", "49.99", "CAD", [])], RefundMethod.STORE_CREDIT)
    docs, got, _ = _post(ledger, resolver, ret, LIABILITY, cad)
    memo, moved = docs
    assert (memo.doc_type, moved.doc_type, moved.role) == ("CreditMemo", "JournalEntry", "store_credit_journal")
    held_memo, held_je = got[memo.idempotency_key], got[moved.idempotency_key]
    assert held_memo["TotalAmt"] == Decimal("99.98") and held_memo["CurrencyRef"]["value"] == "CAD"
    assert held_je["CurrencyRef"]["value"] == "CAD" and held_je["ExchangeRate"] == memo.payload["ExchangeRate"]
    lines = [(ln["JournalEntryLineDetail"]["PostingType"], ln["JournalEntryLineDetail"]["AccountRef"]["value"],
              ln["Amount"]) for ln in held_je["Line"]]
    assert lines == [("Debit", receivable, Decimal("99.98")), ("Credit", liability, Decimal("99.98"))]
    entity = held_je["Line"][0]["JournalEntryLineDetail"]["Entity"]
    assert entity["EntityRef"]["value"] == held_memo["CustomerRef"]["value"]

    # an even exchange, foreign currency: goods both ways, no money
    ret = _ret("ACME-US", "CAD", [taxed_line(1, "1", "35.00", "CAD", [])], RefundMethod.EXCHANGE,
               _swap("CAD", "35.00", []))
    docs, got, _ = _post(ledger, resolver, ret, OrgSettings(), cad)
    [memo] = docs
    held = got[memo.idempotency_key]
    assert memo.doc_type == "CreditMemo" and held["TotalAmt"] == 0
    assert sorted(ln["Amount"] for ln in held["Line"] if ln.get("DetailType") == "SalesItemLineDetail") == [
        Decimal("-35.00"), Decimal("35.00")]

    # an exchange for cheaper goods, with tax, home currency: the difference is refunded
    ca = [("US-CA", "7.25")]
    ret = _ret("ACME-US", "USD", [taxed_line(1, "1", "80.00", "USD", ca)], RefundMethod.EXCHANGE,
               _swap("USD", "50.00", ca))
    docs, got, _ = _post(ledger, resolver, ret, OrgSettings(), cad)
    [receipt] = docs
    held = got[receipt.idempotency_key]
    assert receipt.doc_type == "RefundReceipt" and held["TotalAmt"] == ret.computed_refund().amount == Decimal("32.17")
    checking = ledger.snapshot.account_by_name("Checking")
    assert checking is not None and held["DepositToAccountRef"]["value"] == checking.remote_id

    # and in a foreign currency
    ret = _ret("ACME-US", "CAD", [taxed_line(1, "2", "30.00", "CAD", [])], RefundMethod.EXCHANGE,
               _swap("CAD", "45.50", []))
    docs, got, _ = _post(ledger, resolver, ret, OrgSettings(), cad)
    held = got[docs[0].idempotency_key]
    assert held["TotalAmt"] == Decimal("14.50") and held["CurrencyRef"]["value"] == "CAD"
    checking_cad = ledger.snapshot.account_by_name("Checking CAD")
    assert checking_cad is not None and held["DepositToAccountRef"]["value"] == checking_cad.remote_id


def test_xero_store_credit_liability_and_exchanges_post_and_reconcile(sandbox: SandboxHandle) -> None:
    ledger = connect_ledger(sandbox, "KIWI-NZ")
    code = str(800 + int(uuid.uuid4().int % 90))
    liability = ledger.create_account(f"Store Credit Liability {code}", f"S{code}", "CURRLIAB", payments=True)
    resolver = _resolver(ledger, liability)
    aud = _rates(ledger, "AUD")
    gst = [("NZ-GST", "15")]

    # store credit as a liability, foreign currency: a credit note, then a payment from the liability
    ret = _ret("KIWI-NZ", "AUD", [taxed_line(1, "3", "33.33", "AUD", gst)], RefundMethod.STORE_CREDIT)
    docs, got, _ = _post(ledger, resolver, ret, LIABILITY, aud)
    note, pay = docs
    assert (note.doc_type, pay.doc_type, pay.role) == ("CreditNote", "Payment", "store_credit_payment")
    held_note, held_pay = got[note.idempotency_key], got[pay.idempotency_key]
    assert held_note["Total"] == ret.computed_refund().amount == Decimal("114.99")
    assert held_note["CurrencyCode"] == "AUD"
    now = ledger.connector.document("CreditNote", held_note["CreditNoteID"]).raw  # after the payment
    assert now["Status"] == "PAID" and now["RemainingCredit"] == 0
    assert held_pay["Amount"] == Decimal("114.99") and held_pay["Account"]["AccountID"] == liability
    assert held_pay["CreditNote"]["CreditNoteID"] == held_note["CreditNoteID"]
    assert held_pay["CurrencyRate"] == Decimal("0.915400")

    # an even exchange, foreign currency
    ret = _ret("KIWI-NZ", "AUD", [taxed_line(1, "1", "40.00", "AUD", gst)], RefundMethod.EXCHANGE,
               _swap("AUD", "40.00", gst))
    docs, got, _ = _post(ledger, resolver, ret, OrgSettings(), aud)
    [note] = docs
    held = got[note.idempotency_key]
    assert held["Total"] == 0 and held["TotalTax"] == 0
    assert [(i["AccountCode"], i["LineAmount"], i["TaxAmount"]) for i in held["LineItems"]] == [
        ("205", Decimal("40.00"), Decimal("6.00")), ("200", Decimal("-40.00"), Decimal("-6.00"))]

    # an exchange for cheaper goods, foreign currency: the difference is paid back from the AUD bank
    ret = _ret("KIWI-NZ", "AUD", [taxed_line(1, "1", "80.00", "AUD", gst)], RefundMethod.EXCHANGE,
               _swap("AUD", "50.00", gst))
    docs, got, _ = _post(ledger, resolver, ret, OrgSettings(), aud)
    note, pay = docs
    assert got[note.idempotency_key]["Total"] == Decimal("34.50") == ret.computed_refund().amount
    bank = ledger.snapshot.account_by_code("092")
    assert bank is not None
    assert got[pay.idempotency_key]["Amount"] == Decimal("34.50")
    assert got[pay.idempotency_key]["Account"]["AccountID"] == bank.remote_id
