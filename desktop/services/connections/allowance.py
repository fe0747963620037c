"""A ledger connection whose metered allowance is used up: the one owner of that state (issue 14).

Past QuickBooks' monthly allowance of metered (CorePlus) reads the service answers reads with 429,
while writes still go (they are not metered); past Xero's daily call limit every call is refused.
Either lasts until the period resets, so retrying is pointless and every refused call is wasted.

:class:`Allowances` keeps, per connection, "the allowance is used up until <reset>":

- **Learned** from a 429 answer the platform's profile recognises (:meth:`PlatformProfile.allowance_refused`:
  Xero names the ``day`` limit; QuickBooks' answer is UNCONFIRMED — one naming the monthly allowance
  counts, else a refused *metered* call counts only when the app's own count for the month has
  reached the allowance; anything else is the per-minute throttle, retried as before).
- **Kept** in the ``settings`` table (``usage.used_up.<connection id>``) so a restart keeps it.
- **Enforced** before sending (:meth:`gate`): a metered call is not sent while the state holds —
  :class:`~desktop.services.platforms.http.AllowanceUsedUp` at once, no wait, no request — except one
  probe an hour, so a raised tier or an early reset is noticed.
- **Ended** when the clock passes the reset (month: the first of the next month, UTC — UNCONFIRMED
  whether Intuit counts months in UTC or the company's time zone, hence the probe; day: the 429's
  ``Retry-After``, else the next UTC midnight) or when a metered call succeeds.

Events: ``connection.allowance_used_up`` (once per connection and reset) and
``connection.allowance_restored``. The poster holds documents that need a read
(``pipeline/poster.py``); reconciliation and reference refresh wait (:meth:`waits`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import sqlalchemy as sa

from desktop.services.connections.usage import UsageRecorder, usage_figures
from desktop.services.core.clock import Clock
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.platforms.http import AllowanceUsedUp
from desktop.services.platforms.interface import PlatformProfile
from desktop.services.platforms.registry import platform_for
from desktop.services.store.db import Database
from desktop.services.store.models import LedgerConnection, Organization, Setting

__all__ = ["PROBE_EVERY", "SETTING_PREFIX", "Allowances", "UsedUp"]

log = logging.getLogger(__name__)

#: ``settings`` key (per organization) of a connection's used-up allowance: ``usage.used_up.<id>``.
SETTING_PREFIX = "usage.used_up."
#: While used up, one metered call is let through this often to see whether it has come back.
PROBE_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class UsedUp:
    """A connection's allowance, used up until ``until`` (see the module docstring)."""

    connection_id: int
    org: str
    platform: str
    since: datetime
    until: datetime
    probed_at: datetime | None = None
    probing: bool = False  # a probe was let through: its success ends the state (an older call's does not)

    @property
    def profile(self) -> PlatformProfile:
        return platform_for(self.platform)

    @property
    def text(self) -> str:
        """``QuickBooks' allowance of metered reads for this month is used up until 01 Jan 2027 00:00 UTC``."""
        p = self.profile
        owner = p.short_name + ("'" if p.short_name.endswith("s") else "'s")
        return (f"{owner} allowance of metered {p.metered_word} for this {p.metered_period} is used up "
                f"until {self.until.astimezone(UTC):%d %b %Y %H:%M} UTC")

    @property
    def writes_refused(self) -> bool:
        """Writes count against the allowance too (Xero): nothing can be posted until it resets."""
        return self.profile.metered_writes

    @property
    def advice(self) -> str:
        """What happens now and what a person can do, in a finance admin's words."""
        short = self.profile.short_name
        what = ("Nothing can be posted until then" if self.writes_refused else
                f"Documents whose accounts, items, tax codes and customers are cached keep posting; those that "
                f"need {short} to look something up wait")
        return (f"{what}; they post by themselves on the first sync after it resets. Reconciliation and the "
                f"reference refresh wait too. To post sooner, move the {short} app to a tier with a larger "
                "allowance.")

    def held_reason(self) -> str:
        """Why a document waits, in words (kept as its ``last_error`` and shown on the dashboard)."""
        need = "" if self.writes_refused else (f"it needs a look-up in {self.profile.short_name} (a customer or "
                                                "item not in the reference cache) and ")
        return f"Held, not failed: {need}{self.text}. It posts by itself after the allowance resets."

    def as_json(self) -> dict[str, Any]:
        return {"connection_id": self.connection_id, "org": self.org, "platform": self.platform,
                "since": self.since.isoformat(), "until": self.until.isoformat(), "text": self.text,
                "writes_refused": self.writes_refused}


def next_reset(profile: PlatformProfile, now: datetime, retry_after: str | None) -> datetime:
    """When a used-up allowance comes back: the next calendar month (UTC), or after ``Retry-After``
    seconds for a daily limit (else the next UTC midnight)."""
    now = now.astimezone(UTC)
    if profile.metered_period == "month":
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (first + timedelta(days=32)).replace(day=1)
    try:
        seconds = float((retry_after or "").strip())
    except ValueError:
        seconds = -1.0
    if 0 < seconds < 2 * 86400:
        return now + timedelta(seconds=seconds)
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


class Allowances:
    """The used-up state of every connection (see the module docstring). Thread-safe."""

    def __init__(self, db: Database, clock: Clock, bus: EventBus, usage: UsageRecorder) -> None:
        self._db = db
        self._clock = clock
        self._bus = bus
        self._usage = usage
        self._lock = threading.Lock()
        self._known: dict[int, UsedUp | None] = {}
        self._unsaved: set[int] = set()  # learned or ended inside another write: written at the next read

    # --- reading ---------------------------------------------------------------------------------
    def state(self, connection_id: int) -> UsedUp | None:
        """The connection's used-up allowance, or None (never set, or the clock passed its reset)."""
        if self._unsaved:
            self._flush_unsaved()
        with self._lock:
            if connection_id not in self._known:
                self._known[connection_id] = self._load(connection_id)
            found = self._known[connection_id]
        if found is not None and self._clock.now() >= found.until:
            self.clear(connection_id, "the allowance has reset")
            return None
        return found

    def for_org(self, org: str) -> list[UsedUp]:
        """Every used-up allowance of ``org``'s connections, as the database says now (another
        process — the worker, the GUI — may have learned or ended it)."""
        with self._db.session() as s:
            ids = list(s.scalars(sa.select(LedgerConnection.id).join(Organization).where(Organization.code == org)))
        self._flush_unsaved()
        for connection_id in ids:
            stored = self._load(connection_id)
            with self._lock:
                known = self._known.get(connection_id)
                if connection_id not in self._unsaved and (stored is None or known is None
                                                           or known.until != stored.until):
                    self._known[connection_id] = stored
        return [u for u in (self.state(i) for i in ids) if u is not None]

    def probe_due(self, connection_id: int) -> bool:
        """Used up, and no probe for :data:`PROBE_EVERY`: the next metered call goes through as one."""
        used = self.state(connection_id)
        return used is not None and (used.probed_at is None or self._clock.now() - used.probed_at >= PROBE_EVERY)

    def waits(self, org: str, what: str) -> str | None:
        """Why ``what`` (reads that can wait: reconciliation, reference refresh) is skipped now, or None."""
        used = self.for_org(org)
        return f"{used[0].text}: {what} waits until it resets" if used else None

    # --- the hooks a connection's HTTP client calls -------------------------------------------------
    def gate(self, connection_id: int, profile: PlatformProfile) -> Callable[[str, str, bytes | None], None]:
        """``LedgerHttp.gate``: refuse a metered call at home while the allowance is used up."""
        def gate(method: str, url: str, body: bytes | None) -> None:
            if not self._known.get(connection_id) and connection_id in self._known:
                return  # known not used up: no lock, no database
            used = self.state(connection_id)
            if used is None or not _metered(profile, method, url, body):
                return
            now = self._clock.now()
            with self._lock:
                current = self._known.get(connection_id)
                if current is not None and (current.probed_at is None or now - current.probed_at >= PROBE_EVERY):
                    self._known[connection_id] = replace(current, probed_at=now, probing=True)
                    return  # one probe: a success ends the state, a refusal renews it
            raise AllowanceUsedUp(used.text, until=used.until, platform=profile.key, action=used.advice)
        return gate

    def spent(self, connection_id: int, profile: PlatformProfile
              ) -> Callable[[str, str, bytes | None, requests.Response], AllowanceUsedUp | None]:
        """``LedgerHttp.spent``: a 429 that means the allowance is used up marks the connection."""
        def spent(method: str, url: str, body: bytes | None, resp: requests.Response) -> AllowanceUsedUp | None:
            said = profile.allowance_refused(resp.headers, resp.text[:2000])
            if said is False or not _metered(profile, method, url, body):
                return None
            if said is None and not self._count_reached(connection_id):
                return None  # a per-minute throttle: retried as before
            used = self.mark(connection_id, profile, resp.headers.get("Retry-After"))
            return AllowanceUsedUp(used.text, until=used.until, platform=profile.key, platform_code="429",
                                   action=used.advice)
        return spent

    def answered(self, connection_id: int, profile: PlatformProfile, method: str, url: str, body: bytes | None,
                 status: int) -> None:
        """A probe answered successfully ends a used-up state (the first read that succeeds); a call
        sent before the state was learned proves nothing."""
        known = self._known.get(connection_id)
        if status < 400 and known is not None and known.probing and _metered(profile, method, url, body):
            self.clear(connection_id, "a metered call succeeded again")

    def _count_reached(self, connection_id: int) -> bool:
        self._usage.try_flush()
        return any(f.percent >= 100 for f in usage_figures(self._db, self._clock, connection_ids={connection_id}))

    # --- writing ---------------------------------------------------------------------------------
    def mark(self, connection_id: int, profile: PlatformProfile, retry_after: str | None = None) -> UsedUp:
        """Record that the connection's allowance is used up until its next reset (said once)."""
        now = self._clock.now()
        until = next_reset(profile, now, retry_after)
        with self._db.session() as s:
            org = str(s.execute(sa.select(Organization.code).join(LedgerConnection)
                                .where(LedgerConnection.id == connection_id)).scalar_one())
        with self._lock:
            before = self._known.get(connection_id)
            used = UsedUp(connection_id, org, profile.key, before.since if before is not None else now, until,
                          probed_at=now)
            self._known[connection_id] = used
        self._persist(connection_id)
        if before is None or before.until != until:
            self._bus.emit(EventKind.CONNECTION_ALLOWANCE_USED_UP, Severity.WARNING,
                           f"{org}: {used.text}. {used.advice}", org=org, platform=profile.key,
                           details=used.as_json())
        return used

    def clear(self, connection_id: int, why: str) -> None:
        """The allowance is back (reset, or a metered call succeeded): forget the state, say so once."""
        with self._lock:
            before = self._known.get(connection_id)
            self._known[connection_id] = None
        self._persist(connection_id)
        if before is not None:
            self._bus.emit(EventKind.CONNECTION_ALLOWANCE_RESTORED, Severity.INFO,
                           f"{before.org}: {before.profile.short_name} answers metered {before.profile.metered_word} "
                           f"again ({why}); documents that waited post on the next sync",
                           org=before.org, platform=before.platform, details=before.as_json())

    def _persist(self, connection_id: int) -> None:
        """Write the connection's state to ``settings`` (or remove it). A call made inside another
        write (the planner reads a rate in its transaction; SQLite has one writer) cannot write now:
        the state stays in memory and is written at the next :meth:`state` or :meth:`for_org`."""
        with self._lock:
            used = self._known.get(connection_id)
        key = f"{SETTING_PREFIX}{connection_id}"
        try:
            with self._db.write_session() as s:
                if used is None:
                    s.execute(sa.delete(Setting).where(Setting.key == key))
                else:
                    org_id = s.execute(sa.select(LedgerConnection.organization_id)
                                       .where(LedgerConnection.id == connection_id)).scalar_one()
                    row = s.execute(sa.select(Setting).where(Setting.organization_id == org_id,
                                                             Setting.key == key)).scalar()
                    value = {"platform": used.platform, "since": used.since.isoformat(),
                             "until": used.until.isoformat()}
                    now = self._clock.now()
                    if row is None:
                        s.add(Setting(organization_id=org_id, key=key, value=value, updated_at=now, updated_by="app"))
                    else:
                        row.value, row.updated_at, row.updated_by = value, now, "app"
        except Exception:
            log.info("the used-up allowance of connection %s is written later", connection_id, exc_info=True)
            with self._lock:
                self._unsaved.add(connection_id)
            return
        with self._lock:
            self._unsaved.discard(connection_id)

    def _flush_unsaved(self) -> None:
        with self._lock:
            pending = sorted(self._unsaved)
        for connection_id in pending:
            self._persist(connection_id)

    def _load(self, connection_id: int) -> UsedUp | None:
        with self._db.session() as s:
            row = s.execute(sa.select(Setting.value, Organization.code).join(
                Organization, Organization.id == Setting.organization_id).where(
                Setting.key == f"{SETTING_PREFIX}{connection_id}")).first()
        if row is None or not isinstance(row[0], dict):
            return None
        value, org = row
        try:
            return UsedUp(connection_id, org, str(value["platform"]), datetime.fromisoformat(value["since"]),
                          datetime.fromisoformat(value["until"]))
        except (KeyError, TypeError, ValueError):
            return None  # unreadable: act as if not used up (the next refusal records it again)


def _metered(profile: PlatformProfile, method: str, url: str, body: bytes | None) -> bool:
    """Does this call count against the allowance (a metered read; any call where writes count too)?"""
    found = profile.metered(method, url, body)
    return found is not None and (found[0] > 0 or (found[1] > 0 and profile.metered_writes))
