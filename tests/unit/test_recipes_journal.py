"""The neutral economic journal and its renderers: each money rule holds the same on both
platforms (zero tax, fee-tax memos, tax rounding), and dispatch is one registry look-up."""

from __future__ import annotations

import inspect
from dataclasses import replace
from decimal import Decimal

import pytest

from desktop.services.core.domain import Component, OrgSettings, ReturnRecord, TaxAmount
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.money import Money
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.documents import LedgerDocument, body_of, dumps_exact
from desktop.services.pipeline.recipes import (
    arith,
    base,
    build_documents,
    build_return_journal,
    common,
    journal,
    platform_for,
    summary,
    summary_documents,
)
from desktop.services.pipeline.recipes.common import Ctx
from desktop.services.pipeline.recipes.qbo import QboRecipes
from desktop.services.pipeline.recipes.xero import XeroRecipes
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


def _zero_tax_journal_lines(docs: list[LedgerDocument]) -> list[str]:
    return [f"{d.role}: {ln.memo}" for d in docs for ln in d.journal
            if ln.component == Component.TAX and ln.amount.is_zero()]


def test_a_zero_tax_keeps_its_code_on_the_sales_form_but_is_no_journal_line_qbo() -> None:
    snap = qbo_snapshot()
    zero = TaxAmount("US-CA", Decimal(0), Money.zero("USD"))
    restocking = replace(fee(FeeType.RESTOCKING_FEE, "4.00", "USD"), taxes=(zero,))
    label = replace(fee(FeeType.LABEL_COST, "6.50", "USD"), taxes=(zero,))
    ret = make_return("ACME-US", "USD", [taxed_line(1, "1", "20.00", "USD", [("US-CA", "0")])], [restocking, label])
    docs, problems = build_documents(ret, resolver(qbo_rules(), snap), snap, OrgSettings(), None)
    assert problems == []
    assert [d.role for d in docs] == ["refund_receipt", "fee_journal", "label_journal"]
    form = body_of(docs[0])
    assert form["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "TAX"}
    assert form["TxnTaxDetail"] == {"TxnTaxCodeRef": {"value": "2"}}  # the zero-rated line's code stays
    assert _zero_tax_journal_lines(docs) == []
    for d in docs[1:]:  # was: a JournalEntry line of Amount 0.00 per zero tax (Xero never had one)
        assert all(ln["Amount"] != 0 for ln in d.payload["Line"]), d.payload


def test_a_zero_tax_keeps_its_code_on_the_sales_form_but_is_no_journal_line_xero() -> None:
    snap = xero_snapshot("NZ")
    zero = TaxAmount("NZ-GST-ZERO", Decimal(0), Money.zero("NZD"))
    label = replace(fee(FeeType.LABEL_COST, "6.50", "NZD"), taxes=(zero,))
    ret = make_return("KIWI-NZ", "NZD", [taxed_line(1, "1", "20.00", "NZD", [("NZ-GST-ZERO", "0")])], [label])
    docs, problems = build_documents(ret, resolver(xero_rules(), snap), snap, OrgSettings(), None)
    assert problems == []
    item = body_of(docs[0])["LineItems"][0]
    assert (item["TaxType"], item["TaxAmount"]) == ("ZERORATEDOUTPUT", Decimal("0.00"))
    assert _zero_tax_journal_lines(docs) == []


def test_summary_journals_leave_zero_tax_out_too() -> None:
    for snap, rules, cur, juris in ((qbo_snapshot(), qbo_rules(), "USD", "US-CA"),
                                    (xero_snapshot("NZ"), xero_rules(), "NZD", "NZ-GST-ZERO")):
        ret = make_return("ORG", cur, [taxed_line(1, "1", "20.00", cur, [(juris, "0")])])
        docs, problems = summary_documents([ret], resolver(rules, snap), snap, OrgSettings(), None)
        assert problems == [] and _zero_tax_journal_lines(docs) == []


@pytest.mark.parametrize("platform", ["qbo", "xero"])
def test_a_fee_journal_names_the_fee_in_its_tax_lines_on_both_platforms(platform: str) -> None:
    snap, rules, cur, juris = ((qbo_snapshot("CA"), qbo_rules("CA"), "CAD", "CA-ON-HST") if platform == "qbo" else
                               (xero_snapshot("GB"), xero_rules(), "GBP", "GB-VAT"))
    ret = make_return("ORG", cur, [taxed_line(1, "1", "100.00", cur, [(juris, "13")])],
                      [fee(FeeType.RESTOCKING_FEE, "15.00", cur, [(juris, "13")])])
    docs, problems = build_documents(ret, resolver(rules, snap), snap, OrgSettings(), None)
    assert problems == []
    fee_journal = next(d for d in docs if d.role == "fee_journal")
    memos = [ln.memo for ln in fee_journal.journal]
    assert f"tax {juris} on restocking fee" in memos  # Xero's copy used to say "on fee"
    assert f"tax {juris} on restocking fee" in dumps_exact(fee_journal.payload)


def _ctx(snap: ReferenceSnapshot, rules: list[Rule], ret: ReturnRecord) -> Ctx:
    return Ctx(ret, resolver(rules, snap), snap, OrgSettings(), None)


def test_the_tax_rounding_rule_is_one_rule_fed_by_each_platforms_tax_fact() -> None:
    """Three 0.05 lines at 7.25 %: the RMS rounds each line's tax to 0.00, QuickBooks books 0.01
    on the aggregated base, so its journal gets a −0.01 rounding line; Xero books the RMS's pinned
    figure and needs none. Either way the sales form's total is the RMS refund."""
    lines = [taxed_line(n, "1", "0.05", "USD", [("US-CA", "7.25")]) for n in (1, 2, 3)]
    ret = make_return("ORG", "USD", lines, method=RefundMethod.STORE_CREDIT)
    q = build_return_journal(_ctx(qbo_snapshot(), qbo_rules(), ret))
    assert q.form.tax.by_jurisdiction == {"US-CA": Decimal("0.01")}
    assert q.form.rounding == Decimal("-0.01") and q.form.total == Money(Decimal("0.15"), "USD")
    gb_lines = [taxed_line(n, "1", "0.05", "GBP", [("GB-VAT", "7.25")]) for n in (1, 2, 3)]
    x = build_return_journal(_ctx(xero_snapshot("GB"), xero_rules(), make_return("ORG", "GBP", gb_lines)))
    assert x.form.tax.by_jurisdiction == {"GB-VAT": Decimal("0.00")} and x.form.rounding == 0
    assert x.form.total == Money(Decimal("0.15"), "GBP") and x.payout is not None


def test_dispatch_is_one_registry_look_up() -> None:
    assert isinstance(platform_for("qbo"), QboRecipes) and isinstance(platform_for("xero"), XeroRecipes)
    assert platform_for("") is platform_for("qbo")  # a snapshot from before the platform field
    snap = replace(qbo_snapshot(), platform="sage")
    with pytest.raises(ValueError, match="no recipes for platform 'sage'"):
        build_documents(make_return("ORG", "USD", []), resolver(qbo_rules(), snap), snap, OrgSettings(), None)


def test_the_neutral_modules_never_branch_on_a_platform() -> None:
    for module in (arith, base, common, journal, summary):
        source = inspect.getsource(module)
        assert "platform ==" not in source and '"xero"' not in source and '"qbo"' not in source, module.__name__
