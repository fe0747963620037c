"""Unattended sync: APScheduler 3.x jobs per organization and kind (DESIGN.md §1, §11).

Every organization gets one interval job per kind — ``ingest`` (RMS → local), ``push`` (outbox →
ledger), ``pull`` (ledger → local → RMS), ``reference`` (chart of accounts etc.), ``mapping``
(validate the active mapping against it) and ``token_health`` (sign-ins about to lapse). Jobs are
``coalesce=True`` (a backlog of missed runs becomes one run), ``max_instances=1`` and have a
``misfire_grace_time``; on top of that a lock per (organization, kind) keeps a scheduled run and a
:meth:`SyncScheduler.sync_now` from ever doing the same work at the same time.

Schedules are *persisted* in the ``settings`` table, per organization: ``schedule.<kind>_interval_s``
and ``schedule.paused``. APScheduler's own job store is not used for that — its jobs point at live
objects — so a new scheduler (a restart, another worker) rebuilds its jobs from the settings and
keeps the admin's intervals and paused state.

Several workers may share one PostgreSQL database: the outbox claims rows with
``FOR UPDATE SKIP LOCKED`` under a lease that names the worker, so two workers never post the
same document; :meth:`SyncScheduler.shutdown` lets running jobs finish, then releases any lease
this worker still holds on rows it had not yet sent.

Organizations run in parallel: "sync now" chains (``sync --once``, the worker's first cycle, the
GUI's start-up sync) share one bounded pool of ``parallel`` threads (the ``--parallel`` option, or
the ``sync.parallel_organizations`` setting, else :data:`DEFAULT_PARALLEL`), and scheduled jobs run
on APScheduler's own pool of the same size. By default every organization with work runs at once,
up to :data:`MAX_PARALLEL`: a pool thread is started only when a chain is waiting for one, so the
pool follows the number of organizations with work. Posting waits on each ledger's own rate limits
(QuickBooks 500 calls a minute and 10 at once per realm, Xero 60 a minute and 5 at once per tenant),
so those threads mostly sleep; a pool of 4 made a firm's 50 companies take about 12 times as long as
the slowest one alone. Each organization keeps its own throttle per ledger connection (and Xero's
app-wide minute limit is one throttle shared by every tenant); one organization's failure is its
own chain's ``{"error": …}`` and never holds up another's.

Outcomes are events: ``sync.started``, ``sync.finished`` (with the step's counts) and
``sync.failed`` (with the error). Nothing here imports Qt; the views bridge the events.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC
from typing import Any, Protocol

import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from desktop.services.auth.roles import Action, Actor
from desktop.services.connections.service import ConnectionService
from desktop.services.core.clock import Clock
from desktop.services.core.errors import AppError, FatalError, NeedsPersonError
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.core.progress import OperationProgress, current, reporting
from desktop.services.pipeline import outbox
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Setting

__all__ = [
    "CHAIN",
    "DEFAULT_INTERVALS_S",
    "DEFAULT_PARALLEL",
    "JOB_KINDS",
    "MAX_PARALLEL",
    "PARALLEL_KEY",
    "PipelineSteps",
    "SyncScheduler",
    "SyncSteps",
    "default_worker_id",
    "describe_sync",
]

log = logging.getLogger(__name__)

JOB_KINDS = ("ingest", "push", "pull", "reference", "mapping", "token_health")
#: What "sync now" runs, in order: new returns in, documents out, ledger changes back.
CHAIN = ("ingest", "push", "pull")
#: What each step of the chain is doing, for a progress line.
STEP_WORDS = {"ingest": "reading new returns from the RMS", "push": "posting documents to the ledger",
              "pull": "reading changes back from the ledger"}
DEFAULT_INTERVALS_S: dict[str, int] = {"ingest": 300, "push": 120, "pull": 300, "reference": 86_400,
                                       "mapping": 3_600, "token_health": 21_600}
MIN_INTERVAL_S = 5
#: The most organizations that sync at once in one process (threads of each pool). PostgreSQL
#: must allow about twice as many connections per worker (``store.db`` sizes its pool for it).
MAX_PARALLEL = 64
#: How many organizations sync at once unless told otherwise: all that have work, up to the cap
#: (threads start only as chains wait for them; see the module docstring).
DEFAULT_PARALLEL = MAX_PARALLEL
PARALLEL_KEY = "sync.parallel_organizations"
PAUSED_KEY = "schedule.paused"


def interval_key(kind: str) -> str:
    return f"schedule.{kind}_interval_s"


def default_worker_id() -> str:
    """``host:pid`` — what a lease names, so a person can tell which worker holds a row."""
    return f"{socket.gethostname()}:{os.getpid()}"


class SyncSteps(Protocol):
    """The work the jobs run; the sync engine (plus ingest and pull) provides it."""

    def ingest(self, org: str) -> Mapping[str, Any]: ...

    def push(self, org: str, worker_id: str) -> Mapping[str, Any]: ...

    def pull(self, org: str) -> Mapping[str, Any]: ...


class MappingCheck(Protocol):
    def __call__(self, org: str) -> Sequence[Any]: ...


class SyncScheduler:
    """Per-organization sync jobs on an APScheduler ``BackgroundScheduler``.

    Args:
        engine: the steps the jobs run (:class:`SyncSteps`).
        connections: reference refresh and token health.
        mapping: returns the mapping problems of an organization (``[]`` when valid), or None to
            skip the mapping job.
        clock: the injected clock (events, settings, lease release); APScheduler keeps its own time.
        bus: where job outcomes go.
        db: where schedules are persisted and leases released.
        actor: who the unattended jobs act as (reference refresh is permission-checked).
        scheduler: an APScheduler scheduler to use (tests); by default a UTC ``BackgroundScheduler``.
        worker_id: names this process's outbox leases.
        misfire_grace_s: how late a run may start and still run.
        parallel: how many organizations run at most at once (1 to :data:`MAX_PARALLEL`); threads are
            started as chains wait for one, never more than there are organizations with work.
    """

    def __init__(self, engine: SyncSteps, connections: ConnectionService, mapping: MappingCheck | None,
                 clock: Clock, bus: EventBus, *, db: Database, actor: Actor, scheduler: Any = None,
                 worker_id: str | None = None, misfire_grace_s: int = 60, parallel: int = DEFAULT_PARALLEL) -> None:
        if not 1 <= parallel <= MAX_PARALLEL:
            raise ValueError(f"parallel must be from 1 to {MAX_PARALLEL}")
        self.parallel = parallel
        self._engine = engine
        self._connections = connections
        self._mapping = mapping
        self._clock = clock
        self._bus = bus
        self._db = db
        self._actor = actor
        self.worker_id = worker_id or default_worker_id()
        self._grace = misfire_grace_s
        self.scheduler = scheduler if scheduler is not None else BackgroundScheduler(
            timezone=UTC, executors={"default": {"type": "threadpool", "max_workers": parallel}})
        self._guard = threading.Lock()
        self._step_locks: dict[tuple[str, str], threading.Lock] = {}
        self._now_running: dict[str, Future[dict[str, Any]]] = {}
        self._watching: dict[str, _Watchers] = {}
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="sync-now")
        self._stopping = threading.Event()
        self._orgs: list[str] = []

    @property
    def actor(self) -> Actor:
        """Who the jobs run as (each way to start work requires it may ``run_sync``)."""
        return self._actor

    # --- life cycle ------------------------------------------------------------------------------
    def start(self, orgs: Sequence[str] | None = None) -> None:
        """Add every organization's jobs (from the persisted settings) and start the scheduler."""
        self._actor.require(Action.RUN_SYNC)
        for org in orgs if orgs is not None else self._active_orgs():
            self.add_organization(org)
        self.scheduler.start()

    def add_organization(self, org: str) -> None:
        """(Re)create ``org``'s jobs with its persisted intervals; paused if it is paused."""
        paused = self.is_paused(org)
        for kind in JOB_KINDS:
            # APScheduler keeps real time itself (it cannot take our clock): the first run is one
            # interval after start, or none while paused (``next_run_time=None`` adds it paused).
            when: dict[str, Any] = {"next_run_time": None} if paused else {}
            self.scheduler.add_job(
                self._run_scheduled, IntervalTrigger(seconds=self.interval(org, kind), timezone=UTC),
                args=(org, kind), id=job_id(org, kind), name=f"{kind} for {org}", replace_existing=True,
                coalesce=True, max_instances=1, misfire_grace_time=self._grace, **when)
        if org not in self._orgs:
            self._orgs.append(org)

    def shutdown(self, wait: bool = True) -> int:
        """Stop taking work; let running jobs finish (``wait``); release this worker's leases.

        Returns how many outbox leases were released. Safe to call twice.
        """
        self._stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        self._pool.shutdown(wait=wait, cancel_futures=True)
        return self.release_leases()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # --- persisted schedule ----------------------------------------------------------------------
    def interval(self, org: str, kind: str) -> int:
        value = self._setting(org, interval_key(kind))
        return int(value) if isinstance(value, int) and value >= MIN_INTERVAL_S else DEFAULT_INTERVALS_S[kind]

    def set_interval(self, org: str, kind: str, seconds: int) -> None:
        """Persist a new interval and reschedule the job (the next run is one interval from now)."""
        self._actor.require(Action.MANAGE_SETTINGS)
        if kind not in JOB_KINDS:
            raise ValueError(f"unknown job kind {kind!r}; one of {JOB_KINDS}")
        if seconds < MIN_INTERVAL_S:
            raise ValueError(f"an interval must be at least {MIN_INTERVAL_S} seconds")
        self._put_setting(org, interval_key(kind), int(seconds))
        if self.scheduler.get_job(job_id(org, kind)) is not None:
            self.scheduler.reschedule_job(job_id(org, kind), trigger=IntervalTrigger(seconds=seconds, timezone=UTC))
            if self.is_paused(org):
                self.scheduler.pause_job(job_id(org, kind))

    def is_paused(self, org: str) -> bool:
        return self._setting(org, PAUSED_KEY) is True

    def pause(self, org: str) -> None:
        """Stop ``org``'s scheduled jobs until :meth:`resume`; survives a restart."""
        self._set_paused(org, True)

    def resume(self, org: str) -> None:
        self._set_paused(org, False)

    def _set_paused(self, org: str, paused: bool) -> None:
        """Remember the choice (a restart keeps it), apply it to ``org``'s jobs, and say so."""
        self._actor.require(Action.RUN_SYNC)
        self._put_setting(org, PAUSED_KEY, paused)
        for kind in JOB_KINDS:
            if self.scheduler.get_job(job_id(org, kind)) is not None:
                (self.scheduler.pause_job if paused else self.scheduler.resume_job)(job_id(org, kind))
        kind, word = ("sync.paused", "paused") if paused else ("sync.resumed", "resumed")
        self._bus.emit(kind, Severity.INFO, f"Scheduled sync {word} for {org}", org=org)

    def jobs(self, org: str | None = None) -> list[Any]:
        """APScheduler's jobs (optionally of one organization)."""
        return [j for j in self.scheduler.get_jobs() if org is None or j.id.startswith(f"{org}:")]

    # --- running ---------------------------------------------------------------------------------
    def sync_now(self, org: str, progress: OperationProgress | None = None) -> Future[dict[str, Any]]:
        """Run ``org``'s chain (ingest → push → pull) once, right away, on a background thread.

        A second call while one is running gets the running one's future instead of a second
        run; a scheduled step already running is waited for, never overlapped. ``progress`` hears
        each step's counts (:mod:`desktop.services.core.progress`) — also when it joins a chain
        already running — and cancelling it stops the chain where that is safe (between RMS pages,
        between outbox batches, between steps) once everyone watching the chain has cancelled; the
        result then holds ``"cancelled": True`` and ``{"skipped": "cancelled"}`` for steps not run.
        """
        self._actor.require(Action.RUN_SYNC)
        with self._guard:
            running = self._now_running.get(org)
            if running is not None and not running.done():
                if progress is not None:
                    self._watching[org].add(progress)
                return running
            if self._stopping.is_set():
                cancelled: Future[dict[str, Any]] = Future()
                cancelled.set_exception(FatalError("The scheduler is shutting down"))
                return cancelled
            watchers = self._watching[org] = _Watchers(progress)
            future = self._pool.submit(self._chain, org, watchers)
            self._now_running[org] = future
            return future

    def sync_all(self, orgs: Sequence[str]) -> dict[str, Future[dict[str, Any]]]:
        """:meth:`sync_now` for every organization at once; they run ``parallel`` at a time (by default
        all of them, up to :data:`MAX_PARALLEL`)."""
        return {org: self.sync_now(org) for org in orgs}

    def trigger(self, org: str, kind: str) -> Future[dict[str, Any]] | None:
        """Run one step soon on a background thread (a webhook asks for a pull); None when stopping.

        If the step is running already this run waits for it and then runs once more, so a change
        announced during a pull is never missed.
        """
        self._actor.require(Action.RUN_SYNC)
        if self._stopping.is_set():
            return None
        try:
            return self._pool.submit(self.run_job, org, kind, trigger="webhook", wait=True)
        except RuntimeError:  # the pool shut down between the check and the submit
            return None

    def _chain(self, org: str, progress: OperationProgress | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        with reporting(progress) as told:
            for kind in CHAIN:
                if self._stopping.is_set():
                    break
                if told.cancelled:
                    out[kind] = {"skipped": "cancelled"}
                    continue
                told.report(0, None, f"{org}: {STEP_WORDS[kind]}…")
                out[kind] = self.run_job(org, kind, trigger="manual", wait=True)
            if told.cancelled:
                out["cancelled"] = True
        return out

    def _run_scheduled(self, org: str, kind: str) -> None:
        self.run_job(org, kind, trigger="scheduled", wait=False)

    def run_job(self, org: str, kind: str, *, trigger: str = "manual", wait: bool = True) -> dict[str, Any]:
        """Run one step now. ``wait``: if the same step is running, wait for it instead of skipping.

        Returns the step's counts, ``{"skipped": reason}``, or ``{"error": …}`` (the failure is an
        event, not an exception: unattended work must keep going for the other organizations).
        """
        self._actor.require(Action.RUN_SYNC)
        if self._stopping.is_set():
            return {"skipped": "stopping"}
        lock = self._step_lock(org, kind)
        if not lock.acquire(blocking=wait):
            return {"skipped": "already running"}
        try:
            if self._stopping.is_set():
                return {"skipped": "stopping"}
            return self._run_locked(org, kind, trigger)
        finally:
            lock.release()
            self._flush_usage()

    def _flush_usage(self) -> None:
        """Store the metered calls the step made (one write per sync step, not one per request)."""
        usage = getattr(self._connections, "usage", None)
        if usage is not None:
            usage.try_flush()  # never fails a sync: what is not stored stays for the next flush

    def _run_locked(self, org: str, kind: str, trigger: str) -> dict[str, Any]:
        details = {"job": kind, "trigger": trigger, "worker": self.worker_id}
        self._bus.emit(EventKind.SYNC_STARTED, Severity.DEBUG if trigger == "scheduled" else Severity.INFO,
                       f"{kind} started for {org}", org=org, details=details)
        try:
            counts = dict(self._step(kind)(org))
        except AppError as exc:
            self._bus.emit_error(EventKind.SYNC_FAILED, exc, org=org, details=details)
            return {"error": exc.as_dict()}
        except Exception as exc:  # a bug: say so loudly, keep the scheduler alive
            log.exception("%s for %s crashed", kind, org)
            self._bus.emit(EventKind.SYNC_FAILED, Severity.ERROR, f"{kind} for {org} crashed: {exc}", org=org,
                           details={**details, "error_type": type(exc).__name__})
            return {"error": {"message": str(exc), "type": type(exc).__name__}}
        self._bus.emit(EventKind.SYNC_FINISHED, Severity.INFO, f"{kind} finished for {org}", org=org,
                       details={**details, "counts": counts})
        return counts

    def _step(self, kind: str) -> Callable[[str], Mapping[str, Any]]:
        steps: dict[str, Callable[[str], Mapping[str, Any]]] = {
            "ingest": self._engine.ingest,
            "push": lambda org: self._engine.push(org, self.worker_id),
            "pull": self._pull_ledger,
            "reference": self._refresh_reference,
            "mapping": self._validate_mapping,
            "token_health": self._token_health,
        }
        return steps[kind]

    def _pull_ledger(self, org: str) -> Mapping[str, Any]:
        allowance = getattr(self._connections, "allowance", None)
        waits = allowance.waits(org, "the ledger read-back") if allowance is not None else None
        if waits is not None:  # the change feed is a metered read: the next pull after the reset catches up
            return {"skipped": waits}
        return self._engine.pull(org)

    def _refresh_reference(self, org: str) -> dict[str, Any]:
        allowance = getattr(self._connections, "allowance", None)
        waits = allowance.waits(org, "the reference refresh") if allowance is not None else None
        if waits is not None:  # every record would be a metered read: the cache serves until the reset
            return {"skipped": waits}
        ids = [c.id for c in self._connections.summaries() if c.org_code == org and c.state in (
            "connected", "token_expiring")]
        totals: dict[str, int] = {}
        for conn_id in ids:
            for what, n in self._connections.refresh_reference_data(self._actor, conn_id).items():
                totals[what] = totals.get(what, 0) + n
        return {"connections": len(ids), **totals}

    def _validate_mapping(self, org: str) -> dict[str, Any]:
        if self._mapping is None:
            return {"skipped": "no mapping check"}
        problems = list(self._mapping(org))
        if problems:
            self._bus.emit(EventKind.MAPPING_INVALID, Severity.WARNING,
                           f"The mapping of {org} has {len(problems)} problem(s) against the ledger's accounts",
                           org=org, details={"problems": [getattr(p, "__dict__", str(p)) for p in problems[:50]]})
        return {"problems": len(problems)}

    def _token_health(self, org: str) -> dict[str, Any]:
        expiring = [c for c in self._connections.summaries() if c.org_code == org and c.state == "token_expiring"]
        for c in expiring:
            self._bus.emit(EventKind.CONNECTION_NEEDS_RECONNECT, Severity.WARNING,
                           f"{c.company_name}: {c.state_text}", org=org, platform=c.platform.value)
        return {"expiring": len(expiring)}

    def _step_lock(self, org: str, kind: str) -> threading.Lock:
        with self._guard:
            return self._step_locks.setdefault((org, kind), threading.Lock())

    # --- leases ----------------------------------------------------------------------------------
    def release_leases(self) -> int:
        """Give back rows this worker leased but never sent; sent ones stay for the uncertain path."""
        now = self._clock.now()
        with self._db.write_session() as s:
            rows = s.execute(sa.select(OutboxDocument).where(
                OutboxDocument.lease_owner == self.worker_id, OutboxDocument.status == OutboxStatus.IN_FLIGHT,
                OutboxDocument.sent_at.is_(None))).scalars().all()
            for row in rows:
                outbox.release(row, now=now)
            return len(rows)

    # --- settings --------------------------------------------------------------------------------
    def _active_orgs(self) -> list[str]:
        with self._db.session() as s:
            return list(s.execute(sa.select(Organization.code).where(Organization.is_active.is_(True))
                                  .order_by(Organization.code)).scalars())

    def _org_id(self, s: Any, org: str) -> int:
        org_id = s.execute(sa.select(Organization.id).where(Organization.code == org)).scalar()
        if org_id is None:
            raise NeedsPersonError(f"Organization {org!r} is not set up in this app")
        return int(org_id)

    def _setting(self, org: str, key: str) -> Any:
        with self._db.session() as s:
            return s.execute(sa.select(Setting.value).join(Organization, Organization.id == Setting.organization_id)
                             .where(Organization.code == org, Setting.key == key)).scalar()

    def _put_setting(self, org: str, key: str, value: Any) -> None:
        now = self._clock.now()
        with self._db.write_session() as s:
            org_id = self._org_id(s, org)
            row = s.execute(sa.select(Setting).where(Setting.organization_id == org_id, Setting.key == key)).scalar()
            if row is None:
                s.add(Setting(organization_id=org_id, key=key, value=value, updated_at=now,
                              updated_by=self._actor.username))
            else:
                row.value, row.updated_at, row.updated_by = value, now, self._actor.username


class _Watchers:
    """Everyone watching one running "sync now" chain: each hears every report; the chain stops when
    all of them have cancelled (and never on its own, when nobody watches — a start-up sync)."""

    def __init__(self, first: OperationProgress | None) -> None:
        self._lock = threading.Lock()
        self._all: list[OperationProgress] = [first] if first is not None else []

    def add(self, progress: OperationProgress) -> None:
        with self._lock:
            self._all.append(progress)

    def _watching(self) -> list[OperationProgress]:
        with self._lock:
            return list(self._all)

    @property
    def cancelled(self) -> bool:
        watching = self._watching()
        return bool(watching) and all(p.cancelled for p in watching)

    def report(self, done: int, total: int | None = None, message: str = "") -> None:
        for progress in self._watching():
            progress.report(done, total, message)


def describe_sync(org: str, result: Mapping[str, Any]) -> str:
    """What one "sync now" chain did, in a person's words (a cancelled one says what stays)."""
    push = result.get("push")
    posted = int(push.get("posted", 0)) if isinstance(push, Mapping) else 0
    errors = [k for k, v in result.items() if isinstance(v, Mapping) and "error" in v]
    if result.get("cancelled"):
        return (f"Sync of {org} stopped on request: {posted:,} document{'' if posted == 1 else 's'} posted "
                f"before it stopped (they stay posted); what was not sent waits in the outbox for the next sync")
    if errors:
        return f"Sync of {org} finished with problems in: {', '.join(errors)}"
    return f"Sync of {org} finished: {posted:,} document{'' if posted == 1 else 's'} posted"


def job_id(org: str, kind: str) -> str:
    return f"{org}:{kind}"


class PipelineSteps:
    """:class:`SyncSteps` over the real services: RMS ingest, the sync engine's push, the ledger pull.

    Several workers may share one PostgreSQL database, so ingest, planning and pull of one
    organization run under an inter-process lock (``lock(name)``: a PostgreSQL advisory lock, or a
    file lock beside a SQLite file): two workers planning the same returns at once would insert the
    same outbox rows in different orders and deadlock, and two pulls would report each change twice.
    Posting needs no lock here: the poster holds its own per-connection lock and claims rows with
    ``FOR UPDATE SKIP LOCKED``.

    Args:
        ingest: ``IngestService``.
        rms_client_for: the RMS client of an organization (None: no RMS configured — ingest skips).
        engine: the sync engine (``plan(org)``, ``push(org, worker_id)``, ``writeback(org)``), or None.
        pull: ``PullService``, or None to skip pull.
        lock: the inter-process lock factory; None runs unlocked (a single process).
    """

    def __init__(self, *, ingest: Any, rms_client_for: Callable[[str], Any], engine: Any = None,
                 pull: Any = None, lock: Callable[[str], AbstractContextManager[Any]] | None = None) -> None:
        self._ingest = ingest
        self._rms = rms_client_for
        self._engine = engine
        self._pull = pull
        self._lock = lock or (lambda _name: nullcontext())

    def ingest(self, org: str) -> Mapping[str, Any]:
        client = self._rms(org)
        if client is None:
            return {"skipped": "no RMS configured"}
        told = current()

        def report(p: Any) -> None:
            told.report(p.read, None, f"{org}: {p.summary()} from the RMS")

        with self._lock(f"ingest:{org}"):
            counts: dict[str, Any] = self._ingest.pull(org, client, progress=report,
                                                       cancelled=lambda: told.cancelled).counts()
        return counts

    def push(self, org: str, worker_id: str) -> Mapping[str, Any]:
        if self._engine is None:
            return {"skipped": "no sync engine"}
        out: dict[str, Any] = {}
        if hasattr(self._engine, "plan"):
            with self._lock(f"plan:{org}"):
                out["planned"] = _as_counts(self._engine.plan(org))
        out.update(_as_counts(self._engine.push(org, worker_id)))
        if hasattr(self._engine, "writeback"):
            out["writeback"] = _as_counts(self._engine.writeback(org))
        return out

    def pull(self, org: str) -> Mapping[str, Any]:
        if self._pull is None:
            return {"skipped": "no pull service"}
        with self._lock(f"ledger-pull:{org}"):
            result = self._pull.pull(org)
        current().report(len(result.changes), len(result.changes), f"{org}: {len(result.changes):,} changes pulled "
                         "from the ledger")
        return {"pulled_changes": len(result.changes), **result.counts(),
                **({"incomplete": result.incomplete} if getattr(result, "incomplete", None) else {})}


def _as_counts(value: Any) -> dict[str, Any]:
    """A step's result as a plain dict (engines return dicts or small dataclasses)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if hasattr(value, "counts") and callable(value.counts):
        return dict(value.counts())
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return {k: v for k, v in asdict(value).items() if isinstance(v, int | str | float | bool)}
    return {"result": str(value)}
