"""The product's three headline metrics, defined once (DESIGN.md §1, issue 15).

The Dashboard, ``returns-ledger metrics`` and every metrics export call :func:`metrics_report` and
print through the formatters here, so the three places cannot disagree. :data:`DEFINITIONS` is
the text the Dashboard's tooltips and the README show. A *period* is the headline window (by
default the last 30 days, today included) or a calendar month of the trend.

- **Sync accuracy** of a period = documents posted *and verified* ÷ documents due, where:

  * a document is *due* in the period its ledger date falls in: every outbox document (whatever
    its state), plus one for each return pre-flight holds that has no document at all (its
    refund is owed to the ledger but cannot be posted until a person fixes it; its ledger date
    is the organization-local day of its RMS update, as the planner would date it);
  * a document is *verified* once a completed reconciliation whose period covers its date,
    finishing after it was posted, found no variance on it (an accepted variance counts: a
    person decided the ledger is right), and no variance on it is still open.

- **Time to reconcile** = from the RMS event (``returns.rms_updated_at``) to the first
  reconciliation that verified the document; the median and the 95th percentile (nearest rank)
  over the period's verified documents.

- **Errors prevented** = distinct problems stopped before they reached a ledger: pre-flight
  refusals (the sync holding a return, a manual entry refused) and duplicate refusals (a
  document found already in the ledger and adopted instead of sent again, a manual entry refused
  as already posted, queued or entered). Each problem has a dedupe key — organization, return
  (or document) and problem code — and counts once, in the period it was first stopped, however
  often it is stopped again (a Record button pressed twice, every sync re-checking a held
  return). Nothing counts until something was actually stopped.

Months are calendar months; days are ledger dates (accuracy, time) or the UTC day a problem was
first stopped (errors prevented).
"""

from __future__ import annotations

import io
import math
import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
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

__all__ = ["DEFINITIONS", "HEADLINE_DAYS", "MANUAL_REFUSED", "TREND_MONTHS", "Figures", "MetricsReport",
           "format_duration", "format_pct", "headline_window", "metrics_report", "month_label", "month_of",
           "monthly_metrics", "window_label"]

#: What each headline figure means, word for word the same in the tooltips and the README.
DEFINITIONS: dict[str, str] = {
    "sync_accuracy": (
        "Documents posted and verified by a reconciliation without variance ÷ documents due in the period "
        "(by ledger date). Returns pre-flight holds count as due: they are owed to the ledger."),
    "time_to_reconcile": (
        "From the RMS event to the reconciliation that verified the document in the ledger: the median "
        "and the 95th percentile over the period's verified documents."),
    "errors_prevented": (
        "Distinct problems stopped before they reached the ledger — pre-flight refusals (sync or manual "
        "entry) and duplicate refusals — each counted once per return and problem, not per click or retry."),
}
#: The headline period: the last 30 days, today included.
HEADLINE_DAYS = 30
#: How many months of trend the Dashboard draws and ``metrics`` prints.
TREND_MONTHS = 12
#: The audit action of a refused manual entry. The manual-entry service (a layer above) writes it;
#: a test pins the two names together.
MANUAL_REFUSED = "manual_entry.refused"
#: Manual-entry refusals that are duplicates refused (the rest are pre-flight refusals).
_DUPLICATE_CODES = frozenset({"already_posted", "already_queued", "already_entered"})
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Figures:
    """The three figures (and what they are made of) for one period: a month, or the headline window."""

    period: str                       # "2026-11" (a month) or "2026-11-08/2026-12-07" (ISO 8601 interval)
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
        """``Nov 2026`` for a month, ``8 Nov – 7 Dec 2026`` for a window."""
        if "/" not in self.period:
            return month_label(self.period)
        first, last = self.period.split("/")
        return window_label(date.fromisoformat(first), date.fromisoformat(last))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label, "errors_prevented": self.errors_prevented}

    def row(self) -> tuple[object, ...]:
        """This period as every export writes it (figures formatted as on screen, seconds kept too)."""
        return (self.label, self.due, self.posted, self.verified, self.held, format_pct(self.accuracy_pct),
                format_duration(self.reconcile_median_s), format_duration(self.reconcile_p95_s),
                "" if self.reconcile_median_s is None else self.reconcile_median_s,
                "" if self.reconcile_p95_s is None else self.reconcile_p95_s,
                self.preflight_refusals, self.duplicate_refusals, self.errors_prevented)


CSV_HEADERS = ("Period", "Documents due", "Posted", "Verified", "Held by pre-flight", "Sync accuracy",
               "Time to reconcile (median)", "Time to reconcile (p95)", "Median (seconds)", "p95 (seconds)",
               "Pre-flight refusals", "Duplicate refusals", "Errors prevented")


@dataclass(frozen=True)
class MetricsReport:
    """The headline (a window of days, by default the last 30) and the monthly trend up to its end."""

    org: str | None
    start: date
    end: date
    headline: Figures
    months: tuple[Figures, ...]   # consecutive months, oldest first, up to the month of ``end``

    def to_json(self) -> dict[str, Any]:
        return {"org": self.org, "from": self.start.isoformat(), "to": self.end.isoformat(),
                "headline": self.headline.to_json(), "months": [m.to_json() for m in self.months],
                "definitions": dict(DEFINITIONS)}

    def csv_text(self) -> str:
        """The headline row, then one row per month (the Dashboard's export and ``metrics --csv``)."""
        buf = io.StringIO()
        writer = SafeWriter(buf)
        writer.writerow(CSV_HEADERS)
        writer.writerows([self.headline.row(), *(m.row() for m in self.months)])
        return buf.getvalue()


# --- formatting (the one way each figure is written) ---------------------------------------------

def month_of(day: date | datetime) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_label(month: str) -> str:
    """``2026-11`` → ``Nov 2026`` (never ``Nov 26``, which reads as a day)."""
    year, number = month.split("-")
    return f"{_MONTHS[int(number) - 1]} {year}"


def window_label(start: date, end: date) -> str:
    """``8 Nov – 7 Dec 2026`` (the year once when both ends share it)."""
    first = f"{start.day} {_MONTHS[start.month - 1]}" + ("" if start.year == end.year else f" {start.year}")
    return f"{first} – {end.day} {_MONTHS[end.month - 1]} {end.year}"


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


def _month_start(month: str) -> date:
    return date(int(month[:4]), int(month[5:7]), 1)


def _shift(month: str, by: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:7]) - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# --- the report -----------------------------------------------------------------------------------

def headline_window(today: date, days: int = HEADLINE_DAYS) -> tuple[date, date]:
    """The headline period ending ``today``: the last ``days`` days, today included."""
    return today - timedelta(days=days - 1), today


def metrics_report(db: Database, org: str | None, *, end: date, start: date | None = None,
                   months: int = TREND_MONTHS) -> MetricsReport:
    """The figures of ``start``…``end`` (default: the last 30 days to ``end``) and the monthly trend.

    The trend has every month from the first with any activity (among the ``months`` up to the
    month of ``end``) to that month: an empty month is a gap in the chart, not a false zero.
    """
    start = start if start is not None else headline_window(end)[0]
    last = month_of(end)
    first = _shift(last, -(months - 1))
    rows = _Rows.read(db, org, min(start, _month_start(first)))
    window = f"{start.isoformat()}/{end.isoformat()}"
    headline = rows.figures(lambda day: window if start <= day <= end else None).get(window, Figures(window))
    found = rows.figures(lambda day: month_of(day) if first <= month_of(day) <= last else None)
    trend, month = [], min(found, default=last)
    while month <= last:
        trend.append(found.get(month, Figures(month)))
        month = _shift(month, 1)
    return MetricsReport(org, start, end, headline, tuple(trend))


def monthly_metrics(db: Database, org: str | None = None, *, since: date | None = None) -> list[Figures]:
    """One :class:`Figures` per calendar month with any activity, oldest first (``org``: one organization)."""
    found = _Rows.read(db, org, since).figures(month_of)
    return [found[m] for m in sorted(found)]


@dataclass
class _Rows:
    """What the figures are computed from, read once, then grouped into any periods."""

    documents: list[Any]
    runs: list[Any]
    not_verified_by: set[tuple[int, int]]
    still_open: set[int]
    held: list[date]
    problems: dict[tuple[str, str, str], datetime]
    since: date | None

    @classmethod
    def read(cls, db: Database, org: str | None, since: date | None) -> _Rows:
        with db.session() as s:
            org_id = s.execute(sa.select(Organization.id).where(Organization.code == org)).scalar() if org else None
            if org is not None and org_id is None:
                return cls([], [], set(), set(), [], {}, since)
            scope = _Scope(s, org_id, org, since)
            return cls(scope.documents(), scope.runs(), *scope.variances(), scope.held_returns(), scope.problems(),
                       since)

    def figures(self, bucket: Callable[[date], str | None]) -> dict[str, Figures]:
        """Figures per period; ``bucket`` names the period of a day (None: outside every period)."""
        due: dict[str, int] = defaultdict(int)
        posted: dict[str, int] = defaultdict(int)
        verified: dict[str, int] = defaultdict(int)
        held: dict[str, int] = defaultdict(int)
        seconds: dict[str, list[int]] = defaultdict(list)
        runs = self.runs
        finish_times = [as_utc(r.finished_at) for r in runs]
        for d in self.documents:
            p = bucket(d.txn_date)
            if p is None:
                continue
            due[p] += 1
            if OutboxStatus(d.status) is not OutboxStatus.POSTED or d.posted_at is None:
                continue
            posted[p] += 1
            if d.id in self.still_open:
                continue
            for run in runs[bisect_left(finish_times, as_utc(d.posted_at)):]:
                if run.organization_id != d.organization_id or run.period_start is None or run.period_end is None:
                    continue
                if not run.period_start <= d.txn_date <= run.period_end or (run.id, d.id) in self.not_verified_by:
                    continue
                verified[p] += 1
                if d.rms_updated_at is not None:
                    seconds[p].append(int((as_utc(run.finished_at) - as_utc(d.rms_updated_at)).total_seconds()))
                break
        for day in self.held:
            p = bucket(day)
            if p is not None:
                due[p] += 1
                held[p] += 1
        preflight: dict[str, int] = defaultdict(int)
        duplicates: dict[str, int] = defaultdict(int)
        for (_org, _subject, code), first in self.problems.items():
            p = bucket(first.date())  # first stopped outside every period: counted there, never again
            if p is not None:
                (duplicates if code in _DUPLICATE_CODES or code == "duplicate" else preflight)[p] += 1
        out = {}
        for p in set(due) | set(preflight) | set(duplicates):
            times = seconds[p]
            out[p] = Figures(p, due[p], posted[p], verified[p], held[p], _pct(verified[p], due[p]),
                             _median(times) if times else None, _p95(times) if times else None,
                             preflight[p], duplicates[p])
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
