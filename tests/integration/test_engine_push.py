"""The whole round over real HTTP: RMS → ingest → plan (recipes + pre-flight) → outbox → QBO/Xero
→ write-back to the RMS; again and again without a single duplicate, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from desktop.services.admin.fx_rates import FxRateSettings
from desktop.services.auth.platforms import Platform
from desktop.services.core.events import EventKind
from desktop.services.mapping.io import apply_template
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.pipeline.recipes.common import resolve_customer
from desktop.services.pipeline.writeback import writeback_key
from desktop.services.reconcile.model import Period
from desktop.services.rms.client import RmsClient
from desktop.services.store.models import (
    OutboxDocument,
    OutboxStatus,
    QuarantineReason,
    Return,
    ReturnSyncStatus,
    ReturnTaxLine,
    SyncRun,
)
from tests.helpers.worlds import ADMIN, World

COMPANIES = {Platform.QBO: ("ACME-US", "9130350000000001", "qbo-us"),
             Platform.XERO: ("KIWI-NZ", "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01", "xero-nz")}


def _engine(world: World, org: str, template: str) -> tuple[SyncEngine, RmsClient]:
    client, ingest, mapping = world.rms, world.ingest, world.mapping
    ingest.ensure_organizations(client)  # the RMS profile of the organization the connection created
    snapshot = mapping.snapshot(org)
    assert snapshot is not None
    rules, _missing = apply_template(template, snapshot)
    mapping.save(org, rules, ADMIN, "default template")
    engine = SyncEngine(world.db, world.bus, world.clock, world.connections, mapping, lambda _org: client,
                        ingest=ingest)
    return engine, client


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_a_full_round_posts_every_good_return_once_and_writes_back_once(world: World, platform: Platform) -> None:
    org, company, template = COMPANIES[platform]
    world.sandbox.control("POST", "reset", {"seed": 5, "rms": {"bad_ratio": 0.2, "scale": 0.1}})
    world.connect(platform)
    engine, _client = _engine(world, org, template)
    before = len(world.ledger(platform.value, company))

    first = engine.run_once(org, worker_id="w1")

    assert first["errors"] == []
    assert first["ingested"] > 0 and first["posted"] > 0
    with world.db.session() as s:
        statuses = Counter(s.scalars(sa.select(OutboxDocument.status)))
        posted_returns = s.scalars(sa.select(Return).where(Return.sync_status == ReturnSyncStatus.POSTED)).all()
        quarantined = s.scalars(sa.select(Return).where(Return.sync_status == ReturnSyncStatus.QUARANTINED)).all()
        reasons = s.scalars(sa.select(QuarantineReason)).all()
        posted_keys = {(r.rms_id, r.revision) for r in posted_returns}
    assert statuses[OutboxStatus.POSTED] == first["posted"]
    assert set(statuses) <= {OutboxStatus.POSTED, OutboxStatus.QUARANTINED}
    assert len(world.ledger(platform.value, company)) == before + first["posted"]
    assert posted_returns, "some returns went all the way"
    assert len({r.return_id for r in reasons}) == len(quarantined), "every quarantined revision says why"
    # every fully posted revision is written back exactly once, with its documents
    backs = world.writebacks()
    assert Counter((b["return_id"], b["revision"]) for b in backs) == Counter(posted_keys)
    assert all(b["status"] == "posted" and b["platform"] == platform.value and b["company_id"] == company
               and b["documents"] for b in backs)
    assert {b["idempotency_key"] for b in backs} == {writeback_key(org, rid, rev) for rid, rev in posted_keys}
    assert EventKind.WRITEBACK_SUCCEEDED in world.kinds() and EventKind.DOCUMENT_PLANNED in world.kinds()

    second = engine.run_once(org, worker_id="w2")

    assert (second["ingested"], second["posted"], second["written_back"]) == (0, 0, 0)
    assert len(world.ledger(platform.value, company)) == before + first["posted"]
    assert len(world.writebacks()) == len(backs)


@pytest.mark.slow
def test_a_lost_writeback_answer_is_retried_and_recorded_once(world: World) -> None:
    org, _company, template = COMPANIES[Platform.QBO]
    world.sandbox.control("POST", "reset", {"seed": 9, "rms": {"bad_ratio": 0.0, "scale": 0.05}})
    world.connect(Platform.QBO)
    engine, client = _engine(world, org, template)
    engine._ingest.pull(org, client)  # type: ignore[union-attr]
    engine.plan(org)
    pushed = engine.push(org, "w1")
    assert pushed.posted > 0
    world.sandbox.control("POST", "faults", {"rules": [
        {"service": "rms", "path_regex": "accounting-status", "action": "status", "status": 503, "times": 1000}]})
    failed = engine.writeback(org)
    assert failed.sent == 0 and failed.failed > 0
    assert world.writebacks() == []
    assert EventKind.WRITEBACK_FAILED in world.kinds()
    world.sandbox.control("DELETE", "faults")
    world.sandbox.control("POST", "faults", {"rules": [
        {"service": "rms", "path_regex": "accounting-status", "action": "commit_then_drop", "times": 1}]})
    done = engine.writeback(org)
    assert done.failed == 0 and done.sent + done.replayed == failed.failed
    backs = world.writebacks()
    assert len(backs) == failed.failed == len({(b["return_id"], b["revision"]) for b in backs})
    assert engine.writeback(org).sent == 0


def test_a_revision_after_posting_is_quarantined_not_adjusted(world: World) -> None:
    org, company, template = COMPANIES[Platform.QBO]
    world.sandbox.control("POST", "reset", {"seed": 11, "rms": {"bad_ratio": 0.0, "scale": 0.05}})
    world.connect(Platform.QBO)
    engine, _client = _engine(world, org, template)
    engine.run_once(org, worker_id="w1")
    with world.db.session() as s:
        posted = s.scalars(sa.select(Return).where(Return.sync_status == ReturnSyncStatus.POSTED)).first()
    assert posted is not None
    world.sandbox.control("POST", "rms/revise", {"id": posted.rms_id})
    before = len(world.ledger("qbo", company))

    again = engine.run_once(org, worker_id="w1")

    assert again["ingested"] == 1 and again["posted"] == 0
    with world.db.session() as s:
        newest = s.scalars(sa.select(Return).where(Return.rms_id == posted.rms_id)
                           .order_by(Return.revision.desc())).first()
        assert newest is not None and newest.revision == posted.revision + 1
        assert newest.sync_status is ReturnSyncStatus.QUARANTINED
        codes = s.scalars(sa.select(QuarantineReason.code).where(QuarantineReason.return_id == newest.id)).all()
    assert codes == ["revision_after_posting"]
    assert len(world.ledger("qbo", company)) == before


def test_first_time_customers_are_created_in_batches_and_runs_are_recorded(world: World) -> None:
    org, _company, template = COMPANIES[Platform.QBO]
    world.sandbox.control("POST", "reset", {"seed": 5, "rms": {"bad_ratio": 0.0, "scale": 0.3}})
    cid = world.connect(Platform.QBO).id
    engine, client = _engine(world, org, template)
    engine._ingest.pull(org, client)  # type: ignore[union-attr]
    engine.plan(org)
    with world.db.session() as s:
        rows = s.scalars(sa.select(OutboxDocument)).all()
        needing = {r.return_id for r in rows if "${customer}" in str(r.payload)}
        names = set(s.scalars(sa.select(Return.customer_name).where(Return.id.in_(needing))))
    assert len(needing) >= 5, "the demo RMS has customers QuickBooks does not know yet"

    with world.db.session() as s:
        people = set(s.execute(sa.select(Return.customer_name, Return.currency).where(Return.id.in_(needing))))
    assert len(rows) > 30, "more than one claim, so customers are resolved once for the whole queue"

    result = engine.push(org, "w1")

    chunks = -(-len(rows) // 30)
    # the documents' batches, one look-up of every customer at once (60 names a query) and their
    # creates 30 a batch — not a look-up and a create per claim of 30
    assert result.requests <= chunks + 1 + -(-len(people) // 30), (result.requests, chunks, len(people))
    assert (result.posted, result.quarantined) == (len(rows), 0)
    # A customer is always used in its own currency: the cached USD "Name" is not offered to a CAD
    # return (the snapshot knows each cached customer's currency), "Name (CAD)" is created instead.
    customers = world.connections.connector(cid).query_all("Customer")  # type: ignore[attr-defined]
    known = {c["DisplayName"].split(" (")[0] for c in customers}
    assert names <= known
    with world.db.session() as s:
        run = s.scalars(sa.select(SyncRun).where(SyncRun.kind == "push")).one()
        assert run.finished_at is not None and run.counts["posted"] == result.posted
    # The customers it found or created are now in the reference cache, each in its currency: the
    # next plan names them itself instead of leaving a placeholder to look up again.
    snapshot = world.mapping.snapshot(org)
    assert snapshot is not None
    for name, currency in people:
        hit = resolve_customer(SimpleNamespace(name=name, email=""), snapshot, currency)
        assert hit is not None and hit.currency == currency, (name, currency)


@pytest.mark.slow
@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_a_clean_sync_of_the_seeded_returns_reconciles_to_zero_and_a_tax_tamper_shows(world: World,
                                                                                        platform: Platform) -> None:
    """The RMS's own mix — several tax jurisdictions (US-CA/LA/NY/WA), fees withheld with their tax,
    labels, foreign currency — synced by the real pipeline reconciles with no variance at all: the
    ledgers' own totals equal the RMS to the cent, and QBO's tax rounding lines and Xero's fee-line
    taxes are what we sent, not differences. A tax changed in the ledger is then one tax_mismatch."""
    org, _company, template = COMPANIES[platform]
    world.sandbox.control("POST", "reset", {"seed": 11, "rms": {"bad_ratio": 0.0, "scale": 0.4}})
    world.connect(platform)
    engine, client = _engine(world, org, template)
    if platform is Platform.XERO:  # Xero publishes no rates: the admin enters the AUD one
        FxRateSettings(world.db, world.clock).set(ADMIN, org, "AUD", date(2026, 1, 1), Decimal("1.092418"))
    engine._ingest.pull(org, client)  # type: ignore[union-attr]
    engine.plan(org)
    result = engine.push(org, "w1")
    with world.db.session() as s:
        rows = s.scalars(sa.select(OutboxDocument)).all()
        quarantined = s.scalar(sa.select(sa.func.count()).select_from(Return).where(
            Return.sync_status == ReturnSyncStatus.QUARANTINED))
        juris = set(s.scalars(sa.select(ReturnTaxLine.jurisdiction)))
        why = s.scalars(sa.select(QuarantineReason.message)).all()
    assert (result.posted, result.quarantined, quarantined) == (len(rows), 0, 0), why
    assert {r.role for r in rows} >= {"fee_journal" if platform is Platform.QBO else "credit_note", "label_journal"}
    if platform is Platform.QBO:
        assert {"US-CA", "US-NY", "US-WA"} <= juris
    period = Period(min(r.txn_date for r in rows), max(r.txn_date for r in rows))
    service = world.reconcile

    clean = service.run(org, period, actor=ADMIN)

    assert clean.variances == [], [v.to_json() for v in clean.variances[:5]]
    assert clean.matched == len(rows)
    paid = {r.depends_on for r in rows if r.depends_on}  # Xero will not edit a credit note with a payment
    sales = next(r for r in rows if r.role in ("credit_memo", "refund_receipt", "credit_note")
                 and r.idempotency_key not in paid and r.currency == ("USD" if platform is Platform.QBO else "NZD"))
    world.sandbox.control("POST", f"ledger/{platform.value}/{org}/tamper",
                          {"op": "edit", "id": sales.remote_id, "type": sales.doc_type, "set": {"tax": "1.11"}})
    tampered = service.run(org, period, actor=ADMIN)
    assert [(v.variance_class.value, v.ledger_id) for v in tampered.variances] == [("tax_mismatch", sales.remote_id)]
