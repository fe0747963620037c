"""The recipes' payloads, posted to the sandbox ledgers over real HTTP: the ledger's own totals
(QBO ``TotalAmt``, Xero ``Total``) must equal the RMS refund to the cent.

This is what proves the payloads are valid for the ledgers: the emulators validate and compute
like the real services (tax per rate, half-up; Xero line tax overrides; manual journals balanced
in the base currency). Connection is the real OAuth flow; tokens stay in memory (no keyring).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.core.domain import Component, Customer, FeeTreatment, OrgSettings, ReturnRecord
from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.resolve import Resolver
from desktop.services.pipeline.documents import CUSTOMER, LedgerDocument, dumps_exact, fill, placeholders
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.preflight import preflight
from desktop.services.pipeline.recipes import build_documents
from desktop.services.platforms.base import decode_json
from desktop.services.platforms.http import LedgerHttp
from tests.helpers.recipes import fee, make_return, taxed_line
from tests.helpers.sandbox import SandboxHandle, memory_connection


@dataclass
class Ledger:
    platform: Platform
    http: LedgerHttp
    base: str
    company_id: str
    snapshot: ReferenceSnapshot
    connector: Any

    def post(self, doc: LedgerDocument, values: dict[str, str]) -> dict[str, Any]:
        body = dumps_exact(fill(doc.payload, values))
        if self.platform is Platform.QBO:
            resp = self.http.request("POST", f"{self.base}/{self.company_id}/{doc.doc_type.lower()}",
                                     params={"minorversion": "75", "requestid": doc.idempotency_key}, data=body,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
            assert resp.status_code == 200, resp.text
            return dict(decode_json(resp)[doc.doc_type])
        path = {"CreditNote": "CreditNotes", "Payment": "Payments", "ManualJournal": "ManualJournals"}[doc.doc_type]
        resp = self.http.request("PUT", f"{self.base}/{path}", params={"summarizeErrors": "false"}, data=body,
                                 headers={"Content-Type": "application/json", "Accept": "application/json",
                                          "xero-tenant-id": self.company_id, "Idempotency-Key": doc.idempotency_key})
        assert resp.status_code == 200, resp.text
        out = dict(decode_json(resp)[path][0])
        assert out.get("StatusAttributeString", "OK") == "OK", out.get("ValidationErrors")
        return out

    def create_customer(self, who: Customer, currency: str) -> str:
        """What the poster does for a customer the snapshot lacks (QBO)."""
        body = {"DisplayName": who.name, "PrimaryEmailAddr": {"Address": who.email}, "CurrencyRef": {"value": currency}}
        resp = self.http.request("POST", f"{self.base}/{self.company_id}/customer", params={"minorversion": "75"},
                                 json=body, headers={"Accept": "application/json"})
        assert resp.status_code == 200, resp.text
        return str(decode_json(resp)["Customer"]["Id"])


def _connect(sandbox: SandboxHandle, platform: Platform, index: int) -> Ledger:
    info = sandbox.info[platform.value]
    company = info["companies"][index]["realm_id"] if platform is Platform.QBO else info["tenants"][index]["tenant_id"]
    conn = memory_connection(sandbox.info, platform, company)
    snap = ReferenceSnapshot.from_reference_data(platform.value, conn.connector.reference_data(),
                                                 conn.connector.company_info())
    return Ledger(platform, conn.http, conn.base, company, snap, conn.connector)


def _acct(snap: ReferenceSnapshot, name: str) -> str:
    rec = snap.account_by_name(name)
    assert rec is not None, name
    return rec.remote_id


def _qbo_rules(snap: ReferenceSnapshot, us: bool, *extra: Rule) -> Resolver:
    item = {i.name: i.remote_id for i in snap.items.values()}
    tax = {t.name: t.remote_id for t in snap.tax_codes.values()}
    payable = "Sales Tax Payable" if us else "GST/HST Payable"
    rules = [
        Rule(Component.MERCHANDISE, account_id=_acct(snap, "Sales Returns and Allowances"),
             item_id=item["Returned Merchandise"], tax_code=None if us else tax["Exempt"]),
        Rule(Component.RESTOCKING_FEE, account_id=_acct(snap, "Restocking Fee Income"), item_id=item["Restocking Fee"]),
        Rule(Component.OUTBOUND_SHIPPING_REFUNDED, account_id=_acct(snap, "Shipping Income"), item_id=item["Shipping"]),
        Rule(Component.RETURN_SHIPPING_CHARGED, account_id=_acct(snap, "Shipping Income"), item_id=item["Shipping"]),
        Rule(Component.LABEL_COST, account_id=_acct(snap, "Shipping Expense")),
        Rule(Component.REFUND, account_id=_acct(snap, "Checking")),
        Rule(Component.REFUND, currency="CAD", account_id=_acct(snap, "Checking CAD")) if us else
        Rule(Component.REFUND, currency="USD", account_id=_acct(snap, "Checking USD")),
        Rule(Component.CLEARING, account_id=_acct(snap, "Refunds Clearing")),
    ]
    if us:
        rules += [Rule(Component.TAX, tax_jurisdiction="US-CA", account_id=_acct(snap, payable),
                       tax_code=tax["California"]),
                  Rule(Component.TAX, tax_jurisdiction="US-CA-LA", account_id=_acct(snap, payable),
                       tax_code=tax["Los Angeles County, CA"])]
    else:
        rules += [Rule(Component.TAX, tax_jurisdiction="CA-ON-HST", account_id=_acct(snap, payable),
                       tax_code=tax["HST ON"]),
                  Rule(Component.TAX, tax_jurisdiction="CA-BC-GST+CA-BC-PST", account_id=_acct(snap, payable),
                       tax_code=tax["GST/PST BC"])]
    rules += extra
    return Resolver([r.with_id(n) for n, r in enumerate(rules, 1)], 1, account_codes=snap.account_codes())


def _xero_rules(snap: ReferenceSnapshot) -> Resolver:
    def a(code: str) -> str:
        rec = snap.account_by_code(code)
        assert rec is not None, code
        return rec.remote_id

    rules = [
        Rule(Component.MERCHANDISE, account_id=a("205"), tax_code="NONE"),
        Rule(Component.RESTOCKING_FEE, account_id=a("410")),
        Rule(Component.RETURN_SHIPPING_CHARGED, account_id=a("420")),
        Rule(Component.OUTBOUND_SHIPPING_REFUNDED, account_id=a("420")),
        Rule(Component.LABEL_COST, account_id=a("425")),
        Rule(Component.REFUND, account_id=a("090")),
        Rule(Component.CLEARING, account_id=a("880")),
        Rule(Component.TAX, tax_jurisdiction="NZ-GST", account_id=a("820"), tax_code="OUTPUT2"),
        Rule(Component.TAX, tax_jurisdiction="NZ-GST-ZERO", account_id=a("820"), tax_code="ZERORATEDOUTPUT"),
        Rule(Component.TAX, tax_jurisdiction="GB-VAT", account_id=a("820"), tax_code="OUTPUT2"),
    ]
    return Resolver([r.with_id(n) for n, r in enumerate(rules, 1)], 1, account_codes=snap.account_codes())


def _post_all(ledger: Ledger, ret: ReturnRecord, docs: list[LedgerDocument]) -> dict[str, dict[str, Any]]:
    """Post in dependency order, filling placeholders like the outbox poster; results by key."""
    values: dict[str, str] = {}
    results: dict[str, dict[str, Any]] = {}
    for doc in docs:
        needed = placeholders(doc.payload)
        if CUSTOMER in needed and CUSTOMER not in values:
            values[CUSTOMER] = ledger.create_customer(ret.customer, ret.currency)
        assert needed <= {*values, CUSTOMER, *(f"id:{k}" for k in values)} | {CUSTOMER}, needed
        out = ledger.post(doc, values)
        results[doc.idempotency_key] = out
        values[f"id:{doc.idempotency_key}"] = str(out.get("CreditNoteID") or out.get("Id") or "")
    return results


def _check(ledger: Ledger, ret: ReturnRecord, settings: OrgSettings, rates: FxRates | None,
           tz: str) -> list[LedgerDocument]:
    docs, problems = build_documents(ret, _resolver(ledger), ledger.snapshot, settings, rates, tz=tz)
    problems += preflight(docs, ret, ledger.snapshot, settings, date.today())  # noqa: DTZ011 - test's own clock
    assert problems == [], problems
    results = _post_all(ledger, ret, docs)
    refund = ret.computed_refund()
    sales = docs[0]
    got = results[sales.idempotency_key]
    ledger_total = got["TotalAmt"] if ledger.platform is Platform.QBO else got["Total"]
    assert ledger_total == sales.total.amount, (ledger_total, sales.total)
    effect = sum((d.refund_effect.amount for d in docs if d.refund_effect is not None), Decimal(0))
    assert effect == refund.amount
    if settings.fee_treatment is FeeTreatment.NEGATIVE_LINE or not any(d.role == "fee_journal" for d in docs):
        assert ledger_total == refund.amount, "the ledger's own total is the RMS refund"
    for doc in docs[1:]:
        out = results[doc.idempotency_key]
        if doc.doc_type == "JournalEntry":
            assert out["TotalAmt"] == doc.total.amount
        elif doc.doc_type == "Payment":
            assert out["Amount"] == doc.total.amount
    return docs


def _resolver(ledger: Ledger) -> Resolver:
    if ledger.platform is Platform.QBO:
        return _qbo_rules(ledger.snapshot, us=ledger.snapshot.home_currency == "USD")
    return _xero_rules(ledger.snapshot)


def _rma() -> str:
    return f"RMA-{uuid.uuid4().hex[:6].upper()}"


def _ret(org: str, cur: str, lines: list[Any], fees: list[Any], method: RefundMethod, who: Customer) -> ReturnRecord:
    base = make_return(org, cur, lines, fees, method, customer=who, updated=datetime.now(UTC))
    rma = _rma()
    return ReturnRecord(**{**base.__dict__, "rma_number": rma, "rms_id": rma.lower()})


LA = [("US-CA", "7.25"), ("US-CA-LA", "2.25")]


@pytest.mark.slow
def test_qbo_us_refund_and_store_credit_post_with_ledger_totals_equal(sandbox: SandboxHandle) -> None:
    ledger = _connect(sandbox, Platform.QBO, 0)
    tz = "America/Los_Angeles"
    known = next(c for c in ledger.snapshot.customers.values() if c.active and c.currency == "USD" and c.code)
    # three 0.10 lines: the RMS rounds tax per line (3 × 0.01), QBO per rate on the whole base
    ca = [("US-CA", "7.25")]
    lines = [taxed_line(n, "1", "0.10", "USD", ca) for n in (1, 2, 3)]
    lines.append(taxed_line(4, "3", "19.99", "USD", ca))
    fees = [fee(FeeType.RESTOCKING_FEE, "5.00", "USD"), fee(FeeType.LABEL_COST, "7.50", "USD"),
            fee(FeeType.OUTBOUND_SHIPPING_REFUNDED, "4.95", "USD")]
    for method, treatment in ((RefundMethod.ORIGINAL_PAYMENT, FeeTreatment.SEPARATE_JOURNAL),
                              (RefundMethod.STORE_CREDIT, FeeTreatment.NEGATIVE_LINE),
                              (RefundMethod.EXCHANGE, FeeTreatment.SEPARATE_JOURNAL)):
        ret = _ret("ACME-US", "USD", lines, fees, method, Customer("c1", known.name, known.code or ""))
        docs = _check(ledger, ret, OrgSettings(fee_treatment=treatment), None, tz)
        assert any("Tax rounding" in str(ln.get("Description")) for ln in docs[0].payload["Line"])
    # a brand-new customer is created by the poster, then referenced
    ret = _ret("ACME-US", "USD", [taxed_line(1, "2", "12.55", "USD", LA), taxed_line(2, "1", "0.99", "USD", LA)], [],
               RefundMethod.STORE_CREDIT, Customer("c2", f"New Person {uuid.uuid4().hex[:5]}", "new@mail.example"))
    _check(ledger, ret, OrgSettings(), None, tz)


@pytest.mark.slow
def test_qbo_foreign_currency_and_canadian_tax_post(sandbox: SandboxHandle) -> None:
    us = _connect(sandbox, Platform.QBO, 0)
    day = datetime.now(UTC).astimezone(__import__("zoneinfo").ZoneInfo("America/Los_Angeles")).date()
    row = us.connector._get("exchangerate", {"sourcecurrencycode": "CAD", "asofdate": day.isoformat()})["ExchangeRate"]
    rates = FxRates.from_qbo("USD", [row])
    cad = next(c for c in us.snapshot.customers.values() if c.currency == "CAD")
    ret = _ret("ACME-US", "CAD", [taxed_line(1, "2", "49.99", "CAD", [])], [fee(FeeType.LABEL_COST, "8.00", "CAD")],
               RefundMethod.ORIGINAL_PAYMENT, Customer("c3", cad.name, cad.code or ""))
    docs = _check(us, ret, OrgSettings(), rates, "America/Los_Angeles")
    assert docs[0].fx is not None and docs[0].payload["ExchangeRate"] == Decimal(str(row["Rate"]))

    ca = _connect(sandbox, Platform.QBO, 1)
    known = next(c for c in ca.snapshot.customers.values() if c.active and c.currency == "CAD" and c.code)
    who = Customer("c4", known.name, known.code or "")
    hst = [("CA-ON-HST", "13")]
    bc = [("CA-BC-GST", "5"), ("CA-BC-PST", "7")]
    for treatment in (FeeTreatment.NEGATIVE_LINE, FeeTreatment.SEPARATE_JOURNAL):
        lines = [taxed_line(1, "1", "100.00", "CAD", hst), taxed_line(2, "3", "3.33", "CAD", hst)]
        ret = _ret("MAPLE-CA", "CAD", lines,
                   [fee(FeeType.RESTOCKING_FEE, "10.00", "CAD", hst)], RefundMethod.ORIGINAL_PAYMENT, who)
        _check(ca, ret, OrgSettings(fee_treatment=treatment), None, "America/Toronto")
    # RMS: 3 × (0.0075 → 0.01 GST + 0.0105 → 0.01 PST) = 0.06; QBO: 0.45 → 0.02 + 0.03 = 0.05
    ret = _ret("MAPLE-CA", "CAD", [taxed_line(1, "1", "0.15", "CAD", bc) for _ in range(3)], [],
               RefundMethod.STORE_CREDIT, who)
    docs = _check(ca, ret, OrgSettings(), None, "America/Toronto")
    rounding = docs[0].payload["Line"][-1]
    exempt = next(t.remote_id for t in ca.snapshot.tax_codes.values() if t.name == "Exempt")
    assert rounding["Amount"] == Decimal("0.01") and rounding["SalesItemLineDetail"]["TaxCodeRef"] == {"value": exempt}


@pytest.mark.slow
def test_xero_credit_note_payment_and_journals_post(sandbox: SandboxHandle) -> None:
    nz = _connect(sandbox, Platform.XERO, 0)
    tz = "Pacific/Auckland"
    known = next(c for c in nz.snapshot.customers.values() if c.code)
    who = Customer("c5", known.name, known.code or "")
    gst = [("NZ-GST", "15")]
    for method, treatment in ((RefundMethod.ORIGINAL_PAYMENT, FeeTreatment.SEPARATE_JOURNAL),
                              (RefundMethod.ORIGINAL_PAYMENT, FeeTreatment.NEGATIVE_LINE),
                              (RefundMethod.STORE_CREDIT, FeeTreatment.NEGATIVE_LINE)):
        ret = _ret("KIWI-NZ", "NZD", [taxed_line(1, "2", "59.90", "NZD", gst), taxed_line(2, "1", "12.50", "NZD",
                                                                                             [("NZ-GST-ZERO", "0")])],
                   [fee(FeeType.RESTOCKING_FEE, "10.00", "NZD", gst), fee(FeeType.LABEL_COST, "6.50", "NZD")],
                   method, who)
        docs = _check(nz, ret, OrgSettings(fee_treatment=treatment), None, tz)
        if method is RefundMethod.ORIGINAL_PAYMENT:
            assert [d.doc_type for d in docs][:2] == ["CreditNote", "Payment"] and docs[1].depends_on
    # AUD return; Xero does not publish rates, so the organisation's rate (foreign per base) is given
    rates = FxRates.from_xero("NZD", [("AUD", date(2020, 1, 1), Decimal("0.915400"))])
    ret = _ret("KIWI-NZ", "AUD", [taxed_line(1, "3", "33.33", "AUD", gst)],
               [fee(FeeType.RESTOCKING_FEE, "7.77", "AUD", gst)], RefundMethod.ORIGINAL_PAYMENT,
               Customer("c6", f"Aussie {uuid.uuid4().hex[:5]}", "aussie@example.au"))
    docs = _check(nz, ret, OrgSettings(), rates, tz)
    journal = next(d for d in docs if d.doc_type == "ManualJournal")
    assert journal.currency == "NZD" and journal.is_balanced()


@pytest.mark.slow
def test_qbo_us_tax_follows_the_codes_own_rates_and_a_wrong_code_is_refused(sandbox: SandboxHandle) -> None:
    """QuickBooks charges what the mapped code's rates say, each rounded on its own.

    New York City's code is New York State 4 % + New York City 4.875 %: on 0.30 that is 0.01 + 0.01,
    while the RMS rounds its combined 8.875 % once (0.03) — the recipe must predict 0.02 and add a
    0.01 rounding line. Washington returns are taxed at the state's 6.5 %: mapped to "Seattle, WA"
    (6.5 % + 3.75 %) QuickBooks would refund tax the customer never paid, so the recipe refuses
    with a message naming both rates; mapped to "Washington" they post to the cent.
    """
    ledger = _connect(sandbox, Platform.QBO, 0)
    snap = ledger.snapshot
    tax = {t.name: t.remote_id for t in snap.tax_codes.values()}
    assert [p["name"] for p in snap.tax_codes[tax["Seattle, WA"]].raw["rls_rates"]] == ["Washington", "Seattle"]
    known = next(c for c in snap.customers.values() if c.active and c.currency == "USD" and c.code)
    who = Customer("c9", known.name, known.code or "")
    payable = _acct(snap, "Sales Tax Payable")

    def with_rules(*extra: Rule) -> Resolver:
        return _qbo_rules(snap, True, *extra)

    ny = with_rules(Rule(Component.TAX, tax_jurisdiction="US-NY", account_id=payable,
                         tax_code=tax["New York City, NY"]))
    ret = _ret("ACME-US", "USD", [taxed_line(1, "1", "0.30", "USD", [("US-NY", "8.875")])], [],
               RefundMethod.STORE_CREDIT, who)
    docs, problems = build_documents(ret, ny, snap, OrgSettings(), None, tz="America/New_York")
    assert problems == []
    got = _post_all(ledger, ret, docs)[docs[0].idempotency_key]
    assert got["TxnTaxDetail"]["TotalTax"] == Decimal("0.02")
    assert got["TotalAmt"] == ret.computed_refund().amount == Decimal("0.33")

    wa = [taxed_line(1, "2", "19.99", "USD", [("US-WA", "6.5")])]
    ret = _ret("ACME-US", "USD", wa, [], RefundMethod.ORIGINAL_PAYMENT, who)
    seattle = with_rules(Rule(Component.TAX, tax_jurisdiction="US-WA", account_id=payable, tax_code=tax["Seattle, WA"]))
    _docs, problems = build_documents(ret, seattle, snap, OrgSettings(), None, tz="America/Los_Angeles")
    assert [p.code for p in problems] == ["tax_rate_mismatch"]
    assert "US-WA at 6.5 %" in problems[0].message and "charges 10.25 % (Washington 6.5 % + Seattle 3.75 %)" in \
        problems[0].message
    state = with_rules(Rule(Component.TAX, tax_jurisdiction="US-WA", account_id=payable, tax_code=tax["Washington"]))
    docs, problems = build_documents(ret, state, snap, OrgSettings(), None, tz="America/Los_Angeles")
    assert problems == []
    got = _post_all(ledger, ret, docs)[docs[0].idempotency_key]
    assert got["TotalAmt"] == ret.computed_refund().amount == Decimal("42.58")
