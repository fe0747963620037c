"""The sync engine: ingest → plan → push → write-back → pull, per organization (DESIGN §3, §7).

- :meth:`SyncEngine.plan` turns every NEW return revision into documents (recipes, then
  pre-flight). Problems → the revision is QUARANTINED with one ``QuarantineReason`` each (an error
  prevented, counted); none → its documents go to the outbox (idempotent on their keys) and the
  revision is READY.
- A revision arriving after an earlier revision of the same return reached the ledger (posted,
  or possibly posted: in flight / uncertain) is **quarantined** with ``revision_after_posting``:
  the engine never posts an automatic adjustment on top of an accountant's books; a person voids
  or adjusts the posted documents, then releases or ignores the new revision. Documents of an
  earlier revision that never reached the ledger (pending, failed, quarantined) are withdrawn
  from the outbox so the newer revision replaces them cleanly.
- :meth:`SyncEngine.push` posts the organization's outbox (:class:`~desktop.services.pipeline.poster.Poster`),
  :meth:`SyncEngine.writeback` tells the RMS, :meth:`SyncEngine.run_once` does the whole round.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from desktop.services.admin import audit
from desktop.services.connections.service import ConnectionService
from desktop.services.core.clock import Clock, local_date
from desktop.services.core.domain import OrgSettings, PostingMode, Problem
from desktop.services.core.errors import AppError, NeedsPersonError, TransientError
from desktop.services.core.events import Event, EventBus, EventKind, Severity
from desktop.services.core.failures import explain
from desktop.services.mapping.service import MappingService
from desktop.services.pipeline import outbox
from desktop.services.pipeline.plan import OrgContext, Plan, Planner, connector_rates, plan_return
from desktop.services.pipeline.poster import LockFactory, Poster, PostResult, default_lock
from desktop.services.pipeline.writeback import WriteBackResult, WriteBackService
from desktop.services.platforms.http import AllowanceUsedUp
from desktop.services.rms.client import RmsClient
from desktop.services.store.connection_choice import org_connection
from desktop.services.store.db import Database
from desktop.services.store.models import (
    LedgerConnection,
    Organization,
    OutboxDocument,
    OutboxStatus,
    QuarantineReason,
    Return,
    ReturnSyncStatus,
    SyncRun,
    SyncRunStatus,
)

__all__ = ["PlanResult", "SyncEngine", "push_totals"]

log = logging.getLogger(__name__)

#: Outbox states that mean "this document is, or may be, in the ledger".
_REACHED_LEDGER = (OutboxStatus.POSTED, OutboxStatus.IN_FLIGHT, OutboxStatus.UNCERTAIN, OutboxStatus.VOID_PENDING)
_PLAN_CHUNK = 200


@dataclass
class PlanResult:
    """What one :meth:`SyncEngine.plan` did, in return revisions (``documents``: rows queued)."""

    planned: int = 0
    documents: int = 0
    quarantined: int = 0
    withdrawn: int = 0
    skipped: str | None = None
    held: int = 0  # left NEW: planning needs a ledger read (a rate) while the metered allowance is used up

    def counts(self) -> dict[str, int]:
        return {"planned": self.planned, "documents": self.documents, "quarantined": self.quarantined,
                "withdrawn": self.withdrawn, "held": self.held}


@dataclass
class _Org:
    id: int
    code: str
    timezone: str
    settings: OrgSettings
    home_currency: str
    connection_id: int | None = None
    events: list[Event] = field(default_factory=list)


class SyncEngine:
    """One organization's round trip (see the module docstring).

    Args:
        rms_client_for: the RMS client of an organization, or None when it has no RMS.
        ingest: ``IngestService`` (``pull(org, client)``); None skips ingest in :meth:`run_once`.
        pull: ``PullService`` (``pull(org) -> PullResult``); None skips the ledger pull.
        poster: defaults to a :class:`Poster` over the same services.
        planner: the one planner (:mod:`desktop.services.pipeline.plan`); defaults to one over the same
            services, with the ledger's own exchange rates.
    """

    def __init__(self, db: Database, bus: EventBus, clock: Clock, connections: ConnectionService,
                 mapping: MappingService, rms_client_for: Callable[[str], RmsClient | None], *,
                 ingest: Any = None, pull: Any = None, poster: Poster | None = None,
                 before_push: Callable[[int], object] | None = None, planner: Planner | None = None) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._connections = connections
        self._mapping = mapping
        self._rms_client_for = rms_client_for
        self._ingest = ingest
        self._pull = pull
        self._windows = _PostingWindows(clock)
        self.poster = poster or Poster(db, bus, clock, connections, lock=self._windows.watch(default_lock(db)))
        self._before_push = before_push  # e.g. adopt documents entered by hand, so they are never sent
        self.planner = planner or Planner(db, clock, mapping, connector_rates(connections))
        self._waiting_said: dict[str, int] = {}  # returns last said to wait for a rate read, per organization

    # --- look-ups ----------------------------------------------------------------------------

    def _org(self, s: Session, code: str) -> _Org:
        org = s.execute(sa.select(Organization).where(Organization.code == code)).scalar_one_or_none()
        if org is None:
            raise NeedsPersonError(f"There is no organization {code!r}", action="check the organization code")
        return _Org(org.id, org.code, org.timezone or "UTC", OrgSettings.from_json(org.settings),
                    org.home_currency, org_connection(s, org.id, connected_only=True))

    def organizations(self) -> list[str]:
        """Active organizations that have a ledger connection."""
        with self._db.session() as s:
            return list(s.scalars(sa.select(Organization.code).where(Organization.is_active)
                                  .where(sa.exists().where(LedgerConnection.organization_id == Organization.id))
                                  .order_by(Organization.code)))

    # --- plan --------------------------------------------------------------------------------

    def plan(self, org: str) -> PlanResult:
        """Recipes + pre-flight (:func:`~desktop.services.pipeline.plan.plan_return`) for every NEW
        revision of ``org``: quarantine or enqueue. The organization's context (snapshot, mapping,
        settings, rates) is loaded once for the whole run.

        Chunk by chunk, the recipes run on rows read without the write lock (and any rate they still
        ask the ledger for is asked then); only the outcome is written under it. On SQLite the
        writer is one for the whole app: organizations planning in parallel wait for each other's
        writes, never for each other's recipes or ledger calls.
        """
        result = PlanResult()
        with self._db.session() as s:
            o = self._org(s, org)
        if o.connection_id is None:
            result.skipped = "no connected ledger"
            return result
        if o.settings.posting_mode is PostingMode.DAILY_SUMMARY:
            result.skipped = "daily-summary mode is planned by the summary job"
            return result
        ctx = self.planner.context(org)
        with suppress(AllowanceUsedUp):  # the returns needing a rate wait (below); the others are planned
            self._prefetch_rates(o, ctx)
        waiting: set[int] = set()
        used_up: AllowanceUsedUp | None = None
        while True:
            with self._db.session() as s:
                new = sa.select(Return.id).where(Return.organization_id == o.id,
                                                 Return.sync_status == ReturnSyncStatus.NEW)
                if waiting:
                    new = new.where(Return.id.not_in(sorted(waiting)))
                ids = list(s.scalars(new.order_by(Return.rms_updated_at, Return.id).limit(_PLAN_CHUNK)))
                rows = s.scalars(sa.select(Return).where(Return.id.in_(ids)).order_by(Return.rms_updated_at, Return.id)
                                 .options(selectinload(Return.lines), selectinload(Return.fees),
                                          selectinload(Return.tax_lines))).all()
            if not rows:
                break
            # Outside the write lock; a TransientError (the ledger did not answer a rate read) stops
            # this round before anything is written, and the next round plans again.
            outcomes: list[tuple[int, Plan | list[Problem]]] = []
            for ret in rows:
                try:
                    outcomes.append((ret.id, self._outcome_of(ret, ctx)))
                except AllowanceUsedUp as exc:  # it needs a rate read: NEW until the allowance resets
                    waiting.add(ret.id)
                    result.held += 1
                    used_up = exc
            with self._db.write_session() as s:
                fresh = {r.id: r for r in s.scalars(sa.select(Return).where(Return.id.in_([i for i, _ in outcomes])))}
                for ret_id, outcome in outcomes:
                    now_row = fresh.get(ret_id)
                    if now_row is None or now_row.sync_status != ReturnSyncStatus.NEW:
                        continue  # planned, superseded or removed meanwhile
                    try:
                        with s.begin_nested():
                            self._plan_one(s, o, now_row, outcome, result)
                    except Exception as exc:  # a bug must not hold up every other return
                        log.exception("recording the plan of %s revision %s failed", now_row.rma_number,
                                      now_row.revision)
                        self._quarantine(s, o, now_row, [_planning_failed(exc)], self._clock.now(), result)
            for event in o.events:
                self._bus.publish(event)
            o.events.clear()
        said, self._waiting_said[org] = self._waiting_said.get(org), result.held
        if used_up is not None and said != result.held:  # said when it changes, not every round
            self._bus.emit(EventKind.DOCUMENT_HELD, Severity.WARNING,
                           f"{org}: {result.held:,} return(s) wait to be planned, not failed: they need an exchange "
                           f"rate from the ledger, and {used_up.message}. They are planned and posted by themselves "
                           "after it resets.", org=org, details={"held_returns": result.held})
        return result

    def _prefetch_rates(self, o: _Org, ctx: OrgContext) -> None:
        """Ask the ledger up front for the rate of every (currency, posting day) the NEW returns need."""
        with self._db.session() as s:
            ctx.prefetch({(cur, local_date(at, ctx.timezone)) for cur, at in s.execute(
                sa.select(Return.currency, Return.rms_updated_at).where(
                    Return.organization_id == o.id, Return.sync_status == ReturnSyncStatus.NEW,
                    Return.currency != ctx.snapshot.home_currency)).all()})

    @staticmethod
    def _outcome_of(ret: Return, ctx: OrgContext) -> Plan | list[Problem]:
        """The recipes' and pre-flight's plan of ``ret``, or why it cannot be planned (CPU and perhaps a
        ledger rate read: done before the write lock is taken). TransientError goes to the caller."""
        try:
            record = ctx.record(ret)
        except ValueError as exc:
            return [Problem("unreadable", str(exc))]
        try:
            return plan_return(ctx, record)
        except TransientError:
            raise
        except Exception as exc:  # a recipe bug must not hold up every other return
            log.exception("planning %s revision %s failed", ret.rma_number, ret.revision)
            return [_planning_failed(exc)]

    def _plan_one(self, s: Session, o: _Org, ret: Return, outcome: Plan | list[Problem], result: PlanResult) -> None:
        now = self._clock.now()
        earlier = [r for r in s.scalars(sa.select(Return).where(Return.organization_id == o.id,
                                                                 Return.rms_id == ret.rms_id,
                                                                 Return.revision < ret.revision))]
        earlier_ids = [r.id for r in earlier]
        if earlier_ids:
            reached = s.scalars(sa.select(Return.revision).join(OutboxDocument, OutboxDocument.return_id == Return.id)
                                .where(Return.id.in_(earlier_ids), OutboxDocument.status.in_(_REACHED_LEDGER))
                                .order_by(Return.revision.desc())).first()
            if reached is not None:
                self._quarantine(s, o, ret, [Problem(
                    "revision_after_posting",
                    f"Revision {ret.revision} of return {ret.rma_number} arrived after revision {reached} was "
                    "posted to the ledger. The sync never posts an automatic adjustment: an accountant must void "
                    "or adjust the posted documents in the ledger, then release this revision (or mark it "
                    "ignored) on the Errors page.", "revision")], now, result)
                return
            # Only unsent documents are withdrawn. One awaiting adoption (entered by hand in the
            # ledger) is in the books already, so it is never withdrawn: the outbox refuses it.
            stale = s.execute(sa.select(OutboxDocument).where(
                OutboxDocument.return_id.in_(earlier_ids),
                OutboxDocument.status.in_(outbox.TRANSITIONS["withdraw"]))).scalars().all()
            for stale_doc in stale:
                outbox.withdraw(s, stale_doc)
                result.withdrawn += 1
            for r in earlier:
                if r.sync_status in (ReturnSyncStatus.READY, ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED):
                    r.sync_status = ReturnSyncStatus.SUPERSEDED
                    r.updated_at = now
        if isinstance(outcome, list):
            self._quarantine(s, o, ret, outcome, now, result)
            return
        docs = outcome.documents
        if outcome.problems:
            self._quarantine(s, o, ret, outcome.problems, now, result)
            return
        inserted = outbox.enqueue(s, docs, o.id, o.connection_id, ret.id, now=now)
        ret.sync_status = ReturnSyncStatus.READY
        ret.updated_at = now
        result.planned += 1
        result.documents += len(inserted)
        for doc in docs:
            o.events.append(Event(EventKind.DOCUMENT_PLANNED, Severity.INFO,
                                  f"Planned {doc.doc_type} {doc.role.replace('_', ' ')} for {ret.rma_number} "
                                  f"revision {ret.revision}: {doc.total}", now, org=o.code, rma=ret.rma_number,
                                  document_key=doc.idempotency_key, platform=doc.platform,
                                  details={"doc_type": doc.doc_type, "role": doc.role, "total": doc.total,
                                           "new": doc.idempotency_key in inserted}))

    def _quarantine(self, s: Session, o: _Org, ret: Return, problems: list[Problem], now: Any,
                    result: PlanResult) -> None:
        ret.sync_status = ReturnSyncStatus.QUARANTINED
        ret.updated_at = now
        for p in problems:
            s.add(QuarantineReason(return_id=ret.id, code=p.code, message=p.message,
                                   details={"field": p.field} if p.field else None, created_at=now))
        result.quarantined += 1
        o.events.append(Event(
            EventKind.DOCUMENT_QUARANTINED, Severity.ERROR,
            f"{ret.rma_number} revision {ret.revision} was stopped before posting: "
            + "; ".join(p.message for p in problems[:3]) + (f" (+{len(problems) - 3} more)" if len(problems) > 3
                                                             else ""),
            now, org=o.code, rma=ret.rma_number,
            details={"codes": [p.code for p in problems], "revision": ret.revision, "error_prevented": True}))

    # --- push, write-back, the round ---------------------------------------------------------

    def push(self, org: str, worker_id: str | None = None) -> PostResult:
        """Post ``org``'s due outbox documents to its ledger (recorded as a ``push`` sync run).

        The run records what the outbox says this push did — counted in the database over the time
        this process held the connection's posting lock (:func:`push_totals` reads it back) — also
        when the push dies part-way, so a summary after a fault tells the truth.
        """
        with self._db.session() as s:
            o = self._org(s, org)
            if o.connection_id is not None:
                audit.require_key(s)  # what reaches the ledger must reach the audit trail: refuse before, not after
        if o.connection_id is None:
            return PostResult()
        worker = worker_id or default_worker_id()
        run_id, started = self._start_run(o.id, "push")
        self._windows.forget(o.connection_id)
        try:
            if self._before_push is not None:
                self._before_push(o.connection_id)
            result = self.poster.post_pending(o.connection_id, worker_id=worker, run_id=run_id)
        except BaseException as exc:
            try:
                self._finish_run(run_id, SyncRunStatus.FAILED, self._outcome(o.connection_id, started, worker), exc,
                                 o.connection_id)
            except Exception:  # the database may be what failed: the push's own error is the one to raise
                log.warning("the failed push of %s could not be recorded", org, exc_info=True)
            raise
        counts = {**asdict(result), **self._outcome(o.connection_id, started, worker)}
        partial = result.failed or result.quarantined or result.uncertain
        self._finish_run(run_id, SyncRunStatus.PARTIAL if partial else SyncRunStatus.SUCCEEDED, counts, None,
                         o.connection_id)
        return result

    def _outcome(self, connection_id: int, started: datetime, worker: str) -> dict[str, Any]:
        """What the outbox holds from this push: documents it posted, failed or stopped for a person
        (settled while this process held the posting lock, which no other worker can hold meanwhile),
        and how many are uncertain now."""
        lo, hi = self._windows.last(connection_id) or (started, self._clock.now())
        doc = OutboxDocument
        settled = sa.or_(sa.and_(doc.status == OutboxStatus.POSTED, doc.posted_at.between(lo, hi)),
                         sa.and_(doc.status.in_((OutboxStatus.FAILED, OutboxStatus.QUARANTINED)),
                                 doc.updated_at.between(lo, hi)),
                         doc.status == OutboxStatus.UNCERTAIN)
        with self._db.session() as s:
            found = {OutboxStatus(status): int(n) for status, n in s.execute(
                sa.select(doc.status, sa.func.count()).where(doc.connection_id == connection_id, settled)
                .group_by(doc.status))}
        return {"posted": found.get(OutboxStatus.POSTED, 0), "failed": found.get(OutboxStatus.FAILED, 0),
                "quarantined": found.get(OutboxStatus.QUARANTINED, 0),
                "uncertain": found.get(OutboxStatus.UNCERTAIN, 0), "worker": worker}

    def _start_run(self, org_id: int, kind: str) -> tuple[int, datetime]:
        started = self._clock.now()
        with self._db.write_session() as s:
            run = SyncRun(organization_id=org_id, kind=kind, trigger=None, started_at=started,
                          status=SyncRunStatus.RUNNING, counts={})
            s.add(run)
            s.flush()
            return run.id, started

    def _finish_run(self, run_id: int, status: SyncRunStatus, counts: dict[str, Any],
                    exc: BaseException | None, connection_id: int) -> None:
        """Close the run, and seal its digest (what it posted) into the audit trail in the same transaction."""
        if isinstance(exc, AppError):
            error: dict[str, Any] | None = exc.as_dict()
        elif exc is not None:  # no exception text: it may hold anything, and it is not for a person
            explained = explain(exc)
            error = {"kind": "fatal" if explained.unexpected else "transient", "message": explained.message,
                     "action": explained.action, "type": type(exc).__name__}
        else:
            error = None
        with self._db.write_session() as s:
            run = s.get(SyncRun, run_id)
            if run is not None:
                run.status, run.counts, run.finished_at = status, counts, self._clock.now()
                run.error = error
                if run.organization_id is not None:
                    outbox.record_run(s, run_id=run_id, organization_id=run.organization_id,
                                      connection_id=connection_id, started_at=run.started_at, status=status.value,
                                      now=run.finished_at)

    def writeback(self, org: str) -> WriteBackResult:
        """Tell the RMS about every fully posted revision of ``org`` (retried until it lands)."""
        if self._rms_client_for(org) is None:
            return WriteBackResult()
        service = WriteBackService(self._db, self._bus, self._clock, self._client)
        return service.run(org)

    def _client(self, org: str) -> RmsClient:
        client = self._rms_client_for(org)
        assert client is not None
        return client

    def run_once(self, org: str | None = None, *, worker_id: str | None = None) -> dict[str, Any]:
        """One full round for ``org`` (or every connected organization); a failing step is reported
        (``errors``) and the later steps still run, so e.g. an RMS outage never stops posting."""
        out: dict[str, Any] = {"ingested": 0, "quarantined": 0, "posted": 0, "failed": 0, "uncertain": 0,
                               "pulled_changes": 0, "written_back": 0, "errors": []}
        for code in [org] if org else self.organizations():
            client = self._rms_client_for(code)
            steps: list[tuple[str, Callable[[], None]]] = []

            def ingest(code: str = code, client: RmsClient | None = client) -> None:
                if self._ingest is not None and client is not None:
                    res = self._ingest.pull(code, client)
                    out["ingested"] += res.ingested
                    out["quarantined"] += res.quarantined

            def plan(code: str = code) -> None:
                out["quarantined"] += self.plan(code).quarantined

            def push(code: str = code) -> None:
                res = self.push(code, worker_id)
                out["posted"] += res.posted
                out["failed"] += res.failed
                out["quarantined"] += res.quarantined
                out["uncertain"] += res.uncertain

            def writeback(code: str = code) -> None:
                res = self.writeback(code)
                out["written_back"] += res.sent + res.replayed

            def pull(code: str = code) -> None:
                if self._pull is not None:
                    out["pulled_changes"] += len(self._pull.pull(code).changes)

            steps = [("ingest", ingest), ("plan", plan), ("push", push), ("writeback", writeback), ("pull", pull)]
            for name, step in steps:
                try:
                    step()
                except AppError as err:
                    out["errors"].append(f"{code} {name}: {err.user_message()}")
                    self._bus.emit_error(EventKind.SYNC_FAILED, err, org=code, details={"step": name})
        return out


def _planning_failed(exc: Exception) -> Problem:
    return Problem("planning_failed", f"Planning this return failed ({type(exc).__name__}: {exc}); nothing was "
                   "posted: a developer must look at the application log.")


class _PostingWindows:
    """The poster's lock factory, noting when this process held each connection's posting lock.

    The lock is exclusive across processes, so whatever the outbox settled on that connection
    while this process held it, this process did: the database's count over that window is the
    push's true count, whatever became of the in-memory tally. Per thread: the thread that pushes
    is the one that took the lock.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._local = threading.local()

    def watch(self, inner: LockFactory) -> LockFactory:
        @contextmanager
        def lock(name: str) -> Iterator[None]:
            with inner(name):
                started = self._clock.now()
                try:
                    yield
                finally:
                    self._windows()[name] = (started, self._clock.now())
        return lock

    def _windows(self) -> dict[str, tuple[datetime, datetime]]:
        if not hasattr(self._local, "windows"):
            self._local.windows = {}
        windows: dict[str, tuple[datetime, datetime]] = self._local.windows
        return windows

    def forget(self, connection_id: int) -> None:
        self._windows().pop(f"post:{connection_id}", None)

    def last(self, connection_id: int) -> tuple[datetime, datetime] | None:
        return self._windows().get(f"post:{connection_id}")


def push_totals(db: Database, worker_id: str, since: datetime) -> dict[str, int]:
    """What the push runs of ``worker_id`` started since ``since`` did, as recorded in the database
    (see :meth:`SyncEngine.push`): documents posted, failed, stopped for a person, and uncertain."""
    totals = dict.fromkeys(("posted", "failed", "quarantined", "uncertain"), 0)
    with db.session() as s:
        runs = s.scalars(sa.select(SyncRun.counts).where(SyncRun.kind == "push", SyncRun.started_at >= since)).all()
    for counts in runs:
        if isinstance(counts, dict) and counts.get("worker") == worker_id:
            for key in totals:
                totals[key] += int(counts.get(key) or 0)
    return totals


def default_worker_id() -> str:
    """``host:pid`` — what lease_owner shows, so a person can tell whose lease it is."""
    import os

    return f"{socket.gethostname()}:{os.getpid()}"
