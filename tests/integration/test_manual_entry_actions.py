"""The Returns page's actions against the sandbox ledgers: re-post after a mapping fix, retry,
adopt an existing ledger document, void in the ledger. Real HTTP, real databases, real keyring.
"""

from __future__ import annotations

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.domain import Component
from desktop.services.core.errors import NeedsPersonError, PermissionDenied
from desktop.services.store.models import OutboxStatus, QuarantineReason, Return, ReturnSyncStatus
from tests.helpers.returns import REALM, ReturnsWorld
from tests.helpers.worlds import ADMIN

OPERATOR = Actor("olga", Role.OPERATOR)


def _status(w: ReturnsWorld, rma: str) -> ReturnSyncStatus:
    import sqlalchemy as sa

    with w.db.session() as s:
        return ReturnSyncStatus(s.scalar(sa.select(Return.sync_status).where(Return.rma_number == rma)))


def test_repost_after_a_mapping_fix_rebuilds_and_posts_once(rworld: ReturnsWorld) -> None:
    import sqlalchemy as sa

    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=False)
    good = rworld.mapping.active_set(org)
    assert good is not None
    rworld.mapping.save(org, [r for r in good.rules if r.component is not Component.MERCHANDISE], ADMIN, "oops")

    broken = rworld.manual.replan(OPERATOR, org, rma)

    assert "unmapped_component" in {p.code for p in broken.problems}
    assert _status(rworld, rma) is ReturnSyncStatus.QUARANTINED and rworld.outbox_rows(rma) == []
    rworld.mapping.save(org, good.rules, ADMIN, "fixed")
    before = rworld.ledger_count("qbo")

    fixed = rworld.manual.replan(OPERATOR, org, rma)

    assert fixed.problems == [] and _status(rworld, rma) is ReturnSyncStatus.READY
    with rworld.db.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(QuarantineReason).join(Return).where(
            Return.rma_number == rma, QuarantineReason.resolved_at.is_(None))) == 0
    assert rworld.poster().post_pending(cid, worker_id="w1").posted == len(fixed.documents)
    assert rworld.manual.replan(OPERATOR, org, rma).problems == []  # again: nothing new queued
    assert rworld.poster().post_pending(cid, worker_id="w2").posted == 0
    assert rworld.ledger_count("qbo") == before + len(fixed.documents)
    assert _status(rworld, rma) is ReturnSyncStatus.POSTED


def test_retry_sends_a_refused_document_again_after_the_cause_is_fixed(rworld: ReturnsWorld) -> None:
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    assert rworld.manual.replan(OPERATOR, org, rma).problems == []
    rworld.sandbox.control("POST", "faults", {"rules": [{"service": "qbo", "path_regex": "/batch$", "method": "POST",
                                                        "action": "status", "status": 400, "times": 1}]})
    assert rworld.poster().post_pending(cid, worker_id="w1").quarantined == 1
    [row] = rworld.outbox_rows(rma)
    assert row.status is OutboxStatus.QUARANTINED
    with pytest.raises(PermissionDenied):
        rworld.manual.retry(Actor("vic", Role.VIEWER), row.idempotency_key)

    assert rworld.manual.retry(OPERATOR, row.idempotency_key) == "pending"
    assert rworld.poster().post_pending(cid, worker_id="w2").posted == 1
    with pytest.raises(NeedsPersonError, match="only failed or quarantined"):
        rworld.manual.retry(OPERATOR, row.idempotency_key)


def test_adopt_an_existing_ledger_document_instead_of_posting_it(rworld: ReturnsWorld) -> None:
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    prepared = rworld.manual.replan(OPERATOR, org, rma)
    doc = prepared.documents[0]
    rworld.enter_in_ledger("qbo", doc.doc_type, doc.payload, "ACCT-991")
    before = rworld.ledger_count("qbo")

    result = rworld.manual.adopt_document(OPERATOR, doc.idempotency_key, "ACCT-991")

    assert result.matched == 1
    assert rworld.poster().post_pending(cid, worker_id="w1").posted == 0
    assert rworld.ledger_count("qbo") == before
    [row] = rworld.outbox_rows(rma)
    assert row.status is OutboxStatus.POSTED and row.remote_number == "ACCT-991"


def test_void_in_the_ledger(rworld: ReturnsWorld) -> None:
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    rworld.manual.replan(OPERATOR, org, rma)
    assert rworld.poster().post_pending(cid, worker_id="w1").posted == 1
    [row] = rworld.outbox_rows(rma)
    with pytest.raises(PermissionDenied):
        rworld.manual.void(Actor("vic", Role.VIEWER), row.idempotency_key)

    assert rworld.manual.void(ADMIN, row.idempotency_key) == "voided"

    [doc] = [d for d in rworld.ledger("qbo", REALM) if d["id"] == row.remote_id]
    assert doc["status"] == "voided" and doc["total"] == "0.00"
    [after] = rworld.outbox_rows(rma)
    assert after.remote_state == "voided"
