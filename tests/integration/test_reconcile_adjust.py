"""Adjusting entries for variances over the emulated ledger (real HTTP, real database): the
journal for the difference passes the recipes' pre-flight, lands in the outbox once, is audited,
and needs the ``review_variances`` permission."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.errors import NeedsPersonError, PermissionDenied
from desktop.services.mapping.service import MappingService
from desktop.services.reconcile.adjust import AdjustService
from desktop.services.store.models import (
    AuditLog,
    LedgerConnection,
    OutboxDocument,
    OutboxStatus,
    Variance,
)
from tests.helpers.reconcile import qbo_memo
from tests.helpers.worlds import ADMIN, QBO_ORG, World


def _mismatch(recon: World) -> int:
    recon.connect(QBO_ORG, refresh_reference=False)
    with recon.db.session() as s:
        cid = s.execute(sa.select(LedgerConnection.id)).scalar_one()
    recon.connections.refresh_reference_data(ADMIN, cid)
    _, edited, _ = recon.post(QBO_ORG, "CreditMemo", qbo_memo(recon))
    recon.tamper(QBO_ORG, {"op": "edit", "id": edited, "type": "CreditMemo", "set": {"total": "35.00"}})
    recon.reconcile.run(QBO_ORG, recon.period, actor=ADMIN)
    with recon.db.session() as s:
        return s.execute(sa.select(Variance.id).where(Variance.variance_class == "amount_mismatch")).scalar_one()


@pytest.mark.db
def test_an_adjusting_journal_is_checked_queued_once_and_audited(recon: World) -> None:
    vid = _mismatch(recon)
    mapping = MappingService(recon.db, recon.clock, recon.bus)
    service = AdjustService(recon.db, recon.clock, recon.bus, mapping)
    snapshot = mapping.snapshot(QBO_ORG)
    assert snapshot is not None
    active = sorted(a.remote_id for a in snapshot.accounts.values() if a.active)
    debit, credit = active[0], active[1]

    bogus = service.plan(QBO_ORG, vid, "no-such-account", credit)
    assert not bogus.ok and [p.code for p in bogus.problems] == ["unknown_account"]
    with pytest.raises(NeedsPersonError):
        service.enqueue(ADMIN, bogus)

    plan = service.plan(QBO_ORG, vid, debit, credit, memo="edited in QBO by the bookkeeper")
    assert plan.ok, [p.message for p in plan.problems]
    assert plan.document is not None and plan.document.doc_type == "JournalEntry"
    assert plan.document.total.amount == Decimal("5.00") and plan.document.is_balanced()

    with pytest.raises(PermissionDenied):
        service.enqueue(Actor("vic", Role.VIEWER), plan)
    key = service.enqueue(ADMIN, plan)
    assert service.enqueue(ADMIN, service.plan(QBO_ORG, vid, debit, credit)) == key  # a replay queues nothing new

    with recon.db.session() as s:
        rows = list(s.scalars(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == key)))
        assert len(rows) == 1 and rows[0].status is OutboxStatus.PENDING and rows[0].total_minor == 500
        lines = rows[0].payload["Line"]
        assert [ln["JournalEntryLineDetail"]["PostingType"] for ln in lines] == ["Debit", "Credit"]
        assert {ln["Amount"] for ln in lines} == {Decimal("5.00")}
        audits = list(s.scalars(sa.select(AuditLog).where(AuditLog.action == "variance.adjust")))
        assert [a.details["replay"] for a in audits] == [False, True]
        assert audits[0].details["amount"] == "5.00" and audits[0].target == f"variance:{vid}"
