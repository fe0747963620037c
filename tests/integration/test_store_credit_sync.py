"""Issue 16 item 2 end to end: an organization that keeps store credit as a liability. The
accountant makes the liability account in the ledger, the admin maps it and switches the setting;
one sync round (RMS → ingest → recipes + pre-flight → outbox → ledger) then moves every store
credit onto that account — QuickBooks by a journal entry naming the customer, Xero by a payment
against the credit note from the liability account — and the reconciliation ties out with no
variance on those documents. Without the mapping rule, pre-flight holds them and says what to map.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.core.domain import Component, StoreCreditTreatment
from desktop.services.core.enums import RefundMethod
from desktop.services.mapping.io import apply_template
from desktop.services.mapping.model import Rule
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.reconcile.model import Period
from desktop.services.store.models import Organization, OutboxDocument, QuarantineReason, Return, ReturnSyncStatus
from tests.helpers.ledger_recipes import connect_ledger
from tests.helpers.worlds import ADMIN, World

pytestmark = [pytest.mark.db, pytest.mark.slow]

CASES = {Platform.QBO: ("ACME-US", "qbo-us", "Other Current Liability", "store_credit_journal"),
         Platform.XERO: ("KIWI-NZ", "xero-nz", "CURRLIAB", "store_credit_payment")}


def _journal_credit(raw: dict[str, Any], account: str) -> Decimal | None:
    """QuickBooks' JournalEntry: the amount of its credit line on ``account``."""
    lines = {(ln["JournalEntryLineDetail"]["PostingType"], ln["JournalEntryLineDetail"]["AccountRef"]["value"]):
             ln["Amount"] for ln in raw["Line"]}
    return lines.get(("Credit", account))


def _payment_from(raw: dict[str, Any], account: str) -> Decimal | None:
    """Xero's Payment: its amount when it is paid from ``account``."""
    return raw["Amount"] if raw["Account"]["AccountID"] == account else None


#: What the ledger's store-credit document says was credited to the liability account.
CREDITED = {Platform.QBO: _journal_credit, Platform.XERO: _payment_from}


def _setup(world: World, platform: Platform, *, mapped: bool) -> tuple[str, str, SyncEngine]:
    org, template, kind, _role = CASES[platform]
    world.sandbox.control("POST", "reset", {"seed": 5, "rms": {"bad_ratio": 0, "scale": 0.1}})
    world.sandbox.control("POST", "rms/generate", {"org": org, "count": 20, "seed": 4})  # some store credit
    cid = world.connect(platform).id
    tag = uuid.uuid4().hex[:4]
    liability = connect_ledger(world.sandbox, CASES[platform][0]).create_account(
        f"Store Credit Liability {tag}", f"S{tag[:3]}", kind, payments=True)
    world.connections.refresh_reference_data(ADMIN, cid)
    world.ingest.ensure_organizations(world.rms)
    snapshot = world.mapping.snapshot(org)
    assert snapshot is not None and liability in snapshot.accounts
    rules, _missing = apply_template(template, snapshot)
    if mapped:
        rules.append(Rule(Component.STORE_CREDIT, account_id=liability))
    world.mapping.save(org, rules, ADMIN, "template + store credit liability")
    with world.db.write_session() as s:  # what the Settings page saves for the organization
        row = s.execute(sa.select(Organization).where(Organization.code == org)).scalar_one()
        row.settings = {**(row.settings or {}), "store_credit": StoreCreditTreatment.LIABILITY.value}
    engine = SyncEngine(world.db, world.bus, world.clock, world.connections, world.mapping, lambda _o: world.rms,
                        ingest=world.ingest)
    return org, liability, engine


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_store_credit_moves_to_the_liability_account_and_reconciles(world: World, platform: Platform) -> None:
    org, liability, engine = _setup(world, platform, mapped=True)
    result = engine.run_once(org, worker_id="w1")
    assert result["errors"] == [] and result["posted"] > 0
    role = CASES[platform][3]
    with world.db.session() as s:
        credits = s.scalars(sa.select(Return).where(Return.refund_method == RefundMethod.STORE_CREDIT,
                                                    Return.sync_status == ReturnSyncStatus.POSTED)).all()
        moved = {d.return_id: d for d in s.scalars(sa.select(OutboxDocument).where(OutboxDocument.role == role))}
        owed = {r.id: r.refund_total for r in credits if r.refund_total is not None and r.refund_total.amount > 0}
    assert owed, "the RMS has store credit returns"
    assert set(owed) <= set(moved), "every store credit is moved to the liability"
    ledger = world.connector(org)
    for rid, total in owed.items():
        doc = moved[rid]
        assert doc.remote_id and doc.total == total
        raw = ledger.document(doc.doc_type, doc.remote_id).raw
        assert CREDITED[platform](raw, liability) == total.amount
    today = world.clock.now().date()
    report = world.reconcile.run(org, Period(today - timedelta(days=120), today + timedelta(days=2)), actor=ADMIN)
    keys = {d.idempotency_key for d in moved.values()}
    assert not [v for v in report.variances if v.key in keys], report.variances
    for cur, row in report.totals["by_currency"].items():
        assert Decimal(row["difference"]) == Decimal(row["explained"]), (cur, row)
        assert Decimal(row["ledger"]) - Decimal(row["expected"]) == Decimal(row["difference"]), (cur, row)
    steps = {s["step"] for row in report.totals["by_currency"].values() for s in row["steps"]}
    assert "store_credit" in steps


def test_an_unmapped_liability_account_holds_store_credit_saying_what_to_map(world: World) -> None:
    org, _liability, engine = _setup(world, Platform.XERO, mapped=False)
    engine.run_once(org, worker_id="w1")
    with world.db.session() as s:
        held = s.scalars(sa.select(QuarantineReason).join(Return).where(
            Return.refund_method == RefundMethod.STORE_CREDIT)).all()
        posted = s.scalars(sa.select(OutboxDocument).where(OutboxDocument.role == "store_credit_payment")).all()
    assert held and not posted
    assert any(q.code == "unmapped_component" and "Store credit liability rule" in q.message for q in held)
