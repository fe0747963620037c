"""The product's three headline metrics, defined once (DESIGN.md §1, issue 15).

The Dashboard, ``returns-ledger metrics`` and every metrics export call :func:`metrics_report` and
print through the formatters here, so the three places cannot disagree. :data:`DEFINITIONS` is
the text the Dashboard's tooltips and the README show.

- **Sync accuracy** of a month = documents posted *and verified* ÷ documents due, where:

  * a document is *due* in the month its ledger date falls in: every outbox document (whatever
    its state), plus one for each return pre-flight holds that has no document at all (its
    refund is owed to the ledger but cannot be posted until a person fixes it);
  * a document is *verified* once a completed reconciliation whose period covers its date,
    finishing after it was posted, found no variance on it (an accepted variance counts: a
    person decided the ledger is right), and no variance on it is still open.

- **Time to reconcile** = from the RMS event (``returns.rms_updated_at``) to the first
  reconciliation that verified the document; the median and the 95th percentile (nearest rank)
  over the month's verified documents.

- **Errors prevented** = distinct problems stopped before they reached a ledger: pre-flight
  refusals (the sync holding a return, a manual entry refused) and duplicate refusals (a
  document found already in the ledger and adopted instead of sent again). Each problem has a
  dedupe key — organization, return (or document) and problem code — and counts once, in the
  month it was first stopped, however often it is stopped again (a Record button pressed twice,
  every sync re-checking a held return). Nothing counts until something was actually stopped.

Months are calendar months (UTC) of the ledger date (accuracy, time) or of when the problem was
first stopped (errors prevented).
"""

from __future__ import annotations

import io
import math
import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import sqlalchemy as sa

from desktop.services.core.clock import as_utc, zone
from desktop.services.core.csv_safe import SafeWriter
from desktop.services.store.db import Database
from desktop.services.store.models import (
    AuditLog,
    EventLog,
    Organization,
    OutboxDocument,
    OutboxStatus,
    QuarantineReason,
    ReconciliationRun,
    ReconciliationStatus,
    Return,
    ReturnSyncStatus,
    Variance,
    VarianceStatus,
)

__all__ = ["DEFINITIONS", "MANUAL_REFUSED", "TREND_MONTHS", "MetricsReport", "MonthMetrics", "format_duration",
           "format_pct", "metrics_report", "month_label", "month_of", "monthly_metrics"]

#: What each headline figure means, word for word the same in the tooltips and the README.
DEFINITIONS: dict[str, str] = {
    "sync_accuracy": (
        "Documents posted and verified by a reconciliation without variance ÷ documents due in the month "
        "(by ledger date). Returns pre-flight holds count as due: they are owed to the ledger."),
    "time_to_reconcile": (
        "From the RMS event to the reconciliation that verified the document in the ledger: the median "
        "and the 95th percentile over the month's verified documents."),
    "errors_prevented": (
        "Distinct problems stopped before they reached the ledger — pre-flight refusals (sync or manual "
        "entry) and duplicate refusals — each counted once per return and problem, not per click or retry."),
}
#: How many months of trend the Dashboard draws and ``metrics`` prints by default.
TREND_MONTHS = 12
#: The audit action of a refused manual entry (the manual-entry service writes it; owned there).
MANUAL_REFUSED = "manual_entry.refused"
#: Manual-entry refusals that are duplicates refused (the rest are pre-flight refusals).
_DUPLICATE_CODES = frozenset({"already_posted", "already_queued", "already_entered"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class MonthMetrics:
    """The three figures (and what they are made of) for one calendar month."""

    month: str                        # YYYY-MM
    due: int = 0
    posted: int = 0
    verified: int = 0
    held: int = 0                     # of ``due``: returns pre-flight holds, with no document yet
    accuracy_pct: str | None = None   # exact decimal text, 2 places; None when nothing was due
    reconcile_median_s: int | None = None
    reconcile_p95_s: int | None = None
    preflight_refusals: int = 0
    duplicate_refusals: int = 0

    @property
    def errors_prevented(self) -> int:
        return self.preflight_refusals + self.duplicate_refusals

    @property
    def label(self) -> str:
        return month_label(self.month)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "errors_prevented": self.errors_prevented}


@dataclass(frozen=True)
class MetricsReport:
    """The headline month's figures and the monthly trend that ends with it."""

    org: str | None
    period: str                        # YYYY-MM: the headline month
    months: tuple[MonthMetrics, ...]   # consecutive months, oldest first, the last one is ``period``

    @property
    def headline(self) -> MonthMetrics:
        return self.months[-1]

    def to_json(self) -> dict[str, Any]:
        return {"org": self.org, "period": self.period, "period_label": month_label(self.period),
                "headline": self.headline.to_json(), "months": [m.to_json() for m in self.months],
                "definitions": dict(DEFINITIONS)}

    def rows(self) -> list[tuple[object, ...]]:
        """One row per month as every export writes it (figures formatted as on screen)."""
        return [(m.month, m.due, m.posted, m.verified, m.held, format_pct(m.accuracy_pct),
                 format_duration(m.reconcile_median_s), format_duration(m.reconcile_p95_s),
                 "" if m.reconcile_median_s is None else m.reconcile_median_s,
                 "" if m.reconcile_p95_s is None else m.reconcile_p95_s,
                 m.preflight_refusals, m.duplicate_refusals, m.errors_prevented) for m in self.months]

    def csv_text(self) -> str:
        buf = io.StringIO()
        writer = SafeWriter(buf)
        writer.writerow(CSV_HEADERS)
        writer.writerows(self.rows())
        return buf.getvalue()


CSV_HEADERS = ("Month", "Documents due", "Posted", "Verified", "Held by pre-flight", "Sync accuracy",
               "Time to reconcile (median)", "Time to reconcile (p95)", "Median (seconds)", "p95 (seconds)",
               "Pre-flight refusals", "Duplicate refusals", "Errors prevented")


# --- formatting (the one way each figure is written) ---------------------------------------------

def month_of(day: date | datetime) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_label(month: str) -> str:
    """``2026-11`` → ``Nov 2026`` (never ``Nov 26``, which reads as a day)."""
    year, number = month.split("-")
    return f"{_MONTHS[int(number) - 1]} {year}"


def format_pct(pct: str | None) -> str:
    """``"99.14"`` → ``99.14%``; nothing due → an em dash."""
    return "—" if pct is None else f"{pct}%"


def format_duration(seconds: int | None) -> str:
    """A reconcile time read at a glance: minutes, hours or days (one decimal); none → an em dash."""
    if seconds is None:
        return "—"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 2 * 86400:
        return f"{(Decimal(seconds) / 3600).quantize(Decimal('0.1'), ROUND_HALF_EVEN)} h"
    return f"{(Decimal(seconds) / 86400).quantize(Decimal('0.1'), ROUND_HALF_EVEN)} days"


def _pct(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return format((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), ROUND_HALF_EVEN), "f")


def _median(values: list[int]) -> int:
    return int(Decimal(str(statistics.median(values))).quantize(Decimal(1), ROUND_HALF_EVEN))


def _p95(values: list[int]) -> int:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _shift(month: str, by: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# --- the report -----------------------------------------------------------------------------------

def metrics_report(db: Database, org: str | None, *, period: str | date, months: int = TREND_MONTHS) -> MetricsReport:
    """The figures of ``period`` (a month, ``YYYY-MM`` or any day in it) and the trend before it.

    The trend starts at the first month with any activity among the ``months`` up to ``period``
    and has every month from there (an empty month is a gap in the chart, not a false zero).
    """
    end = period if isinstance(period, str) else month_of(period)
    first = _shift(end, -(months - 1))
    found = {m.month: m for m in monthly_metrics(db, org, since=date(int(first[:4]), int(first[5:7]), 1))
             if m.month <= end}
    start = min(found, default=end)
    out, month = [], start
    while month <= end:
        out.append(found.get(month, MonthMetrics(month)))
        month = _shift(month, 1)
    return MetricsReport(org, end, tuple(out))


def monthly_metrics(db: Database, org: str | None = None, *, since: date | None = None) -> list[MonthMetrics]:
    """One :class:`MonthMetrics` per month with any activity, oldest first (``org``: one organization)."""
    with db.session() as s:
        org_id = s.execute(sa.select(Organization.id).where(Organization.code == org)).scalar() if org else None
        if org is not None and org_id is None:
            return []
        scope = _Scope(s, org_id, org, since)
        docs, runs, not_verified_by, still_open = scope.documents(), scope.runs(), *scope.variances()
        held = scope.held_returns()
        problems = scope.problems()

    due: dict[str, int] = defaultdict(int)
    posted: dict[str, int] = defaultdict(int)
    verified: dict[str, int] = defaultdict(int)
    held_by: dict[str, int] = defaultdict(int)
    seconds: dict[str, list[int]] = defaultdict(list)
    finish_times = [as_utc(r.finished_at) for r in runs]
    for d in docs:
        m = month_of(d.txn_date)
        due[m] += 1
        if OutboxStatus(d.status) is not OutboxStatus.POSTED or d.posted_at is None:
            continue
        posted[m] += 1
        if d.id in still_open:
            continue
        for run in runs[bisect_left(finish_times, as_utc(d.posted_at)):]:
            if run.organization_id != d.organization_id or run.period_start is None or run.period_end is None:
                continue
            if not run.period_start <= d.txn_date <= run.period_end or (run.id, d.id) in not_verified_by:
                continue
            verified[m] += 1
            if d.rms_updated_at is not None:
                seconds[m].append(int((as_utc(run.finished_at) - as_utc(d.rms_updated_at)).total_seconds()))
            break
    for day in held:
        m = month_of(day)
        due[m] += 1
        held_by[m] += 1
    preflight: dict[str, int] = defaultdict(int)
    duplicates: dict[str, int] = defaultdict(int)
    for (_org, _subject, code), first in problems.items():
        if since is not None and first.date() < since:
            continue  # first stopped before the window: counted in its own month, not again here
        (duplicates if code in _DUPLICATE_CODES or code == "duplicate" else preflight)[month_of(first)] += 1
    out = []
    for m in sorted(set(due) | set(preflight) | set(duplicates)):
        times = seconds[m]
        out.append(MonthMetrics(m, due[m], posted[m], verified[m], held_by[m], _pct(verified[m], due[m]),
                                _median(times) if times else None, _p95(times) if times else None,
                                preflight[m], duplicates[m]))
    return out


class _Scope:
    """The reads behind the metrics, for one organization (or all) from ``since`` on."""

    def __init__(self, session: Any, org_id: int | None, org: str | None, since: date | None) -> None:
        self.s, self.org_id, self.org, self.since = session, org_id, org, since

    def documents(self) -> list[Any]:
        o = OutboxDocument
        stmt = sa.select(o.id, o.organization_id, o.txn_date, o.status, o.posted_at, Return.rms_updated_at).outerjoin(
            Return, Return.id == o.return_id).where(o.txn_date.is_not(None))
        if self.org_id is not None:
            stmt = stmt.where(o.organization_id == self.org_id)
        if self.since is not None:
            stmt = stmt.where(o.txn_date >= self.since)
        return list(self.s.execute(stmt))

    def runs(self) -> list[Any]:
        r = ReconciliationRun
        stmt = sa.select(r.id, r.organization_id, r.period_start, r.period_end, r.finished_at).where(
            r.status == ReconciliationStatus.COMPLETED, r.finished_at.is_not(None))
        if self.org_id is not None:
            stmt = stmt.where(r.organization_id == self.org_id)
        return sorted(self.s.execute(stmt), key=lambda row: as_utc(row.finished_at))

    def variances(self) -> tuple[set[tuple[int, int]], set[int]]:
        """``(run, document)`` pairs a run did not verify, and documents with a variance still open.

        A variance flags a document in its run; after later runs find it gone it is resolved, so
        the run that first saw it is the only one that did not verify it. Accepted: verified.
        """
        stmt = sa.select(Variance.run_id, Variance.outbox_document_id, Variance.status).where(
            Variance.outbox_document_id.is_not(None))
        if self.org_id is not None:
            stmt = stmt.join(ReconciliationRun).where(ReconciliationRun.organization_id == self.org_id)
        rows = list(self.s.execute(stmt))
        return ({(v.run_id, v.outbox_document_id) for v in rows if v.status is not VarianceStatus.ACCEPTED},
                {v.outbox_document_id for v in rows if v.status is VarianceStatus.OPEN})

    def held_returns(self) -> list[date]:
        """The ledger date (organization-local day of the RMS update) of each held return with no document."""
        has_docs = sa.select(OutboxDocument.id).where(OutboxDocument.return_id == Return.id).exists()
        stmt = sa.select(Return.rms_updated_at, Organization.timezone).join(
            Organization, Organization.id == Return.organization_id).where(
            Return.sync_status == ReturnSyncStatus.QUARANTINED, ~has_docs)
        if self.org_id is not None:
            stmt = stmt.where(Return.organization_id == self.org_id)
        days = [as_utc(at).astimezone(zone(tz or "UTC")).date() for at, tz in self.s.execute(stmt)]
        return [d for d in days if self.since is None or d >= self.since]

    def problems(self) -> dict[tuple[str, str, str], datetime]:
        """Every distinct problem stopped before the ledger → when it was first stopped.

        Key: (organization code, return's RMA or the document's key, problem code); a duplicate
        refused by the poster is code ``duplicate``. Read over all time: the dedupe is global.
        """
        codes = dict(self.s.execute(sa.select(Organization.id, Organization.code)).all())
        first: dict[tuple[str, str, str], datetime] = {}

        def seen(org_code: str | None, subject: str | None, code: str, at: datetime | None) -> None:
            if at is None or not subject or (self.org is not None and org_code != self.org):
                return
            key, when = (org_code or "", subject, code), as_utc(at)
            if key not in first or when < first[key]:
                first[key] = when

        for org_id, rma, code, at in self.s.execute(sa.select(
                Return.organization_id, Return.rma_number, QuarantineReason.code, QuarantineReason.created_at).join(
                Return, Return.id == QuarantineReason.return_id)):
            seen(codes.get(org_id), rma, code, at)
        for org_id, rma, details, at in self.s.execute(sa.select(
                AuditLog.organization_id, AuditLog.target, AuditLog.details, AuditLog.occurred_at).where(
                AuditLog.action == MANUAL_REFUSED)):
            for code in _codes(details):
                seen(codes.get(org_id), rma, code, at)
        for org_code, kind, key, rma, event_id, details, at in self.s.execute(sa.select(
                EventLog.org, EventLog.kind, EventLog.document_key, EventLog.rma, EventLog.event_id, EventLog.details,
                EventLog.occurred_at).where(EventLog.kind.in_(
                    ("document.duplicate_prevented", "document.uncertain_resolved")))):
            if kind == "document.uncertain_resolved" and (details or {}).get("resolution") != "adopted":
                continue
            seen(org_code, key or rma or f"event {event_id}", "duplicate", at)  # no subject: its own problem
        return first


def _codes(details: Any) -> Iterable[str]:
    raw = (details or {}).get("codes") if isinstance(details, dict) else None
    return sorted({str(c) for c in raw}) if isinstance(raw, list) else []
