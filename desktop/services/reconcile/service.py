"""Reconciliation as a service: runs that are recorded, a review queue, events, a scheduled job.

:meth:`ReconcileService.run` reconciles one organization and period, records a
``ReconciliationRun`` and keeps the review queue current:

- a variance found for the first time becomes an *open* ``Variance`` and a
  ``reconciliation.variance`` event (the alerting service mails / pushes those);
- the same problem found again is the same variance (matched by class, outbox document, ledger id
  and RMA), so the queue never fills with repeats and nothing is alerted twice;
- an open variance an earlier run found within this period that is no longer there is resolved
  by the system with a note saying which run saw it gone; accepted ones stay accepted.

A run writes (the run, the queue), so it needs an actor allowed to ``review_variances``, like
resolving (with a note) or accepting variances through :meth:`resolve` / :meth:`accept` (audited).
:meth:`schedule_into` adds the every-15-minutes job to the sync scheduler's APScheduler
(``SyncScheduler.scheduler``) or any APScheduler 3 scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.auth.roles import Action, Actor
from desktop.services.connections.usage import usage_figures
from desktop.services.core.clock import Clock
from desktop.services.core.errors import AppError, NeedsPersonError
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.core.progress import OperationCancelled, OperationProgress, check
from desktop.services.reconcile.engine import LedgerSource, ReconcileEngine, ReconcileReport
from desktop.services.reconcile.model import Period, VarianceFinding, class_words, doc_words
from desktop.services.store.db import Database
from desktop.services.store.models import (
    ConnectionStatus,
    LedgerConnection,
    Organization,
    ReconciliationRun,
    ReconciliationStatus,
    Variance,
    VarianceStatus,
)

__all__ = ["DEFAULT_INTERVAL_S", "JOB_ID", "SLOW_INTERVAL", "ReconcileService", "current_period"]

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 900
JOB_ID = "reconcile"
#: Per-variance events per run; beyond that one summary event says how many more there are.
MAX_VARIANCE_EVENTS = 50
_SEVERITY = {"rounding": Severity.INFO}
#: Past the usage warning (80 % of the metered allowance), the scheduled job
#: reconciles an organization at most this often.
SLOW_INTERVAL = timedelta(hours=1)


def current_period(today: date) -> Period:
    """What the scheduled job reconciles: this month so far, plus last month during its first week
    (late edits to a month that has just closed are the ones that matter most)."""
    start = today.replace(day=1)
    if today.day <= 7:
        start = (start - timedelta(days=1)).replace(day=1)
    return Period(start, today)


def _identity(variance_class: str, outbox_id: int | None, ledger_id: str | None, rma: str | None,
              return_id: int | None) -> tuple[Any, ...]:
    return (variance_class, outbox_id, ledger_id or None, rma or None, return_id)


class ReconcileService:
    """Runs reconciliations and keeps the review queue (see the module docstring).

    Args:
        db: the app's database.
        bus: where run and variance events go.
        clock: the injected clock.
        connections: the connection service (``connector(id)``) for ledger reads (through the mirror,
            :mod:`desktop.services.reconcile.mirror`).
        rms_api_for: the RMS API client of an organization (for ``check_rms_api``), or None.
    """

    def __init__(self, db: Database, bus: EventBus, clock: Clock, connections: Any, *,
                 rms_api_for: Callable[[str], Any] | None = None, grace: timedelta = timedelta(hours=1)) -> None:
        from desktop.services.reconcile.mirror import MirroredLedger
        self._db = db
        self._bus = bus
        self._clock = clock
        self._allowance = getattr(connections, "allowance", None)  # a used-up allowance: the job waits

        def ledger_for(connection_id: int) -> LedgerSource:
            # The mirror kept current by the change feed, not the whole period re-read (issue 14, item 3).
            return MirroredLedger(db, clock, connection_id, connections.connector(connection_id))

        self.engine = ReconcileEngine(db, clock, ledger_for, rms_api_for=rms_api_for, grace=grace)

    # --- running --------------------------------------------------------------------------------
    def run(self, org: str, period: Period, *, actor: Actor, check_rms_api: bool = False, trigger: str = "manual",
            ledger: LedgerSource | None = None, progress: OperationProgress | None = None) -> ReconcileReport:
        """Reconcile ``org`` over ``period``, record it, update the queue, publish what is new.

        ``progress`` hears each phase; cancelled, the run stops before anything is recorded and its
        "running" row is removed — no half-written run — and :class:`OperationCancelled` says so."""
        actor.require(Action.REVIEW_VARIANCES)
        info = self.engine.org_info(org)
        started = self._clock.now()
        with self._db.write_session() as s:
            run = ReconciliationRun(organization_id=info.id, period_start=period.start, period_end=period.end,
                                    started_at=started, status=ReconciliationStatus.RUNNING, summary={})
            s.add(run)
            s.flush()
            run_id = run.id
        self._bus.emit(EventKind.RECONCILIATION_STARTED, Severity.DEBUG if trigger == "scheduled" else Severity.INFO,
                       f"Reconciling {org} {period.start}…{period.end}", org=org,
                       details={"run_id": run_id, "trigger": trigger})
        try:
            report = self.engine.reconcile(org, period, check_rms_api=check_rms_api, ledger=ledger, progress=progress)
            check(progress, f"The reconciliation of {org} was stopped on request")
        except OperationCancelled as exc:
            self._forget_run(run_id)
            raise OperationCancelled(f"{exc.message}; nothing was recorded and the review queue is as it was",
                                     action="reconcile again when you are ready") from None
        except AppError as exc:
            self._finish_failed(run_id, exc.as_dict())
            self._bus.emit_error(EventKind.SYNC_FAILED, exc, org=org, details={"job": "reconcile", "run_id": run_id})
            raise
        new, resolved = self._record(info.id, run_id, period, report)
        self._publish(org, run_id, report, new, resolved)
        return report

    def _forget_run(self, run_id: int) -> None:
        """A cancelled run leaves nothing behind: its "running" row (it has no variances yet) goes."""
        with self._db.write_session() as s:
            run = s.get(ReconciliationRun, run_id)
            if run is not None:
                s.delete(run)

    def _finish_failed(self, run_id: int, error: dict[str, Any]) -> None:
        with self._db.write_session() as s:
            run = s.get(ReconciliationRun, run_id)
            if run is not None:
                run.status, run.finished_at, run.summary = ReconciliationStatus.FAILED, self._clock.now(), {
                    "error": error}

    def _record(self, org_id: int, run_id: int, period: Period, report: ReconcileReport
                ) -> tuple[list[tuple[int, VarianceFinding]], int]:
        now = self._clock.now()
        new: list[tuple[int, VarianceFinding]] = []
        with self._db.write_session() as s:
            earlier = list(s.scalars(
                sa.select(Variance).join(ReconciliationRun).where(
                    ReconciliationRun.organization_id == org_id, ReconciliationRun.id != run_id,
                    Variance.status.in_((VarianceStatus.OPEN, VarianceStatus.ACCEPTED)))))
            runs = {r.id: r for r in s.scalars(sa.select(ReconciliationRun).where(
                ReconciliationRun.id.in_({v.run_id for v in earlier})))} if earlier else {}
            known = {_identity(v.variance_class, v.outbox_document_id, v.ledger_id, v.rma, v.return_id): v
                     for v in earlier}
            found: set[tuple[Any, ...]] = set()
            for f in report.variances:
                ident = _identity(f.variance_class.value, f.outbox_id, f.ledger_id, f.rma, f.return_id)
                found.add(ident)
                if ident in known:
                    continue
                row = Variance(run_id=run_id, variance_class=f.variance_class.value, rma=f.rma,
                               return_id=f.return_id, outbox_document_id=f.outbox_id, ledger_id=f.ledger_id,
                               difference_minor=f.difference_minor, currency=f.currency,
                               fields={**f.fields, "_doc": {"key": f.key, "doc_type": f.doc_type}},
                               status=VarianceStatus.OPEN)
                s.add(row)
                s.flush()
                known[ident] = row
                new.append((row.id, f))
            resolved = 0
            for ident, v in known.items():
                run = runs.get(v.run_id)
                inside = run is not None and run.period_start is not None and run.period_end is not None and (
                    period.start <= run.period_start and run.period_end <= period.end)
                if v.status is VarianceStatus.OPEN and inside and ident not in found:
                    v.status, v.resolved_by, v.resolved_at = VarianceStatus.RESOLVED, "system", now
                    v.note = f"no longer found by reconciliation run {run_id}"
                    resolved += 1
            run_row = s.get(ReconciliationRun, run_id)
            assert run_row is not None
            run_row.status, run_row.finished_at = ReconciliationStatus.COMPLETED, now
            run_row.summary = {"counts": report.counts(), "matched": report.matched, "new": len(new),
                               "auto_resolved": resolved, "totals": report.totals}
        return new, resolved

    def _publish(self, org: str, run_id: int, report: ReconcileReport, new: list[tuple[int, VarianceFinding]],
                 resolved: int) -> None:
        for vid, f in new[:MAX_VARIANCE_EVENTS]:
            what = " ".join(x for x in (doc_words(f.doc_type), f.ledger_id, f"for {f.rma}" if f.rma else None) if x)
            self._bus.emit(EventKind.RECONCILIATION_VARIANCE, _SEVERITY.get(f.variance_class.value, Severity.WARNING),
                           f"{org}: {class_words(f.variance_class.value)} — {what}",
                           org=org, rma=f.rma, document_key=f.key,
                           details={"variance_id": vid, "run_id": run_id, "class": f.variance_class.value,
                                    "ledger_id": f.ledger_id, "fields": f.fields})
        if len(new) > MAX_VARIANCE_EVENTS:
            self._bus.emit(EventKind.RECONCILIATION_VARIANCE, Severity.WARNING,
                           f"{org}: {len(new) - MAX_VARIANCE_EVENTS} more new variances (see the review queue)",
                           org=org, details={"run_id": run_id, "more": len(new) - MAX_VARIANCE_EVENTS})
        total = len(report.variances)
        self._bus.emit(EventKind.RECONCILIATION_FINISHED, Severity.INFO,
                       f"Reconciled {org} {report.period.start}…{report.period.end}: {total} variance(s), "
                       f"{len(new)} new, {resolved} gone", org=org,
                       details={"run_id": run_id, "variances": total, "new": len(new), "auto_resolved": resolved,
                                "matched": report.matched, "counts": report.counts()})

    # --- the review queue -----------------------------------------------------------------------
    def latest(self, org: str) -> dict[str, Any] | None:
        """The organization's newest finished reconciliation: its period, when it finished, its totals
        (the bridge per currency) and counts — what the page shows before anyone presses Reconcile."""
        with self._db.session() as s:
            run = s.scalars(sa.select(ReconciliationRun).join(
                Organization, Organization.id == ReconciliationRun.organization_id).where(
                Organization.code == org, ReconciliationRun.status == ReconciliationStatus.COMPLETED)
                .order_by(ReconciliationRun.finished_at.desc(), ReconciliationRun.id.desc()).limit(1)).first()
            if run is None or run.period_start is None or run.period_end is None:
                return None
            summary = run.summary or {}
            return {"run_id": run.id, "period": Period(run.period_start, run.period_end),
                    "finished_at": run.finished_at, "totals": summary.get("totals") or {},
                    "counts": summary.get("counts") or {}, "matched": summary.get("matched", 0)}

    def queue(self, org: str, status: VarianceStatus | None = VarianceStatus.OPEN) -> list[dict[str, Any]]:
        """The organization's variances (open ones by default), newest first."""
        with self._db.session() as s:
            stmt = (sa.select(Variance).join(ReconciliationRun).join(
                Organization, Organization.id == ReconciliationRun.organization_id)
                .where(Organization.code == org).order_by(Variance.id.desc()))
            if status is not None:
                stmt = stmt.where(Variance.status == status)
            return [_variance_json(v) for v in s.scalars(stmt)]

    def resolve(self, actor: Actor, variance_id: int, note: str) -> None:
        """Mark fixed (someone corrected the ledger or the RMS); a note saying how is required."""
        self._review(actor, variance_id, note, VarianceStatus.RESOLVED)

    def accept(self, actor: Actor, variance_id: int, note: str = "") -> None:
        """Accept as is (e.g. a rounding cent, or a deliberate manual entry); never alerted again."""
        self._review(actor, variance_id, note, VarianceStatus.ACCEPTED)

    def _review(self, actor: Actor, variance_id: int, note: str, status: VarianceStatus) -> None:
        actor.require(Action.REVIEW_VARIANCES)
        if status is VarianceStatus.RESOLVED and not note.strip():
            raise NeedsPersonError("A resolved variance needs a note saying what was done",
                                   action="describe the correction")
        now = self._clock.now()
        with self._db.write_session() as s:
            v = s.get(Variance, variance_id)
            if v is None:
                raise NeedsPersonError(f"No variance {variance_id}")
            org = s.execute(sa.select(Organization.code, Organization.id).join(
                ReconciliationRun, ReconciliationRun.organization_id == Organization.id)
                .where(ReconciliationRun.id == v.run_id)).one()
            v.status, v.note, v.resolved_by, v.resolved_at = status, note or None, actor.username, now
            audit.append(s, self._clock, actor=actor.username, action=f"variance.{status.value}",
                         target=f"variance:{variance_id}", organization_id=org.id,
                         details={"class": v.variance_class, "rma": v.rma, "note": note})
        self._bus.emit(EventKind.RECONCILIATION_VARIANCE_RESOLVED, Severity.INFO,
                       f"{org.code}: variance {variance_id} {status.value} by {actor.username}", org=org.code,
                       rma=v.rma, details={"variance_id": variance_id, "status": status.value})

    # --- the scheduled job ----------------------------------------------------------------------
    def active_orgs(self) -> list[str]:
        with self._db.session() as s:
            return sorted(set(s.scalars(sa.select(Organization.code).join(
                LedgerConnection, LedgerConnection.organization_id == Organization.id).where(
                Organization.is_active.is_(True), LedgerConnection.status == ConnectionStatus.CONNECTED))))

    def run_scheduled(self, actor: Actor, orgs: Sequence[str] | None = None) -> dict[str, Any]:
        """One cycle over every connected organization, as ``actor``; a failure of one never stops the others."""
        out: dict[str, Any] = {}
        for org in orgs if orgs is not None else self.active_orgs():
            try:
                waits = self.read_budget_waits(org)
                if waits is not None:
                    out[org] = {"skipped": waits}
                    continue
                tz = ZoneInfo(self.engine.org_info(org).timezone)
                period = current_period(self._clock.now().astimezone(tz).date())
                out[org] = self.run(org, period, actor=actor, trigger="scheduled").counts()
            except AppError as exc:
                out[org] = {"error": exc.as_dict()}
            except Exception as exc:  # a bug: say so, keep the other organizations going
                log.exception("reconciliation of %s crashed", org)
                self._bus.emit(EventKind.SYNC_FAILED, Severity.ERROR, f"reconciliation of {org} crashed: {exc}",
                               org=org, details={"job": "reconcile", "error_type": type(exc).__name__})
                out[org] = {"error": {"message": str(exc)}}
        return out

    def read_budget_waits(self, org: str) -> str | None:
        """Why the scheduled job leaves ``org`` alone this time (None: go ahead).

        Reconciliation is the reads that can wait (issue 14, item 3): past the usage warning (80 % of
        the ledger's metered allowance, ``connections.usage.WARN_AT_PCT``) the job reconciles an
        organization at most every :data:`SLOW_INTERVAL`; with the allowance used up, not at all
        until it resets (posting keeps what is left) — also when the ledger refused a metered call
        for it (``connections/allowance.py``). A person can still reconcile by hand.
        """
        used_up = self._allowance.waits(org, "scheduled reconciliation") if self._allowance is not None else None
        if used_up is not None:
            return used_up
        figures = [f for f in usage_figures(self._db, self._clock, org) if f.warning]
        if not figures:
            return None
        worst = max(figures, key=lambda f: f.percent)
        if worst.percent >= 100:
            return f"{worst.text}: scheduled reconciliation waits until the allowance resets"
        latest = self.latest(org)
        finished = latest["finished_at"] if latest else None
        if finished is not None and self._clock.now() - finished < SLOW_INTERVAL:
            every = int(SLOW_INTERVAL.total_seconds() // 60)
            return f"{worst.text}: scheduled reconciliation slowed to once every {every} minutes"
        return None

    def schedule_into(self, scheduler: Any, interval_s: int = DEFAULT_INTERVAL_S,
                      orgs: Sequence[str] | None = None, *, actor: Actor | None = None) -> Any:
        """Add the reconciliation job to a ``SyncScheduler`` (its ``.scheduler``; the job runs as its
        ``actor``) or an APScheduler 3 scheduler (then give ``actor``); returns the APScheduler job.
        Same job options as the sync jobs: one instance at a time, missed runs coalesced."""
        from apscheduler.triggers.interval import IntervalTrigger

        target = getattr(scheduler, "scheduler", scheduler)
        who = actor if actor is not None else scheduler.actor
        return target.add_job(self.run_scheduled, IntervalTrigger(seconds=interval_s, timezone="UTC"),
                              args=(who, list(orgs) if orgs is not None else None), id=JOB_ID,
                              name="reconcile every organization", replace_existing=True, coalesce=True,
                              max_instances=1, misfire_grace_time=max(60, interval_s // 2))


def _variance_json(v: Variance) -> dict[str, Any]:
    doc = (v.fields or {}).get("_doc") or {}
    return {"id": v.id, "run_id": v.run_id, "class": v.variance_class, "rma": v.rma, "ledger_id": v.ledger_id,
            "key": doc.get("key"), "doc_type": doc.get("doc_type"), "currency": v.currency,
            "difference_minor": v.difference_minor, "status": v.status.value, "note": v.note,
            "resolved_by": v.resolved_by,
            "fields": {k: val for k, val in (v.fields or {}).items() if k != "_doc"}}
