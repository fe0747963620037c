"""The durable outbox: enqueue once, claim with a lease, settle each document exactly once.

States (DESIGN §7): pending → in_flight (leased) → posted | failed (retryable, ``next_attempt_at``)
| quarantined (needs a person) | uncertain (sent, outcome unknown); and awaiting_adoption (a
person typed the document into the ledger by hand; it is never sent, only adopted).

**This module is the only owner of a document's state.** Every change of ``status`` is one of
the named transitions below (:data:`TRANSITIONS` says from which states each may start); a move
from any other state raises :class:`IllegalTransition`, which a person reads as a plain refusal.
Services that act for a person (the error log's Retry, the Returns page, manual entry) call these
functions; none writes a status column itself.

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

**The audit trail.** What happens to a document in the ledger — posted (sent, or found there by
its key), adopted (typed in by hand), voided or otherwise changed there, written back to the RMS —
is sealed into the audit trail by :func:`_audit`, the one function that writes such entries, in
the same transaction as the change itself; :func:`record_run` adds one digest entry per posting
run (how many documents, and a hash of their keys and ledger ids).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased, object_session

from desktop.services.admin import audit
from desktop.services.core.errors import AppError, NeedsPersonError, TransientError
from desktop.services.core.events import redact
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.store.db import Database
from desktop.services.store.models import OutboxDocument, OutboxStatus, Return, ReturnSyncStatus

__all__ = ["TRANSITIONS", "Backoff", "IllegalTransition", "adopt", "await_adoption", "cancel_void", "claim", "counts",
           "due_rows", "enqueue", "error_json", "mark_returns_posted", "mark_sent", "mark_written_back",
           "next_due_type", "note_adoption_problem", "note_remote_state", "note_void_problem", "reclaim_expired",
           "record_run", "release", "replace_document", "request_void", "retry", "settle_failed", "settle_posted",
           "settle_quarantined", "settle_uncertain", "settle_voided", "withdraw"]

S = OutboxStatus
#: Each named transition and the states it may start from. Anything else is refused.
TRANSITIONS: dict[str, frozenset[OutboxStatus]] = {
    "claim": frozenset({S.PENDING, S.FAILED}),
    "reclaim": frozenset({S.IN_FLIGHT}),
    # An answer may arrive after another worker has reclaimed an expired lease as uncertain: the
    # answer is then the better knowledge, so the settles accept uncertain too.
    "settle_posted": frozenset({S.IN_FLIGHT, S.UNCERTAIN}),
    "settle_failed": frozenset({S.IN_FLIGHT, S.UNCERTAIN}),
    "settle_uncertain": frozenset({S.IN_FLIGHT, S.UNCERTAIN}),
    # quarantined from pending/failed: a document whose dependency is quarantined can never go.
    "settle_quarantined": frozenset({S.IN_FLIGHT, S.UNCERTAIN, S.PENDING, S.FAILED}),
    "release": frozenset({S.IN_FLIGHT, S.UNCERTAIN}),
    "retry": frozenset({S.FAILED, S.QUARANTINED}),
    "await_adoption": frozenset({S.PENDING, S.FAILED, S.QUARANTINED, S.UNCERTAIN, S.AWAITING_ADOPTION}),
    "note_adoption_problem": frozenset({S.AWAITING_ADOPTION}),
    "adopt": frozenset({S.AWAITING_ADOPTION}),
    "replace_document": frozenset({S.PENDING, S.FAILED, S.QUARANTINED}),
    "withdraw": frozenset({S.PENDING, S.FAILED, S.QUARANTINED}),
    # Undoing a run (pipeline/undo.py): the intent is recorded first, so a crashed undo resumes.
    "request_void": frozenset({S.POSTED}),
    "settle_voided": frozenset({S.VOID_PENDING}),
    "note_void_problem": frozenset({S.VOID_PENDING}),
    "cancel_void": frozenset({S.VOID_PENDING}),
}
del S


class IllegalTransition(NeedsPersonError):
    """A state change the outbox refuses (say, retrying a document that waits to be adopted)."""


def _check(row: OutboxDocument, transition: str) -> OutboxStatus:
    status = OutboxStatus(row.status)
    if status in TRANSITIONS[transition]:
        return status
    what = f"{row.doc_type} {row.idempotency_key}"
    if status is OutboxStatus.AWAITING_ADOPTION:
        raise IllegalTransition(
            f"{what} was entered by hand in the ledger as {row.awaiting_number or 'a number'} and waits to be "
            "adopted: sending it would post it twice",
            action="use Adopt… with the right number, or void it in the ledger first")
    if status is OutboxStatus.UNCERTAIN:
        raise IllegalTransition(
            f"{what} may already be in the ledger, so it cannot simply be sent again",
            action="let the next sync look it up by its key; it is adopted or re-sent automatically")
    if transition == "retry":
        raise IllegalTransition(f"{what} is {_words(status)}; there is nothing to retry (only failed or "
                                "quarantined documents can be retried)")
    raise IllegalTransition(f"{what} is {_words(status)}; it cannot be {_PAST.get(transition, transition)}",
                            action="refresh the view to see its current state")


_PAST = {"adopt": "adopted", "await_adoption": "marked as entered by hand",
         "replace_document": "re-planned", "withdraw": "withdrawn", "release": "released",
         "request_void": "taken back (only a posted document can be)", "settle_voided": "settled as voided",
         "cancel_void": "kept (no void was asked for)", "note_void_problem": "noted"}


def _words(status: OutboxStatus) -> str:
    return status.value.replace("_", " ")

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
    """``last_error``: our message plus the platform's own code and message — redacted when it is
    written, so no credential a platform echoes back ever reaches the database."""
    return {**redact(err.as_dict()), "at": at.isoformat()}


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def enqueue(session: Session, documents: Sequence[LedgerDocument], org_id: int, connection_id: int | None,
            return_id: int | None, *, now: datetime) -> list[str]:
    """Add ``documents`` as pending; returns the keys actually inserted (none on a replay), in
    ``documents``' order. One statement for all of them (a key already present is skipped)."""
    if not documents:
        return []
    rows = [{
        "organization_id": org_id, "connection_id": connection_id, "idempotency_key": doc.idempotency_key,
        "return_id": return_id, "role": doc.role, "platform": doc.platform, "doc_type": doc.doc_type,
        "txn_date": doc.txn_date, "total_minor": doc.total.to_minor_units(), "currency": doc.total.currency,
        "payload": doc.payload, "status": OutboxStatus.PENDING, "attempts": 0, "depends_on": doc.depends_on,
        "created_at": now, "updated_at": now,
    } for doc in documents]
    table = OutboxDocument.__table__
    stmt = (_insert(session)(table).on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.idempotency_key))
    added = set(session.execute(stmt, rows).scalars())  # executemany: one cached statement
    return [doc.idempotency_key for doc in documents if doc.idempotency_key in added]


def _for_update(stmt: sa.Select[Any], session: Session) -> sa.Select[Any]:
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True, of=OutboxDocument)
    return stmt


def _due(connection_id: int, now: datetime) -> sa.ColumnElement[bool]:
    """Due: pending (unless held until ``next_attempt_at``: :func:`hold`), or failed with
    ``next_attempt_at`` passed — and whose ``depends_on`` document (if any) is posted, so a Xero
    refund Payment never goes before its CreditNote."""
    dep = aliased(OutboxDocument)
    dependency_posted = sa.exists().where(dep.idempotency_key == OutboxDocument.depends_on,
                                          dep.status == OutboxStatus.POSTED)
    pending_due = sa.or_(OutboxDocument.next_attempt_at.is_(None), OutboxDocument.next_attempt_at <= now)
    return sa.and_(OutboxDocument.connection_id == connection_id,
                   sa.or_(sa.and_(OutboxDocument.status == OutboxStatus.PENDING, pending_due),  # held: due later
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
            _check(row, "claim")
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
            _check(row, "reclaim")
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


def _settle(row: OutboxDocument, status: OutboxStatus, now: datetime, transition: str) -> None:
    _check(row, transition)
    row.status = status
    row.lease_owner = row.lease_expires_at = None
    row.updated_at = now


def settle_posted(row: OutboxDocument, remote_id: str, number: str | None, sync_token: str | None, *,
                  now: datetime, resolution: dict[str, Any] | None = None, run_id: int | None = None) -> None:
    """The ledger holds it (our answer, or found by key): posted, with the ledger's id and number,
    by the push run ``run_id`` (a run's list of what it posted)."""
    _settle(row, OutboxStatus.POSTED, now, "settle_posted")
    _posted(row, remote_id, number, sync_token, now, resolution)
    row.run_id = run_id
    _audit_document(row, "document.posted", now, SYNC_ACTOR, resolution)


def _posted(row: OutboxDocument, remote_id: str, number: str | None, sync_token: str | None, now: datetime,
            resolution: dict[str, Any] | None) -> None:
    row.remote_id, row.remote_number, row.sync_token = remote_id, number, sync_token
    row.posted_at = now
    row.next_attempt_at = None
    row.awaiting_number = None
    row.last_error = {**resolution, "at": now.isoformat()} if resolution else None


def settle_failed(row: OutboxDocument, err: AppError, *, now: datetime, backoff: Backoff,
                  rng: random.Random) -> datetime | None:
    """Retry later (returns when), or quarantine once :data:`MAX_ATTEMPTS` is used up (returns None)."""
    if row.attempts >= MAX_ATTEMPTS:
        settle_quarantined(row, err, now=now, note=f"gave up after {row.attempts} attempts")
        return None
    after = err.retry_after_s if isinstance(err, TransientError) else None
    _settle(row, OutboxStatus.FAILED, now, "settle_failed")
    row.next_attempt_at = now + timedelta(seconds=backoff.delay(row.attempts, rng, after))
    row.last_error = error_json(err, now)
    return row.next_attempt_at


def settle_quarantined(row: OutboxDocument, err: AppError, *, now: datetime, note: str | None = None) -> None:
    _settle(row, OutboxStatus.QUARANTINED, now, "settle_quarantined")
    row.next_attempt_at = None
    row.last_error = {**error_json(err, now), **({"note": note} if note else {})}


def settle_uncertain(row: OutboxDocument, err: AppError, *, now: datetime) -> None:
    _settle(row, OutboxStatus.UNCERTAIN, now, "settle_uncertain")
    row.last_error = error_json(err, now)


def release(row: OutboxDocument, *, now: datetime, resend: bool = False) -> None:
    """Back to pending, due now: leased but not sent, or an uncertain document proven absent from the
    ledger (``resend``)."""
    _settle(row, OutboxStatus.PENDING, now, "release")
    _due_now(row)
    if resend:
        row.last_error = {**(row.last_error or {}), "resolution": "resent", "at": now.isoformat()}


def hold(row: OutboxDocument, err: AppError, until: datetime, *, now: datetime, reason: str | None = None) -> None:
    """Back to pending, due at ``until``: the ledger's metered allowance is used up until then. Held,
    not failed — a release with a due time (nothing is quarantined); ``reason`` in words."""
    _settle(row, OutboxStatus.PENDING, now, "release")
    row.sent_at = None
    row.next_attempt_at = until
    row.last_error = {**error_json(err, now), **({"message": reason} if reason else {}),
                      "held_until": until.isoformat()}


def _held(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(OutboxDocument.status == OutboxStatus.PENDING, OutboxDocument.next_attempt_at > now)


def held_count(session: Session, *, now: datetime, connection_id: int | None = None,
               org_id: int | None = None) -> int:
    """Documents held for a used-up allowance (pending, due later)."""
    stmt = sa.select(sa.func.count()).select_from(OutboxDocument).where(_held(now))
    if connection_id is not None:
        stmt = stmt.where(OutboxDocument.connection_id == connection_id)
    if org_id is not None:
        stmt = stmt.where(OutboxDocument.organization_id == org_id)
    return int(session.execute(stmt).scalar_one())


def release_held(db: Database, connection_id: int, *, now: datetime) -> int:
    """The allowance came back before its reset: held documents are due now (how many)."""
    with db.write_session() as s:
        done = s.execute(sa.update(OutboxDocument).where(OutboxDocument.connection_id == connection_id, _held(now))
                         .values(next_attempt_at=None, last_error=None, updated_at=now))
        return int(getattr(done, "rowcount", 0) or 0)


def _due_now(row: OutboxDocument) -> None:
    row.next_attempt_at = None
    row.sent_at = None


def retry(row: OutboxDocument, *, now: datetime) -> OutboxStatus:
    """A person asks to send a failed or quarantined document again now; returns the state it left.

    Refused for a document awaiting adoption (it is in the ledger already: a double post) and for
    an uncertain one (only the poster's look-up by key may decide to re-send).
    """
    before = OutboxStatus(row.status)
    _settle(row, OutboxStatus.PENDING, now, "retry")
    _due_now(row)
    row.last_error = None
    return before


def await_adoption(row: OutboxDocument, number: str | None, message: str, *, now: datetime) -> None:
    """A person typed this document into the ledger by hand as ``number``: never send it; adopt it
    once it is found there."""
    _settle(row, OutboxStatus.AWAITING_ADOPTION, now, "await_adoption")
    row.next_attempt_at = None
    row.awaiting_number = number
    row.last_error = {"kind": "needs_person", "message": message, "at": now.isoformat()}


def note_adoption_problem(row: OutboxDocument, message: str, *, now: datetime) -> None:
    """Adoption looked and found a problem (say, a different total): the document keeps waiting."""
    _check(row, "note_adoption_problem")
    row.last_error = {"kind": "needs_person", "message": message, "at": now.isoformat()}
    row.updated_at = now


def adopt(row: OutboxDocument, remote_id: str, number: str | None, sync_token: str | None, *, now: datetime,
          resolution: dict[str, Any]) -> None:
    """The hand-entered document was found in the ledger: posted, as that document."""
    _settle(row, OutboxStatus.POSTED, now, "adopt")
    _posted(row, remote_id, number, sync_token, now, resolution)
    _audit_document(row, "document.adopted", now, SYNC_ACTOR, resolution)


def replace_document(row: OutboxDocument, doc: LedgerDocument, connection_id: int | None, *, now: datetime) -> None:
    """An unposted document takes a freshly planned body (a mapping fix, a new date) and is due now."""
    _settle(row, OutboxStatus.PENDING, now, "replace_document")
    row.payload, row.doc_type, row.txn_date = doc.payload, doc.doc_type, doc.txn_date
    row.total_minor, row.currency, row.depends_on = doc.total.to_minor_units(), doc.total.currency, doc.depends_on
    row.connection_id = row.connection_id or connection_id
    _due_now(row)
    row.last_error = None


def withdraw(session: Session, row: OutboxDocument) -> None:
    """An unsent document of a superseded revision is taken out of the outbox."""
    _check(row, "withdraw")
    session.delete(row)


#: A return revision's documents that no longer hold it back: posted, or taken back by an undo
#: (whose round is over: the next round's documents are the ones that count).
_SETTLED = (OutboxStatus.POSTED, OutboxStatus.VOIDED)


def mark_returns_posted(session: Session, return_ids: Iterable[int | None], now: datetime) -> None:
    """A return revision whose documents are all posted is POSTED (one rule, for every path)."""
    rids = {r for r in return_ids if r is not None}
    if not rids:
        return
    still_open = set(session.scalars(sa.select(OutboxDocument.return_id).distinct().where(
        OutboxDocument.return_id.in_(rids), OutboxDocument.status.notin_(_SETTLED))))
    done = rids - still_open
    if done:
        session.execute(sa.update(Return).where(Return.id.in_(done), Return.sync_status.in_(
            (ReturnSyncStatus.READY, ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED)))
            .values(sync_status=ReturnSyncStatus.POSTED, updated_at=now))


# --- the audit trail --------------------------------------------------------------------------

#: Who the audit trail names for what the sync does by itself.
SYNC_ACTOR = "system"
_RMAS = "rls_outbox_rmas"  # Session.info: return id → RMA number, read once per transaction


def _rma(session: Session, return_id: int | None) -> str | None:
    if return_id is None:
        return None
    cache: dict[int, str | None] = session.info.setdefault(_RMAS, {})
    if return_id not in cache:
        cache[return_id] = session.scalar(sa.select(Return.rma_number).where(Return.id == return_id))
    return cache[return_id]


def prime_rmas(session: Session, return_ids: Iterable[int | None]) -> None:
    """Read the RMA numbers of ``return_ids`` in one statement (the audit entries name them)."""
    cache: dict[int, str | None] = session.info.setdefault(_RMAS, {})
    wanted = {r for r in return_ids if r is not None and r not in cache}
    if wanted:
        cache.update({rid: rma for rid, rma in session.execute(
            sa.select(Return.id, Return.rma_number).where(Return.id.in_(wanted)))})


_BATCH = "rls_outbox_audit_batch"  # Session.info: the entries :func:`audit_batch` holds back


@contextmanager
def audit_batch(session: Session) -> Iterator[None]:
    """This module's audit entries made in the block go in, in order, when it ends: one flush of the
    caller's changes (row locks before the append lock, as always), one insert. None if it raises
    (its owner rolls the transaction back). Nothing else may append inside the block."""
    if _BATCH in session.info:  # nested: the outer block writes them
        yield
        return
    held: list[audit.AuditEntry] = session.info.setdefault(_BATCH, [])
    try:
        yield
    finally:
        session.info.pop(_BATCH, None)
    audit.append_many_at(session, held)


def _audit(session: Session, action: str, *, now: datetime, actor: str, organization_id: int | None,
           return_id: int | None, target: str | None, details: dict[str, Any]) -> None:
    """The one writer of documents' audit entries (in the caller's transaction, or its audit_batch)."""
    entry = audit.AuditEntry(now, actor, action, target, organization_id, _rma(session, return_id), details)
    session.info[_BATCH].append(entry) if _BATCH in session.info else audit.append_many_at(session, [entry])


def _document(row: OutboxDocument) -> dict[str, Any]:
    total = row.total
    return {"doc_type": row.doc_type, "remote_id": row.remote_id, "number": row.remote_number,
            "total": f"{total.amount:f}" if total is not None else None,
            "currency": total.currency if total is not None else None}


def _audit_document(row: OutboxDocument, action: str, now: datetime, actor: str,
                    extra: dict[str, Any] | None = None) -> None:
    session = object_session(row)
    if session is None:  # a row outside any session is never stored, so there is nothing to record
        return
    _audit(session, action, now=now, actor=actor, organization_id=row.organization_id, return_id=row.return_id,
           target=row.idempotency_key, details={**_document(row), **(extra or {})})


def note_remote_state(row: OutboxDocument, state: str, *, now: datetime, actor: str = SYNC_ACTOR) -> None:
    """The ledger's copy of a posted document changed (``voided``, ``deleted``, ``edited``, …): by a
    person through the app (``actor``) or found by the ledger pull. Recorded once per change."""
    if row.remote_state == state and state != "edited":
        return
    row.remote_state = state
    row.updated_at = now
    _audit_document(row, f"document.{state}", now, actor)


# --- undoing a run (pipeline/undo.py) --------------------------------------------------------

def request_void(row: OutboxDocument, *, now: datetime, actor: str, undo: int) -> None:
    """Record the intent to take the posted document back (undo of run ``undo``), before any request."""
    _check(row, "request_void")
    row.status = OutboxStatus.VOID_PENDING
    row.updated_at = now
    row.last_error = None
    _audit_document(row, "document.void_requested", now, actor, {"undo_of_run": undo})


def settle_voided(row: OutboxDocument, how: str, *, now: datetime, actor: str, undo: int) -> None:
    """Taken back: ``how`` is ``voided`` / ``deleted`` (by us now) or ``already_voided`` /
    ``already_deleted`` (found so: a person did it, or our request landed before a crash)."""
    _check(row, "settle_voided")
    row.status = OutboxStatus.VOIDED
    row.updated_at = now
    row.remote_state = "deleted" if how.endswith("deleted") else "voided"
    row.written_back_at = None  # the RMS is told by the undo's write-back
    row.last_error = {"undo": {"run": undo, "how": how, "at": now.isoformat()}}
    _audit_document(row, f"document.{row.remote_state}", now, actor, {"undo_of_run": undo, "how": how})


def note_void_problem(row: OutboxDocument, err: AppError, *, now: datetime) -> None:
    """The take-back did not go through this time: the intent stays, the next undo pass tries again."""
    _check(row, "note_void_problem")
    row.last_error = error_json(err, now)
    row.updated_at = now


def cancel_void(row: OutboxDocument, reason: str, *, now: datetime, actor: str, undo: int) -> None:
    """The document stays in the ledger (say, edited there since the undo was planned): posted again."""
    _check(row, "cancel_void")
    row.status = OutboxStatus.POSTED
    row.updated_at = now
    row.last_error = {"kind": "needs_person", "message": reason, "at": now.isoformat()}
    _audit_document(row, "document.void_cancelled", now, actor, {"undo_of_run": undo, "reason": reason})


def mark_written_back(session: Session, row_ids: Sequence[int], *, now: datetime, rma: str, revision: int,
                      replayed: bool) -> None:
    """The RMS has been told these documents (one return revision) are posted."""
    if not row_ids:
        return
    session.execute(sa.update(OutboxDocument).where(OutboxDocument.id.in_(list(row_ids)))
                    .values(written_back_at=now, updated_at=now))
    rows = session.execute(sa.select(OutboxDocument.organization_id, OutboxDocument.return_id,
                                     OutboxDocument.idempotency_key).where(OutboxDocument.id.in_(list(row_ids)))
                           .order_by(OutboxDocument.id)).all()
    _audit(session, "return.written_back", now=now, actor=SYNC_ACTOR, organization_id=rows[0][0],
           return_id=rows[0][1], target=rma,
           details={"revision": revision, "documents": [r[2] for r in rows], "replayed": replayed})


def record_run(session: Session, *, run_id: int, organization_id: int, connection_id: int, started_at: datetime,
               status: str, now: datetime) -> None:
    """One digest entry for a posting run: how many documents of the connection reached the ledger
    during it, and a SHA-256 over their keys and ledger ids (each is also an entry of its own)."""
    posted = session.execute(
        sa.select(OutboxDocument.idempotency_key, OutboxDocument.remote_id)
        .where(OutboxDocument.connection_id == connection_id, OutboxDocument.status == OutboxStatus.POSTED,
               OutboxDocument.posted_at >= started_at, OutboxDocument.posted_at <= now)
        .order_by(OutboxDocument.idempotency_key)).all()
    digest = hashlib.sha256("".join(f"{key}={remote or ''}\n" for key, remote in posted).encode()).hexdigest()
    _audit(session, "sync.run", now=now, actor=SYNC_ACTOR, organization_id=organization_id, return_id=None,
           target=f"run {run_id}", details={"run_id": run_id, "status": status, "posted": len(posted),
                                            "posted_digest": digest, "started_at": started_at.isoformat()})


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
