"""Tell the RMS a return revision is in the ledger: ``POST /v1/returns/{id}/accounting-status``.

When every outbox document of a return revision is posted, the RMS receives one write-back:
status ``posted``, the platform, the company id and the documents (type, remote id, number,
total as a decimal string, currency). The ``Idempotency-Key`` is a pure function of
(organization, RMS id, revision) and the body is built only from stored values (``occurred_at``
is the last document's ``posted_at``), so a repeat after a lost answer sends the very same
request and the RMS replays its record instead of adding a second one.

Where the state lives (design note): ``outbox_documents.written_back_at``. A revision needs a
write-back while all its documents are posted and any of them has ``written_back_at`` NULL; a
success stamps all of them. A failure changes nothing but emits ``writeback.failed``, so the next
:meth:`WriteBackService.run` simply tries again — write-back never blocks or delays posting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from desktop.services.clock import Clock
from desktop.services.errors import AppError
from desktop.services.events import EventBus, EventKind, Severity
from desktop.services.rms.client import RmsClient
from desktop.services.store.db import Database
from desktop.services.store.models import LedgerConnection, Organization, OutboxDocument, OutboxStatus, Return

__all__ = ["WriteBackResult", "WriteBackService", "writeback_key"]


def writeback_key(org_code: str, rms_id: str, revision: int, status: str = "posted") -> str:
    """Deterministic Idempotency-Key of one revision's write-back (≤ 255 characters)."""
    digest = hashlib.sha256("\x1f".join(("writeback", org_code, rms_id, str(revision), status)).encode())
    return "rls-wb-" + digest.hexdigest()[:40]


@dataclass
class WriteBackResult:
    sent: int = 0
    replayed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class WriteBackService:
    """Sends pending write-backs of one organization (see the module docstring)."""

    def __init__(self, db: Database, bus: EventBus, clock: Clock, rms_client_for: Callable[[str], RmsClient]) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._client_for = rms_client_for

    def pending(self, org_code: str) -> list[int]:
        """Return-revision ids whose documents are all posted and not yet written back."""
        not_posted = sa.func.sum(sa.case((OutboxDocument.status != OutboxStatus.POSTED, 1), else_=0))
        unwritten = sa.func.sum(sa.case((OutboxDocument.written_back_at.is_(None), 1), else_=0))
        with self._db.session() as s:
            return list(s.scalars(
                sa.select(OutboxDocument.return_id).join(Organization)
                .where(Organization.code == org_code, OutboxDocument.return_id.is_not(None))
                .group_by(OutboxDocument.return_id).having(not_posted == 0, unwritten > 0)
                .order_by(OutboxDocument.return_id)))

    def _body(self, return_id: int) -> tuple[Return, str, dict[str, Any], list[int]]:
        with self._db.session() as s:
            ret = s.get(Return, return_id)
            assert ret is not None
            rows = list(s.scalars(sa.select(OutboxDocument).where(OutboxDocument.return_id == return_id)
                                  .order_by(OutboxDocument.id)))
            conn = s.get(LedgerConnection, rows[0].connection_id) if rows[0].connection_id is not None else None
            org = s.get(Organization, ret.organization_id)
            assert org is not None
            docs: list[dict[str, Any]] = []
            for r in rows:
                doc: dict[str, Any] = {"type": r.doc_type, "id": r.remote_id or ""}
                if r.remote_number:
                    doc["number"] = r.remote_number
                if r.total is not None:
                    doc["total"] = f"{r.total.amount:f}"
                    doc["currency"] = r.total.currency
                docs.append(doc)
            posted = max(r.posted_at for r in rows if r.posted_at is not None)
            body: dict[str, Any] = {"revision": ret.revision, "status": "posted", "platform": rows[0].platform.value,
                                    "documents": docs, "occurred_at": posted.isoformat()}
            if conn is not None:
                body["company_id"] = conn.remote_id
            return ret, org.code, body, [r.id for r in rows]

    def run(self, org_code: str) -> WriteBackResult:
        """Send every pending write-back of ``org_code``; failures are reported and retried next time."""
        result = WriteBackResult()
        ids = self.pending(org_code)
        if not ids:
            return result
        client = self._client_for(org_code)
        for return_id in ids:
            ret, code, body, row_ids = self._body(return_id)
            key = writeback_key(code, ret.rms_id, ret.revision)
            try:
                answer = client.write_back(ret.rms_id, body, key)
            except AppError as err:
                result.failed += 1
                result.errors.append(err.user_message())
                self._bus.emit_error(EventKind.WRITEBACK_FAILED, err, org=code, rma=ret.rma_number,
                                     details={"rms_id": ret.rms_id, "revision": ret.revision, "will_retry": True})
                continue
            now = self._clock.now()
            with self._db.write_session() as s:
                s.execute(sa.update(OutboxDocument).where(OutboxDocument.id.in_(row_ids))
                          .values(written_back_at=now, updated_at=now))
            if answer.replayed:
                result.replayed += 1
            else:
                result.sent += 1
            self._bus.emit(EventKind.WRITEBACK_SUCCEEDED, Severity.INFO,
                           f"Told the RMS that {ret.rma_number} revision {ret.revision} is posted "
                           f"({len(body['documents'])} document{'s' if len(body['documents']) != 1 else ''})",
                           org=code, rma=ret.rma_number,
                           details={"rms_id": ret.rms_id, "revision": ret.revision, "replayed": answer.replayed})
        return result
