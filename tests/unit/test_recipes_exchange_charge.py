"""Issue 16 item 3, the dearer exchange at recipe level: the customer pays the difference.

One neutral journal (``recipes/journal.py``) — the returned goods debited back, the replacement
credited to sales, their tax netted, the difference received into the Refund paid account — rendered
by each platform (QuickBooks: one ``SalesReceipt`` depositing the difference; Xero: an ``ACCREC``
invoice for the difference and a payment of it). What differs per platform is a table below,
never a branch on the platform's name.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from desktop.services.core.domain import Component, OrgSettings, ReturnRecord, Settlement, settlement
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.validate import contexts_for_return
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.preflight import preflight
from desktop.services.pipeline.recipes import build_documents
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

TODAY = date(2026, 11, 21)
QBO_FX = FxRates.from_qbo("USD", [{"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7312"), "AsOfDate": "2026-01-01"}])
XERO_FX = FxRates.from_qbo("NZD", [{"SourceCurrencyCode": "AUD", "Rate": Decimal("1.0850"), "AsOfDate": "2026-01-01"}])


def _qbo() -> tuple[ReferenceSnapshot, list[Rule]]:
    snap = qbo_snapshot(currencies=("CAD",))
    a, i = RefKind.ACCOUNT, RefKind.ITEM
    snap = replace(snap, accounts={
        **snap.accounts,
        "31": RefRecord(a, "31", "Sales of Product Income", type="Income"),
        "32": RefRecord(a, "32", "Checking CAD", type="Bank", currency="CAD")},
        items={**snap.items, "9": RefRecord(i, "9", "Merchandise", type="Service", parent_id="31")})
    rules = [*qbo_rules("US"), Rule(Component.REPLACEMENT, account_id="31", item_id="9").with_id(41),
             Rule(Component.REFUND, currency="CAD", account_id="32").with_id(42)]
    return snap, rules


def _xero() -> tuple[ReferenceSnapshot, list[Rule]]:
    snap = xero_snapshot()
    a = RefKind.ACCOUNT
    snap = replace(snap, accounts={**snap.accounts, "acc-200": RefRecord(a, "acc-200", "Sales", code="200",
                                                                         type="REVENUE")})
    return snap, [*xero_rules(), Rule(Component.REPLACEMENT, account_id="acc-200", tax_code="NONE").with_id(41)]


#: Per ledger: the world, the organization, its foreign currency and rates, the tax the RMS states,
#: and what the ledger's documents say — the document kinds, the receivable, returns, sales and
#: tax accounts, and the account the difference comes into per currency.
LEDGERS: dict[str, dict[str, Any]] = {
    "qbo": {"world": _qbo, "org": "ACME-US", "foreign": "CAD", "fx": QBO_FX, "taxes": [("US-CA", "7.25")],
            "kinds": ["SalesReceipt"], "roles": ["sales_receipt"], "receivable": "3", "returns": "5", "sales": "31",
            "tax": "9", "bank": {"USD": "1", "CAD": "32"}},
    "xero": {"world": _xero, "org": "KIWI-NZ", "foreign": "AUD", "fx": XERO_FX, "taxes": [("NZ-GST", "15")],
             "kinds": ["Invoice", "Payment"], "roles": ["invoice", "charge_payment"], "receivable": "acc-610",
             "returns": "acc-205", "sales": "acc-200", "tax": "acc-820", "bank": {"NZD": "acc-090", "AUD": "acc-090"}},
}


def _charge(org: str, cur: str, back: str, out: str, taxes: list[tuple[str, str]], **kw: Any) -> ReturnRecord:
    ret = make_return(org, cur, [taxed_line(1, "1", back, cur, taxes)], method=RefundMethod.EXCHANGE, **kw)
    swap = replace(taxed_line(9, "1", out, cur, taxes), reason_code="EXCHANGE", disposition="EXCHANGE")
    return replace(ret, replacements=(swap,))


def _build(ret: ReturnRecord, platform: str, settings: OrgSettings | None = None) -> list[LedgerDocument]:
    t = LEDGERS[platform]
    snap, rules = t["world"]()
    settings = settings or OrgSettings()
    docs, problems = build_documents(ret, resolver(rules, snap), snap, settings, t["fx"])
    problems += preflight(docs, ret, snap, settings, TODAY)
    assert problems == [], problems
    for d in docs:
        assert d.is_balanced(), d.journal
    effects = sum((d.refund_effect.amount for d in docs if d.refund_effect is not None), Decimal(0))
    assert effects == ret.computed_refund().amount < 0
    return docs


def _lines(doc: LedgerDocument) -> list[tuple[str, str, Decimal]]:
    return [(jl.account_id, "Dr" if jl.debit is not None else "Cr", jl.amount.amount) for jl in doc.journal]


def _home(platform: str) -> str:
    return str(LEDGERS[platform]["world"]()[0].home_currency)


@pytest.mark.parametrize("platform", sorted(LEDGERS))
@pytest.mark.parametrize("foreign", [False, True], ids=["home", "foreign"])
def test_a_dearer_exchange_posts_the_difference_received(platform: str, foreign: bool) -> None:
    t = LEDGERS[platform]
    cur = t["foreign"] if foreign else _home(platform)
    ret = _charge(t["org"], cur, "50.00", "80.00", t["taxes"])
    assert settlement(ret, OrgSettings()) is Settlement.CHARGE
    docs = _build(ret, platform)
    assert [d.doc_type for d in docs] == t["kinds"] and [d.role for d in docs] == t["roles"]
    sale = docs[0]
    charge = -ret.computed_refund().amount
    assert sale.total.amount == charge > 0 and sale.refund_effect == ret.computed_refund()
    assert sale.currency == cur and (sale.fx is not None) is foreign
    journal = _lines(sale)
    assert (t["returns"], "Dr", Decimal("50.00")) in journal and (t["sales"], "Cr", Decimal("80.00")) in journal
    assert any(a == t["tax"] and side == "Cr" for a, side, _ in journal), journal  # more tax charged than returned
    paid_into = next(jl for d in docs for jl in d.journal if jl.component == Component.REFUND)
    assert paid_into.account_id == t["bank"][cur] and paid_into.debit is not None
    assert paid_into.debit.amount == charge, "the money comes in"
    for d in docs[1:]:  # the payment: Dr the bank, Cr the customer's receivable, nothing else
        assert _lines(d) == [(t["bank"][cur], "Dr", charge), (t["receivable"], "Cr", charge)]
        assert d.depends_on == sale.idempotency_key and d.refund_effect is None


def test_qbo_renders_one_sales_receipt_negating_the_credit_memo_lines() -> None:
    ret = _charge("ACME-US", "CAD", "50.00", "80.00", [("US-CA", "7.25")])
    [receipt] = _build(ret, "qbo")
    body = receipt.payload
    assert body["DepositToAccountRef"] == {"value": "32"} and body["CurrencyRef"] == {"value": "CAD"}
    assert body["ExchangeRate"] == Decimal("0.7312") and body["DocNumber"].endswith("-1X")
    assert body["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "2"}}
    goods = [(ln["SalesItemLineDetail"]["ItemRef"]["value"], ln["Amount"], ln["SalesItemLineDetail"].get("UnitPrice"))
             for ln in body["Line"]]
    assert goods[:2] == [("1", Decimal("-50.00"), Decimal("-50.00")), ("9", Decimal("80.00"), Decimal("80.00"))]
    # QuickBooks computes 7.25 % of 30.00 = 2.18 (half up); the RMS says 5.80 − 3.63 = 2.17: one rounding line
    assert goods[2] == ("1", Decimal("-0.01"), None)
    assert sum((ln["Amount"] for ln in body["Line"]), Decimal(0)) + Decimal("2.18") == receipt.total.amount
    assert receipt.total.amount == Decimal("32.17") and receipt.extra["tax_codes"] == {"US-CA": "2"}


def test_xero_renders_an_invoice_with_pinned_tax_and_a_payment_into_the_bank() -> None:
    ret = _charge("KIWI-NZ", "AUD", "50.00", "80.00", [("NZ-GST", "15")])
    invoice, payment = _build(ret, "xero")
    [body] = invoice.payload["Invoices"]
    assert (body["Type"], body["Status"], body["CurrencyCode"], body["CurrencyRate"]) == (
        "ACCREC", "AUTHORISED", "AUD", Decimal("1.0850"))
    assert body["DueDate"] == body["Date"] and invoice.idempotency_key in body["Reference"]
    assert [(i["AccountCode"], i["UnitAmount"], i["TaxAmount"]) for i in body["LineItems"]] == [
        ("205", Decimal("-50.00"), Decimal("-7.50")), ("200", Decimal("80.00"), Decimal("12.00"))]
    assert invoice.total.amount == Decimal("34.50") == -ret.computed_refund().amount
    [pay] = payment.payload["Payments"]
    assert pay["Invoice"] == {"InvoiceID": "${id:" + invoice.idempotency_key + "}"}
    assert (pay["Account"], pay["Amount"], pay["CurrencyRate"]) == ({"Code": "090"}, Decimal("34.50"),
                                                                     Decimal("1.0850"))


@pytest.mark.parametrize("platform", sorted(LEDGERS))
def test_fees_withheld_on_a_dearer_exchange_come_in_with_the_difference(platform: str) -> None:
    t = LEDGERS[platform]
    cur = t["foreign"]
    ret = _charge(t["org"], cur, "50.00", "80.00", t["taxes"], fees=[fee(FeeType.RESTOCKING_FEE, "5.00", cur)])
    docs = _build(ret, platform)
    assert [d.role for d in docs] == [*t["roles"], "fee_journal"]
    fees = docs[-1]
    assert fees.journal[0].component == Component.REFUND and fees.journal[0].debit is not None
    assert fees.journal[0].memo == "fees charged with the exchange difference"
    assert fees.refund_effect is not None and fees.refund_effect.amount == Decimal("-5.00")


@pytest.mark.parametrize("platform", sorted(LEDGERS))
def test_the_charge_needs_the_refund_paid_rule_and_says_so(platform: str) -> None:
    t = LEDGERS[platform]
    ret = _charge(t["org"], _home(platform), "10.00", "25.00", [])
    assert any(c.component is Component.REFUND for c in contexts_for_return(ret))
    snap, rules = t["world"]()
    kept = [r for r in rules if r.component is not Component.REFUND]
    _, problems = build_documents(ret, resolver(kept, snap), snap, OrgSettings(), t["fx"])
    assert [p.code for p in problems] == ["unmapped_component"], problems
    assert "exchange_charge_unsupported" not in {p.code for p in problems}


@pytest.mark.parametrize("platform", sorted(LEDGERS))
def test_a_charge_made_only_by_fees_on_their_journal_refunds_the_form_and_takes_the_fees_in(platform: str) -> None:
    t = LEDGERS[platform]
    cur = _home(platform)
    # returned 40.00, replacement 35.00: the goods refund 5.00, but an 8.00 restocking fee makes it a charge of 3.00
    ret = _charge(t["org"], cur, "40.00", "35.00", [], fees=[fee(FeeType.RESTOCKING_FEE, "8.00", cur)])
    assert settlement(ret, OrgSettings()) is Settlement.CHARGE and ret.computed_refund().amount == Decimal("-3.00")
    docs = _build(ret, platform)
    assert [d.role for d in docs] == [*REFUND_ROLES[platform], "fee_journal"]
    assert docs[0].total.amount == Decimal("5.00") and docs[0].refund_effect is not None
    assert docs[0].refund_effect.amount == Decimal("5.00")
    out = next(jl for jl in docs[-2].journal if jl.component == Component.REFUND)
    fees_in = next(jl for jl in docs[-1].journal if jl.component == Component.REFUND)
    assert out.credit is not None and out.credit.amount == Decimal("5.00"), "the goods' difference goes out"
    assert fees_in.debit is not None and fees_in.debit.amount == Decimal("8.00"), "the fee comes in"


#: The documents of a refund to the original payment, per ledger.
REFUND_ROLES = {"qbo": ["refund_receipt"], "xero": ["credit_note", "refund_payment"]}
