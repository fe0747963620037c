"""Manual fallback entry: record a return's posting by hand while sync is down, never twice.

A person picks a return and says how its documents reach the ledger:

- **queue** (:attr:`ManualEntryPath.QUEUED`): the documents go into the outbox now, under the same
  idempotency keys the sync would use, and the poster sends them once the ledger is reachable;
- **entered directly** (:attr:`ManualEntryPath.ENTERED_DIRECTLY`): "I typed it into QuickBooks/Xero
  as document N". The return's main document is parked in the outbox in the state *awaiting
  adoption* (no poster ever claims it, and no Retry can release it) and :meth:`ManualEntryService.adopt_pending`
  later finds N in the ledger by its number, checks the amount and adopts it as posted — the sync
  posts nothing for it. Companion documents (a Xero refund payment, a fee journal) stay queued
  and follow automatically, the payment paying the adopted credit note.

Validation is the sync's own plan and pre-flight (:func:`desktop.services.pipeline.plan.plan_return`) plus
what only a hand-typed entry can get wrong (amount typed, document number, already posted / queued / entered).
Every problem that stops a submission counts as a *manual entry error prevented* (audited, so the
dashboard metric survives restarts and cannot be edited quietly).

The service is assembled from one part per concern: planning and validation
(:mod:`~desktop.services.manual.validate`), recording (:mod:`~desktop.services.manual.submit`),
adoption (:mod:`~desktop.services.manual.adoption`), the Returns page's actions
(:mod:`~desktop.services.manual.actions`) and export (:mod:`~desktop.services.manual.export`);
the ledger is reached only through the connection's
:class:`~desktop.services.platforms.interface.LedgerPlatform` (find by number, void) and what differs
per platform is asked of its profile.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from desktop.services.manual.actions import Actions
from desktop.services.manual.adoption import Adoption
from desktop.services.manual.export import Exporting
from desktop.services.manual.model import AUDIT_REFUSED
from desktop.services.manual.submit import Recording
from desktop.services.store.models import (
    AuditLog,
    ManualEntry,
    ManualEntryPath,
    ManualEntryStatus,
    Organization,
    OutboxDocument,
    OutboxStatus,
)

__all__ = ["ManualEntryService"]


class ManualEntryService(Recording, Adoption, Actions, Exporting):
    """Validate, record, adopt and export manual entries (see the module docstring)."""

    def refresh_statuses(self) -> int:
        """Queued entries whose document has posted become POSTED; returns how many changed."""
        now = self._clock.now()
        with self._db.write_session() as s:
            ids = list(s.scalars(sa.select(ManualEntry.id).join(
                OutboxDocument, OutboxDocument.id == ManualEntry.outbox_document_id).where(
                ManualEntry.status == ManualEntryStatus.QUEUED, ManualEntry.path == ManualEntryPath.QUEUED,
                OutboxDocument.status == OutboxStatus.POSTED)))
            if ids:
                s.execute(sa.update(ManualEntry).where(ManualEntry.id.in_(ids))
                          .values(status=ManualEntryStatus.POSTED, updated_at=now))
            return len(ids)

    def entries(self, org: str | None = None, *, limit: int = 500) -> list[dict[str, Any]]:
        """Recent manual entries with their document's state, newest first (the page's list)."""
        self.refresh_statuses()
        with self._db.session() as s:
            stmt = (sa.select(ManualEntry, Organization.code, OutboxDocument.status, OutboxDocument.remote_number,
                              OutboxDocument.doc_type)
                    .join(Organization, Organization.id == ManualEntry.organization_id)
                    .outerjoin(OutboxDocument, OutboxDocument.id == ManualEntry.outbox_document_id)
                    .order_by(ManualEntry.id.desc()).limit(limit))
            if org:
                stmt = stmt.where(Organization.code == org)
            return [{"id": e.id, "org": code, "rma": e.rma, "path": e.path.value, "status": e.status.value,
                     "doc_type": doc_type or (e.payload or {}).get("doc_type"), "number": e.ledger_doc_number or number,
                     "outbox": status.value if status is not None else None, "total": (e.payload or {}).get("total"),
                     "currency": (e.payload or {}).get("currency"), "by": e.created_by, "at": e.created_at}
                    for e, code, status, number, doc_type in s.execute(stmt)]

    def prevented_count(self, org: str | None = None) -> int:
        """Manual entry errors prevented so far (from the audit log)."""
        with self._db.session() as s:
            stmt = sa.select(AuditLog.details).where(AuditLog.action == AUDIT_REFUSED)
            if org:
                stmt = stmt.where(AuditLog.organization_id == self._org_id(s, org))
            return sum(int((d or {}).get("prevented", 0)) for d in s.scalars(stmt))
