"""The pull direction against the emulators over real HTTP, on SQLite and PostgreSQL.

A document is posted to the emulated ledger (through the control API, as the outbox would through
the connector) with our key in its memo, and recorded as posted in ``outbox_documents``; then an
accountant edits, voids, deletes or refunds it through the control API, and ``PullService.pull``
must report exactly that change, record it on the outbox row, and write it back to the RMS.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.core.events import EventKind
from desktop.services.core.keys import idempotency_key, memo_text
from desktop.services.pipeline.pull import CURSOR_SOURCE, ChangeKind, PullService
from desktop.services.pipeline.writeback import writeback_key
from desktop.services.store.models import (
    Return,
    ReturnSyncStatus,
    SyncCursor,
)
from tests.helpers.worlds import QBO_ORG, XERO_ORG, World


def _qbo_memo(world: World, amount: str = "40.00") -> dict[str, Any]:
    connector: Any = world.connector(QBO_ORG)
    customer = connector.query_all("Customer")[0]["Id"]
    item = next(i for i in connector.query_all("Item") if i.get("Type") == "Service")["Id"]
    return {"CustomerRef": {"value": customer}, "TxnDate": "2026-11-20",
            "Line": [{"Amount": Decimal(amount), "DetailType": "SalesItemLineDetail",
                      "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": Decimal(amount),
                                              "TaxCodeRef": {"value": "NON"}}}]}


def _xero_refs(world: World) -> tuple[str, str, str]:
    connector: Any = world.connector(XERO_ORG)
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


@pytest.mark.db
@pytest.mark.parametrize("op", ["edit", "void", "delete"])
def test_qbo_change_is_reported_once_recorded_and_written_back(world: World, op: str) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    rms = world.rms_returns(QBO_ORG)[0]
    key, remote_id, _ = world.post(QBO_ORG, "CreditMemo", _qbo_memo(world), rms)
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
def test_qbo_cdc_cursor_is_the_response_time_and_a_bare_token_bump_is_not_an_edit(world: World) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    rms = world.rms_returns(QBO_ORG)[0]
    key, remote_id, _ = world.post(QBO_ORG, "CreditMemo", _qbo_memo(world), rms)
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
def test_xero_edit_void_and_refund_payment(world: World) -> None:
    world.connect(XERO_ORG, refresh_reference=False)
    revenue, bank, contact = _xero_refs(world)
    first, second, third = world.rms_returns(XERO_ORG, 3)
    key1, id1, _ = world.post(XERO_ORG, "CreditNote", _xero_note(revenue, contact), first, role="credit_note")
    key2, id2, _ = world.post(XERO_ORG, "CreditNote", _xero_note(revenue, contact, "20.00"), second, role="credit_note")
    key3, id3, _ = world.post(XERO_ORG, "CreditNote", _xero_note(revenue, contact, "30.00"), third, role="credit_note")
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
def test_conflict_with_a_newer_pending_revision_is_a_warning(world: World) -> None:
    world.connect(XERO_ORG, refresh_reference=False)
    revenue, _bank, contact = _xero_refs(world)
    rms = world.rms_returns(XERO_ORG, 1)[0]
    key, remote_id, _ = world.post(XERO_ORG, "CreditNote", _xero_note(revenue, contact), rms, role="credit_note")
    world.add_return(XERO_ORG, rms, revision=rms["revision"] + 1, status=ReturnSyncStatus.NEW)
    world.tamper(XERO_ORG, {"op": "edit", "id": remote_id, "set": {"total": "44.00"}})
    result = world.pull.pull(XERO_ORG)
    assert [(c.kind, c.conflict) for c in result.changes] == [(ChangeKind.EDITED, True)]
    conflicts = [e for e in world.events if e.kind == "document.ledger_conflict"]
    assert len(conflicts) == 1 and conflicts[0].severity == "warning" and conflicts[0].document_key == key


@pytest.mark.db
def test_documents_with_our_key_that_we_never_posted_are_counted_not_changed(world: World) -> None:
    world.connect(XERO_ORG, refresh_reference=False)
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
def test_rms_down_keeps_the_cursor_so_the_change_is_retried(world: World) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    rms = world.rms_returns(QBO_ORG)[0]
    key, remote_id, _ = world.post(QBO_ORG, "CreditMemo", _qbo_memo(world), rms)
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
def test_qbo_payment_against_our_credit_memo_is_refund_paid(world: World) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    rms = world.rms_returns(QBO_ORG)[0]
    memo = _qbo_memo(world)
    key, remote_id, _ = world.post(QBO_ORG, "CreditMemo", memo, rms)
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


def _writeback_posts(world: World) -> int:
    rules = world.sandbox.control("GET", "faults")["rules"]
    return sum(r["fired"] for r in rules if r["action"] == "delay" and r["path_regex"] == "accounting-status$")


@pytest.mark.db
@pytest.mark.parametrize("op", ["edit", "void", "delete"])
def test_two_workers_pulling_one_change_write_it_back_once_through_the_writeback_stage(
        world: World, db_url: str, tmp_path: Path, op: str) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    rms = world.rms_returns(QBO_ORG)[0]
    key, remote_id, _ = world.post(QBO_ORG, "CreditMemo", _qbo_memo(world), rms)
    # A second worker: its own database engine, keyring vault, connections and RMS client.
    other_world = World(db_url, tmp_path, sandbox=world.sandbox, clock=world.clock, apps=False)
    other, other_events = other_world.pull, other_world.events
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
        other_world.close()
