"""Small hand-built ledgers for the mapping tests, and the snapshot's own look-ups.

``qbo_snapshot()`` and ``xero_snapshot()`` are tiny charts shaped exactly as the connectors
return them (QBO ``AccountType`` words, Xero upper-case types, Xero tax types as ids), with one
of each trap: an inactive/archived account, a system account, a foreign-currency bank account,
an inactive tax code, item and tracking option. ``QBO_GOOD`` / ``XERO_GOOD`` are rule sets
without a problem against them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from desktop.services.core.domain import Component, Customer, Fee, ReturnLine, ReturnRecord, TaxAmount
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.money import Money
from desktop.services.mapping import ReferenceSnapshot, Rule, TrackingRef
from desktop.services.platforms.base import CompanyInfo, RefKind, RefRecord

A, T, IT, TR = RefKind.ACCOUNT, RefKind.TAX_CODE, RefKind.ITEM, RefKind.TRACKING


def qbo_snapshot() -> ReferenceSnapshot:
    accounts = [
        RefRecord(A, "1", "Checking", type="Bank", currency="USD"),
        RefRecord(A, "2", "Checking CAD", type="Bank", currency="CAD"),
        RefRecord(A, "3", "Sales Returns and Allowances", code="4100", type="Income", currency="USD"),
        RefRecord(A, "4", "Restocking Fee Income", code="4200", type="Income", currency="USD"),
        RefRecord(A, "5", "Old Fees", code="4010", type="Income", active=False, currency="USD"),
        RefRecord(A, "6", "Shipping Expense", type="Expense", currency="USD"),
        RefRecord(A, "7", "Sales Tax Payable", type="Other Current Liability", currency="USD"),
        RefRecord(A, "8", "Refunds Clearing", type="Other Current Asset", currency="USD"),
        RefRecord(A, "9", "Shipping Income", type="Income", currency="USD"),
    ]
    items = [
        RefRecord(IT, "10", "Returned Merchandise", type="Service", parent_id="3"),
        RefRecord(IT, "11", "Restocking Fee", type="Service", parent_id="4"),
        RefRecord(IT, "12", "Retired Item", type="Service", parent_id="3", active=False),
        RefRecord(IT, "13", "Shipping", type="Service", parent_id="9"),
    ]
    taxes = [
        RefRecord(T, "TAX", "TAX", type="taxable"),
        RefRecord(T, "NON", "NON", type=""),
        RefRecord(T, "31", "California", type="taxable"),
        RefRecord(T, "32", "Old Rate", type="taxable", active=False),
    ]
    tracking = [
        RefRecord(TR, "100", "Online Store", type="Class"),
        RefRecord(TR, "101", "Closed Channel", type="Class", active=False),
        RefRecord(TR, "200", "Reno DC", type="Department"),
    ]
    info = CompanyInfo("9130350000000001", "Acme", "USD", "US", ("USD", "CAD"), True, date(2026, 1, 31))
    return ReferenceSnapshot.from_reference_data("qbo", {A: accounts, IT: items, T: taxes, TR: tracking}, info)


def xero_snapshot() -> ReferenceSnapshot:
    accounts = [
        RefRecord(A, "a-090", "Business Bank Account", code="090", type="BANK", currency="NZD"),
        RefRecord(A, "a-092", "AUD Bank Account", code="092", type="BANK", currency="AUD"),
        RefRecord(A, "a-205", "Sales Returns & Allowances", code="205", type="REVENUE"),
        RefRecord(A, "a-410", "Restocking Fee Income", code="410", type="REVENUE"),
        RefRecord(A, "a-425", "Freight & Postage", code="425", type="EXPENSE"),
        RefRecord(A, "a-455", "Returns Allowance (old)", code="455", type="REVENUE", active=False),
        RefRecord(A, "a-610", "Accounts Receivable", code="610", type="CURRENT", raw={"SystemAccount": "DEBTORS"}),
        RefRecord(A, "a-820", "GST", code="820", type="CURRLIAB", raw={"SystemAccount": "GST"}),
        RefRecord(A, "a-880", "Refunds Clearing", code="880", type="CURRLIAB", raw={"EnablePaymentsToAccount": True}),
        RefRecord(A, "a-881", "Sundry Liabilities", code="881", type="CURRLIAB",
                  raw={"EnablePaymentsToAccount": False}),
    ]
    taxes = [
        RefRecord(T, "OUTPUT2", "GST on Income", code="OUTPUT2", type="15.0000"),
        RefRecord(T, "ZERORATEDOUTPUT", "Zero Rated", code="ZERORATEDOUTPUT", type="0.0000"),
        RefRecord(T, "OLDGST", "Old GST", code="OLDGST", type="12.5000", active=False),
    ]
    tracking = [
        RefRecord(TR, "cat-ch", "Channel", type="category"),
        RefRecord(TR, "opt-online", "Online", type="option", parent_id="cat-ch"),
        RefRecord(TR, "opt-retail", "Retail Store", type="option", parent_id="cat-ch"),
        RefRecord(TR, "opt-gone", "Pop-up", type="option", parent_id="cat-ch", active=False),
        RefRecord(TR, "cat-rg", "Region", type="category"),
        RefRecord(TR, "opt-akl", "Auckland", type="option", parent_id="cat-rg"),
        RefRecord(TR, "cat-x", "Project", type="category"),
        RefRecord(TR, "opt-x", "Alpha", type="option", parent_id="cat-x"),
    ]
    info = CompanyInfo("tenant-1", "Kiwi", "NZD", "NZ", ("NZD", "AUD"), True, None)
    return ReferenceSnapshot.from_reference_data("xero", {A: accounts, T: taxes, TR: tracking}, info)


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def sample_return(*, currency: str = "USD", channel: str = "web", refund: RefundMethod = RefundMethod.ORIGINAL_PAYMENT,
                  jurisdictions: tuple[str, ...] = ("US-CA", "US-CA-LA"), fees: tuple[FeeType, ...] = ()
                  ) -> ReturnRecord:
    """A two-line return: line 1 taxed by ``jurisdictions``, line 2 untaxed."""
    def m(x: str) -> Money:
        return Money(Decimal(x), currency)

    taxes = tuple(TaxAmount(j, Decimal("5"), m("1.00")) for j in jurisdictions)
    lines = (ReturnLine("ln_1", "SKU-1", "Tent", Decimal(1), m("100.00"), "DAMAGED", "SCRAP", taxes),
             ReturnLine("ln_2", "SKU-2", "Stove", Decimal(2), m("10.00"), "CHANGED_MIND", "RESTOCK"))
    return ReturnRecord("ret_1", "RMA-1", 1, "ACME-US", Customer("c1", "Ann", "ann@example.com"), channel, "WH-RENO",
                        currency, T0, T0, refund, "received", lines, tuple(Fee(f, m("5.00")) for f in fees))


M, TAX, FEE, LABEL, REFUND, CLEAR = (Component.MERCHANDISE, Component.TAX, Component.RESTOCKING_FEE,
                                     Component.LABEL_COST, Component.REFUND, Component.CLEARING)

#: Rule sets with no problem against :func:`qbo_snapshot` / :func:`xero_snapshot`.
QBO_GOOD = [Rule(M, account_id="3", item_id="10"), Rule(TAX, tax_jurisdiction="US-CA", account_id="7", tax_code="31"),
            Rule(FEE, account_id="4", item_id="11"), Rule(LABEL, account_id="6"),
            Rule(REFUND, currency="USD", account_id="1"), Rule(REFUND, currency="CAD", account_id="2"),
            Rule(CLEAR, account_id="8"), Rule(M, channel="web", account_id="3", item_id="10",
                                              tracking=(TrackingRef("class", "100"),))]
XERO_GOOD = [Rule(M, account_id="a-205",
                  tracking=(TrackingRef("cat-ch", "opt-online"), TrackingRef("cat-rg", "opt-akl"))),
             Rule(TAX, tax_jurisdiction="NZ-GST", tax_code="OUTPUT2"), Rule(FEE, account_id="a-410"),
             Rule(LABEL, account_id="a-425"), Rule(REFUND, currency="NZD", account_id="a-090"),
             Rule(REFUND, currency="AUD", account_id="a-880"), Rule(CLEAR, account_id="a-880")]
