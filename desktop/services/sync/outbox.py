"""The durable outbox: enqueue once, claim with a lease, settle each document exactly once.

States (DESIGN §7): pending → in_flight (leased) → posted | failed (retryable, ``next_attempt_at``)
| quarantined (needs a person) | uncertain (sent, outcome unknown).

Crash safety, step by step:

1. :func:`enqueue` inserts with ``ON CONFLICT (idempotency_key) DO NOTHING``: re-planning the same
   revision, or two planners at once, insert each document once.
2. :func:`claim` leases due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single writer
   on SQLite). A claimed row has ``sent_at`` NULL.
3. :func:`mark_sent` commits ``sent_at`` and ``attempts + 1`` *before* the request leaves.
4. The answer settles the row (:func:`settle_posted`, :func:`settle_failed`, …).

A process killed between 2 and 3 leaves in_flight rows without ``sent_at``: once the lease
expires :func:`reclaim_expired` puts them back to pending. Killed between 3 and 4: the rows have
``sent_at``, so they become uncertain, and the poster looks their keys up in the ledger before
anything is re-sent. Nothing is lost, nothing is sent twice blindly.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from desktop.services.errors import AppError, TransientError
from desktop.services.store.db import Database
from desktop.services.store.models import OutboxDocument, OutboxStatus
from desktop.services.sync.documents import LedgerDocument

__all__ = ["Backoff", "claim", "counts", "due_rows", "enqueue", "error_json", "mark_sent", "next_due_type",
           "reclaim_expired", "release", "settle_failed", "settle_posted", "settle_quarantined", "settle_uncertain"]

#: After this many transient failures a document stops retrying and waits for a person.
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with equal jitter, capped: attempt n waits in [d/2, d], d = base·2ⁿ⁻¹ ≤ cap.

    Jitter spreads retries of many documents (and workers) so they do not hit the ledger's
    limits together; a platform's ``Retry-After`` is a floor.
    """

    base_s: float = 30.0
    cap_s: float = 3600.0

    def delay(self, attempts: int, rng: random.Random, retry_after_s: float | None = None) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** max(0, attempts - 1)))
        return max(rng.uniform(ceiling / 2, ceiling), retry_after_s or 0.0)


def error_json(err: AppError, at: datetime) -> dict[str, Any]:
    """``last_error``: our message plus the platform's own code and message, kept verbatim."""
    return {**err.as_dict(), "at": at.isoformat()}


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def enqueue(session: Session, documents: Sequence[LedgerDocument], org_id: int, connection_id: int | None,
            return_id: int | None, *, now: datetime) -> list[str]:
    """Add ``documents`` as pending; returns the keys actually inserted (none on a replay)."""
    inserted: list[str] = []
    insert = _insert(session)
    for doc in documents:
        values = {
            "organization_id": org_id, "connection_id": connection_id, "idempotency_key": doc.idempotency_key,
            "return_id": return_id, "role": doc.role, "platform": doc.platform, "doc_type": doc.doc_type,
            "txn_date": doc.txn_date, "total_minor": doc.total.to_minor_units(), "currency": doc.total.currency,
            "payload": doc.payload, "status": OutboxStatus.PENDING, "attempts": 0, "depends_on": doc.depends_on,
            "created_at": now, "updated_at": now,
        }
        stmt = (insert(OutboxDocument.__table__).values(**values)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(OutboxDocument.__table__.c.idempotency_key))
        if session.execute(stmt).scalar_one_or_none() is not None:
            inserted.append(doc.idempotency_key)
    return inserted


def _for_update(stmt: sa.Select[Any], session: Session) -> sa.Select[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, of=OutboxDocument)
    return stmt


def _due(connection_id: int, now: datetime) -> sa.ColumnElement[bool]:
    """Due: pending, or failed with ``next_attempt_at`` passed — and whose ``depends_on`` document
    (if any) is posted, so a Xero refund Payment never goes before its CreditNote."""
    dep = aliased(OutboxDocument)
    dependency_posted = sa.exists().where(dep.idempotency_key == OutboxDocument.depends_on,
                                          dep.status == OutboxStatus.POSTED)
    return sa.and_(OutboxDocument.connection_id == connection_id,
                   sa.or_(OutboxDocument.status == OutboxStatus.PENDING,
                          sa.and_(OutboxDocument.status == OutboxStatus.FAILED, OutboxDocument.next_attempt_at <= now)),
                   sa.or_(OutboxDocument.depends_on.is_(None), dependency_posted))


def next_due_type(db: Database, connection_id: int, *, now: datetime) -> str | None:
    """The document type a one-type-per-request platform (Xero) claims next: the one with the most
    due documents (the oldest on a tie), so each request carries a full 50.

    Oldest-first alone would alternate credit notes with their refund payments, which become due
    only as their notes post — every payment request would carry just the handful whose notes went
    in the request before. Taking the largest queue first leaves one part-full request per type.
    """
    with db.session() as s:
        found: str | None = s.scalar(
            sa.select(OutboxDocument.doc_type).where(_due(connection_id, now)).group_by(OutboxDocument.doc_type)
            .order_by(sa.func.count().desc(), sa.func.min(OutboxDocument.id)).limit(1))
        return found


def due_rows(db: Database, connection_id: int, *, now: datetime, limit: int) -> list[OutboxDocument]:
    """Up to ``limit`` due documents, oldest first, read without claiming them (for look-ahead)."""
    with db.session() as s:
        return list(s.scalars(sa.select(OutboxDocument).where(_due(connection_id, now))
                              .order_by(OutboxDocument.id).limit(limit)))


def claim(db: Database, worker_id: str, connection_id: int, limit: int, lease_s: float, *,
          now: datetime, doc_type: str | None = None) -> list[OutboxDocument]:
    """Lease up to ``limit`` due documents (see :func:`_due`) of the connection, oldest first;
    only of ``doc_type`` when given."""
    with db.write_session() as s:
        stmt = sa.select(OutboxDocument).where(_due(connection_id, now))
        if doc_type is not None:
            stmt = stmt.where(OutboxDocument.doc_type == doc_type)
        stmt = stmt.order_by(OutboxDocument.id).limit(limit)
        rows = list(s.scalars(_for_update(stmt, s)))
        for row in rows:
            row.status = OutboxStatus.IN_FLIGHT
            row.lease_owner = worker_id
            row.lease_expires_at = now + timedelta(seconds=lease_s)
            row.sent_at = None
            row.updated_at = now
        return rows


def mark_sent(db: Database, ids: Iterable[int], *, now: datetime) -> None:
    """Commit "about to send" (``sent_at``, one more attempt) before the request leaves."""
    id_list = list(ids)
    if not id_list:
        return
    with db.write_session() as s:
        s.execute(sa.update(OutboxDocument).where(OutboxDocument.id.in_(id_list))
                  .values(sent_at=now, attempts=OutboxDocument.attempts + 1, updated_at=now))


def reclaim_expired(db: Database, connection_id: int, *, now: datetime,
                    orphaned: bool = False) -> tuple[list[OutboxDocument], int]:
    """Expired leases: rows that may have been sent → uncertain (returned), the rest → pending (counted).

    ``orphaned``: the caller holds the connection's posting lock, so no live worker can hold a
    lease on it — every in-flight row belongs to a worker that died (killed, crashed), and is
    reclaimed now instead of after its lease runs out.
    """
    with db.write_session() as s:
        stmt = sa.select(OutboxDocument).where(OutboxDocument.connection_id == connection_id,
                                               OutboxDocument.status == OutboxStatus.IN_FLIGHT)
        if not orphaned:
            stmt = stmt.where(OutboxDocument.lease_expires_at < now)
        uncertain: list[OutboxDocument] = []
        back = 0
        for row in s.scalars(_for_update(stmt, s)):
            row.lease_owner = row.lease_expires_at = None
            row.updated_at = now
            if row.sent_at is not None:
                row.status = OutboxStatus.UNCERTAIN
                row.last_error = {"kind": "transient", "message": "a worker stopped after sending this document "
                                  "and before hearing the answer", "at": now.isoformat()}
                uncertain.append(row)
            else:
                row.status = OutboxStatus.PENDING
                back += 1
        return uncertain, back


def _settle(row: OutboxDocument, status: OutboxStatus, now: datetime) -> None:
    row.status = status
    row.lease_owner = row.lease_expires_at = None
    row.updated_at = now


def settle_posted(row: OutboxDocument, remote_id: str, number: str | None, sync_token: str | None, *,
                  now: datetime) -> None:
    _settle(row, OutboxStatus.POSTED, now)
    row.remote_id, row.remote_number, row.sync_token = remote_id, number, sync_token
    row.posted_at = now
    row.next_attempt_at = None
    row.last_error = None


def settle_failed(row: OutboxDocument, err: AppError, *, now: datetime, backoff: Backoff,
                  rng: random.Random) -> datetime | None:
    """Retry later (returns when), or quarantine once :data:`MAX_ATTEMPTS` is used up (returns None)."""
    if row.attempts >= MAX_ATTEMPTS:
        settle_quarantined(row, err, now=now, note=f"gave up after {row.attempts} attempts")
        return None
    after = err.retry_after_s if isinstance(err, TransientError) else None
    _settle(row, OutboxStatus.FAILED, now)
    row.next_attempt_at = now + timedelta(seconds=backoff.delay(row.attempts, rng, after))
    row.last_error = error_json(err, now)
    return row.next_attempt_at


def settle_quarantined(row: OutboxDocument, err: AppError, *, now: datetime, note: str | None = None) -> None:
    _settle(row, OutboxStatus.QUARANTINED, now)
    row.next_attempt_at = None
    row.last_error = {**error_json(err, now), **({"note": note} if note else {})}


def settle_uncertain(row: OutboxDocument, err: AppError, *, now: datetime) -> None:
    _settle(row, OutboxStatus.UNCERTAIN, now)
    row.last_error = error_json(err, now)


def release(row: OutboxDocument, *, now: datetime, resend: bool = False) -> None:
    """Back to pending, due now (not sent, or an uncertain document proven absent from the ledger)."""
    _settle(row, OutboxStatus.PENDING, now)
    row.next_attempt_at = None
    row.sent_at = None
    if resend:
        row.last_error = {**(row.last_error or {}), "resolution": "resent", "at": now.isoformat()}


def counts(session: Session, *, connection_id: int | None = None, org_id: int | None = None) -> dict[str, int]:
    """Documents per status (every status present, zeros included)."""
    stmt = sa.select(OutboxDocument.status, sa.func.count()).group_by(OutboxDocument.status)
    if connection_id is not None:
        stmt = stmt.where(OutboxDocument.connection_id == connection_id)
    if org_id is not None:
        stmt = stmt.where(OutboxDocument.organization_id == org_id)
    out = {s.value: 0 for s in OutboxStatus}
    for status, n in session.execute(stmt):
        out[OutboxStatus(status).value] = int(n)
    return out
