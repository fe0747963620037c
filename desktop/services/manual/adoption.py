"""Adoption: a document a person entered in the ledger is found there by its number and settled as posted.

Called before posting (the sync's push step), so an adopted document is never sent. Not found yet,
or the ledger cannot be reached: it stays parked *awaiting adoption* and the next run asks again.
The outbox's ``adopt`` / ``await_adoption`` transitions make every state change.
"""

from __future__ import annotations

import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.core.errors import NeedsPersonError, TransientError
from desktop.services.core.events import EventKind, Severity
from desktop.services.manual.base import ServiceBase
from desktop.services.manual.model import AUDIT_ADOPTED, AdoptResult
from desktop.services.pipeline import outbox
from desktop.services.store.models import (
    ManualEntry,
    ManualEntryPath,
    ManualEntryStatus,
    OutboxDocument,
    OutboxStatus,
    Return,
)

__all__ = ["Adoption"]


class Adoption(ServiceBase):
    """``adopt_pending``, ``adopt_all`` and ``adopt_document`` of the manual-entry service."""

    def adopt_pending(self, connection_id: int) -> AdoptResult:
        """Find every hand-entered document of the connection by its number and adopt it.

        Call before posting (the sync's push step): an adopted document is settled as posted
        with the ledger's id, so nothing is sent for it. Not found yet, or the ledger cannot be
        reached: it stays parked and the next run asks again.
        """
        result = AdoptResult()
        with self._db.session() as s:
            pairs = list(s.execute(sa.select(ManualEntry, OutboxDocument).join(
                OutboxDocument, OutboxDocument.id == ManualEntry.outbox_document_id).where(
                ManualEntry.path == ManualEntryPath.ENTERED_DIRECTLY, ManualEntry.status == ManualEntryStatus.QUEUED,
                OutboxDocument.connection_id == connection_id)))
        if not pairs:
            return result
        ledger = self._connections.connector(connection_id)
        for entry, row in pairs:
            try:
                found = ledger.find_by_number(row.doc_type, entry.ledger_doc_number or "")
            except TransientError:
                result.waiting += 1
                continue
            if found is None:
                result.waiting += 1
                result.messages.append(f"{entry.ledger_doc_number} is not in the ledger yet")
                continue
            # The ledger's total as pull reads it (a journal's: its debits), in the document's own currency.
            total = ledger.profile.view(row.doc_type, found.raw).total
            expected = row.total
            if expected is not None and total is not None and total != expected.amount:
                result.mismatched += 1
                msg = (f"{row.doc_type} {entry.ledger_doc_number} in the ledger totals {total}, but "
                       f"{entry.rma} needs {expected}: correct one of them, then adopt again")
                result.messages.append(msg)
                self._park(row.id, entry.ledger_doc_number, msg)
                continue
            self._settle_adopted(entry.id, row.id, found.remote_id, found.number, found.sync_token)
            result.matched += 1
            self._emit(EventKind.DOCUMENT_DUPLICATE_PREVENTED, Severity.INFO,
                       f"{row.doc_type} {found.number or found.remote_id} was entered by hand; adopted, not posted "
                       "again", None, entry.rma, document_key=row.idempotency_key, resolution="adopted")
        return result

    def adopt_all(self) -> AdoptResult:
        """:meth:`adopt_pending` for every connection with hand-entered documents waiting."""
        with self._db.session() as s:
            ids = list(s.scalars(sa.select(OutboxDocument.connection_id).join(
                ManualEntry, ManualEntry.outbox_document_id == OutboxDocument.id).where(
                ManualEntry.path == ManualEntryPath.ENTERED_DIRECTLY, ManualEntry.status == ManualEntryStatus.QUEUED,
                OutboxDocument.connection_id.is_not(None)).distinct()))
        total = AdoptResult()
        for cid in ids:
            if cid is None:
                continue
            part = self.adopt_pending(cid)
            total.matched += part.matched
            total.waiting += part.waiting
            total.mismatched += part.mismatched
            total.messages += part.messages
        return total

    def _park(self, row_id: int, number: str | None, message: str) -> None:
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.get(OutboxDocument, row_id)
            if row is not None and row.status is OutboxStatus.AWAITING_ADOPTION:
                outbox.note_adoption_problem(row, message, now=now)

    def _settle_adopted(self, entry_id: int, row_id: int, remote_id: str, number: str | None,
                        sync_token: str | None) -> None:
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.get(OutboxDocument, row_id)
            entry = s.get(ManualEntry, entry_id)
            if row is None or entry is None or row.status is OutboxStatus.POSTED:
                return
            outbox.adopt(row, remote_id, number, sync_token, now=now,
                         resolution={"resolution": "adopted", "manual_entry": entry_id})
            entry.status, entry.updated_at = ManualEntryStatus.MATCHED, now
            outbox.mark_returns_posted(s, [row.return_id], now)
            audit.append(s, self._clock, actor="system", action=AUDIT_ADOPTED, target=entry.rma,
                         organization_id=entry.organization_id,
                         details={"key": row.idempotency_key, "remote_id": remote_id, "number": number})

    def adopt_document(self, actor: Actor, document_key: str, number: str) -> AdoptResult:
        """Returns page "Adopt…": this outbox document is already in the ledger as ``number``."""
        actor.require(Action.RESOLVE_ERRORS)
        number = number.strip()
        now = self._clock.now()
        with self._db.write_session() as s:
            row = s.scalar(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == document_key))
            if row is None:
                raise NeedsPersonError(f"There is no document {document_key}")
            if row.status in (OutboxStatus.POSTED, OutboxStatus.IN_FLIGHT):
                raise NeedsPersonError(f"{row.doc_type} {document_key} is {row.status.value}; nothing to adopt")
            if not number:
                raise NeedsPersonError("Type the ledger's number of the document to adopt")
            rma = s.scalar(sa.select(Return.rma_number).where(Return.id == row.return_id)) or document_key
            entry = s.scalar(sa.select(ManualEntry).where(ManualEntry.idempotency_key == document_key))
            if entry is None:
                entry = ManualEntry(organization_id=row.organization_id, rma=rma, return_id=row.return_id,
                                    path=ManualEntryPath.ENTERED_DIRECTLY, idempotency_key=document_key,
                                    outbox_document_id=row.id, payload={"doc_type": row.doc_type, "adopt": True},
                                    status=ManualEntryStatus.QUEUED, created_by=actor.username, created_at=now,
                                    updated_at=now)
                s.add(entry)
            entry.path, entry.status, entry.ledger_doc_number = (ManualEntryPath.ENTERED_DIRECTLY,
                                                                 ManualEntryStatus.QUEUED, number)
            entry.updated_at = now
            outbox.await_adoption(row, number, f"To be adopted as {number}", now=now)
            conn_id = row.connection_id
            audit.append(s, self._clock, actor=actor.username, action="document.adopt_requested", target=document_key,
                         organization_id=row.organization_id, details={"number": number})
        if conn_id is None or self._connections is None:
            return AdoptResult(waiting=1)
        return self.adopt_pending(conn_id)
