"""The product's promised metrics, per month, computed from the database (DESIGN.md §1).

- **Sync accuracy rate** = documents posted *and verified equal* ÷ documents due. A document is
  due in the month its ledger date falls in (every outbox row, whatever its state); it is
  verified equal once a completed reconciliation run whose period covers its date, finishing
  after it was posted, found no variance on it (an accepted variance counts as verified: a person
  decided the ledger is right).
- **Average time to reconcile** = mean of (first such verification − the RMS event that produced
  the document, ``returns.rms_updated_at``), over verified documents of the month.
- **Errors prevented** = pre-flight stops (returns held in quarantine with specific reasons,
  counted once per return in the month the reason was recorded) + duplicates refused
  (``document.duplicate_prevented`` events, and uncertain posts adopted instead of re-sent).

Months are calendar months of the ledger date (accuracy, time) or of the record time (errors),
in UTC; the dashboard draws the trend from consecutive months.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa

from desktop.services.core.clock import as_utc
from desktop.services.store.db import Database
from desktop.services.store.models import (
    EventLog,
    Organization,
    OutboxDocument,
    OutboxStatus,
    QuarantineReason,
    ReconciliationRun,
    ReconciliationStatus,
    Return,
    Variance,
    VarianceStatus,
)

__all__ = ["MonthMetrics", "monthly_metrics"]


@dataclass(frozen=True)
class MonthMetrics:
    month: str                       # YYYY-MM
    due: int
    posted: int
    verified: int
    accuracy_pct: str | None         # exact decimal text, 2 places; None when nothing was due
    avg_reconcile_s: int | None
    preflight_stops: int
    duplicates_refused: int

    @property
    def errors_prevented(self) -> int:
        return self.preflight_stops + self.duplicates_refused

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "errors_prevented": self.errors_prevented}


def _month(day: date | datetime) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def monthly_metrics(db: Database, org: str | None = None, *, since: date | None = None) -> list[MonthMetrics]:
    """One :class:`MonthMetrics` per month with any activity, oldest first (``org``: one organization)."""
    with db.session() as s:
        org_id = s.execute(sa.select(Organization.id).where(Organization.code == org)).scalar() if org else None
        if org is not None and org_id is None:
            return []
        o = OutboxDocument
        docs = sa.select(o.id, o.organization_id, o.txn_date, o.status, o.posted_at, Return.rms_updated_at).outerjoin(
            Return, Return.id == o.return_id)
        runs = sa.select(ReconciliationRun.id, ReconciliationRun.organization_id, ReconciliationRun.period_start,
                         ReconciliationRun.period_end, ReconciliationRun.finished_at).where(
            ReconciliationRun.status == ReconciliationStatus.COMPLETED)
        flagged = sa.select(Variance.run_id, Variance.outbox_document_id, Variance.status).where(
            Variance.outbox_document_id.is_not(None))
        stops = sa.select(QuarantineReason.return_id, sa.func.min(QuarantineReason.created_at)).join(
            Return, Return.id == QuarantineReason.return_id).group_by(QuarantineReason.return_id)
        dupes = sa.select(EventLog.occurred_at, EventLog.kind, EventLog.details).where(
            EventLog.kind.in_(("document.duplicate_prevented", "document.uncertain_resolved")))
        if org_id is not None:
            docs = docs.where(o.organization_id == org_id)
            runs = runs.where(ReconciliationRun.organization_id == org_id)
            flagged = flagged.join(ReconciliationRun).where(ReconciliationRun.organization_id == org_id)
            stops = stops.where(Return.organization_id == org_id)
            dupes = dupes.where(EventLog.org == org)
        if since is not None:
            docs = docs.where(o.txn_date >= since)
        doc_rows = s.execute(docs).all()
        run_rows = sorted(s.execute(runs).all(), key=lambda r: as_utc(r.finished_at))
        # A variance flags a document in its run; after later runs find it gone it is resolved, so the
        # run that first saw it is the only one that did not verify it. Accepted: verified (a person said so).
        not_verified_by = {(v.run_id, v.outbox_document_id) for v in s.execute(flagged)
                           if v.status is not VarianceStatus.ACCEPTED}
        still_open = {v.outbox_document_id for v in s.execute(flagged) if v.status is VarianceStatus.OPEN}
        stop_rows = s.execute(stops).all()
        dupe_rows = s.execute(dupes).all()

    due: dict[str, int] = defaultdict(int)
    posted: dict[str, int] = defaultdict(int)
    verified: dict[str, int] = defaultdict(int)
    seconds: dict[str, list[float]] = defaultdict(list)
    finish_times = [as_utc(r.finished_at) for r in run_rows]
    for d in doc_rows:
        if d.txn_date is None:
            continue
        m = _month(d.txn_date)
        due[m] += 1
        if OutboxStatus(d.status) is not OutboxStatus.POSTED or d.posted_at is None:
            continue
        posted[m] += 1
        if d.id in still_open:
            continue
        start = bisect.bisect_left(finish_times, as_utc(d.posted_at))
        for run in run_rows[start:]:
            if run.organization_id != d.organization_id or run.period_start is None or run.period_end is None:
                continue
            if not run.period_start <= d.txn_date <= run.period_end or (run.id, d.id) in not_verified_by:
                continue
            verified[m] += 1
            if d.rms_updated_at is not None:
                seconds[m].append((as_utc(run.finished_at) - as_utc(d.rms_updated_at)).total_seconds())
            break
    stops_by: dict[str, int] = defaultdict(int)
    for _rid, first in stop_rows:
        if first is not None and (since is None or as_utc(first).date() >= since):
            stops_by[_month(as_utc(first))] += 1
    dupes_by: dict[str, int] = defaultdict(int)
    for at, kind, details in dupe_rows:
        if kind == "document.uncertain_resolved" and (details or {}).get("resolution") != "adopted":
            continue
        if since is None or as_utc(at).date() >= since:
            dupes_by[_month(as_utc(at))] += 1
    out: list[MonthMetrics] = []
    for m in sorted(set(due) | set(stops_by) | set(dupes_by)):
        rate = None
        if due[m]:
            rate = format((Decimal(verified[m]) * 100 / Decimal(due[m])).quantize(Decimal("0.01"), ROUND_HALF_EVEN),
                          "f")
        avg = int(sum(seconds[m]) / len(seconds[m])) if seconds[m] else None
        out.append(MonthMetrics(m, due[m], posted[m], verified[m], rate, avg, stops_by[m], dupes_by[m]))
    return out
