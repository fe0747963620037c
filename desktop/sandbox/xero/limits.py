"""Xero's API limits: per tenant 5 concurrent / 60 a minute / 5,000 a day, per app 10,000 a minute.

Every API response carries the remaining counts; a refused call gets 429 with ``Retry-After`` and
``X-Rate-Limit-Problem`` naming the limit, exactly the headers a client has to honour.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

from desktop.sandbox.base import ConcurrencyLimit, SandboxClock, SlidingWindowLimit

DEFAULTS = {"per_minute": 60, "per_day": 5000, "concurrent": 5, "app_per_minute": 10000, "hold_ms": 0}


@dataclass
class Verdict:
    """Outcome of admitting one call: allowed, or the problem name and the wait."""

    allowed: bool
    problem: str = ""
    retry_after: int = 0


class XeroLimits:
    """All four limits, reconfigurable at run time through the control API."""

    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.settings: dict[str, int] = dict(DEFAULTS)
        self._build()

    def _build(self) -> None:
        s = self.settings
        self.minute = SlidingWindowLimit(s["per_minute"], 60, self._clock)
        self.day = SlidingWindowLimit(s["per_day"], 86400, self._clock)
        self.app_minute = SlidingWindowLimit(s["app_per_minute"], 60, self._clock)
        self.concurrent = ConcurrencyLimit(s["concurrent"])

    def configure(self, rate_limits: dict[str, Any] | None) -> None:
        """Apply new limits (``None`` restores production values); counters start afresh.

        ``hold_ms`` is a sandbox-only knob: each admitted call is held that long while it counts
        as in flight, so tests can provoke the concurrency limit deterministically.
        """
        with self._lock:
            self.settings = dict(DEFAULTS)
            for key, value in (rate_limits or {}).items():
                if key not in DEFAULTS:
                    raise ValueError(f"unknown Xero rate limit {key!r}; known: {sorted(DEFAULTS)}")
                self.settings[key] = int(value)
            self._build()

    @property
    def hold_s(self) -> float:
        return self.settings["hold_ms"] / 1000

    def admit(self, tenant: str, app: str) -> Verdict:
        """Count one call (the caller must :meth:`release` the concurrency slot if allowed)."""
        if not self.concurrent.enter(tenant):
            return Verdict(False, "concurrent", 1)
        for limit, key, name in (
            (self.app_minute, app, "appminute"),
            (self.minute, tenant, "minute"),
            (self.day, tenant, "day"),
        ):
            ok, _, retry = limit.try_acquire(key)
            if not ok:
                self.concurrent.leave(tenant)
                return Verdict(False, name, max(1, math.ceil(retry)))
        return Verdict(True)

    def release(self, tenant: str) -> None:
        self.concurrent.leave(tenant)

    def headers(self, tenant: str | None, app: str) -> dict[str, str]:
        """The three remaining-count headers Xero sends on every API response."""
        return {
            "X-DayLimit-Remaining": str(self.day.remaining(tenant) if tenant else self.day.limit),
            "X-MinLimit-Remaining": str(self.minute.remaining(tenant) if tenant else self.minute.limit),
            "X-AppMinLimit-Remaining": str(self.app_minute.remaining(app)),
        }
