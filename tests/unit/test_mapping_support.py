"""Small hand-built ledgers for the mapping tests, and the snapshot's own look-ups.

``qbo_snapshot()`` and ``xero_snapshot()`` are tiny charts shaped exactly as the connectors
return them (QBO ``AccountType`` words, Xero upper-case types, Xero tax types as ids), with one
of each trap: an inactive/archived account, a system account, a foreign-currency bank account,
an inactive tax code, item and tracking option. Other mapping test modules import them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from desktop.services.core.domain import Customer, Fee, ReturnLine, ReturnRecord, TaxAmount
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.money import Money
from desktop.services.mapping import ReferenceSnapshot
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


# --- the snapshot's look-ups -----------------------------------------------------------------


def test_accounts_are_found_by_id_code_or_name_case_insensitively() -> None:
    s = qbo_snapshot()
    assert s.account_by_code("4100") is s.accounts["3"]
    assert s.account_by_name("  sales returns AND allowances ") is s.accounts["3"]
    assert s.find_account("3", None, None) is s.accounts["3"]
    assert s.find_account("999", "4200", None) is s.accounts["4"], "a foreign id falls back to the code"
    assert s.find_account(None, None, "checking cad") is s.accounts["2"]
    assert s.find_account("999", "0000", "Nope") is None
    assert s.account_codes()["3"] == "4100"


def test_tax_codes_items_and_tracking_lookups() -> None:
    q, x = qbo_snapshot(), xero_snapshot()
    assert q.find_tax_code(None, "california").remote_id == "31"  # type: ignore[union-attr]
    assert x.find_tax_code("OUTPUT2").name == "GST on Income"  # type: ignore[union-attr]
    assert x.find_tax_code(None, "zero rated").remote_id == "ZERORATEDOUTPUT"  # type: ignore[union-attr]
    assert q.find_item(None, "restocking fee").remote_id == "11"  # type: ignore[union-attr]
    assert q.find_tracking("class", name="online store").remote_id == "100"  # type: ignore[union-attr]
    assert q.find_tracking("department", id="100") is None, "a class is not a department"
    assert x.find_tracking("option", name="Online", parent_id="cat-ch").remote_id == "opt-online"  # type: ignore[union-attr]
    assert x.find_tracking("option", name="Online", parent_id="cat-rg") is None


def test_snapshot_carries_company_facts() -> None:
    s = qbo_snapshot()
    assert s.home_currency == "USD" and s.currencies == {"USD", "CAD"}
    assert s.closed_through == date(2026, 1, 31)
    assert s.ledger_name == "QuickBooks" and xero_snapshot().ledger_name == "Xero"
    empty = ReferenceSnapshot.empty("xero", "GBP")
    assert empty.currencies == {"GBP"} and not empty.accounts
