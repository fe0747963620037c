"""Metered ledger calls, counted from the app's side (issue 14, item 3).

Every request a connection's :class:`~desktop.services.platforms.http.LedgerHttp` gets an answer to
is classified by its platform (:meth:`PlatformProfile.metered` — the one rule, the sandbox's too)
and added to an in-memory tally per (connection, UTC day). :meth:`UsageRecorder.flush` adds the
tally to ``ledger_usage`` in one upsert per row: the scheduler flushes after every sync step, the
runtime when it closes, and a reader (dashboard, ``returns-ledger usage``) before it reads.

The allowance each figure is measured against is the platform's tier (the profile's
``metered_allowance``: QuickBooks 500,000 reads a month on the Builder tier; Xero 1,000 calls a day
on the Starter tier), overridden by a setting — per organization ``usage.allowance``, else global
``usage.allowance.<platform>`` (a whole number). At :data:`WARN_AT_PCT` % of it a warning event is
published, once per connection and period.

The reads of signing in, made before the connection exists (company details), are counted by a
:class:`SignInTally` and added to the connection once it does. A request answered 429 is not
counted (the platform refused it; UNCONFIRMED whether the real services meter refusals — the
sandbox does not).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from desktop.services.core.clock import Clock
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.platforms.interface import PlatformProfile
from desktop.services.platforms.registry import platform_for
from desktop.services.store.db import Database
from desktop.services.store.models import LedgerConnection, LedgerUsage, Organization, Setting

__all__ = ["ALLOWANCE_KEY", "WARN_AT_PCT", "SignInTally", "UsageFigure", "UsageRecorder", "allowance_key", "counted",
           "usage_figures"]

log = logging.getLogger(__name__)

#: Per-organization setting: the metered allowance of the organization's tier (a whole number).
ALLOWANCE_KEY = "usage.allowance"
#: Warn when this share of an allowance is used.
WARN_AT_PCT = 80
_REFUSED = 429


def allowance_key(platform: str) -> str:
    """The global setting for a platform's allowance (``usage.allowance.qbo``)."""
    return f"{ALLOWANCE_KEY}.{platform}"


@dataclass(frozen=True)
class UsageFigure:
    """One connection's metered calls in the platform's period against its allowance."""

    connection_id: int
    org: str
    org_name: str
    platform: str
    company_name: str
    period: str          # "month" | "day"
    since: date          # the first day of the period
    word: str            # "reads" | "calls"
    used: int
    allowance: int
    reads: int
    writes: int

    @property
    def percent(self) -> int:
        """Whole percent used (rounded down; 100 or more past the allowance)."""
        return self.used * 100 // self.allowance if self.allowance > 0 else 100

    @property
    def warning(self) -> bool:
        return self.percent >= WARN_AT_PCT

    @property
    def alert(self) -> str:
        """``used up`` (at or past the allowance), ``nearly used up`` (past the warning), else empty."""
        return "used up" if self.percent >= 100 else "nearly used up" if self.warning else ""

    @property
    def text(self) -> str:
        """``QuickBooks reads this month: 12,345 of 500,000 (2 %)``."""
        when = "this month" if self.period == "month" else "today"
        return (f"{platform_for(self.platform).short_name} {self.word} {when}: "
                f"{self.used:,} of {self.allowance:,} ({self.percent} %)")

    def as_json(self) -> dict[str, Any]:
        return {"org": self.org, "org_name": self.org_name, "platform": self.platform,
                "connection_id": self.connection_id, "company_name": self.company_name, "period": self.period,
                "since": self.since.isoformat(), "metered": self.word, "used": self.used,
                "allowance": self.allowance, "percent": self.percent, "warning": self.warning,
                "alert": self.alert, "reads": self.reads, "writes": self.writes, "text": self.text}


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def usage_figures(db: Database, clock: Clock, org: str | None = None,
                  connection_ids: set[int] | None = None) -> list[UsageFigure]:
    """The figure of every connection (of ``org``; of ``connection_ids``), by organization code."""
    today = clock.now().date()
    out: list[UsageFigure] = []
    with db.session() as s:
        stmt = sa.select(LedgerConnection, Organization).join(
            Organization, Organization.id == LedgerConnection.organization_id)
        if org is not None:
            stmt = stmt.where(Organization.code == org)
        if connection_ids is not None:
            stmt = stmt.where(LedgerConnection.id.in_(connection_ids))
        rows = s.execute(stmt.order_by(Organization.code, LedgerConnection.id)).all()
        settings = {(o, k): v for o, k, v in s.execute(sa.select(
            Setting.organization_id, Setting.key, Setting.value).where(Setting.key.startswith(ALLOWANCE_KEY)))}
        for conn, organization in rows:
            profile = platform_for(conn.platform)
            since = today.replace(day=1) if profile.metered_period == "month" else today
            total = sa.func.coalesce
            reads, writes = s.execute(sa.select(
                total(sa.func.sum(LedgerUsage.reads), 0), total(sa.func.sum(LedgerUsage.writes), 0))
                .where(LedgerUsage.connection_id == conn.id, LedgerUsage.day >= since, LedgerUsage.day <= today)).one()
            allowance = (_whole(settings.get((organization.id, ALLOWANCE_KEY)))
                         or _whole(settings.get((None, allowance_key(profile.key)))) or profile.metered_allowance)
            used = int(reads) + (int(writes) if profile.metered_writes else 0)
            out.append(UsageFigure(conn.id, organization.code, organization.name, profile.key,
                                   conn.company_name or "", profile.metered_period, since, profile.metered_word,
                                   used, allowance, int(reads), int(writes)))
    return out


def counted(profile: PlatformProfile, method: str, url: str, body: bytes | None,
            status: int) -> tuple[int, int] | None:
    """``(reads, writes)`` an answered request adds to the count; None: nothing."""
    return None if status == _REFUSED else profile.metered(method, url, body)


class SignInTally:
    """Counts a sign-in's requests, made before its connection exists; added to it once it does."""

    def __init__(self, profile: PlatformProfile) -> None:
        self._profile = profile
        self._lock = threading.Lock()
        self.reads = self.writes = 0

    def __call__(self, method: str, url: str, body: bytes | None, status: int) -> None:
        found = counted(self._profile, method, url, body, status)
        if found is not None:
            with self._lock:
                self.reads += found[0]
                self.writes += found[1]


class UsageRecorder:
    """Counts answered ledger requests per connection and day in memory; :meth:`flush` stores them."""

    def __init__(self, db: Database, clock: Clock, bus: EventBus) -> None:
        self._db = db
        self._clock = clock
        self._bus = bus
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._pending: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
        self._warned: set[tuple[int, date]] = set()

    def hook(self, connection_id: int, profile: PlatformProfile) -> Callable[[str, str, bytes | None, int], None]:
        """What a connection's ``LedgerHttp.on_answer`` calls for each answered request."""
        def answered(method: str, url: str, body: bytes | None, status: int) -> None:
            found = counted(profile, method, url, body, status)
            if found is not None:
                self.add(connection_id, *found)
        return answered

    def add(self, connection_id: int, reads: int, writes: int) -> None:
        day = self._clock.now().date()
        with self._lock:
            tally = self._pending[(connection_id, day)]
            tally[0] += reads
            tally[1] += writes

    def flush(self) -> None:
        """Add what was counted since the last flush to ``ledger_usage``; warn near an allowance."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, defaultdict(lambda: [0, 0])
            if not pending:
                return
            try:
                with self._db.write_session() as s:
                    for (connection_id, day), (reads, writes) in sorted(pending.items()):
                        s.execute(self._upsert(s, connection_id, day, reads, writes))
            except BaseException:
                with self._lock:  # not stored: keep the counts for the next flush
                    for key, (reads, writes) in pending.items():
                        self._pending[key][0] += reads
                        self._pending[key][1] += writes
                raise
            self._warn({connection_id for connection_id, _day in pending})

    def try_flush(self) -> None:
        """:meth:`flush`, logging instead of raising (counting must never fail a sync or a page):
        the counts stay in memory for the next flush."""
        try:
            self.flush()
        except Exception:
            log.exception("could not store the metered ledger call counts")

    @staticmethod
    def _upsert(s: Any, connection_id: int, day: date, reads: int, writes: int) -> Any:
        insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
        stmt = insert(LedgerUsage).values(connection_id=connection_id, day=day, reads=reads, writes=writes)
        return stmt.on_conflict_do_update(
            index_elements=["connection_id", "day"],
            set_={"reads": LedgerUsage.reads + stmt.excluded.reads,
                  "writes": LedgerUsage.writes + stmt.excluded.writes})

    def figures(self, org: str | None = None) -> list[UsageFigure]:
        """Every connection's figure (of ``org``), after storing what is still in memory."""
        self.try_flush()
        return usage_figures(self._db, self._clock, org)

    def _warn(self, connection_ids: set[int]) -> None:
        for figure in usage_figures(self._db, self._clock, connection_ids=connection_ids):
            key = (figure.connection_id, figure.since)
            if not figure.warning or key in self._warned:
                continue
            self._warned.add(key)
            period = "the month" if figure.period == "month" else "the day"
            self._bus.emit(EventKind.CONNECTION_USAGE_HIGH, Severity.WARNING,
                           f"{figure.org}: {figure.text}. Past the allowance "
                           f"{platform_for(figure.platform).short_name} refuses calls until {period} is over",
                           org=figure.org, platform=figure.platform, details=figure.as_json())
