"""The shipped templates fully map the demo companies: every valid seeded return resolves.

Reference data comes from the sandbox ledgers over real HTTP through the app's own connectors
(OAuth consent, code exchange, then ``company_info`` + ``reference_data``); the returns come
from the RMS emulator and are parsed by the app's RMS parser. A template passes when it applies
without a single unresolved name/code, the result validates with no problem against every
context those returns need, and the posting recipes turn every one of them into documents.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.core.domain import Component, FeeTreatment, OrgSettings, ReturnRecord
from desktop.services.mapping import (
    MatchContext,
    ReferenceSnapshot,
    Resolver,
    apply_template,
    contexts_for_returns,
    default_template_name,
    validate,
)
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.recipes import build_documents
from desktop.services.rms.context import OrgContext
from desktop.services.rms.parse import parse_return
from tests.helpers.sandbox import SandboxHandle, memory_connection

DEMO = {"ACME-US": ("qbo", "9130350000000001"), "MAPLE-CA": ("qbo", "9130350000000002"),
        "KIWI-NZ": ("xero", "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01"),
        "TEA-UK": ("xero", "0b7e2d94-51c3-4f8a-a6d2-8c4e1f7b3a02")}


def _snapshot(sandbox: SandboxHandle, org: str) -> tuple[ReferenceSnapshot, str]:
    platform, company = DEMO[org]
    conn = memory_connection(sandbox.info, Platform(platform), company).connector
    info = conn.company_info()
    return ReferenceSnapshot.from_reference_data(platform, conn.reference_data(), info), info.country


def _valid_returns(sandbox: SandboxHandle, org: str) -> list[ReturnRecord]:
    orgs = sandbox.rms("GET", "/v1/organizations").json()["organizations"]
    ctx = OrgContext.from_rms(next(o for o in orgs if o["code"] == org))
    records: list[ReturnRecord] = []
    cursor = ""
    while True:
        resp = sandbox.rms("GET", "/v1/returns", params={"organization": org, "cursor": cursor, "limit": 500})
        page = json.loads(resp.content, parse_float=Decimal)
        for payload in page["returns"]:
            record, _problems = parse_return(payload, ctx)
            if record is not None:
                records.append(record)
        if not page["has_more"]:
            return records
        cursor = page["next_cursor"]


@pytest.mark.parametrize("org", list(DEMO))
def test_default_template_maps_every_valid_seeded_return(sandbox: SandboxHandle, org: str) -> None:
    snapshot, country = _snapshot(sandbox, org)
    template = default_template_name(snapshot.platform, country)
    assert template == {"ACME-US": "qbo-us", "MAPLE-CA": "qbo-ca", "KIWI-NZ": "xero-nz", "TEA-UK": "xero-uk"}[org]
    rules, problems = apply_template(template, snapshot)
    assert problems == [], f"{template} names something the demo company lacks: {problems}"

    returns = _valid_returns(sandbox, org)
    bad = {b["id"] for b in sandbox.control("GET", "rms/bad")["bad"] if b["organization"] == org}
    assert len(returns) >= 40 and not bad & {r.rms_id for r in returns}, "the parser kept only clean records"
    contexts = contexts_for_returns(returns)
    assert validate(rules, snapshot, contexts) == []

    resolver = Resolver(rules, 1, account_codes=snapshot.account_codes())
    for ctx in contexts:
        target = resolver.resolve(ctx)
        assert target is not None, ctx
        if ctx.component is Component.TAX:
            assert target.tax_code in snapshot.tax_codes
        else:
            account = snapshot.accounts[target.account_id or ""]
            assert account.active
            if snapshot.platform == "xero":
                assert target.account_code == account.code, "Xero line items post by account code"
    assert {c.component for c in contexts} >= {Component.MERCHANDISE, Component.TAX, Component.REFUND}
    assert snapshot.home_currency in {c.currency for c in contexts} <= snapshot.currencies
    # Every enabled currency, seen in the seed or not, refunds from a bank account in that currency.
    for currency in snapshot.currencies:
        refund = resolver.resolve(MatchContext(Component.REFUND, channel="web", currency=currency))
        assert refund is not None and snapshot.accounts[refund.account_id or ""].currency == currency


def test_a_template_for_the_wrong_company_is_refused_with_names(sandbox: SandboxHandle) -> None:
    snapshot, _ = _snapshot(sandbox, "MAPLE-CA")
    rules, problems = apply_template("qbo-us", snapshot)
    missing = sorted({p.message.split("'")[1] for p in problems if p.code == "not_found"})
    assert missing == ["California", "Checking CAD", "Los Angeles County, CA", "New York City, NY",
                       "Sales Tax Payable", "Washington"]
    assert any(p.code == "missing_tax_code" for p in validate(rules, snapshot))


@pytest.mark.parametrize("org", list(DEMO))
def test_the_posting_recipes_post_every_valid_seeded_return_with_the_template(sandbox: SandboxHandle,
                                                                               org: str) -> None:
    """The acceptance check: the app's own recipes turn every clean return into documents."""
    snapshot, country = _snapshot(sandbox, org)
    rules, _ = apply_template(default_template_name(snapshot.platform, country), snapshot)
    resolver = Resolver(rules, 1, account_codes=snapshot.account_codes())
    rates = FxRates(snapshot.home_currency)
    for currency in snapshot.currencies - {snapshot.home_currency}:
        rates.add(currency, date(2000, 1, 1), Decimal("0.75"))  # FX is not the mapping's business here
    for settings in (OrgSettings(), OrgSettings(fee_treatment=FeeTreatment.NEGATIVE_LINE)):
        for ret in _valid_returns(sandbox, org):
            documents, problems = build_documents(ret, resolver, snapshot, settings, rates)
            assert problems == [] and documents, (ret.rms_id, problems)
