"""Maker-checker against the sandbox ledgers, on SQLite and PostgreSQL.

With a threshold set, a manual entry at or above it reaches neither the outbox nor the ledger until
a second account approves (proven by counting the ledger's documents through the sandbox); below
it, it is recorded at once. The maker may not approve their own request, a viewer nothing; a
rejection leaves nothing behind; a void and a mapping change wait the same way; and every request
and decision is in the sealed audit trail, which still verifies.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.admin.approvals import ApprovalKind, ApprovalStatus
from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.errors import NeedsPersonError, PermissionDenied
from desktop.services.manual import ManualForm
from desktop.services.manual.approvals import ApprovalService
from desktop.services.reconcile.adjust import AdjustService
from desktop.services.store.models import ManualEntry, ManualEntryPath, OutboxStatus
from tests.helpers.returns import REALM, ReturnsWorld
from tests.helpers.worlds import ADMIN, VIEWER

MAKER = Actor("olga", Role.OPERATOR)
CHECKER = Actor("oscar", Role.OPERATOR)
SECOND_ADMIN = Actor("bob", Role.ADMIN)


def _approvals(w: ReturnsWorld) -> ApprovalService:
    return ApprovalService(w.db, w.clock, w.bus, w.manual, w.mapping, AdjustService(w.db, w.clock, w.bus, w.mapping))


def _form(w: ReturnsWorld, org: str, rma: str) -> ManualForm:
    refund = w.manual.prepare(org, rma).refund
    return ManualForm(org, rma, ManualEntryPath.QUEUED, amount=refund.amount if refund else None, note="sync down")


def _verified(w: ReturnsWorld) -> None:
    with w.db.session() as s:
        report = audit.verify_chain(s)
    assert report.intact, report.reason


def _actions(w: ReturnsWorld) -> list[str]:
    return [action for _actor, action, _target in w.audit()]


def test_a_manual_entry_at_the_threshold_waits_for_a_second_person(rworld: ReturnsWorld) -> None:
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=False)
    home = rworld.manual.prepare(org, rma).home_refund
    assert home is not None
    approvals = _approvals(rworld)
    approvals.set_threshold(ADMIN, org, home.amount)  # at the threshold: it waits
    before = rworld.ledger_count("qbo")

    result = rworld.manual.submit(MAKER, _form(rworld, org, rma))

    assert result.awaiting_approval and result.entry_ids == []
    assert rworld.outbox_rows(rma) == [], "nothing reaches the outbox before approval"
    assert rworld.fast_poster().post_pending(cid, worker_id="w1").posted == 0
    assert rworld.ledger_count("qbo") == before
    [pending] = approvals.requests(VIEWER)
    assert (pending.id, pending.kind, pending.requested_by, pending.amount) == (
        result.approval_id, ApprovalKind.MANUAL_ENTRY, "olga", result.prepared.refund)
    with pytest.raises(PermissionDenied, match="second person"):
        approvals.approve(MAKER, pending.id, "my own")
    with pytest.raises(PermissionDenied):
        approvals.approve(VIEWER, pending.id, "")
    with pytest.raises(NeedsPersonError, match="already waits"):
        rworld.manual.submit(MAKER, _form(rworld, org, rma))
    assert rworld.outbox_rows(rma) == [] and rworld.ledger_count("qbo") == before

    decided = approvals.approve(CHECKER, pending.id, "checked against the RMS")
    posted = rworld.fast_poster().post_pending(cid, worker_id="w2")

    assert (decided.status, decided.decided_by, decided.note) == (ApprovalStatus.APPROVED, "oscar",
                                                                   "checked against the RMS")
    keys = [d.idempotency_key for d in result.prepared.documents]
    assert posted.posted == len(keys) and rworld.ledger_count("qbo") == before + len(keys)
    assert {r.status for r in rworld.outbox_rows(rma)} == {OutboxStatus.POSTED}
    with rworld.db.session() as s:
        assert set(s.scalars(sa.select(ManualEntry.created_by))) == {"olga"}, "the maker made the entry"
    with pytest.raises(NeedsPersonError, match="already approved"):
        approvals.approve(SECOND_ADMIN, pending.id, "again")
    assert approvals.requests(VIEWER) == []
    actions = _actions(rworld)
    assert actions.index("approval.requested") < actions.index("approval.approved") < actions.index(
        "manual_entry.recorded")
    assert "approval.policy_set" in actions
    _verified(rworld)


def test_below_the_threshold_it_is_recorded_at_once(rworld: ReturnsWorld) -> None:
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    home = rworld.manual.prepare(org, rma).home_refund
    assert home is not None
    _approvals(rworld).set_threshold(ADMIN, org, home.amount + Decimal("0.01"))
    before = rworld.ledger_count("qbo")

    result = rworld.manual.submit(MAKER, _form(rworld, org, rma))

    assert result.ok and not result.awaiting_approval and len(result.entry_ids) == 1
    assert rworld.fast_poster().post_pending(cid, worker_id="w1").posted == 1
    assert rworld.ledger_count("qbo") == before + 1
    assert "approval.requested" not in _actions(rworld)


def test_a_rejected_entry_leaves_nothing_in_the_outbox_or_the_ledger(rworld: ReturnsWorld) -> None:
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    approvals = _approvals(rworld)
    approvals.set_threshold(ADMIN, org, Decimal("0"))
    before = rworld.ledger_count("qbo")
    result = rworld.manual.submit(MAKER, _form(rworld, org, rma))
    assert result.approval_id is not None
    with pytest.raises(NeedsPersonError, match="why"):
        approvals.reject(CHECKER, result.approval_id, "  ")
    with pytest.raises(PermissionDenied):
        approvals.reject(MAKER, result.approval_id, "never mind")

    rejected = approvals.reject(CHECKER, result.approval_id, "wrong return")

    assert (rejected.status, rejected.note) == (ApprovalStatus.REJECTED, "wrong return")
    assert rworld.fast_poster().post_pending(cid, worker_id="w1").posted == 0
    assert rworld.outbox_rows(rma) == [] and rworld.ledger_count("qbo") == before
    with pytest.raises(NeedsPersonError, match="already rejected"):
        approvals.approve(CHECKER, result.approval_id, "")
    assert "approval.rejected" in _actions(rworld)
    # Turned off: the same entry is recorded at once.
    approvals.set_threshold(ADMIN, org, None)
    assert rworld.manual.submit(MAKER, _form(rworld, org, rma)).entry_ids
    _verified(rworld)


def test_a_void_waits_for_approval_then_voids_in_the_ledger(rworld: ReturnsWorld) -> None:
    cid, org = rworld.ready(Platform.QBO)
    rma = rworld.clean_return(org, single=True)
    rworld.manual.replan(MAKER, org, rma)
    assert rworld.poster().post_pending(cid, worker_id="w1").posted == 1
    [row] = rworld.outbox_rows(rma)
    approvals = _approvals(rworld)
    approvals.set_threshold(ADMIN, org, Decimal("0"), [ApprovalKind.VOID])

    assert rworld.manual.void(MAKER, row.idempotency_key) == "awaiting_approval"
    [doc] = [d for d in rworld.ledger("qbo", REALM) if d["id"] == row.remote_id]
    assert doc["status"] != "voided"
    [pending] = approvals.requests(VIEWER, org=org)
    approvals.approve(CHECKER, pending.id, "customer cancelled")

    [doc] = [d for d in rworld.ledger("qbo", REALM) if d["id"] == row.remote_id]
    assert doc["status"] == "voided"
    _verified(rworld)


def test_a_mapping_change_waits_for_a_second_admin(rworld: ReturnsWorld) -> None:
    _cid, org = rworld.ready(Platform.QBO)
    active = rworld.mapping.active_set(org)
    assert active is not None
    approvals = _approvals(rworld)
    approvals.set_threshold(ADMIN, org, Decimal("1000000"))  # mapping changes wait whatever the amount

    saved = rworld.mapping.save(org, active.rules[:-1], ADMIN, "drop the last rule")

    assert not saved.is_active and rworld.mapping.active_set(org).version == active.version
    [pending] = approvals.requests(VIEWER, org=org)
    assert pending.kind is ApprovalKind.MAPPING and pending.amount is None
    with pytest.raises(PermissionDenied):
        approvals.approve(ADMIN, pending.id, "")  # the maker
    with pytest.raises(PermissionDenied):
        approvals.approve(CHECKER, pending.id, "")  # an operator may not change mappings
    assert rworld.mapping.active_set(org).version == active.version

    approvals.approve(SECOND_ADMIN, pending.id, "reviewed the diff")

    assert rworld.mapping.active_set(org).version == saved.version
    # rolling back is a mapping change too
    back = rworld.mapping.activate(org, active.version, SECOND_ADMIN, "undo")
    assert not back.is_active and rworld.mapping.active_set(org).version == saved.version
    [undo] = approvals.requests(VIEWER, org=org)
    approvals.reject(ADMIN, undo.id, "keep it")
    assert rworld.mapping.active_set(org).version == saved.version
    actions = _actions(rworld)
    assert actions.count("approval.requested") == 2 and "approval.approved" in actions
    _verified(rworld)
