"""The pull direction against the emulators over real HTTP, on SQLite and PostgreSQL.

A document is posted to the emulated ledger (through the control API, as the outbox would through
the connector) with our key in its memo, and recorded as posted in ``outbox_documents``; then an
accountant edits, voids, deletes or refunds it through the control API, and ``PullService.pull``
must report exactly that change, record it on the outbox row, and write it back to the RMS.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Environment, Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import SystemClock
from desktop.services.core.events import Event, EventBus, EventKind
from desktop.services.core.keys import idempotency_key, memo_text
from desktop.services.core.money import Money
from desktop.services.demo import configure_local_apps, demo_organizations, simulated_consent
from desktop.services.pipeline.pull import CURSOR_SOURCE, ChangeKind, PullService
from desktop.services.pipeline.writeback import writeback_key
from desktop.services.platforms.http import LedgerHttp, RetryPolicy, Throttle
from desktop.services.rms.client import RmsClient
from desktop.services.runtime import connection_service
from desktop.services.store.coltypes import json_dumps_exact
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    LedgerConnection,
    Organization,
    OutboxDocument,
    OutboxStatus,
    RefundMethod,
    Return,
    ReturnSyncStatus,
    SyncCursor,
)
from desktop.services.store.models import Platform as StorePlatform
from tests.sandbox.conftest import SandboxHandle

ADMIN = Actor("alice", Role.ADMIN)
QBO_ORG, XERO_ORG = "ACME-US", "KIWI-NZ"


class PullWorld:
    """Database, bus, keyring-backed connections, an RMS client and the pull service."""

    def __init__(self, db_url: str, sandbox: SandboxHandle, data_dir: Path) -> None:
        upgrade(db_url)
        self.sandbox = sandbox
        self.db = Database(db_url)
        self.clock = SystemClock()
        self.bus = EventBus(self.clock)
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.vault, self.connections = connection_service(self.db, self.bus, self.clock, data_dir)
        configure_local_apps(self.connections, ADMIN, sandbox.info)
        rms = sandbox.info["rms"]
        fast = LedgerHttp(throttle=Throttle(per_minute=600, concurrent=4), retry=RetryPolicy(max_attempts=2,
                          base_delay_s=0.01), platform="rms", sleep=lambda _s: None)
        self.rms = RmsClient(rms["base_url"], rms["api_key"], http=fast)
        self.pull = PullService(self.db, self.bus, self.clock, self.connections, lambda _org: self.rms)

    def connect(self, org_code: str) -> None:
        org = next(o for o in demo_organizations(self.sandbox.info) if o.code == org_code)
        sign_in = self.connections.begin_sign_in(
            ADMIN, org.code, org.platform, Environment.LOCAL, refresh_reference=False,
            tenant_id=org.company if org.platform is Platform.XERO else None)
        sign_in.complete(simulated_consent(self.sandbox.info, org.platform, sign_in.authorize_url, org.company))

    def rms_returns(self, org_code: str, n: int = 2) -> list[dict[str, Any]]:
        return self.rms.changes(None, 50, organization=org_code).returns[:n]

    def add_return(self, org_code: str, rms: dict[str, Any], revision: int | None = None,
                   status: ReturnSyncStatus = ReturnSyncStatus.POSTED) -> int:
        now = self.clock.now()
        with self.db.write_session() as s:
            org = s.execute(sa.select(Organization).where(Organization.code == org_code)).scalar_one()
            row = Return(organization_id=org.id, rms_id=rms["id"], revision=revision or rms["revision"],
                         rma_number=rms["rma_number"], currency=rms["currency"],
                         refund_method=RefundMethod.STORE_CREDIT, rms_status=str(rms.get("status", "refunded")),
                         sync_status=status, rms_created_at=now, rms_updated_at=now, ingested_at=now,
                         updated_at=now, raw_payload={})
            s.add(row)
            s.flush()
            return row.id

    def post(self, org_code: str, doc_type: str, document: dict[str, Any], rms: dict[str, Any],
             role: str = "credit_memo") -> tuple[str, str]:
        """Create ``document`` in the ledger with our key and record it as posted; (key, remote id)."""
        key = idempotency_key(org_code, rms["id"], rms["revision"], role)
        memo = memo_text(key, rms["rma_number"], rms["revision"])
        platform = "qbo" if org_code == QBO_ORG else "xero"
        field = {"qbo": "PrivateNote", "xero": "Reference"}[platform]
        document = {**document, field: memo}
        created = self.tamper(org_code, {"op": "create", "type": doc_type, "document": document})
        return_id = self.add_return(org_code, rms)
        now = self.clock.now()
        with self.db.write_session() as s:
            org = s.execute(sa.select(Organization).where(Organization.code == org_code)).scalar_one()
            conn = s.execute(sa.select(LedgerConnection).where(LedgerConnection.organization_id == org.id)
                             ).scalar_one()
            total = Money(Decimal(created["total"]), created["currency"])
            s.add(OutboxDocument(
                organization_id=org.id, connection_id=conn.id, idempotency_key=key, return_id=return_id,
                role=role, platform=StorePlatform(platform), doc_type=doc_type,
                txn_date=date.fromisoformat(created["date"]), total_minor=total.to_minor_units(),
                currency=created["currency"], payload=document, status=OutboxStatus.POSTED,
                attempts=1, remote_id=created["id"], remote_number=created["number"],
                sync_token=created["raw"].get("SyncToken"), created_at=now, updated_at=now, posted_at=now))
        return key, str(created["id"])

    def tamper(self, org_code: str, body: dict[str, Any]) -> dict[str, Any]:
        platform = "qbo" if org_code == QBO_ORG else "xero"
        # Amounts are Decimal: send them as exact JSON numbers, never through float.
        resp = self.sandbox.http.post(f"{self.sandbox.control_url}/ledger/{platform}/{org_code}/tamper",
                                      data=json_dumps_exact(body), headers={"Content-Type": "application/json"},
                                      timeout=30)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json(parse_float=Decimal)
        return result

    def writebacks(self, rms_id: str) -> list[dict[str, Any]]:
        return [w for w in self.sandbox.control("GET", "rms/writebacks")["writebacks"] if w["return_id"] == rms_id]

    def outbox(self, key: str) -> OutboxDocument:
        with self.db.session() as s:
            return s.execute(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == key)).scalar_one()

    def close(self) -> None:
        with self.db.session() as s:
            refs = list(s.execute(sa.select(LedgerConnection.credential_ref)).scalars())
        for ref in refs:
            self.vault.forget(ref)
        self.db.dispose()


@pytest.fixture
def world(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[PullWorld]:
    w = PullWorld(db_url, sandbox, tmp_path)
    try:
        yield w
    finally:
        w.close()


def _qbo_memo(world: PullWorld, amount: str = "40.00") -> dict[str, Any]:
    connector: Any = world.connections.connector(_conn_id(world, QBO_ORG))
    customer = connector.query_all("Customer")[0]["Id"]
    item = next(i for i in connector.query_all("Item") if i.get("Type") == "Service")["Id"]
    return {"CustomerRef": {"value": customer}, "TxnDate": "2026-11-20",
            "Line": [{"Amount": Decimal(amount), "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": Decimal(amount),
                                              "TaxCodeRef": {"value": "NON"}}}]}


def _xero_refs(world: PullWorld) -> tuple[str, str, str]:
    connector: Any = world.connections.connector(_conn_id(world, XERO_ORG))
    accounts = connector._get("Accounts")["Accounts"]
    revenue = next(a["Code"] for a in accounts if a["Type"] in ("REVENUE", "SALES"))
    bank = next(a["Code"] for a in accounts if a["Type"] == "BANK")
    contact = connector._get("Contacts", {"page": "1"})["Contacts"][0]["ContactID"]
    return revenue, bank, contact


def _xero_note(revenue: str, contact: str, amount: str = "50.00") -> dict[str, Any]:
    return {"Type": "ACCRECCREDIT", "Contact": {"ContactID": contact}, "Status": "AUTHORISED",
            "Date": "2026-11-20", "LineAmountTypes": "NoTax", "CurrencyCode": "NZD",
            "LineItems": [{"Description": "Returned goods", "Quantity": Decimal(1), "UnitAmount": Decimal(amount),
                           "LineAmount": Decimal(amount), "AccountCode": revenue, "TaxType": "NONE"}]}


def _conn_id(world: PullWorld, org_code: str) -> int:
    with world.db.session() as s:
        return int(s.execute(sa.select(LedgerConnection.id).join(Organization)
                             .where(Organization.code == org_code)).scalar_one())


@pytest.mark.db
@pytest.mark.parametrize("op", ["edit", "void", "delete"])
def test_qbo_change_is_reported_once_recorded_and_written_back(world: PullWorld, op: str) -> None:
    world.connect(QBO_ORG)
    rms = world.rms_returns(QBO_ORG)[0]
    key, remote_id = world.post(QBO_ORG, "CreditMemo", _qbo_memo(world), rms)
    assert world.pull.pull(QBO_ORG).changes == []  # our own creation is not a change

    body: dict[str, Any] = {"op": op, "id": remote_id, "type": "CreditMemo"}
    if op == "edit":
        body["set"] = {"total": "35.00", "date": "2026-11-21"}
    world.tamper(QBO_ORG, body)
    result = world.pull.pull(QBO_ORG)

    kind = {"edit": ChangeKind.EDITED, "void": ChangeKind.VOIDED, "delete": ChangeKind.DELETED}[op]
    assert [(c.kind, c.remote_id, c.idempotency_key) for c in result.changes] == [(kind, remote_id, key)]
    change = result.changes[0]
    assert change.rms_id == rms["id"] and change.revision == rms["revision"] and change.written_back
    if op == "edit":
        assert set(change.after["fields"]) >= {"total", "date"}
        assert change.after["total"] == "35.00" and change.before["total"] == "40.00"
        assert change.after["date"] == "2026-11-21"
    row = world.outbox(key)
    assert row.remote_state == kind.remote_state
    assert [w["status"] for w in world.writebacks(rms["id"])] == [kind.value]
    assert world.writebacks(rms["id"])[0]["documents"][0]["id"] == remote_id
    kinds = [e.kind for e in world.events]
    assert {"edit": EventKind.DOCUMENT_EDITED_IN_LEDGER, "void": EventKind.DOCUMENT_VOIDED_IN_LEDGER,
            "delete": EventKind.DOCUMENT_DELETED_IN_LEDGER}[op] in kinds
    assert EventKind.WRITEBACK_SUCCEEDED in kinds

    again = world.pull.pull(QBO_ORG)  # the CDC cursor moved on: nothing new
    assert again.changes == [] and again.cursor_advanced
    assert len(world.writebacks(rms["id"])) == 1


@pytest.mark.db
def test_qbo_cdc_cursor_is_the_response_time_and_a_bare_token_bump_is_not_an_edit(world: PullWorld) -> None:
    world.connect(QBO_ORG)
    rms = world.rms_returns(QBO_ORG)[0]
    key, remote_id = world.post(QBO_ORG, "CreditMemo", _qbo_memo(world), rms)
    first = world.pull.pull(QBO_ORG)
    with world.db.session() as s:
        saved = s.execute(sa.select(SyncCursor.cursor_value).where(SyncCursor.source == CURSOR_SOURCE)).scalar_one()
    assert saved == first.cursor and datetime.fromisoformat(saved).tzinfo is not None
    # Editing only the memo text bumps the SyncToken; totals, date and lines are as we posted them.
    world.tamper(QBO_ORG, {"op": "edit", "id": remote_id, "type": "CreditMemo", "set": {}})
    result = world.pull.pull(QBO_ORG)
    assert result.changes == [] and result.scanned == 1
    assert world.outbox(key).sync_token == "1" and world.outbox(key).remote_state is None
    assert world.writebacks(rms["id"]) == []


@pytest.mark.db
def test_xero_edit_void_and_refund_payment(world: PullWorld) -> None:
    world.connect(XERO_ORG)
    revenue, bank, contact = _xero_refs(world)
    first, second, third = world.rms_returns(XERO_ORG, 3)
    key1, id1 = world.post(XERO_ORG, "CreditNote", _xero_note(revenue, contact), first, role="credit_note")
    key2, id2 = world.post(XERO_ORG, "CreditNote", _xero_note(revenue, contact, "20.00"), second, role="credit_note")
    key3, id3 = world.post(XERO_ORG, "CreditNote", _xero_note(revenue, contact, "30.00"), third, role="credit_note")
    assert world.pull.pull(XERO_ORG).changes == []

    world.tamper(XERO_ORG, {"op": "edit", "id": id1, "set": {"total": "45.00"}})
    world.tamper(XERO_ORG, {"op": "void", "id": id2})
    world.tamper(XERO_ORG, {"op": "create", "type": "Payment", "document": {
        "CreditNote": {"CreditNoteID": id3}, "Account": {"Code": bank}, "Date": "2026-11-22",
        "Amount": "30.00", "Reference": "cash refund"}})
    result = world.pull.pull(XERO_ORG)

    got = sorted((c.idempotency_key, c.kind) for c in result.changes)
    assert got == sorted([(key1, ChangeKind.EDITED), (key2, ChangeKind.VOIDED), (key3, ChangeKind.REFUND_PAID)])
    edited = next(c for c in result.changes if c.kind is ChangeKind.EDITED)
    assert edited.before["total"] == "50.00" and edited.after["total"] == "45.00"
    assert [w["status"] for w in world.writebacks(first["id"])] == ["edited"]
    assert world.writebacks(first["id"])[0]["documents"][0]["total"] == "45.00"
    assert [w["status"] for w in world.writebacks(second["id"])] == ["voided"]
    assert [w["status"] for w in world.writebacks(third["id"])] == ["refund_paid"]
    assert world.outbox(key3).remote_state == "refunded"
    assert world.pull.pull(XERO_ORG).changes == []  # If-Modified-Since overlaps; nothing is reported twice


@pytest.mark.db
def test_conflict_with_a_newer_pending_revision_is_a_warning(world: PullWorld) -> None:
    world.connect(XERO_ORG)
    revenue, _bank, contact = _xero_refs(world)
    rms = world.rms_returns(XERO_ORG, 1)[0]
    key, remote_id = world.post(XERO_ORG, "CreditNote", _xero_note(revenue, contact), rms, role="credit_note")
    world.add_return(XERO_ORG, rms, revision=rms["revision"] + 1, status=ReturnSyncStatus.NEW)
    world.tamper(XERO_ORG, {"op": "edit", "id": remote_id, "set": {"total": "44.00"}})
    result = world.pull.pull(XERO_ORG)
    assert [(c.kind, c.conflict) for c in result.changes] == [(ChangeKind.EDITED, True)]
    conflicts = [e for e in world.events if e.kind == "document.ledger_conflict"]
    assert len(conflicts) == 1 and conflicts[0].severity == "warning" and conflicts[0].document_key == key


@pytest.mark.db
def test_documents_with_our_key_that_we_never_posted_are_counted_not_changed(world: PullWorld) -> None:
    world.connect(XERO_ORG)
    revenue, _bank, contact = _xero_refs(world)
    rms = world.rms_returns(XERO_ORG, 1)[0]
    stray_key = idempotency_key(XERO_ORG, rms["id"], rms["revision"], "credit_note")
    world.tamper(XERO_ORG, {"op": "create", "type": "CreditNote", "document": {
        **_xero_note(revenue, contact), "Reference": memo_text(stray_key, rms["rma_number"], rms["revision"])}})
    result = world.pull.pull(XERO_ORG)
    assert result.changes == [] and result.unmatched == 1
    assert result.counts()["unmatched"] == 1
    assert world.writebacks(rms["id"]) == []


@pytest.mark.db
def test_rms_down_keeps_the_cursor_so_the_change_is_retried(world: PullWorld) -> None:
    world.connect(QBO_ORG)
    rms = world.rms_returns(QBO_ORG)[0]
    key, remote_id = world.post(QBO_ORG, "CreditMemo", _qbo_memo(world), rms)
    world.pull.pull(QBO_ORG)
    world.tamper(QBO_ORG, {"op": "void", "id": remote_id, "type": "CreditMemo"})
    world.sandbox.control("POST", "faults", {"rules": [{"service": "rms", "action": "status", "status": 503,
                                                        "path_regex": "accounting-status"}]})
    failed = world.pull.pull(QBO_ORG)
    assert failed.changes == [] and failed.writeback_failed == 1 and not failed.cursor_advanced
    assert world.outbox(key).remote_state is None
    assert any(e.kind == EventKind.WRITEBACK_FAILED for e in world.events)
    world.sandbox.control("DELETE", "faults")
    retried = world.pull.pull(QBO_ORG)
    assert [c.kind for c in retried.changes] == [ChangeKind.VOIDED]
    assert [w["status"] for w in world.writebacks(rms["id"])] == ["voided"]
    assert datetime.now(UTC) > world.outbox(key).updated_at


@pytest.mark.db
def test_qbo_payment_against_our_credit_memo_is_refund_paid(world: PullWorld) -> None:
    world.connect(QBO_ORG)
    rms = world.rms_returns(QBO_ORG)[0]
    memo = _qbo_memo(world)
    key, remote_id = world.post(QBO_ORG, "CreditMemo", memo, rms)
    world.pull.pull(QBO_ORG)
    world.tamper(QBO_ORG, {"op": "create", "type": "Payment", "document": {
        "CustomerRef": memo["CustomerRef"], "TotalAmt": Decimal(0),
        "Line": [{"Amount": Decimal("40.00"), "LinkedTxn": [{"TxnId": remote_id, "TxnType": "CreditMemo"}]}]}})
    result = world.pull.pull(QBO_ORG)
    assert [(c.kind, c.remote_id) for c in result.changes] == [(ChangeKind.REFUND_PAID, remote_id)]
    assert result.changes[0].after["paid_by"]["type"] == "Payment"
    row = world.outbox(key)
    assert row.remote_state == "refunded" and row.sync_token == "1"  # the memo's own bump is recorded too
    assert [w["status"] for w in world.writebacks(rms["id"])] == ["refund_paid"]
    assert world.pull.pull(QBO_ORG).changes == []


#: Counts every write-back POST the RMS receives (replays included), a little slowed so that two
#: workers handling the same change overlap.
_COUNT_WRITEBACKS = {"service": "rms", "method": "POST", "path_regex": "accounting-status$", "action": "delay",
                     "delay_s": 0.2}


def _writeback_posts(world: PullWorld) -> int:
    rules = world.sandbox.control("GET", "faults")["rules"]
    return sum(r["fired"] for r in rules if r["action"] == "delay" and r["path_regex"] == "accounting-status$")


@pytest.mark.db
@pytest.mark.parametrize("op", ["edit", "void", "delete"])
def test_two_workers_pulling_one_change_write_it_back_once_through_the_writeback_stage(
        world: PullWorld, db_url: str, tmp_path: Path, op: str) -> None:
    world.connect(QBO_ORG)
    rms = world.rms_returns(QBO_ORG)[0]
    key, remote_id = world.post(QBO_ORG, "CreditMemo", _qbo_memo(world), rms)
    # A second worker: its own database engine, keyring vault, connections and RMS client.
    other_db = Database(db_url)
    other_bus = EventBus(world.clock)
    other_events: list[Event] = []
    other_bus.subscribe(other_events.append)
    _vault, other_connections = connection_service(other_db, other_bus, world.clock, tmp_path)
    fast = LedgerHttp(throttle=Throttle(per_minute=600, concurrent=4), retry=RetryPolicy(max_attempts=2,
                      base_delay_s=0.01), platform="rms", sleep=lambda _s: None)
    other_rms = RmsClient(world.sandbox.info["rms"]["base_url"], world.sandbox.info["rms"]["api_key"], http=fast)
    other = PullService(other_db, other_bus, world.clock, other_connections, lambda _org: other_rms)
    try:
        assert world.pull.pull(QBO_ORG).changes == [] and other.pull(QBO_ORG).changes == []  # both warmed up
        body: dict[str, Any] = {"op": op, "id": remote_id, "type": "CreditMemo"}
        if op == "edit":
            body["set"] = {"total": "35.00"}
        world.tamper(QBO_ORG, body)
        world.sandbox.control("POST", "faults", {"rules": [_COUNT_WRITEBACKS]})

        start = threading.Barrier(2)

        def run(service: PullService) -> Any:
            start.wait(timeout=30)
            return service.pull(QBO_ORG)

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = [f.result(timeout=120) for f in [pool.submit(run, world.pull), pool.submit(run, other)]]

        kind = {"edit": ChangeKind.EDITED, "void": ChangeKind.VOIDED, "delete": ChangeKind.DELETED}[op]
        reported = [c for r in results for c in r.changes]
        assert [(c.kind, c.idempotency_key, c.written_back) for c in reported] == [(kind, key, True)]
        assert _writeback_posts(world) == 1  # the RMS was asked once: no second send, not even a replay
        backs = world.writebacks(rms["id"])
        assert [w["status"] for w in backs] == [kind.value]
        row = world.outbox(key)
        assert row.remote_state == kind.remote_state
        marker = {"edit": row.sync_token, "void": "voided", "delete": "deleted"}[op]
        assert marker is not None
        # The write-back stage's key: the revision's key with the change's status and detail.
        assert backs[0]["idempotency_key"] == writeback_key(QBO_ORG, rms["id"], rms["revision"], kind.value, key,
                                                            marker)
        with world.db.session() as s:
            leases = s.execute(sa.select(Return.writeback_lease_owner, Return.writeback_lease_expires_at)
                               .where(Return.rms_id == rms["id"])).all()
        assert set(leases) == {(None, None)}  # the lease is given back
        succeeded = [e for e in world.events + other_events if e.kind == EventKind.WRITEBACK_SUCCEEDED]
        assert len(succeeded) == 1
        # A worker that found the return held by the other keeps its cursor and looks again: nothing new.
        again = [world.pull.pull(QBO_ORG), other.pull(QBO_ORG)]
        assert [r.changes for r in again] == [[], []] and all(r.cursor_advanced for r in again)
        assert _writeback_posts(world) == 1 and len(world.writebacks(rms["id"])) == 1
    finally:
        other_db.dispose()
