"""Recording a manual entry: queue its documents, or park the one a person entered in the ledger.

Every status change goes through the outbox's named transitions (:mod:`desktop.services.pipeline.outbox`):
the documents are enqueued under the sync's own keys, and the one entered by hand is parked
*awaiting adoption* so no poster sends it and no Retry releases it.
"""

from __future__ import annotations

import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.events import EventKind, Severity
from desktop.services.manual.model import AUDIT_RECORDED, AUDIT_REFUSED, ManualForm, SubmitResult
from desktop.services.manual.validate import Planning
from desktop.services.pipeline import outbox
from desktop.services.platforms.registry import platform_for
from desktop.services.store.connection_choice import org_connection
from desktop.services.store.models import (
    ManualEntry,
    ManualEntryPath,
    ManualEntryStatus,
    OutboxDocument,
    QuarantineReason,
    Return,
    ReturnSyncStatus,
)

__all__ = ["Recording"]


class Recording(Planning):
    """``submit`` of :class:`~desktop.services.manual.service.ManualEntryService`."""

    def submit(self, actor: Actor, form: ManualForm) -> SubmitResult:
        """Validate and, when clean, record the entry along the form's path (audited either way)."""
        actor.require(Action.MANUAL_ENTRY)
        prepared = self.validate(form)
        result = SubmitResult(prepared)
        now = self._clock.now()
        if prepared.problems or not prepared.documents:
            result.prevented = len(prepared.problems)
            with self._db.write_session() as s:
                audit.append(s, self._clock, actor=actor.username, action=AUDIT_REFUSED, target=prepared.rma,
                             organization_id=self._org_id(s, form.org), details={
                                 "prevented": result.prevented, "codes": [p.code for p in prepared.problems],
                                 "path": form.path.value})
            self._emit(EventKind.DOCUMENT_QUARANTINED, Severity.INFO,
                       f"Manual entry for {prepared.rma} stopped: {result.prevented} problem(s) prevented",
                       form.org, prepared.rma, prevented=result.prevented, error_prevented=True, manual_entry=True,
                       codes=[p.code for p in prepared.problems])
            return result
        number = (form.doc_number or "").strip() or None
        with self._db.write_session() as s:
            org_id = self._org_id(s, form.org)
            assert org_id is not None and prepared.return_id is not None
            conn_id = org_connection(s, org_id)
            outbox.enqueue(s, prepared.documents, org_id, conn_id, prepared.return_id, now=now)
            rows = {r.idempotency_key: r for r in s.scalars(sa.select(OutboxDocument).where(
                OutboxDocument.idempotency_key.in_([d.idempotency_key for d in prepared.documents])))}
            for i, doc in enumerate(prepared.documents):
                row = rows[doc.idempotency_key]
                outbox.replace_document(row, doc, conn_id, now=now)
                direct = form.path is ManualEntryPath.ENTERED_DIRECTLY and i == 0
                if direct:
                    outbox.await_adoption(row, number, f"Entered by hand in "
                                          f"{platform_for(doc.platform).display_name} as {number}: waiting to "
                                          "find it there and adopt it", now=now)
                elif form.path is ManualEntryPath.ENTERED_DIRECTLY:
                    continue  # a companion document: the sync posts it as usual
                entry = ManualEntry(
                    organization_id=org_id, rma=prepared.rma, return_id=prepared.return_id,
                    path=ManualEntryPath.ENTERED_DIRECTLY if direct else ManualEntryPath.QUEUED,
                    idempotency_key=doc.idempotency_key, outbox_document_id=row.id,
                    ledger_doc_number=number if direct else None,
                    payload={"doc_type": doc.doc_type, "role": doc.role, "total": f"{doc.total.amount:f}",
                             "currency": doc.currency, "date": doc.txn_date.isoformat(), "note": form.note},
                    status=ManualEntryStatus.QUEUED, created_by=actor.username, created_at=now, updated_at=now)
                s.add(entry)
                s.flush()
                result.entry_ids.append(entry.id)
            ret = s.get(Return, prepared.return_id)
            if ret is not None and ret.sync_status in (ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED):
                ret.sync_status, ret.updated_at = ReturnSyncStatus.READY, now
            s.execute(sa.update(QuarantineReason).where(QuarantineReason.return_id == prepared.return_id,
                                                        QuarantineReason.resolved_at.is_(None))
                      .values(resolved_at=now, resolved_by=actor.username))
            audit.append(s, self._clock, actor=actor.username, action=AUDIT_RECORDED, target=prepared.rma,
                         organization_id=org_id, details={"path": form.path.value, "doc_number": number,
                                                          "keys": [d.idempotency_key for d in prepared.documents]})
        how = (f"entered directly in the ledger as {number}" if form.path is ManualEntryPath.ENTERED_DIRECTLY
               else "queued for posting when the ledger is reachable")
        self._emit(EventKind.DOCUMENT_ENTERED_MANUALLY, Severity.INFO, f"{prepared.rma} recorded by hand: {how}",
                   form.org, prepared.rma, path=form.path.value, doc_number=number)
        return result
