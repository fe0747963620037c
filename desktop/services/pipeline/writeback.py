"""Tell the RMS what became of a return revision in the ledger: ``POST /v1/returns/{id}/accounting-status``.

The app's one write-back stage: revisions the sync posted (below), and changes an accountant made
to our documents in the ledger — edited, voided, deleted, refund paid — which the ledger pull finds
and hands over (:meth:`WriteBackService.send_change`), under the same key function and the same
lease on the return row.

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

Sharing the work (several workers on one database): a revision is *claimed* before it is sent,
with a lease on its ``returns`` row (``writeback_lease_owner``, ``writeback_lease_expires_at``).
A run walks the pending revisions in chunks; for each chunk it leases those that nobody holds (or
whose lease has expired) — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single writer on SQLite —
so a second worker skips a chunk the first one holds and takes the next: the two split the work
and never send the same write-back at the same time. Right after locking, the claim re-reads the
outbox in a fresh statement and drops revisions another worker stamped a moment ago (the success
stamps the documents and clears the lease in one transaction, which holds the row lock), so a
finished write-back is not sent again. Success and failure both clear the lease; a worker that
dies mid-chunk leaves its leases to expire (``lease_s``), and whoever comes next sends those
revisions again — safe, because the same key with the same body makes the RMS replay.

Throughput: a claimed chunk is sent with up to ``concurrency`` requests in flight (a small thread
pool around the one :class:`RmsClient`, whose throttle is thread-safe and keeps the client's
per-minute and concurrent budget). Only the HTTP calls run on pool threads; every database write
and every event happens on the calling thread as answers arrive.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.core.clock import Clock
from desktop.services.core.errors import AppError
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.pipeline import outbox
from desktop.services.rms.client import RmsClient, WriteBack
from desktop.services.store.db import Database
from desktop.services.store.models import LedgerConnection, Organization, OutboxDocument, OutboxStatus, Return

__all__ = ["ChangeOutcome", "ChangeWriteBack", "WriteBackResult", "WriteBackService", "writeback_key"]


_DONE = (OutboxStatus.POSTED, OutboxStatus.VOIDED)


def writeback_key(org_code: str, rms_id: str, revision: int, status: str = "posted", *detail: str) -> str:
    """Deterministic Idempotency-Key of one revision's write-back (≤ 255 characters).

    ``detail`` tells apart several write-backs of one revision with the same status — a ledger
    change names the document and the ledger's version of it — and is empty for ``posted``.
    """
    digest = hashlib.sha256("\x1f".join(("writeback", org_code, rms_id, str(revision), status, *detail)).encode())
    return "rls-wb-" + digest.hexdigest()[:40]


@dataclass
class WriteBackResult:
    sent: int = 0
    replayed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Item:
    """One claimed revision, ready to send (everything read from the database beforehand)."""

    return_id: int
    rms_id: str
    revision: int
    rma_number: str
    org_code: str
    body: dict[str, Any]
    row_ids: tuple[int, ...]
    posting_round: int = 0

    @property
    def key(self) -> str:
        """Round 0 keeps the original key; a round after an undo has its own (new documents, new body)."""
        detail = (f"round-{self.posting_round}",) if self.posting_round else ()
        return writeback_key(self.org_code, self.rms_id, self.revision, "posted", *detail)


class ChangeOutcome(StrEnum):
    """What became of one ledger change handed to :meth:`WriteBackService.send_change`."""

    SENT = "sent"                    # the RMS recorded it now
    REPLAYED = "replayed"            # the RMS had it already (same key, same body)
    SETTLED_ELSEWHERE = "settled"    # another worker wrote it back and recorded it first
    HELD = "held"                    # another worker holds the return's lease: try again next pull
    FAILED = "failed"                # the RMS refused or could not be reached: try again next pull


@dataclass(frozen=True)
class ChangeWriteBack:
    """One change an accountant made in the ledger to a document we posted, for the RMS.

    The pull finds it; the write-back stage leases the return, asks ``still_due`` under the lock
    (a worker that raced us may have sent and recorded it a moment ago), sends it under
    :func:`writeback_key` (``detail`` = the document's key and the ledger's version of it) and runs
    ``settle`` — which records the change on the outbox row — in the transaction that releases the
    lease, exactly as a ``posted`` write-back stamps its documents.
    """

    return_id: int
    org_code: str
    rms_id: str
    revision: int
    status: str
    detail: tuple[str, ...]
    body: dict[str, Any]
    still_due: Callable[[Session], bool]
    settle: Callable[[Session], None]
    rma: str | None = None
    document_key: str | None = None
    message: str = ""

    @property
    def key(self) -> str:
        return writeback_key(self.org_code, self.rms_id, self.revision, self.status, *self.detail)


def _default_worker_id() -> str:
    """``host:pid:wb-xxxxxx`` — unique per service, so two services in one process never share leases."""
    return f"{socket.gethostname()}:{os.getpid()}:wb-{uuid.uuid4().hex[:6]}"[-100:]


class WriteBackService:
    """Sends pending write-backs of one organization (see the module docstring).

    Args:
        db, bus, clock: the app's database, event bus and clock.
        rms_client_for: the RMS client of an organization code.
        lease_s: how long a claim holds a revision. Long enough for a chunk (at 300 calls a
            minute a chunk of 40 takes about 8 s, a full minute if the budget is spent), short
            enough that a killed worker's revisions wait little. A live worker whose lease ran out
            may see its revisions sent again by another: a replay, harmless.
        chunk: revisions claimed at a time — small, so two workers interleave finely.
        concurrency: requests in flight; the RMS client's own throttle caps it too.
        worker_id: what ``writeback_lease_owner`` shows (default ``host:pid:wb-<random>``).
    """

    def __init__(self, db: Database, bus: EventBus, clock: Clock, rms_client_for: Callable[[str], RmsClient], *,
                 lease_s: float = 120.0, chunk: int = 40, concurrency: int = 4,
                 worker_id: str | None = None) -> None:
        if chunk < 1 or concurrency < 1:
            raise ValueError("chunk and concurrency must be at least 1")
        self._db = db
        self._bus = bus
        self._clock = clock
        self._client_for = rms_client_for
        self.lease_s = lease_s
        self.chunk = chunk
        self.concurrency = concurrency
        self.worker_id = worker_id or _default_worker_id()

    # --- what is due -------------------------------------------------------------------------

    @staticmethod
    def _pending_stmt() -> sa.Select[int | None]:
        # Documents an undo took back belong to an earlier posting round: they neither hold the
        # revision back nor are they written back as posted (the undo told the RMS about them).
        not_posted = sa.func.sum(sa.case((OutboxDocument.status.notin_(_DONE), 1), else_=0))
        unwritten = sa.func.sum(sa.case((sa.and_(OutboxDocument.written_back_at.is_(None),
                                                 OutboxDocument.status == OutboxStatus.POSTED), 1), else_=0))
        return (sa.select(OutboxDocument.return_id).where(OutboxDocument.return_id.is_not(None))
                .group_by(OutboxDocument.return_id).having(not_posted == 0, unwritten > 0)
                .order_by(OutboxDocument.return_id))

    def pending(self, org_code: str) -> list[int]:
        """Return-revision ids whose documents are all posted and not yet written back (leased or not)."""
        org_id = sa.select(Organization.id).where(Organization.code == org_code).scalar_subquery()
        with self._db.session() as s:
            return [rid for rid in s.scalars(self._pending_stmt().where(OutboxDocument.organization_id == org_id))
                    if rid is not None]

    # --- claims ------------------------------------------------------------------------------

    def claim(self, return_ids: Sequence[int], *, now: datetime | None = None) -> list[int]:
        """Lease those of ``return_ids`` that still need a write-back and that nobody else holds.

        Returns the ids now leased to :attr:`worker_id`, in order. A live lease of another worker,
        or a row another transaction has locked (PostgreSQL ``SKIP LOCKED``), is skipped, never
        waited for; an expired lease is taken over.
        """
        if not return_ids:
            return []
        now = now or self._clock.now()
        with self._db.write_session() as s:
            locked = self._lock_free(s, return_ids, now)
            if not locked:
                return []
            # A fresh statement (a fresh snapshot under READ COMMITTED): a revision stamped by
            # another worker between our pending() and the lock is no longer due.
            due = [rid for rid in s.scalars(self._pending_stmt().where(OutboxDocument.return_id.in_(locked)))
                   if rid is not None]
            self._lease(s, due, now)
            return due

    def _lock_free(self, s: Session, return_ids: Sequence[int], now: datetime) -> list[int]:
        """Lock those of ``return_ids`` whose write-back lease is free or expired (skipping, never
        waiting for, rows another transaction holds — PostgreSQL ``SKIP LOCKED``)."""
        stmt = (sa.select(Return.id)
                .where(Return.id.in_(list(return_ids)),
                       sa.or_(Return.writeback_lease_expires_at.is_(None), Return.writeback_lease_expires_at <= now))
                .order_by(Return.id))
        if not self._db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True, of=Return)
        return list(s.scalars(stmt))

    def _lease(self, s: Session, return_ids: Sequence[int], now: datetime) -> None:
        if return_ids:
            s.execute(sa.update(Return).where(Return.id.in_(list(return_ids)))
                      .values(writeback_lease_owner=self.worker_id,
                              writeback_lease_expires_at=now + timedelta(seconds=self.lease_s)))

    def _release(self, s: Session, return_ids: Sequence[int]) -> None:
        """Clear our own leases (never one another worker took over after ours expired)."""
        s.execute(sa.update(Return).where(Return.id.in_(list(return_ids)),
                                          Return.writeback_lease_owner == self.worker_id)
                  .values(writeback_lease_owner=None, writeback_lease_expires_at=None))

    # --- bodies ------------------------------------------------------------------------------

    def _items(self, return_ids: Sequence[int]) -> list[_Item]:
        """Build the write-backs of a claimed chunk in one read (bodies only from stored values)."""
        with self._db.session() as s:
            rets = {r.id: r for r in s.execute(
                sa.select(Return.id, Return.rms_id, Return.revision, Return.rma_number, Return.organization_id,
                          Return.posting_round).where(Return.id.in_(list(return_ids))))}
            docs: dict[int, list[OutboxDocument]] = defaultdict(list)
            for row in s.scalars(sa.select(OutboxDocument).where(OutboxDocument.return_id.in_(list(return_ids)),
                                                                 OutboxDocument.status == OutboxStatus.POSTED)
                                 .order_by(OutboxDocument.id)):
                assert row.return_id is not None
                docs[row.return_id].append(row)
            conn_ids = {rows[0].connection_id for rows in docs.values() if rows[0].connection_id is not None}
            companies: dict[int, str] = {}
            if conn_ids:
                companies = {cid: remote for cid, remote in s.execute(
                    sa.select(LedgerConnection.id, LedgerConnection.remote_id)
                    .where(LedgerConnection.id.in_(conn_ids)))}
            codes = {oid: code for oid, code in s.execute(
                sa.select(Organization.id, Organization.code)
                .where(Organization.id.in_({r.organization_id for r in rets.values()})))}
        items: list[_Item] = []
        for rid in return_ids:
            ret, rows = rets[rid], docs[rid]
            listed: list[dict[str, Any]] = []
            for r in rows:
                doc: dict[str, Any] = {"type": r.doc_type, "id": r.remote_id or ""}
                if r.remote_number:
                    doc["number"] = r.remote_number
                if r.total is not None:
                    doc["total"] = f"{r.total.amount:f}"
                    doc["currency"] = r.total.currency
                listed.append(doc)
            posted = max(r.posted_at for r in rows if r.posted_at is not None)
            body: dict[str, Any] = {"revision": ret.revision, "status": "posted", "platform": rows[0].platform.value,
                                    "documents": listed, "occurred_at": posted.isoformat()}
            if rows[0].connection_id is not None and rows[0].connection_id in companies:
                body["company_id"] = companies[rows[0].connection_id]
            items.append(_Item(rid, ret.rms_id, ret.revision, ret.rma_number, codes[ret.organization_id], body,
                               tuple(r.id for r in rows), ret.posting_round or 0))
        return items

    # --- sending -----------------------------------------------------------------------------

    def run(self, org_code: str) -> WriteBackResult:
        """Send every pending write-back of ``org_code`` this worker can claim.

        Failures are reported and retried next time; revisions another worker holds are its
        business. Each pending revision is considered once per run, so a persistent RMS fault
        costs one attempt per revision, not a loop.
        """
        result = WriteBackResult()
        ids = self.pending(org_code)
        if not ids:
            return result
        client = self._client_for(org_code)
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="rms-writeback") as pool:
            for start in range(0, len(ids), self.chunk):
                claimed = self.claim(ids[start:start + self.chunk])
                if claimed:
                    self._send_chunk(pool, client, claimed, result)
        return result

    def _send_chunk(self, pool: ThreadPoolExecutor, client: RmsClient, claimed: list[int],
                    result: WriteBackResult) -> None:
        unsettled = set(claimed)
        futures: dict[Future[WriteBack], _Item] = {}
        try:
            for item in self._items(claimed):
                futures[pool.submit(client.write_back, item.rms_id, item.body, item.key)] = item
            waiting: set[Future[WriteBack]] = set(futures)
            while waiting:  # the answers in so far are recorded together: one transaction, one audit insert
                done, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                answered: list[tuple[_Item, WriteBack]] = []
                for fut in sorted(done, key=lambda f: futures[f].return_id):
                    item = futures[fut]
                    try:
                        answered.append((item, fut.result()))
                    except AppError as err:
                        self._failed(item, err, result)
                        unsettled.discard(item.return_id)
                self._succeeded(answered, result)
                unsettled.difference_update(item.return_id for item, _ in answered)
        finally:
            if unsettled:  # an unexpected error: give the rest back at once instead of waiting out the lease
                for fut in futures:
                    fut.cancel()
                with self._db.write_session() as s:
                    self._release(s, sorted(unsettled))

    def _succeeded(self, answered: list[tuple[_Item, WriteBack]], result: WriteBackResult) -> None:
        if not answered:
            return
        now = self._clock.now()
        with self._db.write_session() as s, outbox.audit_batch(s):
            outbox.prime_rmas(s, [item.return_id for item, _ in answered])
            for item, answer in answered:
                outbox.mark_written_back(s, item.row_ids, now=now, rma=item.rma_number, revision=item.revision,
                                         replayed=answer.replayed)
            self._release(s, [item.return_id for item, _ in answered])
        for item, answer in answered:
            if answer.replayed:
                result.replayed += 1
            else:
                result.sent += 1
            n = len(item.body["documents"])
            self._bus.emit(EventKind.WRITEBACK_SUCCEEDED, Severity.INFO,
                           f"Told the RMS that {item.rma_number} revision {item.revision} is posted "
                           f"({n} document{'s' if n != 1 else ''})",
                           org=item.org_code, rma=item.rma_number,
                           details={"rms_id": item.rms_id, "revision": item.revision, "replayed": answer.replayed})

    def _failed(self, item: _Item, err: AppError, result: WriteBackResult) -> None:
        with self._db.write_session() as s:
            self._release(s, [item.return_id])
        result.failed += 1
        result.errors.append(err.user_message())
        self._bus.emit_error(EventKind.WRITEBACK_FAILED, err, org=item.org_code, rma=item.rma_number,
                             details={"rms_id": item.rms_id, "revision": item.revision, "will_retry": True})

    # --- ledger changes (handed over by the pull) -----------------------------------------------

    def send_change(self, client: RmsClient, change: ChangeWriteBack) -> ChangeOutcome:
        """Tell the RMS about one ledger change, at most once across workers (see :class:`ChangeWriteBack`).

        The same lease as a ``posted`` write-back guards it: while one worker holds the return,
        another gets :attr:`ChangeOutcome.HELD` and leaves the change to its next pull; the check
        under the lock turns a change already written back and recorded into
        :attr:`ChangeOutcome.SETTLED_ELSEWHERE`. A worker that dies after sending leaves its lease
        to expire; whoever sends next uses the same key and body, and the RMS replays.
        """
        now = self._clock.now()
        with self._db.write_session() as s:
            if not self._lock_free(s, [change.return_id], now):
                return ChangeOutcome.HELD
            if not change.still_due(s):
                return ChangeOutcome.SETTLED_ELSEWHERE
            self._lease(s, [change.return_id], now)
        details = {"status": change.status, "rms_id": change.rms_id}
        try:
            answer = client.write_back(change.rms_id, change.body, change.key)
        except AppError as exc:
            with self._db.write_session() as s:
                self._release(s, [change.return_id])
            self._bus.emit_error(EventKind.WRITEBACK_FAILED, exc, org=change.org_code, rma=change.rma,
                                 document_key=change.document_key, details=details)
            return ChangeOutcome.FAILED
        except BaseException:
            with self._db.write_session() as s:  # give it back at once instead of waiting out the lease
                self._release(s, [change.return_id])
            raise
        with self._db.write_session() as s:
            change.settle(s)
            self._release(s, [change.return_id])
        self._bus.emit(EventKind.WRITEBACK_SUCCEEDED, Severity.INFO, change.message, org=change.org_code,
                       rma=change.rma, document_key=change.document_key, details=details)
        return ChangeOutcome.REPLAYED if answer.replayed else ChangeOutcome.SENT
