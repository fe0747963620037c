"""Issue 16, items 2 and 3 at recipe level: store credit as a liability (organization setting) and
exchanges whose replacement goods the RMS states — even, with a refund of the difference, with a
charge of the difference — on both platforms, in the home and a foreign currency.

The journal is built once (``recipes/journal.py``); these tests read the documents' journals and
payloads field by field, and pre-flight must pass (refund effects = the RMS's refund)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from desktop.services.core.domain import (
    Component,
    OrgSettings,
    PostingMode,
    ReturnLine,
    ReturnRecord,
    Settlement,
    StoreCreditTreatment,
    settlement,
)
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.validate import contexts_for_return
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.preflight import preflight
from desktop.services.pipeline.recipes import build_documents, summary_documents
from desktop.services.platforms.base import RefKind, RefRecord
from tests.helpers.recipes import (
    fee,
    make_return,
    qbo_rules,
    qbo_snapshot,
    resolver,
    taxed_line,
    xero_rules,
    xero_snapshot,
)

LIABILITY = OrgSettings(store_credit=StoreCreditTreatment.LIABILITY)
TODAY = date(2026, 11, 21)
QBO_FX = FxRates.from_qbo("USD", [{"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7312"), "AsOfDate": "2026-01-01"}])
XERO_FX = FxRates.from_qbo("NZD", [{"SourceCurrencyCode": "AUD", "Rate": Decimal("1.0850"), "AsOfDate": "2026-01-01"}])


def _qbo() -> tuple[ReferenceSnapshot, list[Rule]]:
    snap = qbo_snapshot(currencies=("CAD",))
    a, i = RefKind.ACCOUNT, RefKind.ITEM
    snap = replace(snap, accounts={
        **snap.accounts,
        "30": RefRecord(a, "30", "Store Credit Liability", type="Other Current Liability"),
        "31": RefRecord(a, "31", "Sales of Product Income", type="Income"),
        "32": RefRecord(a, "32", "Checking CAD", type="Bank", currency="CAD")},
        items={**snap.items, "9": RefRecord(i, "9", "Merchandise", type="Service", parent_id="31")})
    rules = [*qbo_rules("US"), Rule(Component.STORE_CREDIT, account_id="30").with_id(40),
             Rule(Component.REPLACEMENT, account_id="31", item_id="9").with_id(41),
             Rule(Component.REFUND, currency="CAD", account_id="32").with_id(42)]
    return snap, rules


def _xero() -> tuple[ReferenceSnapshot, list[Rule]]:
    snap = xero_snapshot()
    a = RefKind.ACCOUNT
    snap = replace(snap, accounts={
        **snap.accounts,
        "acc-835": RefRecord(a, "acc-835", "Store Credit Liability", code="835", type="CURRLIAB",
                             raw={"EnablePaymentsToAccount": True}),
        "acc-200": RefRecord(a, "acc-200", "Sales", code="200", type="REVENUE")})
    rules = [*xero_rules(), Rule(Component.STORE_CREDIT, account_id="acc-835").with_id(40),
             Rule(Component.REPLACEMENT, account_id="acc-200", tax_code="NONE").with_id(41)]
    return snap, rules


def _build(ret: ReturnRecord, snap: ReferenceSnapshot, rules: list[Rule], settings: OrgSettings,
           fx: FxRates) -> list[LedgerDocument]:
    docs, problems = build_documents(ret, resolver(rules, snap), snap, settings, fx)
    problems += preflight(docs, ret, snap, settings, TODAY)
    assert problems == [], problems
    for d in docs:
        assert d.is_balanced(), d.journal
    assert sum((d.refund_effect.amount for d in docs if d.refund_effect is not None), Decimal(0)) == \
        ret.computed_refund().amount
    return docs


def _swap(n: int, qty: str, price: str, cur: str, taxes: list[tuple[str, str]]) -> ReturnLine:
    return replace(taxed_line(n, qty, price, cur, taxes), reason_code="EXCHANGE", disposition="EXCHANGE")


def _exchange(org: str, cur: str, back: str, out: str, taxes: list[tuple[str, str]]) -> ReturnRecord:
    ret = make_return(org, cur, [taxed_line(1, "1", back, cur, taxes)], method=RefundMethod.EXCHANGE)
    return replace(ret, replacements=(_swap(9, "1", out, cur, taxes),))


def _lines(doc: LedgerDocument) -> list[tuple[str, str, Decimal]]:
    return [(jl.account_id, "Dr" if jl.debit is not None else "Cr", jl.amount.amount) for jl in doc.journal]


# --- store credit as a liability ----------------------------------------------------------------


def test_the_setting_defaults_to_receivable_and_round_trips() -> None:
    assert OrgSettings().store_credit is StoreCreditTreatment.RECEIVABLE
    assert OrgSettings.from_json({}).store_credit is StoreCreditTreatment.RECEIVABLE
    assert OrgSettings.from_json(LIABILITY.to_json()).store_credit is StoreCreditTreatment.LIABILITY


def test_qbo_store_credit_liability_is_a_credit_memo_and_a_journal_from_ar_to_the_liability() -> None:
    snap, rules = _qbo()
    ret = make_return("ACME-US", "CAD", [taxed_line(1, "2", "40.00", "CAD", [("US-CA", "7.25")])],
                      method=RefundMethod.STORE_CREDIT)
    docs = _build(ret, snap, rules, LIABILITY, QBO_FX)
    assert [(d.role, d.doc_type) for d in docs] == [("credit_memo", "CreditMemo"),
                                                   ("store_credit_journal", "JournalEntry")]
    memo, moved = docs
    assert memo.total.amount == Decimal("85.80") and memo.currency == "CAD"
    assert _lines(moved) == [("3", "Dr", Decimal("85.80")), ("30", "Cr", Decimal("85.80"))]
    assert moved.refund_effect is None and moved.currency == "CAD"
    lines = moved.payload["Line"]
    assert lines[0]["JournalEntryLineDetail"]["Entity"]["Type"] == "Customer"
    assert lines[1]["JournalEntryLineDetail"] == {"PostingType": "Credit", "AccountRef": {"value": "30"}}
    assert moved.payload["CurrencyRef"] == {"value": "CAD"} and moved.payload["ExchangeRate"] == Decimal("0.7312")
    assert moved.journal[1].component == Component.STORE_CREDIT


def test_xero_store_credit_liability_is_a_credit_note_and_a_payment_from_the_liability_account() -> None:
    snap, rules = _xero()
    ret = make_return("KIWI-NZ", "AUD", [taxed_line(1, "1", "100.00", "AUD", [("NZ-GST", "15")])],
                      method=RefundMethod.STORE_CREDIT)
    docs = _build(ret, snap, rules, LIABILITY, XERO_FX)
    assert [(d.role, d.doc_type) for d in docs] == [("credit_note", "CreditNote"), ("store_credit_payment", "Payment")]
    note, pay = docs
    body = pay.payload["Payments"][0]
    assert body["Account"] == {"Code": "835"} and body["Amount"] == Decimal("115.00")
    assert "CurrencyRate" in body and pay.depends_on == note.idempotency_key
    assert "store credit" in body["Reference"]
    assert _lines(pay) == [("acc-610", "Dr", Decimal("115.00")), ("acc-835", "Cr", Decimal("115.00"))]


def test_receivable_store_credit_is_unchanged_and_needs_no_liability_rule() -> None:
    snap, rules = _qbo()
    ret = make_return("ACME-US", "USD", [taxed_line(1, "1", "10.00", "USD", [])], method=RefundMethod.STORE_CREDIT)
    docs = _build(ret, snap, [r for r in rules if r.component is not Component.STORE_CREDIT], OrgSettings(), QBO_FX)
    assert [d.doc_type for d in docs] == ["CreditMemo"]


def test_an_unmapped_liability_account_is_a_clear_problem_never_a_guess() -> None:
    for snap, rules in (_qbo(), _xero()):
        cur = snap.home_currency
        ret = make_return("ORG", cur, [taxed_line(1, "1", "10.00", cur, [])], method=RefundMethod.STORE_CREDIT)
        kept = [r for r in rules if r.component is not Component.STORE_CREDIT]
        _, problems = build_documents(ret, resolver(kept, snap), snap, LIABILITY, None)
        assert [p.code for p in problems] == ["unmapped_component"], problems
        assert "store credit as a liability" in problems[0].message
        assert "Store credit liability rule" in problems[0].message
    ctxs = contexts_for_return(ret, LIABILITY)
    assert any(c.component is Component.STORE_CREDIT for c in ctxs)
    assert not any(c.component is Component.STORE_CREDIT for c in contexts_for_return(ret, OrgSettings()))


# --- exchanges ---------------------------------------------------------------------------------


def test_an_even_exchange_posts_goods_and_tax_only() -> None:
    for (snap, rules), org, fx in ((_qbo(), "ACME-US", QBO_FX), (_xero(), "KIWI-NZ", XERO_FX)):
        cur = "CAD" if org == "ACME-US" else "AUD"
        taxes = [("US-CA", "7.25")] if org == "ACME-US" else [("NZ-GST", "15")]
        ret = _exchange(org, cur, "50.00", "50.00", taxes)
        assert settlement(ret, OrgSettings()) is Settlement.EVEN
        docs = _build(ret, snap, rules, OrgSettings(), fx)
        assert len(docs) == 1 and docs[0].doc_type in ("CreditMemo", "CreditNote")
        doc = docs[0]
        assert doc.total.amount == 0 and doc.currency == cur
        sales = {"qbo": "31", "xero": "acc-200"}[snap.platform]
        returns = {"qbo": "5", "xero": "acc-205"}[snap.platform]
        assert (returns, "Dr", Decimal("50.00")) in _lines(doc) and (sales, "Cr", Decimal("50.00")) in _lines(doc)
        assert all(jl.account_id not in ("3", "acc-610", "1", "acc-090") for jl in doc.journal), "no money moves"


def test_an_exchange_for_cheaper_goods_refunds_the_difference() -> None:
    snap, rules = _qbo()
    ret = _exchange("ACME-US", "CAD", "80.00", "50.00", [("US-CA", "7.25")])
    docs = _build(ret, snap, rules, OrgSettings(), QBO_FX)
    assert [d.doc_type for d in docs] == ["RefundReceipt"]
    receipt = docs[0]
    assert receipt.total.amount == Decimal("32.17")  # 80 + 5.80 − (50 + 3.63)
    assert receipt.payload["DepositToAccountRef"] == {"value": "32"}
    assert ("32", "Cr", Decimal("32.17")) in _lines(receipt)
    neg = [ln for ln in receipt.payload["Line"] if ln["Amount"] < 0]
    assert neg and neg[0]["SalesItemLineDetail"]["ItemRef"] == {"value": "9"}
    assert neg[0]["SalesItemLineDetail"]["UnitPrice"] == Decimal("-50.00")

    snap, rules = _xero()
    ret = _exchange("KIWI-NZ", "AUD", "80.00", "50.00", [("NZ-GST", "15")])
    docs = _build(ret, snap, rules, OrgSettings(), XERO_FX)
    assert [d.doc_type for d in docs] == ["CreditNote", "Payment"]
    note, pay = docs
    assert note.total.amount == Decimal("34.50") and pay.payload["Payments"][0]["Amount"] == Decimal("34.50")
    assert pay.payload["Payments"][0]["Account"] == {"Code": "090"}
    items = note.payload["CreditNotes"][0]["LineItems"]
    assert [(i["AccountCode"], i["TaxAmount"]) for i in items] == [("205", Decimal("12.00")),
                                                                   ("200", Decimal("-7.50"))]


def test_an_exchange_for_dearer_goods_posts_the_charge() -> None:
    snap, rules = _xero()
    ret = _exchange("KIWI-NZ", "NZD", "50.00", "80.00", [("NZ-GST", "15")])
    assert settlement(ret, OrgSettings()) is Settlement.CHARGE
    # field by field in tests/unit/test_recipes_exchange_charge.py
    assert [d.doc_type for d in _build(ret, snap, rules, OrgSettings(), XERO_FX)] == ["Invoice", "Payment"]


def test_an_exchange_without_replacements_stays_customer_credit() -> None:
    snap, rules = _qbo()
    ret = make_return("ACME-US", "USD", [taxed_line(1, "1", "10.00", "USD", [])], method=RefundMethod.EXCHANGE)
    assert settlement(ret, LIABILITY) is Settlement.CREDIT
    assert [d.doc_type for d in _build(ret, snap, rules, LIABILITY, QBO_FX)] == ["CreditMemo"]
    swapped = _exchange("ACME-US", "USD", "10.00", "10.00", [])
    assert any(c.component is Component.REPLACEMENT for c in contexts_for_return(swapped))


def test_daily_summary_carries_replacements_and_keeps_store_credit_on_the_liability() -> None:
    snap, rules = _xero()
    settings = replace(LIABILITY, posting_mode=PostingMode.DAILY_SUMMARY)
    credit = make_return("KIWI-NZ", "NZD", [taxed_line(1, "1", "20.00", "NZD", [("NZ-GST", "15")])],
                         method=RefundMethod.STORE_CREDIT)
    swap = replace(_exchange("KIWI-NZ", "NZD", "80.00", "50.00", [("NZ-GST", "15")]), rms_id="r-2")
    docs, problems = summary_documents([credit, swap], resolver(rules, snap), snap, settings, None)
    assert problems == [] and len(docs) == 1
    [doc] = docs
    assert doc.is_balanced() and doc.refund_effect is not None
    assert doc.refund_effect.amount == Decimal("23.00") + Decimal("34.50")
    got = {(a, side): amount for a, side, amount in _lines(doc)}
    assert got[("acc-835", "Cr")] == Decimal("23.00")      # the store credit, on its liability
    assert got[("acc-880", "Cr")] == Decimal("34.50")      # the exchange's refunded difference, via clearing
    assert got[("acc-200", "Cr")] == Decimal("50.00")      # the replacement sold
    assert got[("acc-205", "Dr")] == Decimal("100.00")
    assert got[("acc-820", "Dr")] == Decimal("3.00") + Decimal("12.00") - Decimal("7.50")


def test_daily_summary_takes_a_charged_difference_through_clearing() -> None:
    snap, rules = _qbo()
    settings = OrgSettings(posting_mode=PostingMode.DAILY_SUMMARY)
    ret = _exchange("ACME-US", "USD", "50.00", "80.00", [("US-CA", "7.25")])
    docs, problems = summary_documents([ret], resolver(rules, snap), snap, settings, None)
    assert problems == [] and len(docs) == 1 and docs[0].is_balanced()
    got = {(a, side): amount for a, side, amount in _lines(docs[0])}
    assert got[("10", "Dr")] == Decimal("32.17")  # the customer paid 80 + 5.80 − (50 + 3.63) into clearing
    assert got[("31", "Cr")] == Decimal("80.00") and got[("5", "Dr")] == Decimal("50.00")


def test_store_credit_after_fees_withheld_leaves_the_customer_nothing_on_receivable() -> None:
    snap, rules = _qbo()
    ret = make_return("ACME-US", "USD", [taxed_line(1, "1", "100.00", "USD", [])],
                      [fee(FeeType.RESTOCKING_FEE, "15.00", "USD")], RefundMethod.STORE_CREDIT)
    docs = _build(ret, snap, rules, LIABILITY, QBO_FX)
    assert [d.role for d in docs] == ["credit_memo", "fee_journal", "store_credit_journal"]
    receivable = sum(((jl.debit.amount if jl.debit is not None else Decimal(0))
                      - (jl.credit.amount if jl.credit is not None else Decimal(0))
                      for d in docs for jl in d.journal if jl.account_id == "3"), Decimal(0))
    assert receivable == 0
    assert _lines(docs[2])[1] == ("30", "Cr", Decimal("85.00"))
