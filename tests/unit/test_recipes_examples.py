"""Hand-computed examples: each figure below was worked out on paper from the rules in the
recipes' docstrings (RMS tax half-up per line and jurisdiction; QBO tax half-up per rate on the
aggregated base; FX half-even once per side, remainder allocated by largest remainder)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from desktop.services.core.domain import FeeTreatment, OrgSettings
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.pipeline.documents import LedgerDocument, placeholder, ref_placeholder
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.recipes import build_documents
from tests.helpers.recipes import (
    fee,
    m,
    make_return,
    qbo_rules,
    qbo_snapshot,
    resolver,
    taxed_line,
    xero_rules,
    xero_snapshot,
)

LA = [("US-CA", "7.25"), ("US-CA-LA", "2.25")]


def _journal(doc: LedgerDocument, home: bool = False) -> list[tuple[str, str | None, str | None]]:
    lines = doc.home_journal() if home else doc.journal
    return [(ln.account_id, None if ln.debit is None else f"{ln.debit.amount:f}",
             None if ln.credit is None else f"{ln.credit.amount:f}") for ln in lines]


def test_us_return_with_state_and_county_tax() -> None:
    snap = qbo_snapshot()
    # line 1: 2 × 19.99 = 39.98; CA 7.25 % = 2.89855 → 2.90, LA 2.25 % = 0.89955 → 0.90
    # line 2: 1 × 5.55; CA 0.402375 → 0.40, LA 0.124875 → 0.12.  RMS tax 4.32
    # QBO: base 45.53 → CA 3.300925 → 3.30, LA 1.024425 → 1.02 = 4.32: no rounding line
    ret = make_return("ACME-US", "USD", [taxed_line(1, "2", "19.99", "USD", LA), taxed_line(2, "1", "5.55", "USD", LA)],
                      [fee(FeeType.RESTOCKING_FEE, "5.00", "USD"), fee(FeeType.LABEL_COST, "7.50", "USD")])
    docs, problems = build_documents(ret, resolver(qbo_rules(), snap), snap, OrgSettings(), None)
    assert problems == []
    assert [d.role for d in docs] == ["refund_receipt", "fee_journal", "label_journal"]
    rr, fees, label = docs
    assert rr.doc_type == "RefundReceipt" and rr.total == m("49.85", "USD")
    assert rr.payload["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "3"}}  # Los Angeles County, CA
    assert rr.payload["DepositToAccountRef"] == {"value": "1"} and rr.payload["CustomerRef"] == {"value": "58"}
    assert [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in rr.payload["Line"]] == ["TAX", "TAX"]
    assert rr.payload["Line"][0]["SalesItemLineDetail"]["Qty"] == Decimal(2)
    assert "GlobalTaxCalculation" not in rr.payload
    assert _journal(rr) == [("5", "39.98", None), ("5", "5.55", None), ("9", "3.30", None), ("9", "1.02", None),
                            ("1", None, "49.85")]
    assert _journal(fees) == [("1", "5.00", None), ("6", None, "5.00")]
    assert _journal(label) == [("8", "7.50", None), ("10", None, "7.50")]
    assert all(d.is_balanced() for d in docs)
    assert rr.refund_effect is not None and fees.refund_effect is not None and label.refund_effect is None
    assert rr.refund_effect + fees.refund_effect == ret.computed_refund() == m("44.85", "USD")
    assert len({d.payload["DocNumber"] for d in docs}) == 3
    assert rr.payload["PrivateNote"].startswith(f"RLS {rr.idempotency_key} · RMA-ACME-US-100042 r1")


def test_us_rounding_line_makes_the_ledger_total_the_rms_refund() -> None:
    snap = qbo_snapshot()
    # RMS: 3 × (0.10 × 7.25 % = 0.00725 → 0.01) = 0.03; QBO: 0.30 × 7.25 % = 0.02175 → 0.02
    ret = make_return("ACME-US", "USD", [taxed_line(n, "1", "0.10", "USD", [("US-CA", "7.25")]) for n in (1, 2, 3)],
                      method=RefundMethod.STORE_CREDIT)
    docs, problems = build_documents(ret, resolver(qbo_rules(), snap), snap, OrgSettings(), None)
    assert problems == []
    (memo,) = docs
    assert memo.doc_type == "CreditMemo" and memo.total == m("0.33", "USD") == ret.computed_refund()
    rounding = memo.payload["Line"][-1]
    assert rounding["Amount"] == Decimal("0.01") and rounding["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert _journal(memo)[-2:] == [("5", "0.01", None), ("3", None, "0.33")]  # credit to A/R: customer credit


def test_canadian_hst_with_negative_fee_line() -> None:
    snap = qbo_snapshot("CA")
    hst = [("CA-ON-HST", "13")]
    ret = make_return("MAPLE-CA", "CAD", [taxed_line(1, "1", "100.00", "CAD", hst)],
                      [fee(FeeType.RESTOCKING_FEE, "10.00", "CAD", hst)])
    settings = OrgSettings(fee_treatment=FeeTreatment.NEGATIVE_LINE)
    docs, problems = build_documents(ret, resolver(qbo_rules("CA"), snap), snap, settings, None)
    assert problems == []
    (rr,) = docs
    assert rr.payload["GlobalTaxCalculation"] == "TaxExcluded" and "TxnTaxDetail" not in rr.payload
    assert [(ln["Amount"], ln["SalesItemLineDetail"]["TaxCodeRef"]["value"]) for ln in rr.payload["Line"]] == [
        (Decimal("100.00"), "12"), (Decimal("-10.00"), "12")]
    # QBO: (100 − 10) × 13 % = 11.70 = RMS 13.00 − 1.30: the document total is the refund, 101.70
    assert rr.total == m("101.70", "CAD") == ret.computed_refund()
    assert _journal(rr) == [("5", "100.00", None), ("6", None, "10.00"), ("9", "11.70", None), ("1", None, "101.70")]


def test_nz_gst_return_in_aud_with_fee_journal_in_nzd() -> None:
    snap = xero_snapshot("NZ")
    gst = [("NZ-GST", "15")]
    rates = FxRates.from_xero("NZD", [("AUD", date(2026, 11, 1), Decimal("0.915400"))])
    ret = make_return("KIWI-NZ", "AUD", [taxed_line(1, "2", "59.90", "AUD", gst)],
                      [fee(FeeType.RESTOCKING_FEE, "10.00", "AUD", gst)])
    docs, problems = build_documents(ret, resolver(xero_rules(), snap), snap, OrgSettings(), rates)
    assert problems == []
    cn, pay, mj = docs
    body = cn.payload["CreditNotes"][0]
    assert body["Type"] == "ACCRECCREDIT" and body["Status"] == "AUTHORISED" and body["LineAmountTypes"] == "Exclusive"
    assert body["CurrencyCode"] == "AUD" and body["CurrencyRate"] == Decimal("0.915400")
    assert body["LineItems"] == [{"Description": "Item 1", "Quantity": Decimal(2), "UnitAmount": Decimal("59.90"),
                                  "AccountCode": "205", "TaxType": "OUTPUT2", "TaxAmount": Decimal("17.97")}]
    assert body["Reference"].startswith(f"RLS {cn.idempotency_key}")
    assert cn.total == m("137.77", "AUD")
    assert cn.fx is not None and cn.fx.ledger_rate == Decimal("0.915400") and cn.fx.source == "xero:currencyrate"
    # home: 137.77 / 0.9154 = 150.4992 → 150.50, split 119.80 : 17.97 → 130.87 + 19.63
    assert _journal(cn, home=True) == [("acc-205", "130.87", None), ("acc-820", "19.63", None),
                                       ("acc-610", None, "150.50")]
    assert pay.depends_on == cn.idempotency_key and pay.total == cn.total
    assert pay.payload["Payments"][0]["CreditNote"] == {"CreditNoteID": ref_placeholder(cn.idempotency_key)}
    assert pay.payload["Payments"][0]["Account"] == {"Code": "090"}
    # manual journal in NZD: 11.50 AUD → 12.5628 → 12.56; credits 10.00 : 1.50 → 10.92 + 1.64
    assert mj.currency == "NZD" and mj.total == m("12.56", "NZD")
    assert [ln["LineAmount"] for ln in mj.payload["ManualJournals"][0]["JournalLines"]] == [
        Decimal("12.56"), Decimal("-10.92"), Decimal("-1.64")]
    assert mj.payload["ManualJournals"][0]["Narration"].startswith(f"RLS {mj.idempotency_key}")
    assert sum((d.refund_effect for d in docs if d.refund_effect is not None), m("0", "AUD")) == ret.computed_refund()


def test_jpy_return_has_no_minor_units() -> None:
    snap = xero_snapshot("GB")
    rates = FxRates.from_xero("GBP", [("JPY", date(2026, 11, 1), Decimal("190.450000"))])
    ret = make_return("TEA-UK", "JPY", [taxed_line(1, "3", "1500", "JPY", [("GB-VAT", "20")])],
                      [fee(FeeType.LABEL_COST, "800", "JPY")], method=RefundMethod.STORE_CREDIT)
    docs, problems = build_documents(ret, resolver(xero_rules(), snap), snap, OrgSettings(), rates)
    assert problems == []
    cn, label = docs
    assert [d.doc_type for d in docs] == ["CreditNote", "ManualJournal"]  # store credit: no payment
    item = cn.payload["CreditNotes"][0]["LineItems"][0]
    assert item["UnitAmount"] == Decimal(1500) and item["TaxAmount"] == Decimal(900)
    assert cn.total == m("5400", "JPY") and str(cn.total) == "5400 JPY"
    # 800 JPY / 190.45 = 4.2006 → 4.20 GBP
    assert [ln["LineAmount"] for ln in label.payload["ManualJournals"][0]["JournalLines"]] == [
        Decimal("4.20"), Decimal("-4.20")]


def test_kwd_amounts_keep_three_decimals() -> None:
    snap = qbo_snapshot(currencies=("KWD",))
    row = {"SourceCurrencyCode": "KWD", "Rate": Decimal("3.2500"), "AsOfDate": "2026-11-01"}
    rates = FxRates.from_qbo("USD", [row])
    ret = make_return("ACME-US", "KWD", [taxed_line(1, "1", "12.345", "KWD", [])],
                      [fee(FeeType.LABEL_COST, "1.005", "KWD")])
    docs, problems = build_documents(ret, resolver(qbo_rules(), snap), snap, OrgSettings(), rates)
    assert problems == []
    rr, label = docs
    assert rr.payload["CurrencyRef"] == {"value": "KWD"} and rr.payload["ExchangeRate"] == Decimal("3.2500")
    assert rr.payload["Line"][0]["Amount"] == Decimal("12.345") and rr.total == m("12.345", "KWD")
    assert rr.payload["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    # 12.345 × 3.25 = 40.12125 → 40.12 (half-even); 1.005 × 3.25 = 3.26625 → 3.27
    assert _journal(rr, home=True) == [("5", "40.12", None), ("1", None, "40.12")]
    assert _journal(label, home=True) == [("8", "3.27", None), ("10", None, "3.27")]


def test_unknown_customer_is_a_placeholder_the_poster_fills() -> None:
    from desktop.services.core.domain import Customer
    snap = qbo_snapshot()
    ret = make_return("ACME-US", "USD", [taxed_line(1, "1", "10.00", "USD", [])],
                      customer=Customer("x", "Somebody New", "new@example.com"))
    docs, _ = build_documents(ret, resolver(qbo_rules(), snap), snap, OrgSettings(), None)
    assert docs[0].payload["CustomerRef"] == {"value": placeholder("customer")}
