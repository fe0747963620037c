"""Every validation problem, each with a message a finance admin can act on."""

from __future__ import annotations

import pytest

from desktop.services.core.domain import Component, OrgSettings, PostingMode, Problem
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.mapping import (
    MatchContext,
    Rule,
    TrackingRef,
    contexts_for_return,
    contexts_for_returns,
    validate,
)
from desktop.services.mapping.validate import ALLOWED_ACCOUNT_TYPES
from tests.helpers.mapping import (
    CLEAR,
    FEE,
    LABEL,
    QBO_GOOD,
    REFUND,
    TAX,
    XERO_GOOD,
    M,
    qbo_snapshot,
    sample_return,
    xero_snapshot,
)


def _codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def _only(problems: list[Problem], code: str) -> Problem:
    hits = [p for p in problems if p.code == code]
    assert len(hits) == 1, problems
    return hits[0]


def test_good_sets_have_no_problems() -> None:
    assert validate(QBO_GOOD, qbo_snapshot()) == []
    assert validate(XERO_GOOD, xero_snapshot()) == []


def test_archived_account_names_the_rule_the_account_and_what_to_do() -> None:
    p = _only(validate([Rule(FEE, account_id="5")], qbo_snapshot()), "inactive_account")
    assert p.message == ("Restocking fee → account 4010 'Old Fees' is inactive in QuickBooks; choose an active "
                         "Income or Other Income account")
    assert p.field == "rules[0].account"
    x = _only(validate([Rule(M, reason_code="DAMAGED", account_id="a-455")], xero_snapshot()), "inactive_account")
    assert "Merchandise refunded (reason code DAMAGED) → account 455 'Returns Allowance (old)' is archived in Xero" \
        in x.message and "Revenue or Sales or Other Income" in x.message


def test_unknown_and_missing_accounts() -> None:
    problems = validate([Rule(FEE, account_id="999"), Rule(LABEL)], qbo_snapshot())
    assert _codes(problems) == ["unknown_account", "missing_account"]
    assert "refresh the connection" in problems[0].message and problems[1].field == "rules[1].account"
    # Tax needs no account; a QBO sales line may name only its item.
    assert validate([Rule(TAX, tax_code="31"), Rule(M, item_id="10")], qbo_snapshot()) == []


@pytest.mark.parametrize(("component", "account_id", "word"), [
    (M, "1", "a Bank"), (TAX, "3", "an Income"), (LABEL, "4", "an Income"), (REFUND, "6", "an Expense"),
    (CLEAR, "1", "a Bank"),
])
def test_wrong_account_type_for_the_component_in_qbo(component: Component, account_id: str, word: str) -> None:
    rule = Rule(component, account_id=account_id, tax_code="31" if component is TAX else None)
    p = _only(validate([rule], qbo_snapshot()), "wrong_account_type")
    assert f"is {word} account" in p.message


def test_wrong_account_type_in_xero_and_the_type_table_covers_every_component() -> None:
    p = _only(validate([Rule(LABEL, account_id="a-205")], xero_snapshot()), "wrong_account_type")
    assert "is a Revenue account; return label cost must go to an Expense or Direct Costs or Overhead account" \
        in p.message
    for platform in ("qbo", "xero"):
        assert set(ALLOWED_ACCOUNT_TYPES[platform]) == set(Component)


def test_xero_refund_account_must_accept_payments_and_system_accounts_are_refused() -> None:
    problems = validate([Rule(REFUND, account_id="a-881"), Rule(CLEAR, account_id="a-820")], xero_snapshot())
    assert _codes(problems) == ["payments_not_enabled", "system_account"]
    assert "Enable payments to this account" in problems[0].message


def test_bank_account_in_another_currency() -> None:
    p = _only(validate([Rule(REFUND, currency="USD", account_id="2")], qbo_snapshot()), "account_currency_mismatch")
    assert "holds CAD, not USD; choose a USD bank account" in p.message


def test_currency_not_enabled_in_a_rule_and_in_use() -> None:
    problems = validate([Rule(REFUND, currency="EUR", account_id="1")], qbo_snapshot(),
                        [MatchContext(REFUND, currency="EUR")])
    assert "currency_not_enabled" in _codes(problems)
    assert any("Returns in EUR are waiting" in p.message for p in problems)


def test_tax_rules_need_an_existing_active_tax_code() -> None:
    s = qbo_snapshot()
    assert _codes(validate([Rule(TAX, tax_jurisdiction="US-CA", account_id="7")], s)) == ["missing_tax_code"]
    assert _codes(validate([Rule(TAX, tax_code="nope")], s)) == ["unknown_tax_code"]
    p = _only(validate([Rule(TAX, tax_code="32")], s), "inactive_tax_code")
    assert "'Old Rate' is inactive" in p.message
    assert _codes(validate([Rule(TAX, tax_code="OLDGST")], xero_snapshot())) == ["inactive_tax_code"]


def test_missing_tax_code_for_a_jurisdiction_in_use() -> None:
    rules = [Rule(TAX, account_id="7")]  # a catch-all tax rule without a code
    p = [x for x in validate(rules, qbo_snapshot(), [MatchContext(TAX, tax_jurisdiction="US-NY")])
         if "US-NY" in x.message]
    assert _codes(p) == ["missing_tax_code"] and p[0].field == "rules[0]"


def test_qbo_item_must_book_to_the_mapped_account() -> None:
    s = qbo_snapshot()
    p = _only(validate([Rule(FEE, account_id="4", item_id="10")], s), "item_account_mismatch")
    assert p.message.startswith("Restocking fee → item 'Returned Merchandise' books to account 4100 'Sales Returns "
                                "and Allowances', not to the mapped account 4200 'Restocking Fee Income'")
    assert _codes(validate([Rule(M, account_id="3", item_id="77")], s)) == ["unknown_item"]
    assert _codes(validate([Rule(M, account_id="3", item_id="12")], s)) == ["inactive_item"]


def test_tracking_must_exist_be_active_and_fit_the_platform() -> None:
    q, x = qbo_snapshot(), xero_snapshot()
    assert _codes(validate([Rule(M, account_id="3", tracking=(TrackingRef("department", "100"),))], q)) == \
        ["unknown_tracking"]
    assert _codes(validate([Rule(M, account_id="3", tracking=(TrackingRef("class", "101"),))], q)) == \
        ["inactive_tracking"]
    assert _codes(validate([Rule(M, account_id="3", tracking=(TrackingRef("class", "100"),
                                                              TrackingRef("class", "100")))], q)) == \
        ["duplicate_tracking"]
    assert _codes(validate([Rule(M, account_id="a-205", tracking=(TrackingRef("cat-rg", "opt-online"),))], x)) == \
        ["unknown_tracking"], "an option of another category"
    assert _codes(validate([Rule(M, account_id="a-205", tracking=(TrackingRef("cat-ch", "opt-gone"),))], x)) == \
        ["inactive_tracking"]
    three = (TrackingRef("cat-ch", "opt-online"), TrackingRef("cat-rg", "opt-akl"), TrackingRef("cat-x", "opt-x"))
    assert _codes(validate([Rule(M, account_id="a-205", tracking=three)], x)) == ["too_many_tracking"]


def test_a_rule_identical_to_an_earlier_one_is_reported_as_shadowed() -> None:
    p = _only(validate([Rule(LABEL, account_id="6"), Rule(LABEL, account_id="6", note="copy")], qbo_snapshot()),
              "shadowed_rule")
    assert p.field == "rules[1]" and "never applies" in p.message
    assert validate([Rule(LABEL, account_id="6"), Rule(LABEL, account_id="6", priority=1)], qbo_snapshot()) == []


def test_unmapped_components_in_use_are_listed_per_component() -> None:
    ret = sample_return(fees=(FeeType.RESTOCKING_FEE, FeeType.RETURN_SHIPPING_CHARGED))
    problems = validate(QBO_GOOD, qbo_snapshot(), contexts_for_return(ret))
    unmapped = [p for p in problems if p.code == "unmapped"]
    assert len(unmapped) == 2, problems  # return shipping charged; and tax for US-CA-LA (+ combined)
    shipping = next(p for p in unmapped if p.message.startswith("Return shipping charged"))
    assert "channel web" in shipping.message and "add a rule" in shipping.message
    tax = next(p for p in unmapped if p.message.startswith("Tax refunded"))
    assert "US-CA+US-CA-LA" in tax.message and "US-CA-LA" in tax.message


def test_a_refund_in_a_currency_whose_rule_picks_another_bank_is_caught() -> None:
    rules = [Rule(REFUND, account_id="1")]  # USD bank for every currency
    p = _only(validate(rules, qbo_snapshot(), [MatchContext(REFUND, currency="CAD")]), "account_currency_mismatch")
    assert "add a rule for currency CAD" in p.message


def test_contexts_for_a_return() -> None:
    ret = sample_return(fees=(FeeType.LABEL_COST, FeeType.OUTBOUND_SHIPPING_REFUNDED))
    ctxs = contexts_for_return(ret)
    comps = [c.component for c in ctxs]
    assert comps.count(M) == 2 and comps.count(REFUND) == 1 and comps.count(CLEAR) == 1
    line1 = ctxs[0]
    assert (line1.reason_code, line1.disposition, line1.channel, line1.warehouse, line1.currency,
            line1.tax_jurisdiction) == ("DAMAGED", "SCRAP", "web", "WH-RENO", "USD", "US-CA+US-CA-LA")
    assert ctxs[1].tax_jurisdiction is None
    assert sorted(c.tax_jurisdiction or "" for c in ctxs if c.component is TAX) == \
        ["US-CA", "US-CA+US-CA-LA", "US-CA-LA"]
    fee = next(c for c in ctxs if c.component is Component.LABEL_COST)
    assert fee.reason_code == "DAMAGED" and fee.disposition is None
    credit = sample_return(refund=RefundMethod.STORE_CREDIT, jurisdictions=())
    assert [c.component for c in contexts_for_return(credit)] == [M, M], "store credit needs no refund account"
    summary = OrgSettings(posting_mode=PostingMode.DAILY_SUMMARY)
    assert CLEAR in [c.component for c in contexts_for_return(credit, summary)]
    assert len(contexts_for_returns([ret, ret])) == len(set(ctxs))


def test_codes_the_returns_system_never_sends_are_caught() -> None:
    words = {"reason_code": {"DAMAGED", "SIZE_FIT"}, "tax_jurisdiction": {"US-CA", "US-CA-LA"}}
    rules = [Rule(M, reason_code="DAMAGD", account_id="3"), Rule(TAX, tax_jurisdiction="US-CA+US-CA-LA", tax_code="31"),
             Rule(TAX, tax_jurisdiction="US-CA+US-XX", tax_code="31"), Rule(M, disposition="ANY", account_id="3")]
    problems = validate(rules, qbo_snapshot(), vocabulary=words)
    assert [(p.code, p.field) for p in problems] == [("unknown_code", "rules[0].reason_code"),
                                                     ("unknown_code", "rules[2].tax_jurisdiction")]
    assert problems[0].message == ("Merchandise refunded (reason code DAMAGD): the returns system has no reason code "
                                   "DAMAGD (it knows DAMAGED, SIZE_FIT), so this rule never applies; correct the "
                                   "reason code")
