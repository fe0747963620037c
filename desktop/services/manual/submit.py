"""Recording a manual entry: queue its documents, or park the one a person entered in the ledger.

Every status change goes through the outbox's named transitions (:mod:`desktop.services.pipeline.outbox`):
the documents are enqueued under the sync's own keys, and the one entered by hand is parked
*awaiting adoption* so no poster sends it and no Retry releases it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.admin import approvals, audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.enums import ApprovalKind
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.events import EventKind, Severity
from desktop.services.manual.model import (
    AUDIT_RECORDED,
    AUDIT_REFUSED,
    ManualForm,
    Prepared,
    SubmitResult,
    form_from_json,
    form_json,
)
from desktop.services.manual.validate import Planning
from desktop.services.pipeline import outbox
from desktop.services.platforms.registry import platform_for
from desktop.services.store.connection_choice import org_connection
from desktop.services.store.models import (
    ApprovalRequest,
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
    """``submit`` and ``record_approved`` of :class:`~desktop.services.manual.service.ManualEntryService`."""

    def submit(self, actor: Actor, form: ManualForm) -> SubmitResult:
        """Validate and, when clean, record the entry along the form's path (audited either way).

        Maker-checker: when the organization's policy wants a second person for this refund
        (:mod:`desktop.services.admin.approvals`), nothing reaches the outbox; the result names the
        request, and :meth:`record_approved` records it once someone else approves."""
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
        with self._db.write_session() as s:
            org_id = self._org_id(s, form.org)
            assert org_id is not None and prepared.return_id is not None
            if approvals.policy(s, org_id).needs(ApprovalKind.MANUAL_ENTRY, prepared.home_refund):
                result.approval_id = approvals.request(
                    s, self._clock, actor, org_id, ApprovalKind.MANUAL_ENTRY, prepared.rma,
                    f"Record {prepared.rma} by hand ({form.path.value.replace('_', ' ')}), refund {prepared.refund}",
                    form_json(form), amount=prepared.refund, home_amount=prepared.home_refund).id
            else:
                result.entry_ids = self._record(s, actor, form, prepared, org_id, now)
        if result.approval_id is not None:
            self._emit(approvals.EVENT_REQUESTED, Severity.INFO, f"{prepared.rma} recorded by hand waits for a "
                       f"second person's approval (request {result.approval_id})", form.org, prepared.rma,
                       approval=result.approval_id)
            return result
        self._announce(form, prepared)
        return result

    def record_approved(self, actor: Actor, request_id: int, note: str = "") -> SubmitResult:
        """Maker-checker: record the manual entry of request ``request_id`` as its maker asked, approved by
        ``actor`` in the same transaction. Re-planned now; refused if the return changed since."""
        with self._db.session() as s:
            row = approvals.precheck(s.get(ApprovalRequest, request_id), actor, request_id,
                                     ApprovalKind.MANUAL_ENTRY)
            form, maker, asked = form_from_json(row.payload), row.requested_by, row.amount
        prepared = self.validate(form)
        if not prepared.ok:
            raise NeedsPersonError(f"Request {request_id} cannot be recorded any more: " +
                                   "; ".join(p.message for p in prepared.problems),
                                   action="reject it, and record the return again if it still needs it")
        if asked is not None and prepared.refund != asked:
            raise NeedsPersonError(f"{prepared.rma} now refunds {prepared.refund}, not the {asked} that was asked "
                                   "for", action="reject the request; its maker can record the return again")
        result, now = SubmitResult(prepared, approval_id=request_id), self._clock.now()
        with self._db.write_session() as s:
            org_id = self._org_id(s, form.org)
            assert org_id is not None
            approvals.decide(s, self._clock, actor, request_id, note, approve=True, kind=ApprovalKind.MANUAL_ENTRY)
            result.entry_ids = self._record(s, actor, form, prepared, org_id, now, maker=maker, approval=request_id)
        self._announce(form, prepared)
        return result

    def _record(self, s: Session, actor: Actor, form: ManualForm, prepared: Prepared, org_id: int, now: datetime,
                *, maker: str | None = None, approval: int | None = None) -> list[int]:
        """Put the documents in the outbox and the entries beside them (the caller's transaction)."""
        assert prepared.return_id is not None
        number = (form.doc_number or "").strip() or None
        entry_ids: list[int] = []
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
                status=ManualEntryStatus.QUEUED, created_by=maker or actor.username, created_at=now, updated_at=now)
            s.add(entry)
            s.flush()
            entry_ids.append(entry.id)
        ret = s.get(Return, prepared.return_id)
        if ret is not None and ret.sync_status in (ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED):
            ret.sync_status, ret.updated_at = ReturnSyncStatus.READY, now
        s.execute(sa.update(QuarantineReason).where(QuarantineReason.return_id == prepared.return_id,
                                                    QuarantineReason.resolved_at.is_(None))
                  .values(resolved_at=now, resolved_by=actor.username))
        audit.append(s, self._clock, actor=actor.username, action=AUDIT_RECORDED, target=prepared.rma,
                     organization_id=org_id, details={"path": form.path.value, "doc_number": number,
                                                      "keys": [d.idempotency_key for d in prepared.documents],
                                                      **({"approval": approval, "requested_by": maker}
                                                         if approval is not None else {})})
        return entry_ids

    def _announce(self, form: ManualForm, prepared: Prepared) -> None:
        number = (form.doc_number or "").strip() or None
        how = (f"entered directly in the ledger as {number}" if form.path is ManualEntryPath.ENTERED_DIRECTLY
               else "queued for posting when the ledger is reachable")
        self._emit(EventKind.DOCUMENT_ENTERED_MANUALLY, Severity.INFO, f"{prepared.rma} recorded by hand: {how}",
                   form.org, prepared.rma, path=form.path.value, doc_number=number)
