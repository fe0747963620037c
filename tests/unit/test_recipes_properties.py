"""Invariants of the recipes over random valid returns (hypothesis): every document balances in
its currency and in home currency, and what the documents refund is exactly the RMS refund."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.services.core.domain import Fee, FeeTreatment, OrgSettings, PostingMode, ReturnRecord
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.money import Money, sum_money
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.pipeline.documents import dumps_exact
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.recipes import build_documents, summary_documents
from desktop.services.pipeline.recipes.common import refund_amount
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

# (snapshot, resolver, currencies with their rates, jurisdiction sets a return may use)
_PROFILES: dict[str, tuple[ReferenceSnapshot, Resolver, FxRates, list[list[tuple[str, str]]]]] = {}


def _profile(name: str) -> tuple[ReferenceSnapshot, Resolver, FxRates, list[list[tuple[str, str]]]]:
    if name not in _PROFILES:
        if name == "qbo-us":
            snap = qbo_snapshot(currencies=("CAD", "KWD"))
            rates = FxRates.from_qbo("USD", [
                {"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7312"), "AsOfDate": "2026-01-01"},
                {"SourceCurrencyCode": "KWD", "Rate": Decimal("3.2517"), "AsOfDate": "2026-01-01"}])
            sets = [[("US-CA", "7.25")], [("US-CA", "7.25"), ("US-CA-LA", "2.25")], []]
            _PROFILES[name] = (snap, resolver(qbo_rules("US"), snap), rates, sets)
        elif name == "qbo-ca":
            snap = qbo_snapshot("CA", currencies=("USD",))
            rates = FxRates.from_qbo("CAD", [{"SourceCurrencyCode": "USD", "Rate": Decimal("1.3701"),
                                              "AsOfDate": "2026-01-01"}])
            sets = [[("CA-ON-HST", "13")], [("CA-BC-GST", "5"), ("CA-BC-PST", "7")]]
            _PROFILES[name] = (snap, resolver(qbo_rules("CA"), snap), rates, sets)
        else:
            snap = xero_snapshot("GB")
            rates = FxRates.from_xero("GBP", [("EUR", date(2026, 1, 1), Decimal("1.172500")),
                                              ("JPY", date(2026, 1, 1), Decimal("190.450000"))])
            sets = [[("GB-VAT", "20")], [("GB-VAT", "20")], []]
            _PROFILES[name] = (snap, resolver(xero_rules(), snap), rates, sets)
    return _PROFILES[name]


def _norm(v: Any) -> Any:
    """Numbers as Decimal (how the ledgers parse them), containers recursively."""
    if isinstance(v, dict):
        return {k: _norm(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_norm(x) for x in v]
    if isinstance(v, int | Decimal) and not isinstance(v, bool):
        return Decimal(v)
    return v


@st.composite
def returns(draw: st.DrawFn) -> tuple[str, ReturnRecord, OrgSettings]:
    name = draw(st.sampled_from(["qbo-us", "qbo-ca", "xero-gb"]))
    snap, _, _, sets = _profile(name)
    cur = draw(st.sampled_from(sorted(snap.currencies)))
    places = {"JPY": 0, "KWD": 3}.get(cur, 2)
    taxes = draw(st.sampled_from(sets))  # one jurisdiction set per return (QBO US: one rate per document)
    lines = []
    for n in range(draw(st.integers(1, 4))):
        qty = draw(st.integers(1, 5))
        units = draw(st.integers(1, 200_000))
        price = f"{Decimal(units).scaleb(-places):f}"
        line_taxes = taxes if draw(st.booleans()) or not taxes else []
        if name == "qbo-us" and taxes:
            line_taxes = taxes if n == 0 or draw(st.booleans()) else []
        lines.append(taxed_line(n + 1, str(qty), price, cur, line_taxes))
    fees: list[Fee] = []
    for kind in draw(st.lists(st.sampled_from(list(FeeType)), max_size=3, unique=True)):
        amount = f"{Decimal(draw(st.integers(0, 5_000))).scaleb(-places):f}"
        fee_taxes = taxes if name != "qbo-us" and draw(st.booleans()) else []
        fees.append(fee(kind, amount, cur, fee_taxes))
    method = draw(st.sampled_from(list(RefundMethod)))
    org = OrgSettings(fee_treatment=draw(st.sampled_from(list(FeeTreatment))))
    return name, make_return("ORG", cur, lines, fees, method), org


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(returns())
def test_documents_balance_and_refund_exactly(case: tuple[str, ReturnRecord, OrgSettings]) -> None:
    name, ret, org = case
    snap, res, rates, _ = _profile(name)
    docs, problems = build_documents(ret, res, snap, org, rates)
    refund = ret.computed_refund()
    codes = {p.code for p in problems}
    assert codes <= {"negative_total"}, problems
    assert docs
    for doc in docs:
        assert doc.is_balanced(), doc.to_json()
        home = doc.home_journal()
        debit = sum_money((ln.debit for ln in home if ln.debit is not None), snap.home_currency)
        credit = sum_money((ln.credit for ln in home if ln.credit is not None), snap.home_currency)
        assert debit == credit
        assert all(ln.amount.amount >= 0 and ln.amount.is_quantized() for ln in home)
    effects = [d.refund_effect for d in docs if d.refund_effect is not None]
    assert sum_money(effects, ret.currency) == refund
    assert refund_amount(ret) == refund.amount  # pre-flight's fast path agrees with the domain
    for doc in docs:  # the wire form is exact JSON numbers: parsing it back gives the same Decimals
        wire = json.loads(dumps_exact(doc.payload), parse_float=Decimal, parse_int=Decimal)
        assert wire == _norm(doc.payload)
    withheld = any(f.type in (FeeType.RESTOCKING_FEE, FeeType.RETURN_SHIPPING_CHARGED) for f in ret.fees)
    if org.fee_treatment is FeeTreatment.NEGATIVE_LINE or not withheld:
        assert docs[0].total == refund, "the refund document's own total is the RMS refund"
    if "negative_total" in codes:
        assert refund.amount < 0 or docs[0].total.amount < 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(returns(), min_size=1, max_size=6))
def test_summary_journals_balance_and_carry_every_refund(cases: list[tuple[str, ReturnRecord, OrgSettings]]) -> None:
    name = cases[0][0]
    snap, res, rates, _ = _profile(name)
    rets = [r for n, r, _ in cases if n == name]
    docs, problems = summary_documents(rets, res, snap, OrgSettings(posting_mode=PostingMode.DAILY_SUMMARY), rates)
    assert problems == []
    assert {d.currency for d in docs} <= snap.currencies
    for doc in docs:
        assert doc.role == "summary_journal" and doc.is_balanced()
        effect = doc.refund_effect
        assert effect is not None
        same = [r.computed_refund() for r in rets if r.currency == effect.currency]
        assert effect == sum_money(same, effect.currency)
    assert len(docs) == len({r.currency for r in rets})


def test_summary_nets_each_account_exactly() -> None:
    snap, res, rates, _ = _profile("qbo-us")
    a = make_return("ACME-US", "USD", [taxed_line(1, "1", "10.00", "USD", [("US-CA", "7.25")])],
                    [fee(FeeType.RESTOCKING_FEE, "1.00", "USD")])
    b = make_return("ACME-US", "USD", [taxed_line(1, "2", "2.50", "USD", [("US-CA", "7.25")])],
                    [fee(FeeType.LABEL_COST, "3.00", "USD")], revision=2)
    (doc,), problems = summary_documents([a, b], res, snap, OrgSettings(), rates)
    assert problems == []
    by_account = {(ln.account_id, ln.memo.split(" ")[0]): (ln.debit, ln.credit) for ln in doc.journal}
    usd = "USD"
    assert by_account[("5", "merchandise")] == (Money(Decimal("15.00"), usd), None)
    assert by_account[("9", "tax")] == (Money(Decimal("1.09"), usd), None)  # 0.73 + 0.36
    assert by_account[("6", "restocking_fee")] == (None, Money(Decimal("1.00"), usd))
    assert by_account[("8", "label_cost")] == (Money(Decimal("3.00"), usd), None)
    # clearing: refunds 9.73 (10.00 + 0.73 − 1.00) + 5.36 (5.00 + 0.36), plus label payable 3.00 → Cr 18.09
    assert by_account[("10", "clearing")] == (None, Money(Decimal("18.09"), usd))
    assert doc.payload["Line"][0]["JournalEntryLineDetail"]["PostingType"] == "Debit"
    assert doc.refund_effect == a.computed_refund() + b.computed_refund()
