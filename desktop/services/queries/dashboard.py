"""What the Dashboard shows for one organization, gathered without Qt (DESIGN.md §1, §11).

The page only draws; this module reads the database, the connections' throttles and the
scheduler's jobs in one background call, so a slow database never freezes the window. The sync
controls (Sync now, Pause, Resume) live here too so the permission check is in the service, not
the view: the scheduler itself trusts its caller.

The three headline metrics are :func:`desktop.services.queries.metrics.metrics_report` for the
last 30 days to the clock's today — the same call ``returns-ledger metrics`` makes. Freshness ("Last sync") is
:meth:`DashboardService.last_sync`, which the window's status bar reads too.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from desktop.services.auth.roles import Action, Actor
from desktop.services.connections.allowance import UsedUp
from desktop.services.core.clock import Clock, as_utc
from desktop.services.core.progress import OperationProgress
from desktop.services.pipeline.outbox import counts, held_count
from desktop.services.queries.metrics import MetricsReport, metrics_report
from desktop.services.queries.usage import UsageFigure, usage_report
from desktop.services.store.db import Database
from desktop.services.store.models import LedgerConnection, Organization, SyncRun

__all__ = ["QUEUE_STATES", "ConnectionHealth", "DashboardData", "DashboardService", "LastSync"]

#: Queue states the dashboard lists, in order ("in flight" counts as pending: it is on its way).
QUEUE_STATES = ("pending", "posted", "failed", "quarantined", "uncertain")
#: A sync run's kind and outcome in a person's words.
_RUN_WORDS = {"push": "Posting", "ledger_pull": "Ledger read-back", "pull": "Ledger read-back", "ingest": "RMS read"}
_STATUS_WORDS = {"succeeded": "finished", "partial": "finished with problems", "failed": "failed",
                 "cancelled": "cancelled", "running": "running"}


@dataclass(frozen=True)
class ConnectionHealth:
    """One ledger connection of the organization and how much API allowance it has left."""

    connection_id: int
    platform: str
    company_name: str
    state: str               # connected | token_expiring | needs_reconnect | disconnected | error
    state_text: str
    minute_remaining: int | None
    day_remaining: int | None


@dataclass(frozen=True)
class LastSync:
    """The newest finished sync run (posting or ledger read-back) of an organization, or of any."""

    kind: str
    status: str
    trigger: str | None
    started_at: datetime
    finished_at: datetime | None
    org: str | None = None

    @property
    def text(self) -> str:
        """``Posting finished with problems`` — what ran and how it ended, in a person's words."""
        return f"{_RUN_WORDS.get(self.kind, self.kind.replace('_', ' ').capitalize())} " \
               f"{_STATUS_WORDS.get(self.status, self.status)}"


@dataclass(frozen=True)
class DashboardData:
    """Everything the page draws for one organization (``org`` None: nothing to show)."""

    org: str | None
    org_name: str
    connections: list[ConnectionHealth] = field(default_factory=list)
    last_sync: LastSync | None = None
    next_sync: datetime | None = None
    paused: bool = False
    queue: dict[str, int] = field(default_factory=dict)
    #: The three headline figures for the last 30 days and the monthly trend.
    metrics: MetricsReport | None = None
    #: The usage meter: metered ledger calls against the tier's allowance, one per connection.
    usage: list[UsageFigure] = field(default_factory=list)
    #: Documents held until a used-up metered allowance resets (pending, not failed), and why.
    held: int = 0
    used_up: list[UsedUp] = field(default_factory=list)
    #: The newest ledger read-back's change feed was incomplete: why, in words (empty: it was complete).
    pull_warning: str = ""

    @property
    def held_text(self) -> str:
        """What the page says about held documents and a used-up allowance (empty: nothing to say)."""
        if not self.used_up:
            return f"{self.held:,} document(s) wait for the ledger's allowance to reset" if self.held else ""
        first = self.used_up[0]
        held = f"{self.held:,} document(s) held, not failed. " if self.held else ""
        return f"{held}{first.text}. {first.advice}"


class DashboardService:
    """Reads for the Dashboard and its sync controls.

    Args:
        db: the store.
        connections: the connection service (health and rate budgets); None hides both.
        scheduler: the sync scheduler (next run, pause, sync now); None disables the controls.
        clock: what "this month" means.
    """

    def __init__(self, db: Database, connections: Any, scheduler: Any, clock: Clock) -> None:
        self._db = db
        self._connections = connections
        self._scheduler = scheduler
        self._clock = clock

    def organizations(self) -> list[tuple[str, str]]:
        """``(code, name)`` of every organization with a ledger connection, by code."""
        with self._db.session() as s:
            rows = s.execute(sa.select(Organization.code, Organization.name).join(
                LedgerConnection, LedgerConnection.organization_id == Organization.id).distinct()
                .order_by(Organization.code)).all()
        return [(code, name) for code, name in rows]

    def snapshot(self, org: str) -> DashboardData:
        """The dashboard of ``org`` now; an unknown organization gives an empty snapshot."""
        now = self._clock.now()
        with self._db.session() as s:
            row = s.execute(sa.select(Organization.id, Organization.name).where(Organization.code == org)).first()
            if row is None:
                return DashboardData(None, "")
            org_id, name = row
            queue_raw = counts(s, org_id=org_id)
            held = held_count(s, now=now, org_id=org_id)
            pulled = s.execute(sa.select(SyncRun.counts).where(
                SyncRun.organization_id == org_id, SyncRun.kind == "ledger_pull", SyncRun.finished_at.is_not(None))
                .order_by(SyncRun.finished_at.desc(), SyncRun.id.desc()).limit(1)).scalar()
        incomplete = pulled.get("incomplete") if isinstance(pulled, dict) else None
        queue = {k: queue_raw.get(k, 0) for k in QUEUE_STATES}
        queue["pending"] += queue_raw.get("in_flight", 0)
        recorder = getattr(self._connections, "usage", None)
        allowance = getattr(self._connections, "allowance", None)
        return DashboardData(org, name, self._health(org), self.last_sync(org), self._next_run(org),
                             self._paused(org), queue, metrics_report(self._db, org, end=now.date()),
                             usage_report(self._db, self._clock, org, recorder).figures, held,
                             allowance.for_org(org) if allowance is not None else [],
                             f"Incomplete: {incomplete}" if isinstance(incomplete, str) and incomplete else "")

    def last_sync(self, org: str | None = None) -> LastSync | None:
        """The newest finished sync run of ``org`` (None: of any organization) — the app's one "Last sync"."""
        stmt = sa.select(SyncRun, Organization.code).outerjoin(
            Organization, Organization.id == SyncRun.organization_id).where(SyncRun.finished_at.is_not(None))
        if org is not None:
            stmt = stmt.where(Organization.code == org)
        with self._db.session() as s:
            found = s.execute(stmt.order_by(SyncRun.finished_at.desc(), SyncRun.id.desc()).limit(1)).first()
            if found is None:
                return None
            run, code = found
            return LastSync(run.kind, getattr(run.status, "value", str(run.status)), run.trigger,
                            as_utc(run.started_at), as_utc(run.finished_at) if run.finished_at else None, code)

    def _health(self, org: str) -> list[ConnectionHealth]:
        if self._connections is None:
            return []
        out = []
        for c in self._connections.summaries():
            if c.org_code != org:
                continue
            minute, day = self._connections.rate_budgets(c.id)
            out.append(ConnectionHealth(c.id, c.platform.value, c.company_name, c.state, c.state_text, minute, day))
        return out

    def _next_run(self, org: str) -> datetime | None:
        if self._scheduler is None:
            return None
        times = [j.next_run_time for j in self._scheduler.jobs(org) if getattr(j, "next_run_time", None)]
        return as_utc(min(times)) if times else None

    def _paused(self, org: str) -> bool:
        return bool(self._scheduler is not None and self._scheduler.is_paused(org))

    # --- controls ----------------------------------------------------------------------------
    def can_control(self, actor: Actor | None) -> bool:
        """Whether ``actor`` may run, pause and resume sync here (and a scheduler exists)."""
        return self._scheduler is not None and actor is not None and actor.can(Action.RUN_SYNC)

    def _scheduler_for(self, actor: Actor) -> Any:
        actor.require(Action.RUN_SYNC)
        if self._scheduler is None:
            raise RuntimeError("No sync scheduler is running")
        return self._scheduler

    def sync_now(self, actor: Actor, org: str, progress: OperationProgress | None = None) -> Future[dict[str, Any]]:
        """Start ``org``'s ingest → push → pull chain now (needs ``RUN_SYNC``); ``progress`` hears its
        counts and may cancel it (:meth:`~desktop.services.pipeline.scheduler.SyncScheduler.sync_now`)."""
        future: Future[dict[str, Any]] = self._scheduler_for(actor).sync_now(org, progress)
        return future

    def pause(self, actor: Actor, org: str) -> None:
        self._scheduler_for(actor).pause(org)

    def resume(self, actor: Actor, org: str) -> None:
        self._scheduler_for(actor).resume(org)
