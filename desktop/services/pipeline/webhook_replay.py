"""Replay defence for signed webhooks: a time window plus a bounded memory of what was delivered.

A signature proves a delivery came from the platform, not that it is new: anyone who once saw a
signed body (a proxy log, a captured request) could send it again, and every copy would ask for
another ledger pull — reads the platforms meter (API_FACTS §5) and a worker would queue without
end. :class:`ReplayGuard` refuses to act on a delivery twice:

1. **Time window** (:data:`WINDOW`, ±15 minutes on the app's injectable clock): an event whose own
   time (QBO CloudEvents ``time``, legacy ``lastUpdated``, Xero ``eventDateUtc`` — all inside the
   signed body, so they cannot be altered) is further than that from now is not acted on.
2. **Memory**: the SHA-256 of every accepted body is remembered while a copy could still pass the
   window — until its latest event time plus the window — so a copy within the window is a
   repeat. Each CloudEvents ``id`` (Intuit says to deduplicate by it) is remembered for
   :data:`UNTIMED_RETENTION`, whatever the time the event states.
3. **Fallback** (the formats' times are partly UNCONFIRMED, API_FACTS §6): an event without a
   readable time passes the window and is guarded by the memory alone, which then keeps the
   body's digest for :data:`UNTIMED_RETENTION` too (a day: the platforms' retry horizon).

The memory is in this process, bounded by :data:`CAPACITY` entries (≈ 250 bytes each: about
12 MB at the cap); if it fills, what would have expired soonest is forgotten first. We chose memory over a table
because a webhook here is only a hint — it triggers a pull, its content is never trusted — so
the worst a replay that slips through can do (after a restart, or sent to a second worker) is one
extra pull; while the platforms require an answer within seconds (Intuit: 3 s), and a database
write per delivery would add latency and a way to fail. The window bounds that exposure even
across restarts.

Stale and repeated deliveries are acknowledged, not refused: the platforms retry a refused
delivery for hours (Intuit holds later events behind it; Xero disables the subscription after a
day), and a genuine late retry is harmless to drop because the scheduled pull reads every change.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from desktop.services.core.clock import Clock, utc_now
from desktop.services.platforms.webhooks import Notification

__all__ = ["CAPACITY", "UNTIMED_RETENTION", "WINDOW", "Admission", "ReplayGuard"]

log = logging.getLogger(__name__)

#: How far an event's own time may be from now (either way: clocks drift) and still be acted on.
WINDOW = timedelta(minutes=15)
#: How long the digest of a delivery without readable times is remembered.
UNTIMED_RETENTION = timedelta(hours=24)
#: The most deliveries and event ids remembered at once.
CAPACITY = 50_000


@dataclass(frozen=True)
class Admission:
    """What the guard made of one delivery: the notifications to act on and what it dropped."""

    fresh: list[Notification]
    repeated: bool = False                                   # the whole body was seen already
    stale: list[Notification] = field(default_factory=list)  # outside the window
    duplicates: list[Notification] = field(default_factory=list)  # event id seen already


class ReplayGuard:
    """Thread-safe; one per receiver (see the module docstring)."""

    def __init__(self, clock: Clock, *, window: timedelta = WINDOW, untimed_retention: timedelta = UNTIMED_RETENTION,
                 capacity: int = CAPACITY) -> None:
        if window <= timedelta(0) or capacity < 1:
            raise ValueError("the replay window and capacity must be positive")
        self._clock = clock
        self.window = window
        self._untimed = untimed_retention
        self._capacity = capacity
        self._seen: dict[str, datetime] = {}              # key → forget after
        self._order: list[tuple[datetime, str]] = []      # a heap of (forget after, key), soonest first
        self._lock = threading.Lock()
        self.forgotten_early = 0  # entries dropped for room before their time (the memory was full)

    def __len__(self) -> int:
        return len(self._seen)

    def admit(self, platform: str, body: bytes, notes: list[Notification]) -> Admission:
        """Decide which of a verified delivery's notifications to act on, and remember it."""
        now = utc_now(self._clock)
        digest = f"body:{platform}:{hashlib.sha256(body).hexdigest()}"
        with self._lock:
            self._expire(now)
            if self._known(digest, now):
                return Admission([], repeated=True)
            fresh: list[Notification] = []
            stale: list[Notification] = []
            dupes: list[Notification] = []
            for note in notes:
                if note.at is not None and abs(note.at - now) > self.window:
                    stale.append(note)
                    continue
                if note.event_id is not None:
                    key = f"event:{platform}:{note.event_id}"
                    if self._known(key, now):
                        dupes.append(note)
                        continue
                    # A day, not the window: the same id may come again without a readable time.
                    self._remember(key, max(now + self._untimed, (note.at or now) + self.window))
                fresh.append(note)
            self._remember(digest, self._body_until(notes, now))
        return Admission(fresh, stale=stale, duplicates=dupes)

    # --- the memory (callers hold the lock) ------------------------------------------------------

    def _body_until(self, notes: list[Notification], now: datetime) -> datetime:
        """How long a body is remembered: until the window refuses every event in it — never, for an
        event without a time, so then for the untimed retention."""
        stamps = [n.at for n in notes if n.at is not None]
        if not notes or len(stamps) < len(notes):
            return now + self._untimed
        return max(*stamps, now) + self.window

    def _known(self, key: str, now: datetime) -> bool:
        until = self._seen.get(key)
        return until is not None and until >= now

    def _remember(self, key: str, until: datetime) -> None:
        until = max(until, self._seen.get(key, until))
        self._seen[key] = until
        heapq.heappush(self._order, (until, key))
        while len(self._seen) > self._capacity:  # full: forget what would have expired soonest
            self._pop()
            self.forgotten_early += 1
            if self.forgotten_early == 1:
                log.warning("webhook replay memory is full (%d entries): entries are forgotten early; "
                            "the time window still refuses copies older than %s", self._capacity, self.window)

    def _pop(self) -> None:
        """Forget the entry that expires soonest (skipping heap entries a later remember replaced)."""
        while self._order:
            until, key = heapq.heappop(self._order)
            if self._seen.get(key) == until:
                del self._seen[key]
                return

    def _expire(self, now: datetime) -> None:
        """Forget every entry whose time has passed."""
        while self._order and self._order[0][0] < now:
            until, key = heapq.heappop(self._order)
            if self._seen.get(key) == until:
                del self._seen[key]
        if len(self._order) > 2 * self._capacity:  # replaced entries pile up only if keys repeat a lot
            self._order = [(u, k) for k, u in self._seen.items()]
            heapq.heapify(self._order)
