"""Post a connection's outbox to its ledger: resolve the uncertain, send in batches, settle, report.

One worker at a time per connection: :meth:`Poster.post_pending` holds a per-connection lock
(PostgreSQL advisory lock when workers share a PostgreSQL database; an ``flock`` next to the
SQLite file otherwise) around everything it does, so two workers never post for the same company
at once — and a lease can only expire when its holder died, never under a live worker.

Order of work in one call:

1. leases of dead workers (under the lock no live worker holds one): rows that may have been sent
   become *uncertain*, the others pending again;
2. every uncertain document is looked up in the ledger by its key (a few batched look-ups):
   found → adopted as posted (``uncertain resolved: adopted``, a duplicate prevented); not found →
   pending again (``resent``). Nothing uncertain is ever re-sent before that look-up;
3. claim → fill placeholders (customer / item created on demand, a CreditNote's id into its
   refund Payment) → commit ``sent_at`` → send (QBO ≤ 30 per batch, Xero ≤ 50 per request) →
   settle, until nothing is due. Events are published after each commit.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from desktop.services.auth.locks import FileLock, PostgresAdvisoryLock
from desktop.services.connections.refcache import remember_customers
from desktop.services.connections.service import ConnectionService
from desktop.services.core.clock import Clock
from desktop.services.core.errors import AppError, NeedsPersonError, NeedsReconnect, TransientError
from desktop.services.core.events import Event, EventBus, EventKind, Severity
from desktop.services.core.progress import NO_PROGRESS, OperationProgress, current
from desktop.services.pipeline import outbox
from desktop.services.pipeline.documents import CUSTOMER, fill, placeholders
from desktop.services.platforms.http import AllowanceUsedUp, NotSent
from desktop.services.platforms.interface import KeyQuery, LedgerPlatform
from desktop.services.platforms.registry import platform_for
from desktop.services.platforms.shapes import Outcome, PostRequest, RemoteDoc, SendResult
from desktop.services.store.db import Database
from desktop.services.store.models import (
    LedgerConnection,
    Organization,
    OutboxDocument,
    OutboxStatus,
    Return,
)

__all__ = ["PostResult", "Poster", "default_lock"]

LockFactory = Callable[[str], AbstractContextManager[None]]
#: How many due documents' customers are resolved before the first claim (see ``_warm_customers``).
WARM_CUSTOMERS_LIMIT = 20_000
#: A document throttled inside a QBO batch is put straight back this many times (then backoff).
THROTTLED_RESENDS = 3
#: How long the connection holds its requests after QuickBooks throttled an item inside a batch.
THROTTLE_PAUSE_S = 10.0


@dataclass
class PostResult:
    """What one :meth:`Poster.post_pending` did, in documents (``requests``: HTTP calls made)."""

    posted: int = 0
    failed: int = 0
    quarantined: int = 0
    uncertain: int = 0
    uncertain_resolved: int = 0
    requests: int = 0
    held: int = 0  # waiting for the ledger's metered allowance to reset (pending, due then)

    def merge(self, other: PostResult) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


def default_lock(db: Database) -> LockFactory:
    """PostgreSQL: an advisory lock (works across machines); SQLite: a file lock beside the database."""
    if not db.is_sqlite:
        return PostgresAdvisoryLock(db.engine)
    return FileLock(Path(db.engine.url.database or ".").resolve().parent)


@dataclass(frozen=True)
class _Conn:
    id: int
    platform: str
    company_id: str
    org_code: str


class Poster:
    """Sends outbox documents of one connection at a time (see the module docstring)."""

    def __init__(self, db: Database, bus: EventBus, clock: Clock, connections: ConnectionService, *,
                 lock: LockFactory | None = None, lease_s: float = 300.0, backoff: outbox.Backoff | None = None,
                 rng: random.Random | None = None) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._connections = connections
        self._lock = lock or default_lock(db)
        self.lease_s = lease_s
        self.backoff = backoff or outbox.Backoff()
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    # --- entry -------------------------------------------------------------------------------

    def post_pending(self, connection_id: int, *, worker_id: str, run_id: int | None = None) -> PostResult:
        """Resolve uncertain documents, then post everything due for the connection; what lands is
        recorded as posted by the push run ``run_id``."""
        with self._lock(f"post:{connection_id}"):
            conn = self._load_connection(connection_id)
            ledger = self._connections.connector(connection_id)
            before = ledger.http.requests_sent
            result = PostResult()
            self._probe(ledger, connection_id)
            if self._connections.allowance.state(connection_id) is None:  # reset, or back early
                outbox.release_held(self._db, connection_id, now=self._clock.now())
            self._reclaim(conn)
            self._resolve_uncertain(conn, ledger, result, run_id)
            self._quarantine_orphans(conn, result)
            if ledger.profile.creates_references:
                self._warm_customers(conn, ledger)
            told = current()  # a person's Cancel: stop between batches, like a shutdown
            self._tell(conn, result, told)
            while not self._stopping(ledger) and not told.cancelled:  # what is not claimed stays for the next run
                doc_type = None
                if ledger.profile.one_type_per_request:  # claim a request's worth of one type
                    doc_type = outbox.next_due_type(self._db, connection_id, now=self._clock.now())
                    if doc_type is None:
                        break
                rows = outbox.claim(self._db, worker_id, connection_id, ledger.max_batch, self.lease_s,
                                    now=self._clock.now(), doc_type=doc_type)
                if not rows:
                    break
                self._send(conn, ledger, rows, result, run_id)
                self._tell(conn, result, told)
                used_up = self._connections.allowance.state(connection_id)
                if used_up is not None and used_up.writes_refused:  # every call refused: the rest waits
                    break
            learned = ledger.learned_customers()
            if learned:
                remember_customers(self._db, connection_id, learned, self._clock.now())
            with self._db.session() as s:
                result.uncertain = outbox.counts(s, connection_id=connection_id)[OutboxStatus.UNCERTAIN.value]
            result.requests = ledger.http.requests_sent - before
            if result.held:
                self._say_held(conn, result)
            return result

    def _probe(self, ledger: LedgerPlatform, connection_id: int) -> None:
        """While the allowance is used up, one cheap metered read an hour (the company's details):
        if it is answered — a larger tier, an earlier reset — the held documents go now."""
        if self._connections.allowance.probe_due(connection_id):
            with suppress(AppError):
                ledger.company_info()

    def _say_held(self, conn: _Conn, result: PostResult) -> None:
        """One event for the documents this push held, with the reset time and what to do."""
        used = self._connections.allowance.state(conn.id)
        with self._db.session() as s:
            waiting = outbox.held_count(s, now=self._clock.now(), connection_id=conn.id)
        text = used.text if used is not None else "the ledger's metered allowance is used up"
        advice = used.advice if used is not None else "They post by themselves after it resets."
        self._bus.emit(EventKind.DOCUMENT_HELD, Severity.WARNING,
                       f"{conn.org_code}: {waiting:,} document(s) held, not failed: {text}. {advice}",
                       org=conn.org_code, platform=conn.platform,
                       details={"held": waiting, "held_now": result.held, "posted": result.posted,
                                **({"until": used.until.isoformat()} if used is not None else {})})

    def _tell(self, conn: _Conn, result: PostResult, told: OperationProgress) -> None:
        """``posted n of N``: N is what this push settled so far plus what still waits in the outbox."""
        if told is NO_PROGRESS:  # nobody is watching: no count query per batch
            return
        with self._db.session() as s:
            waiting = outbox.counts(s, connection_id=conn.id)[OutboxStatus.PENDING.value]
        settled = result.posted + result.failed + result.quarantined
        told.report(settled, settled + waiting, f"{conn.org_code}: {result.posted:,} posted"
                    + (f", {result.failed + result.quarantined:,} not accepted" if result.failed + result.quarantined
                       else "") + f", {waiting:,} waiting")

    def _load_connection(self, connection_id: int) -> _Conn:
        with self._db.session() as s:
            row = s.execute(sa.select(LedgerConnection, Organization.code).join(Organization)
                            .where(LedgerConnection.id == connection_id)).first()
            if row is None:
                raise NeedsPersonError(f"There is no connection #{connection_id}")
            c, code = row
            return _Conn(c.id, c.platform.value, c.remote_id, code)

    # --- events ------------------------------------------------------------------------------

    def _emit(self, conn: _Conn, kind: str, severity: Severity, message: str, row: OutboxDocument,
              rma: str | None, err: AppError | None = None, **details: Any) -> None:
        info = {"doc_type": row.doc_type, "role": row.role, "attempts": row.attempts, **details}
        if row.remote_id:
            info["remote_id"] = row.remote_id
        if err is not None:
            event = Event.from_error(kind, err, self._bus.clock, org=conn.org_code, rma=rma,
                                     document_key=row.idempotency_key, details=info, severity=severity)
            self._bus.publish(replace(event, message=f"{message}: {event.message}"))
        else:
            self._bus.emit(kind, severity, message, org=conn.org_code, rma=rma, document_key=row.idempotency_key,
                           platform=conn.platform, details=info)

    def _rmas(self, return_ids: set[int | None]) -> dict[int | None, str]:
        ids = [i for i in return_ids if i is not None]
        if not ids:
            return {}
        with self._db.session() as s:
            return {rid: rma for rid, rma in s.execute(sa.select(Return.id, Return.rma_number)
                                                       .where(Return.id.in_(ids)))}

    # --- step 1 and 2: the uncertain ---------------------------------------------------------

    def _reclaim(self, conn: _Conn) -> None:
        # Called under the connection's posting lock: every in-flight row is a dead worker's.
        uncertain, _back = outbox.reclaim_expired(self._db, conn.id, now=self._clock.now(), orphaned=True)
        rmas = self._rmas({r.return_id for r in uncertain})
        for row in uncertain:
            self._emit(conn, EventKind.DOCUMENT_UNCERTAIN, Severity.WARNING,
                       f"{row.doc_type} {row.idempotency_key} may have been sent by a worker that stopped; "
                       "it will be looked up in the ledger before anything is re-sent", row, rmas.get(row.return_id))

    def _resolve_uncertain(self, conn: _Conn, ledger: LedgerPlatform, result: PostResult,
                           run_id: int | None = None) -> None:
        with self._db.session() as s:
            rows = list(s.scalars(sa.select(OutboxDocument).where(OutboxDocument.connection_id == conn.id,
                                                                  OutboxDocument.status == OutboxStatus.UNCERTAIN)
                                  .order_by(OutboxDocument.id)))
        if not rows:
            return
        try:
            found = self._find(ledger, rows)
        except NeedsReconnect:
            raise
        except AppError:
            return  # cannot tell yet: they stay uncertain (never re-sent blind); the next run asks again
        now = self._clock.now()
        events: list[tuple[OutboxDocument, RemoteDoc | None]] = []
        with self._db.write_session() as s:
            for row in rows:
                live = s.get(OutboxDocument, row.id)
                if live is None or live.status is not OutboxStatus.UNCERTAIN:
                    continue
                remote = found.get(row.idempotency_key)
                if remote is not None:
                    outbox.settle_posted(live, remote.remote_id, remote.number, remote.sync_token, now=now,
                                         resolution={"resolution": "adopted"}, run_id=run_id)
                else:
                    outbox.release(live, now=now, resend=True)
                events.append((live, remote))
            outbox.mark_returns_posted(s, {r.return_id for r, rem in events if rem is not None}, now)
        rmas = self._rmas({r.return_id for r, _ in events})
        for row, remote in events:
            result.uncertain_resolved += 1
            rma = rmas.get(row.return_id)
            if remote is not None:
                result.posted += 1
                self._emit(conn, EventKind.DOCUMENT_UNCERTAIN_RESOLVED, Severity.INFO,
                           f"uncertain resolved: adopted — {row.doc_type} {remote.number or remote.remote_id} was "
                           "already in the ledger", row, rma, resolution="adopted")
                self._emit(conn, EventKind.DOCUMENT_DUPLICATE_PREVENTED, Severity.INFO,
                           f"{row.doc_type} {remote.number or remote.remote_id} was not sent twice", row, rma)
            else:
                self._emit(conn, EventKind.DOCUMENT_UNCERTAIN_RESOLVED, Severity.INFO,
                           f"uncertain resolved: resent — {row.doc_type} {row.idempotency_key} is not in the "
                           "ledger, so it will be sent again", row, rma, resolution="resent")

    @staticmethod
    def _find(ledger: LedgerPlatform, rows: list[OutboxDocument]) -> dict[str, RemoteDoc | None]:
        return ledger.find_by_keys([KeyQuery(r.idempotency_key, r.doc_type, r.payload) for r in rows])

    def _quarantine_orphans(self, conn: _Conn, result: PostResult) -> None:
        """Documents waiting on a quarantined document can never go: quarantine them with it."""
        dep = aliased(OutboxDocument)
        now = self._clock.now()
        with self._db.write_session() as s:
            rows = list(s.scalars(sa.select(OutboxDocument).join(dep, dep.idempotency_key == OutboxDocument.depends_on)
                                  .where(OutboxDocument.connection_id == conn.id,
                                         OutboxDocument.status.in_((OutboxStatus.PENDING, OutboxStatus.FAILED)),
                                         dep.status == OutboxStatus.QUARANTINED)))
            for row in rows:
                outbox.settle_quarantined(row, NeedsPersonError(
                    f"{row.doc_type} waits for document {row.depends_on}, which is quarantined",
                    action="fix and release that document first"), now=now)
        for row in rows:
            result.quarantined += 1
            self._emit(conn, EventKind.DOCUMENT_QUARANTINED, Severity.ERROR,
                       f"{row.doc_type} {row.idempotency_key} waits for a quarantined document", row, None)

    # --- step 3: send ------------------------------------------------------------------------

    def _send(self, conn: _Conn, ledger: LedgerPlatform, rows: list[OutboxDocument], result: PostResult,
              run_id: int | None = None) -> None:
        now = self._clock.now()
        ready: list[tuple[OutboxDocument, PostRequest]] = []
        early: list[tuple[OutboxDocument, SendResult]] = []
        failure: AppError | None = None
        values: dict[str, str | AppError] = {}
        try:
            values = self._prefetch(ledger, rows)
        except NeedsReconnect:
            self._release(rows)
            raise
        except AppError as err:  # the look-ups failed as a whole: every document waits for the next try
            failure = err
        for row in rows:
            try:
                if failure is not None:
                    raise failure
                body = self._filled(row, values)
            except AppError as err:
                outcome = Outcome.RETRY if isinstance(err, TransientError) else Outcome.QUARANTINE
                early.append((row, SendResult(row.idempotency_key, outcome, error=err)))
                continue
            ready.append((row, PostRequest(row.idempotency_key, row.doc_type, body)))
        if early:
            self._apply(conn, ledger, early, result, run_id)
        if not ready:
            return
        outbox.mark_sent(self._db, [r.id for r, _ in ready], now=now)
        by_type: dict[str, list[tuple[OutboxDocument, PostRequest]]] = {}
        for pair in ready:
            by_type.setdefault(pair[1].doc_type if ledger.profile.one_type_per_request else "", []).append(pair)
        for pairs in by_type.values():
            for start in range(0, len(pairs), ledger.max_batch):
                chunk = pairs[start:start + ledger.max_batch]
                marks = [f"{r.idempotency_key}:{r.attempts + 1}" for r, _ in chunk]
                if self._stopping(ledger) or current().cancelled:  # this chunk and the later ones are not sent
                    self._release([r for r, _ in pairs[start:]])
                    return
                try:
                    answers = ledger.post_batch([p for _, p in chunk], marks)
                except NeedsReconnect:
                    self._release([r for r, _ in chunk])
                    raise
                self._apply(conn, ledger, list(zip([r for r, _ in chunk], answers, strict=True)), result, run_id)

    def _held_until(self, conn: _Conn, err: AllowanceUsedUp, now: datetime) -> tuple[datetime, str]:
        """When a held document is due again — the allowance's reset (an hour on, if nobody knows
        it) — and why it waits, in words."""
        used = self._connections.allowance.state(conn.id)
        until = err.until or (used.until if used is not None else None)
        reason = used.held_reason() if used is not None else f"Held, not failed: {err.message}"
        return (until if until is not None and until > now else now + timedelta(hours=1)), reason

    @staticmethod
    def _send_again_now(ledger: LedgerPlatform, row: OutboxDocument, err: AppError) -> bool:
        """Not sent, or refused only for the rate: pending again at once instead of a backoff.

        Nothing left the computer (``NotSent``: stopping), or QuickBooks throttled the item inside
        an accepted batch (3001) — the connection pauses, not the document: the next claim waits
        on the shared throttle. After a few throttled attempts the usual backoff takes over, so a
        company throttled by another app's traffic is not hammered.
        """
        if isinstance(err, NotSent):
            return True
        if err.platform_code == "3001" and row.attempts < THROTTLED_RESENDS:
            ledger.http.throttle.pause(THROTTLE_PAUSE_S)
            return True
        return False

    @staticmethod
    def _stopping(ledger: LedgerPlatform) -> bool:
        stopping = ledger.http.throttle.stopping
        return stopping is not None and stopping.is_set()

    @staticmethod
    def _body(row: OutboxDocument) -> dict[str, Any]:
        """The entity inside the payload (Xero wraps it in a one-element collection)."""
        return platform_for(row.platform).entity_of(row.doc_type, row.payload or {})

    def _prefetch(self, ledger: LedgerPlatform, rows: list[OutboxDocument]) -> dict[str, str | AppError]:
        """Every placeholder value the claimed documents need, fetched in as few requests as possible:
        dependencies' ids from the outbox; QBO customers in one batched look-up/create; items once each."""
        names = set().union(*(placeholders(self._body(r)) for r in rows))
        values: dict[str, str | AppError] = {}
        deps = {n[3:] for n in names if n.startswith("id:")}
        if deps:
            with self._db.session() as s:
                found = dict(s.execute(sa.select(OutboxDocument.idempotency_key, OutboxDocument.remote_id).where(
                    OutboxDocument.idempotency_key.in_(deps), OutboxDocument.status == OutboxStatus.POSTED)).all())
            for key in deps:
                values[f"id:{key}"] = found.get(key) or TransientError(f"document {key} is not posted yet")
        if not ledger.profile.creates_references:
            return values
        if CUSTOMER in names:
            wanted = self._customers(rows)
            try:
                ids = ledger.ensure_customers([w for w in wanted.values() if isinstance(w, tuple)])
            except AllowanceUsedUp as used_up:  # only the documents needing a look-up wait
                ids = {ledger.customer_key(w[0], w[2]): used_up for w in wanted.values() if isinstance(w, tuple)}
            for row_id, who in wanted.items():
                values[f"{CUSTOMER}#{row_id}"] = (ids[ledger.customer_key(who[0], who[2])]
                                                  if isinstance(who, tuple) else who)
        for name in sorted(n for n in names if n.startswith("item-for-account:") and n[17:]):
            try:
                values[name] = ledger.ensure_item(name[17:])
            except NeedsReconnect:
                raise
            except AppError as err:
                values[name] = err
        return values

    def _warm_customers(self, conn: _Conn, ledger: LedgerPlatform) -> None:
        """Resolve the customers of every due document up front, in one set of batches.

        Claims of 30 documents each meet a few customers not seen before, so resolving per claim
        costs a look-up and a create batch per claim; asked once for the whole queue, the platform
        then answers every claim from what it learned. Failures are left to the per-claim path,
        which reports them against the documents concerned.
        """
        rows = outbox.due_rows(self._db, conn.id, now=self._clock.now(), limit=WARM_CUSTOMERS_LIMIT)
        if len(rows) <= ledger.max_batch:  # one claim: its own look-up costs the same
            return
        wanted = [w for w in self._customers(rows).values() if isinstance(w, tuple)]
        if not wanted:
            return
        try:
            ledger.ensure_customers(wanted)
        except NeedsReconnect:
            raise
        except AppError:
            return

    def _customers(self, rows: list[OutboxDocument]) -> dict[int, tuple[str, str | None, str | None] | AppError]:
        """Per outbox row needing ``${customer}``: (name, e-mail, currency) from its return, or why not."""
        needing = [r for r in rows if CUSTOMER in placeholders(self._body(r))]
        with self._db.session() as s:
            people = {rid: (name, email) for rid, name, email in s.execute(
                sa.select(Return.id, Return.customer_name, Return.customer_email)
                .where(Return.id.in_([r.return_id for r in needing if r.return_id is not None])))}
        out: dict[int, tuple[str, str | None, str | None] | AppError] = {}
        for r in needing:
            name, email = people.get(r.return_id or -1, (None, None))
            who = (name or email or "").strip()
            out[r.id] = (who, email, r.currency) if who else NeedsPersonError(
                "the return names no customer", action="fix the customer in the RMS, then re-plan the return")
        return out

    def _filled(self, row: OutboxDocument, values: dict[str, str | AppError]) -> dict[str, Any]:
        """The entity body with every placeholder filled, or the error that stops this document."""
        body = self._body(row)
        names = placeholders(body)
        if not names:
            return body
        chosen: dict[str, str] = {}
        for name in sorted(names):
            value = values.get(f"{CUSTOMER}#{row.id}") if name == CUSTOMER else values.get(name)
            if isinstance(value, AppError):
                raise value
            if value is None:
                raise NeedsPersonError(f"{row.doc_type} {row.idempotency_key} still has an unfilled value "
                                       f"({name}): its mapping is incomplete",
                                       action="complete the mapping, then re-plan the return")
            chosen[name] = value
        filled: dict[str, Any] = fill(body, chosen)
        return filled

    def _release(self, rows: list[OutboxDocument]) -> None:
        now = self._clock.now()
        with self._db.write_session() as s:
            for row in rows:
                live = s.get(OutboxDocument, row.id)
                if live is not None and live.status is OutboxStatus.IN_FLIGHT:
                    outbox.release(live, now=now)

    # --- settle ------------------------------------------------------------------------------

    def _apply(self, conn: _Conn, ledger: LedgerPlatform, pairs: list[tuple[OutboxDocument, SendResult]],
               result: PostResult, run_id: int | None = None) -> None:
        duplicates = [(r, a) for r, a in pairs if a.outcome is Outcome.DUPLICATE]
        adopted: dict[str, RemoteDoc | None] = {}
        unknown: set[str] = set()
        if duplicates:
            try:
                adopted = self._find(ledger, [r for r, _ in duplicates])
            except NeedsReconnect:
                raise
            except AppError:  # cannot tell whose number it is yet: look again next run
                unknown = {r.idempotency_key for r, _ in duplicates}
        now = self._clock.now()
        settled: list[tuple[OutboxDocument, SendResult, str]] = []
        with self._db.write_session() as s, outbox.audit_batch(s):
            posted_returns: set[int | None] = set()
            lives = {r.id: r for r in s.scalars(sa.select(OutboxDocument).where(
                OutboxDocument.id.in_([row.id for row, _ in pairs])))}  # one read, not one per document
            outbox.prime_rmas(s, {r.return_id for r in lives.values()})
            for row, answer in pairs:
                live = lives.get(row.id)
                if live is None:
                    continue
                how, remote = answer.outcome, answer.remote
                err = answer.error or TransientError("no answer")
                if how is Outcome.DUPLICATE and row.idempotency_key in unknown:
                    how, label = Outcome.UNCERTAIN, "uncertain"
                elif how is Outcome.DUPLICATE:
                    remote = adopted.get(row.idempotency_key)
                    how = Outcome.POSTED if remote is not None else Outcome.QUARANTINE
                    label = "adopted" if remote is not None else "quarantined"
                else:
                    label = how.value
                if how is Outcome.POSTED and remote is not None:
                    outbox.settle_posted(live, remote.remote_id, remote.number, remote.sync_token, now=now,
                                         run_id=run_id)
                    posted_returns.add(live.return_id)
                elif how is Outcome.RETRY and isinstance(err, AllowanceUsedUp):
                    until, reason = self._held_until(conn, err, now)
                    outbox.hold(live, err, until, now=now, reason=reason)
                    label = "held"
                elif how is Outcome.RETRY and self._send_again_now(ledger, live, err):
                    outbox.release(live, now=now)
                    label = "released"
                elif how is Outcome.RETRY:
                    if outbox.settle_failed(live, err, now=now, backoff=self.backoff, rng=self._rng) is None:
                        label = "quarantined"
                elif how is Outcome.UNCERTAIN:
                    outbox.settle_uncertain(live, err, now=now)
                else:
                    outbox.settle_quarantined(live, err, now=now)
                    label = "quarantined"
                settled.append((live, answer, label))
            outbox.mark_returns_posted(s, posted_returns, now)
        rmas = self._rmas({r.return_id for r, _, _ in settled})
        for row, answer, label in settled:
            self._report(conn, row, answer, label, rmas.get(row.return_id), result)

    def _report(self, conn: _Conn, row: OutboxDocument, answer: SendResult, label: str, rma: str | None,
                result: PostResult) -> None:
        err = answer.error
        what = f"{row.doc_type} {row.remote_number or row.idempotency_key}"
        if label == "held":
            result.held += 1  # one event for all of them (``_say_held``)
        elif label in ("posted", "adopted"):
            result.posted += 1
            self._emit(conn, EventKind.DOCUMENT_POSTED, Severity.INFO, f"Posted {what} (id {row.remote_id})", row, rma)
            if label == "adopted":
                self._emit(conn, EventKind.DOCUMENT_DUPLICATE_PREVENTED, Severity.INFO,
                           f"{what}: the ledger already had it (duplicate number), so it was adopted", row, rma)
        elif label == "retry" and err is not None:
            result.failed += 1
            self._emit(conn, EventKind.DOCUMENT_FAILED, Severity.WARNING, f"{what} did not post this time", row, rma,
                       err)
            self._emit(conn, EventKind.DOCUMENT_RETRY_SCHEDULED, Severity.INFO,
                       f"{what} will be retried at {row.next_attempt_at:%Y-%m-%d %H:%M:%S} UTC", row, rma,
                       next_attempt_at=row.next_attempt_at)
        elif label == "released":
            self._emit(conn, EventKind.DOCUMENT_RETRY_SCHEDULED, Severity.INFO,
                       f"{what} was not taken ({err.user_message() if err else 'not sent'}); it goes again as soon "
                       "as the rate limit allows", row, rma)
        elif label == "uncertain" and err is not None:
            self._emit(conn, EventKind.DOCUMENT_UNCERTAIN, Severity.WARNING,
                       f"{what} was sent but the answer was lost; it will be looked up before any re-send", row,
                       rma, err)
        elif err is not None:
            result.quarantined += 1
            self._emit(conn, EventKind.DOCUMENT_QUARANTINED, Severity.ERROR, f"{what} needs a person", row, rma, err)
