"""Pre-flight: each stable code triggered by a minimal case, with a message that says what to do."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from desktop.services.core.domain import ClosedPeriodPolicy, Component, Customer, OrgSettings, Problem, ReturnRecord
from desktop.services.core.enums import FeeType
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.preflight import preflight, prepare, resolve_customer
from desktop.services.pipeline.recipes import build_documents
from desktop.services.platforms.base import RefKind, RefRecord
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

TODAY = date(2026, 11, 27)
CA = [("US-CA", "7.25")]


def _run(ret: ReturnRecord, rules: list[Rule] | None = None, snap: ReferenceSnapshot | None = None,
         settings: OrgSettings | None = None, rates: FxRates | None = None) -> list[Problem]:
    snap = snap or qbo_snapshot()
    settings = settings or OrgSettings()
    _, problems = prepare(ret, resolver(rules if rules is not None else qbo_rules(), snap), snap, settings, rates,
                          TODAY)
    return problems


def _one(problems: list[Problem], code: str) -> Problem:
    hits = [p for p in problems if p.code == code]
    assert len(hits) == 1, problems
    return hits[0]


def _ret(**kw: object) -> ReturnRecord:
    return make_return("ACME-US", "USD", [taxed_line(1, "1", "10.00", "USD", CA)], **kw)  # type: ignore[arg-type]


def _without(component: Component) -> list[Rule]:
    return [r for r in qbo_rules() if r.component is not component]


def test_a_clean_return_passes() -> None:
    assert _run(_ret(fees=[fee(FeeType.LABEL_COST, "3.00", "USD")])) == []


def test_unmapped_component() -> None:
    p = _one(_run(_ret(fees=[fee(FeeType.LABEL_COST, "3.00", "USD")]), _without(Component.LABEL_COST)),
             "unmapped_component")
    assert "Return label cost" in p.message and "Mappings page" in p.message and p.field == "fees[0]"


def test_unknown_inactive_and_wrong_type_accounts() -> None:
    rules = [r for r in qbo_rules() if r.component is not Component.LABEL_COST]
    p = _one(_run(_ret(fees=[fee(FeeType.LABEL_COST, "3.00", "USD")]),
                  [*rules, Rule(Component.LABEL_COST, account_id="999")]), "unknown_account")
    assert "999" in p.message and "refresh reference data" in p.message
    p = _one(_run(_ret(fees=[fee(FeeType.LABEL_COST, "3.00", "USD")]),
                  [*rules, Rule(Component.LABEL_COST, account_id="16")]), "inactive_account")
    assert "Old Returns Reserve" in p.message
    p = _one(_run(_ret(fees=[fee(FeeType.LABEL_COST, "3.00", "USD")]),
                  [*rules, Rule(Component.LABEL_COST, account_id="5")]), "wrong_account_type")
    assert "Sales Returns and Allowances" in p.message and "Expense" in p.message


def test_missing_tax_code_names_the_jurisdiction() -> None:
    ret = make_return("ACME-US", "USD", [taxed_line(1, "1", "10.00", "USD", [("US-WA", "6.5")])])
    p = _one(_run(ret), "missing_tax_code")
    assert "US-WA" in p.message and p.field == "lines[0].taxes"
    rules = [*_without(Component.TAX), Rule(Component.TAX, tax_jurisdiction="US-CA", account_id="9", tax_code="77")]
    p = _one(_run(_ret(), rules), "missing_tax_code")
    assert "77" in p.message and "does not exist" in p.message


def test_currency_not_enabled_and_missing_rate() -> None:
    ret = make_return("ACME-US", "EUR", [taxed_line(1, "1", "10.00", "EUR", [])])
    problems = _run(ret)
    assert "EUR is not enabled" in _one(problems, "currency_not_enabled").message
    assert _one(problems, "missing_fx_rate").field == "currency"


def test_customer_unresolvable_only_without_name_and_email() -> None:
    assert _one(_run(_ret(customer=Customer("x", " ", ""))), "customer_unresolvable").field == "customer"
    assert _run(_ret(customer=Customer("x", "", "someone@example.com"))) == []


def test_period_closed_or_redated_to_the_first_open_day() -> None:
    snap = qbo_snapshot(closed=date(2026, 11, 30))
    problems = _run(_ret(), snap=snap)
    p = next(p for p in problems if p.code == "period_closed")
    assert "2026-11-30" in p.message and "first open day" in p.message
    settings = OrgSettings(closed_period=ClosedPeriodPolicy.FIRST_OPEN_DAY)
    docs, problems = build_documents(_ret(), resolver(qbo_rules(), snap), snap, settings, None)
    assert problems == [] and preflight(docs, _ret(), snap, settings, TODAY) == []
    assert docs[0].txn_date == date(2026, 12, 1) and docs[0].payload["TxnDate"] == "2026-12-01"
    assert "re-dated from 2026-11-20 to 2026-12-01" in docs[0].payload["PrivateNote"]


def test_unbalanced_and_total_mismatch() -> None:
    snap = qbo_snapshot()
    ret = _ret()
    docs, _ = build_documents(ret, resolver(qbo_rules(), snap), snap, OrgSettings(), None)
    broken = [replace(docs[0], journal=docs[0].journal[:-1])]
    assert _one(preflight(broken, ret, snap, OrgSettings(), TODAY), "unbalanced").field == "refund_receipt.journal"
    short = [replace(docs[0], refund_effect=m("1.00", "USD"))]
    assert "refund 1.00 USD" in _one(preflight(short, ret, snap, OrgSettings(), TODAY), "total_mismatch").message
    stated = replace(ret, refund_total=m("99.00", "USD"))
    p = _one(preflight(docs, stated, snap, OrgSettings(), TODAY), "total_mismatch")
    assert "99.00 USD" in p.message and "RMS" in p.message


def test_fx_rate_is_one_and_inverted() -> None:
    snap = qbo_snapshot(currencies=("CAD",))
    ret = make_return("ACME-US", "CAD", [taxed_line(1, "1", "10.00", "CAD", [])])
    one = FxRates.from_qbo("USD", [{"SourceCurrencyCode": "CAD", "Rate": Decimal(1), "AsOfDate": "2026-11-01"}])
    assert "exactly 1" in _one(_run(ret, snap=snap, rates=one), "fx_rate_is_one").message
    flipped = FxRates.from_qbo("USD", [
        {"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7300"), "AsOfDate": "2026-11-01"},
        {"SourceCurrencyCode": "CAD", "Rate": Decimal("1.3700"), "AsOfDate": "2026-11-15"}])
    assert "looks inverted" in _one(_run(ret, snap=snap, rates=flipped), "fx_rate_inverted").message
    assert _one(_run(ret, snap=snap), "missing_fx_rate").code == "missing_fx_rate"


def test_xero_foreign_journal_without_rate_is_reported_not_built() -> None:
    snap = xero_snapshot("NZ")
    ret = make_return("KIWI-NZ", "AUD", [taxed_line(1, "1", "10.00", "AUD", [("NZ-GST", "15")])],
                      [fee(FeeType.LABEL_COST, "2.00", "AUD")])
    docs, problems = build_documents(ret, resolver(xero_rules(), snap), snap, OrgSettings(), None)
    assert [d.doc_type for d in docs] == ["CreditNote", "Payment"]
    assert [p.code for p in problems] == ["missing_fx_rate"]


def test_resolve_customer_by_email_then_name() -> None:
    snap = qbo_snapshot()
    extra = RefRecord(RefKind.CUSTOMER, "77", "Priya  Patel.", code="other@mail.example")
    snap = replace(snap, customers={**snap.customers, "77": extra})
    hit = resolve_customer(Customer("x", "Someone Else", "PRIYA.PATEL@mail.example "), snap)
    assert hit is not None and hit.remote_id == "58"
    hit = resolve_customer(Customer("x", "priya patel", ""), snap)
    assert hit is not None and hit.remote_id in {"58", "77"}
    assert resolve_customer(Customer("x", "Nobody", "nobody@example.com"), snap) is None


def test_refund_account_in_another_currency() -> None:
    snap = qbo_snapshot(currencies=("CAD",))
    rates = FxRates.from_qbo("USD", [{"SourceCurrencyCode": "CAD", "Rate": Decimal("0.73"), "AsOfDate": "2026-11-01"}])
    ret = make_return("ACME-US", "CAD", [taxed_line(1, "1", "10.00", "CAD", [])])
    p = _one(_run(ret, snap=snap, rates=rates), "account_currency_mismatch")
    assert "Checking" in p.message and "currency CAD" in p.message


def test_a_qbo_customer_in_another_currency_is_not_reused() -> None:
    """QuickBooks customers trade in one currency: a CAD return gets the person's CAD customer."""
    snap = qbo_snapshot()
    usd = RefRecord(RefKind.CUSTOMER, "90", "Lena Fischer", code="lena@mail.example", currency="USD")
    cad = RefRecord(RefKind.CUSTOMER, "91", "Lena Fischer (CAD)", code="lena@mail.example", currency="CAD")
    only_usd = replace(snap, customers={**snap.customers, "90": usd})
    who = Customer("x", "Lena Fischer", "lena@mail.example")
    assert resolve_customer(who, only_usd, "CAD") is None  # created in CAD when posting
    hit = resolve_customer(who, only_usd, "USD")
    assert hit is not None and hit.remote_id == "90"
    both = replace(snap, customers={**snap.customers, "90": usd, "91": cad})
    hit = resolve_customer(who, both, "CAD")
    assert hit is not None and hit.remote_id == "91"
