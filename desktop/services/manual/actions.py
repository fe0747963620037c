"""The Returns page's actions on a return's documents: Retry, Re-plan after a fix, Void in the ledger."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.admin import approvals, audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.events import EventKind, Severity
from desktop.services.core.money import Money
from desktop.services.manual.model import Prepared
from desktop.services.manual.validate import Planning
from desktop.services.pipeline import outbox
from desktop.services.queries.errors import ErrorsQueue
from desktop.services.store.connection_choice import org_connection
from desktop.services.store.models import (
    ApprovalRequest,
    Organization,
    OutboxDocument,
    OutboxStatus,
    QuarantineReason,
    Return,
    ReturnSyncStatus,
)

__all__ = ["Actions"]


class Actions(Planning):
    """``retry``, ``replan`` and ``void`` of :class:`~desktop.services.manual.service.ManualEntryService`."""

    def retry(self, actor: Actor, document_key: str) -> str:
        """The Returns page's Retry: the app's one Retry (:meth:`ErrorsQueue.retry`)."""
        return ErrorsQueue(self._db, self._clock, self._bus).retry(actor, document_key)

    def replan(self, actor: Actor, org: str, rma: str) -> Prepared:
        """Re-post after a mapping fix: rebuild the documents; clean ones replace the unposted rows."""
        actor.require(Action.RESOLVE_ERRORS)
        prepared = self.prepare(org, rma)
        now = self._clock.now()
        if prepared.return_id is None:
            return prepared
        with self._db.write_session() as s:
            org_id = self._org_id(s, org)
            assert org_id is not None
            ret = s.get(Return, prepared.return_id)
            s.execute(sa.update(QuarantineReason).where(QuarantineReason.return_id == prepared.return_id,
                                                        QuarantineReason.resolved_at.is_(None))
                      .values(resolved_at=now, resolved_by=actor.username))
            if prepared.problems or not prepared.documents:
                for p in prepared.problems:
                    s.add(QuarantineReason(return_id=prepared.return_id, code=p.code, message=p.message,
                                           details={"field": p.field}, created_at=now))
                if ret is not None and ret.sync_status is not ReturnSyncStatus.POSTED:
                    ret.sync_status, ret.updated_at = ReturnSyncStatus.QUARANTINED, now
            else:
                conn_id = org_connection(s, org_id)
                outbox.enqueue(s, prepared.documents, org_id, conn_id, prepared.return_id, now=now)
                rows = {r.idempotency_key: r for r in s.scalars(sa.select(OutboxDocument).where(
                    OutboxDocument.idempotency_key.in_([d.idempotency_key for d in prepared.documents])))}
                for doc in prepared.documents:
                    row = rows[doc.idempotency_key]
                    if row.status in outbox.TRANSITIONS["replace_document"]:
                        outbox.replace_document(row, doc, conn_id, now=now)
                if ret is not None and ret.sync_status in (ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED):
                    ret.sync_status, ret.updated_at = ReturnSyncStatus.READY, now
            audit.append(s, self._clock, actor=actor.username, action="return.replan", target=prepared.rma,
                         organization_id=org_id, details={"problems": [p.code for p in prepared.problems]})
        if not prepared.problems:
            self._emit(EventKind.DOCUMENT_RELEASED, Severity.INFO, f"{prepared.rma} re-planned after a fix: "
                       f"{len(prepared.documents)} document(s) ready to post", org, prepared.rma)
        return prepared

    def void(self, actor: Actor, document_key: str) -> str:
        """Void a posted document in the ledger (a person confirmed it in the view): ``"voided"``, or
        ``"awaiting_approval"`` when the organization's maker-checker policy wants a second person."""
        actor.require(Action.POST_DOCUMENTS)
        with self._db.session() as s:
            row = self._voidable(s, document_key)
            org_id, total, return_id = row.organization_id, row.total, row.return_id
            shown = f"{row.doc_type} {row.remote_number or row.remote_id}"
            org = s.scalar(sa.select(Organization.code).where(Organization.id == org_id))
            policy = approvals.policy(s, org_id)
        if policy.on and approvals.ApprovalKind.VOID in policy.kinds:
            home = self._home_value(str(org), return_id, total)
            if policy.needs(approvals.ApprovalKind.VOID, home):
                with self._db.write_session() as s:
                    req = approvals.request(s, self._clock, actor, org_id, approvals.ApprovalKind.VOID, document_key,
                                            f"Void {shown} in the ledger ({total})", {"document_key": document_key},
                                            amount=total, home_amount=home)
                self._emit(approvals.EVENT_REQUESTED, Severity.INFO, f"Voiding {shown} waits for a "
                           f"second person's approval (request {req.id})", org, None, document_key=document_key)
                return "awaiting_approval"
        return self._void(actor, document_key)

    def void_approved(self, actor: Actor, request_id: int, note: str = "") -> str:
        """Maker-checker: void the document of request ``request_id``, approved by ``actor``."""
        with self._db.session() as s:
            req = approvals.precheck(s.get(ApprovalRequest, request_id), actor, request_id, approvals.ApprovalKind.VOID)
            key = str(req.payload["document_key"])
            self._voidable(s, key)
        return self._void(actor, key, approval=request_id, note=note)

    def _home_value(self, org: str, return_id: int | None, total: Money | None) -> Money | None:
        """The document's total in the home currency at the rate its return is planned with (None: unknown)."""
        if total is None or return_id is None:
            return None
        ctx = self._planner.context(org)
        with self._db.session() as s:
            ret = s.get(Return, return_id)
            if ret is None:
                return None
            try:
                record = ctx.record(ret)
            except ValueError:
                return None
        return ctx.home_value(record, total)

    @staticmethod
    def _voidable(s: Session, document_key: str) -> OutboxDocument:
        row = s.scalar(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == document_key))
        if row is None or row.status is not OutboxStatus.POSTED or not row.remote_id or row.connection_id is None:
            raise NeedsPersonError("Only a document posted to the ledger can be voided there")
        return row

    def _void(self, actor: Actor, document_key: str, *, approval: int | None = None, note: str = "") -> str:
        with self._db.session() as s:
            row = self._voidable(s, document_key)
            doc_type, remote_id, conn_id, org_id = row.doc_type, row.remote_id, row.connection_id, row.organization_id
        assert remote_id is not None and conn_id is not None
        if self._connections is None:
            raise NeedsPersonError("No ledger connection is available")
        self._connections.connector(conn_id).void(doc_type, remote_id)
        now = self._clock.now()
        with self._db.write_session() as s:
            if approval is not None:
                approvals.decide(s, self._clock, actor, approval, note, approve=True, kind=approvals.ApprovalKind.VOID)
            live = s.scalar(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == document_key))
            if live is not None:
                live.remote_updated_at = now
                outbox.note_remote_state(live, "voided", now=now, actor=actor.username)  # audited there
            else:
                audit.append(s, self._clock, actor=actor.username, action="document.voided", target=document_key,
                             organization_id=org_id, details={"remote_id": remote_id, "doc_type": doc_type})
        self._emit(EventKind.DOCUMENT_VOIDED_IN_LEDGER, Severity.INFO, f"{actor.username} voided {doc_type} "
                   f"{remote_id} in the ledger", None, None, document_key=document_key)
        return "voided"
