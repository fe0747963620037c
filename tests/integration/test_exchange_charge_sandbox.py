"""Issue 16 item 3, the dearer exchange against the sandbox ledgers over real HTTP: the customer pays
the difference, in a foreign currency with tax — QuickBooks holds one sales receipt depositing the
difference into the mapped bank account, Xero an invoice for it paid into the mapped bank account —
read back field by field through the app's connector, reconciled clean (no variance; ledger =
expected, difference = explained = 0), then taken back the way an undo does (each document voided
or deleted once, dependents first) and reconciled as voided.

Documents go through the app's connector one by one (``tests/helpers/ledger_recipes``); the mapping
is the shipped template (which maps replacement goods and the Refund paid account).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.core.domain import (
    Component,
    Customer,
    OrgSettings,
    ReturnLine,
    ReturnRecord,
    Settlement,
    settlement,
)
from desktop.services.core.enums import RefundMethod
from desktop.services.mapping import apply_template
from desktop.services.mapping.io import default_template_name
from desktop.services.mapping.resolve import Resolver
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.preflight import preflight
from desktop.services.pipeline.recipes import build_documents
from desktop.services.reconcile.model import VarianceClass
from tests.helpers.ledger_recipes import SandboxLedger, connect_ledger, post_documents, reconcile_posted
from tests.helpers.recipes import make_return, taxed_line
from tests.helpers.sandbox import SandboxHandle

pytestmark = [pytest.mark.slow]

TZ = {Platform.QBO: "America/Los_Angeles", Platform.XERO: "Pacific/Auckland"}


def _ledger_rate(ledger: SandboxLedger, currency: str) -> FxRates:
    """QuickBooks publishes its rates: the one the ledger holds for today."""
    day = datetime.now(UTC).astimezone(ZoneInfo(TZ[ledger.platform])).date()
    row = ledger.connector._get("exchangerate", {"sourcecurrencycode": currency, "asofdate": day.isoformat()})
    return FxRates.from_qbo(ledger.snapshot.home_currency, [row["ExchangeRate"]])


def _entered_rate(ledger: SandboxLedger, currency: str) -> FxRates:
    """Xero's API publishes none: the rate an admin entered."""
    return FxRates.from_xero(ledger.snapshot.home_currency, [(currency, date(2020, 1, 1), Decimal("0.915400"))])


def _qbo_sale(held: dict[str, Any]) -> tuple[list[tuple[Decimal, Decimal]], Decimal, Decimal, str]:
    """A sales receipt as QuickBooks holds it: (line amount, unit price) pairs, tax, total, deposit account."""
    goods = [(ln["Amount"], ln["SalesItemLineDetail"].get("UnitPrice")) for ln in held["Line"]
             if ln.get("DetailType") == "SalesItemLineDetail"]
    return goods, held["TxnTaxDetail"]["TotalTax"], held["TotalAmt"], held["DepositToAccountRef"]["value"]


def _xero_sale(held: dict[str, Any]) -> tuple[list[tuple[Decimal, Decimal]], Decimal, Decimal, str]:
    """An invoice as Xero holds it: (line amount, tax) pairs, tax, total, currency."""
    return ([(i["LineAmount"], i["TaxAmount"]) for i in held["LineItems"]], held["TotalTax"], held["Total"],
            held["CurrencyCode"])


#: Per ledger: the organization, its foreign currency, where rates come from, the RMS's tax, the
#: documents posted, how the sale reads back, and what it must hold for the exchange below
#: (returned 2 × 30.00, replacement 1 × 95.00: the customer pays 35.00 and the tax on it).
LEDGERS: dict[Platform, dict[str, Any]] = {
    Platform.QBO: {
        "org": "ACME-US", "currency": "CAD", "rates": _ledger_rate, "taxes": [("US-CA", "7.25")],
        "kinds": ["SalesReceipt"], "sale": _qbo_sale, "bank": lambda snap: snap.account_by_name("Checking CAD"),
        "lines": [(Decimal("-60.00"), Decimal("-30.00")), (Decimal("95.00"), Decimal("95.00"))],
        "tax": Decimal("2.54"), "total": Decimal("37.54"),
    },
    Platform.XERO: {
        "org": "KIWI-NZ", "currency": "AUD", "rates": _entered_rate, "taxes": [("NZ-GST", "15")],
        "kinds": ["Invoice", "Payment"], "sale": _xero_sale, "bank": lambda snap: snap.account_by_code("092"),
        "lines": [(Decimal("-60.00"), Decimal("-9.00")), (Decimal("95.00"), Decimal("14.25"))],
        "tax": Decimal("5.25"), "total": Decimal("40.25"),
    },
}
#: Where the money went: a QuickBooks sales receipt's deposit account, a Xero payment's account.
PAID_INTO: dict[Platform, Callable[[dict[str, Any]], str]] = {
    Platform.QBO: lambda held: str(held["DepositToAccountRef"]["value"]),
    Platform.XERO: lambda held: str(held["Account"]["AccountID"]),
}


def _resolver(ledger: SandboxLedger) -> Resolver:
    snap = ledger.snapshot
    template = default_template_name(ledger.platform.value, ledger.connector.company_info().country)
    rules, problems = apply_template(template, snap)
    assert problems == [], problems
    assert {Component.REPLACEMENT, Component.REFUND} <= {r.component for r in rules}
    return Resolver([r.with_id(n) for n, r in enumerate(rules, 1)], 1, account_codes=snap.account_codes())


def _ret(org: str, cur: str, lines: list[ReturnLine], swap: ReturnLine) -> ReturnRecord:
    rma = f"RMA-{uuid.uuid4().hex[:6].upper()}"
    who = Customer(f"c-{rma}", f"Exchanger {rma[-6:]}", f"{rma.lower()}@mail.example")
    base = make_return(org, cur, lines, (), RefundMethod.EXCHANGE, customer=who, updated=datetime.now(UTC))
    swap = replace(swap, reason_code="EXCHANGE", disposition="EXCHANGE")
    return replace(base, rma_number=rma, rms_id=rma.lower(), replacements=(swap,))


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_a_dearer_exchange_posts_reads_back_reconciles_and_undoes(sandbox: SandboxHandle, platform: Platform) -> None:
    t = LEDGERS[platform]
    ledger = connect_ledger(sandbox, t["org"])
    resolver = _resolver(ledger)
    cur = t["currency"]
    rates = t["rates"](ledger, cur)
    ret = _ret(t["org"], cur, [taxed_line(1, "2", "30.00", cur, t["taxes"])],
               taxed_line(9, "1", "95.00", cur, t["taxes"]))
    assert settlement(ret, OrgSettings()) is Settlement.CHARGE
    assert -ret.computed_refund().amount == t["total"]

    docs, problems = build_documents(ret, resolver, ledger.snapshot, OrgSettings(), rates, tz=TZ[platform])
    problems += preflight(docs, ret, ledger.snapshot, OrgSettings(), docs[0].txn_date)
    assert problems == [], problems
    assert [d.doc_type for d in docs] == t["kinds"]
    posted = post_documents(ledger, ret, docs)
    got = {k: dict(v.raw) for k, v in posted.items()}

    # what the ledger holds, field by field
    sale = docs[0]
    held = got[sale.idempotency_key]
    lines, tax, total, _ = t["sale"](held)
    assert lines == t["lines"] and tax == t["tax"] and total == t["total"] == sale.total.amount
    rate = ledger.connector.profile.rate_of(sale.doc_type, held)
    assert rate is not None and sale.fx is not None, "the same FX as the rest of the return"
    assert rate == (sale.fx.ledger_rate or sale.fx.rate)
    into = next(jl.account_id for d in docs for jl in d.journal if jl.component == Component.REFUND)
    expected_bank = t["bank"](ledger.snapshot)
    assert expected_bank is not None and into == expected_bank.remote_id, "the mapped bank account, in AUD/CAD"
    paid = got[docs[-1].idempotency_key]
    assert PAID_INTO[platform](paid) == into, "the money comes in there"
    if len(docs) > 1:  # the invoice, paid in full by the payment
        now = ledger.connector.document(sale.doc_type, ledger.connector.profile.view(sale.doc_type, held).remote_id)
        assert now.raw["Status"] == "PAID" and now.raw["AmountDue"] == 0
        assert paid["Amount"] == t["total"] and paid["Invoice"]["InvoiceID"] == now.raw["InvoiceID"]

    # the app's reconciliation: clean
    result = reconcile_posted(ledger, docs, posted, sale.txn_date)
    assert result.variances == [], result.variances
    assert result.matched == len(docs)
    for c, row in result.totals["by_currency"].items():
        assert Decimal(row["difference"]) == Decimal(row["explained"]) == 0, (c, row)
        assert Decimal(row["ledger"]) == Decimal(row["expected"]), (c, row)

    # taken back as an undo does it: dependents first, each once, the verb the platform's profile names
    profile = ledger.connector.profile
    for doc in reversed(docs):
        remote = posted[doc.idempotency_key]
        how = ledger.connector.take_back(doc.doc_type, remote.remote_id, remote.sync_token, f"undo-{uuid.uuid4().hex}")
        assert how == ("voided" if profile.take_back_verb(doc.doc_type) == "void" else "deleted")
    for doc in docs:
        view = profile.view(doc.doc_type, ledger.connector.document(doc.doc_type,
                                                                    posted[doc.idempotency_key].remote_id).raw)
        assert view.status in ("voided", "deleted"), (doc.doc_type, view)
    after = reconcile_posted(ledger, docs, posted, sale.txn_date)
    assert {v.variance_class for v in after.variances} <= {VarianceClass.VOIDED_IN_LEDGER,
                                                          VarianceClass.DELETED_IN_LEDGER}
    for c, row in after.totals["by_currency"].items():
        assert Decimal(row["difference"]) == Decimal(row["explained"]), (c, row)
