"""Builders the recipe tests (and ``bench/bench_recipes.py``) share: small reference snapshots shaped
like the sandbox's demo companies (same account types, tax codes and conventions), mapping rules,
and returns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from desktop.services.core.domain import Component, Customer, Fee, ReturnLine, ReturnRecord, TaxAmount
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.money import Money, Rounding
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.platforms.base import RefKind, RefRecord

UPDATED = datetime(2026, 11, 20, 18, 30, tzinfo=UTC)


def _rec(kind: RefKind, rid: str, name: str, **kw: Any) -> RefRecord:
    return RefRecord(kind, rid, name, **kw)


def _by_id(*records: RefRecord) -> dict[str, RefRecord]:
    return {r.remote_id: r for r in records}


def qbo_snapshot(country: str = "US", *, closed: date | None = None, currencies: tuple[str, ...] = ()) -> (
        ReferenceSnapshot):
    home = "USD" if country == "US" else "CAD"
    a = RefKind.ACCOUNT
    accounts = _by_id(
        _rec(a, "1", "Checking", type="Bank", currency=home),
        _rec(a, "3", "Accounts Receivable (A/R)", type="Accounts Receivable"),
        _rec(a, "5", "Sales Returns and Allowances", type="Income"),
        _rec(a, "6", "Restocking Fee Income", type="Income"),
        _rec(a, "7", "Shipping Income", type="Income"),
        _rec(a, "8", "Shipping Expense", type="Expense"),
        _rec(a, "9", "Sales Tax Payable" if country == "US" else "GST/HST Payable", type="Other Current Liability",
             raw={"AccountSubType": "SalesTaxPayable"}),
        _rec(a, "10", "Refunds Clearing", type="Other Current Asset"),
        _rec(a, "16", "Old Returns Reserve", type="Other Current Liability", active=False),
    )
    t = RefKind.TAX_CODE
    if country == "US":
        taxes = _by_id(_rec(t, "TAX", "TAX", type="taxable"), _rec(t, "NON", "NON"),
                       _rec(t, "2", "California", type="taxable"),
                       _rec(t, "3", "Los Angeles County, CA", type="taxable"))
    else:
        taxes = _by_id(_rec(t, "11", "GST", type="taxable"), _rec(t, "12", "HST ON", type="taxable"),
                       _rec(t, "13", "GST/PST BC", type="taxable"), _rec(t, "16", "Exempt"))
    i = RefKind.ITEM
    items = _by_id(_rec(i, "1", "Returned Merchandise", type="Service", parent_id="5"),
                   _rec(i, "2", "Restocking Fee", type="Service", parent_id="6"),
                   _rec(i, "3", "Shipping", type="Service", parent_id="7"))
    c = RefKind.CUSTOMER
    customers = _by_id(_rec(c, "58", "Priya Patel", code="priya.patel@mail.example", currency=home))
    return ReferenceSnapshot(accounts, taxes, items, customers, {}, frozenset({home, *currencies}), home, closed,
                             "qbo")


def xero_snapshot(country: str = "NZ", *, closed: date | None = None) -> ReferenceSnapshot:
    home, foreign = ("NZD", ("AUD",)) if country == "NZ" else ("GBP", ("EUR", "JPY"))
    a = RefKind.ACCOUNT
    accounts = _by_id(
        _rec(a, "acc-090", "Business Bank Account", code="090", type="BANK", currency=home),
        _rec(a, "acc-205", "Sales Returns & Allowances", code="205", type="REVENUE"),
        _rec(a, "acc-410", "Restocking Fee Income", code="410", type="REVENUE"),
        _rec(a, "acc-420", "Freight Income", code="420", type="REVENUE"),
        _rec(a, "acc-425", "Freight & Postage", code="425", type="EXPENSE"),
        _rec(a, "acc-455", "Returns Allowance (old)", code="455", type="REVENUE", active=False),
        _rec(a, "acc-610", "Accounts Receivable", code="610", type="CURRENT", raw={"SystemAccount": "DEBTORS"}),
        _rec(a, "acc-820", "GST" if country == "NZ" else "VAT", code="820", type="CURRLIAB",
             raw={"SystemAccount": "GST"}),
        _rec(a, "acc-880", "Refunds Clearing", code="880", type="CURRLIAB", raw={"EnablePaymentsToAccount": True}),
    )
    t = RefKind.TAX_CODE
    rate = "15.0000" if country == "NZ" else "20.0000"
    taxes = _by_id(_rec(t, "OUTPUT2", "GST on Income", code="OUTPUT2", type=rate),
                   _rec(t, "ZERORATEDOUTPUT", "Zero Rated", code="ZERORATEDOUTPUT", type="0.0000"),
                   _rec(t, "NONE", "No GST", code="NONE", type="0.0000"))
    c = RefKind.CUSTOMER
    customers = _by_id(_rec(c, "c-aroha", "Aroha Ngata", code="aroha@example.nz"))
    return ReferenceSnapshot(accounts, taxes, {}, customers, {}, frozenset({home, *foreign}), home, closed, "xero")


def qbo_rules(country: str = "US") -> list[Rule]:
    rules = [
        Rule(Component.MERCHANDISE, account_id="5", item_id="1"),
        Rule(Component.RESTOCKING_FEE, account_id="6", item_id="2"),
        Rule(Component.RETURN_SHIPPING_CHARGED, account_id="7", item_id="3"),
        Rule(Component.OUTBOUND_SHIPPING_REFUNDED, account_id="7", item_id="3"),
        Rule(Component.LABEL_COST, account_id="8"),
        Rule(Component.REFUND, account_id="1"),
        Rule(Component.CLEARING, account_id="10"),
    ]
    if country == "US":
        rules += [Rule(Component.TAX, tax_jurisdiction="US-CA", account_id="9", tax_code="2"),
                  Rule(Component.TAX, tax_jurisdiction="US-CA-LA", account_id="9", tax_code="3")]
    else:
        rules += [Rule(Component.TAX, tax_jurisdiction="CA-ON-HST", account_id="9", tax_code="12"),
                  Rule(Component.TAX, tax_jurisdiction="CA-BC-GST", account_id="9", tax_code="11"),
                  Rule(Component.TAX, tax_jurisdiction="CA-BC-GST+CA-BC-PST", account_id="9", tax_code="13"),
                  Rule(Component.MERCHANDISE, reason_code="ZERO", account_id="5", item_id="1", tax_code="16")]
    return [r.with_id(n) for n, r in enumerate(rules, 1)]


def xero_rules() -> list[Rule]:
    rules = [
        Rule(Component.MERCHANDISE, account_id="acc-205", tax_code="NONE"),
        Rule(Component.RESTOCKING_FEE, account_id="acc-410"),
        Rule(Component.RETURN_SHIPPING_CHARGED, account_id="acc-420"),
        Rule(Component.OUTBOUND_SHIPPING_REFUNDED, account_id="acc-420"),
        Rule(Component.LABEL_COST, account_id="acc-425"),
        Rule(Component.REFUND, account_id="acc-090"),
        Rule(Component.CLEARING, account_id="acc-880"),
        Rule(Component.TAX, tax_jurisdiction="NZ-GST", account_id="acc-820", tax_code="OUTPUT2"),
        Rule(Component.TAX, tax_jurisdiction="NZ-GST-ZERO", account_id="acc-820", tax_code="ZERORATEDOUTPUT"),
        Rule(Component.TAX, tax_jurisdiction="GB-VAT", account_id="acc-820", tax_code="OUTPUT2"),
    ]
    return [r.with_id(n) for n, r in enumerate(rules, 1)]


def resolver(rules: list[Rule], snap: ReferenceSnapshot, version: int = 3) -> Resolver:
    return Resolver(rules, version, account_codes=snap.account_codes())


def m(amount: str, cur: str) -> Money:
    return Money(Decimal(amount), cur)


def taxed_line(n: int, qty: str, price: str, cur: str, taxes: list[tuple[str, str]], *,
               reason: str = "DAMAGED") -> ReturnLine:
    """A line whose taxes the RMS way: half-up per jurisdiction on the line's net."""
    net = (Money(Decimal(price), cur) * Decimal(qty)).quantize()
    amounts = tuple(TaxAmount(j, Decimal(pct), (net * Decimal(pct) / 100).quantize(Rounding.HALF_UP))
                    for j, pct in taxes)
    return ReturnLine(f"L{n}", f"SKU-{n}", f"Item {n}", Decimal(qty), Money(Decimal(price), cur), reason, "RESTOCK",
                      amounts)


def fee(kind: FeeType, amount: str, cur: str, taxes: Sequence[tuple[str, str]] = ()) -> Fee:
    base = Money(Decimal(amount), cur)
    return Fee(kind, base, tuple(TaxAmount(j, Decimal(p), (base * Decimal(p) / 100).quantize(Rounding.HALF_UP))
                                 for j, p in taxes))


def make_return(org: str, cur: str, lines: Sequence[ReturnLine], fees: Sequence[Fee] = (),
                method: RefundMethod = RefundMethod.ORIGINAL_PAYMENT, *, revision: int = 1,
                customer: Customer | None = None, updated: datetime = UPDATED) -> ReturnRecord:
    return ReturnRecord(
        rms_id=f"r-{org}-1", rma_number=f"RMA-{org}-100042", revision=revision, org_code=org,
        customer=customer or Customer("cust-1", "Priya Patel", "Priya.Patel@mail.example"),
        channel="Online Store", warehouse="Reno DC", currency=cur, created_at=updated, updated_at=updated,
        refund_method=method, status="approved", lines=tuple(lines), fees=tuple(fees))
