"""Clocks: the only place the app asks what time it is (DESIGN.md §4).

Logic never calls ``datetime.now()``; it is handed a :class:`Clock`. Production passes
:class:`SystemClock`; tests pass :class:`ManualClock` and move time on purpose, so token expiry,
backoff and "last synced" are tested without sleeping.

Inside the app every time is timezone-aware UTC. The one local notion is the *ledger date*: a
document dated "today" means today where the organization keeps its books, which can differ from
the UTC date by a day either way — :func:`local_date` computes it.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "Clock",
    "FixedClock",
    "ManualClock",
    "NaiveDatetimeError",
    "SystemClock",
    "UnknownTimeZone",
    "as_utc",
    "ensure_aware",
    "local_date",
    "utc_now",
    "zone",
]


class NaiveDatetimeError(ValueError):
    """A datetime without a timezone reached code that needs to know which instant it means."""


class UnknownTimeZone(ValueError):
    """The IANA time-zone name is not known to this installation."""


@runtime_checkable
class Clock(Protocol):
    """Anything that can tell the current instant as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class FixedClock:
    """A clock stopped at one instant, for pure functions that just need "now" to be known."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def __repr__(self) -> str:
        return f"FixedClock({self._at.isoformat()})"


class ManualClock:
    """A clock tests move by hand; thread-safe so a background worker may read it meanwhile.

    Args:
        start: the first instant (aware).
        tick: if given, every :meth:`now` call returns the current instant and then moves the
            clock on by ``tick``, so successive reads are strictly ordered without sleeping.
    """

    def __init__(self, start: datetime, *, tick: timedelta | None = None) -> None:
        if tick is not None and tick < timedelta(0):
            raise ValueError("tick must not be negative")
        self._now = as_utc(start)
        self._tick = tick
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            current = self._now
            if self._tick:
                self._now = current + self._tick
            return current

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (backwards too: real clocks get corrected, code must cope)."""
        at = as_utc(at)
        with self._lock:
            self._now = at

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (not negative; use :meth:`set` to go back) and return now."""
        if not isinstance(delta, timedelta):
            raise TypeError(f"advance() takes a timedelta, not {type(delta).__name__}")
        if delta < timedelta(0):
            raise ValueError("advance() cannot go backwards; use set()")
        with self._lock:
            self._now += delta
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now.isoformat()})"


def ensure_aware(dt: datetime) -> datetime:
    """Return ``dt`` unchanged if it carries a timezone; raise :class:`NaiveDatetimeError` if not.

    A naive datetime is ambiguous (whose local time?), so it is refused rather than guessed.
    """
    if not isinstance(dt, datetime):
        raise TypeError(f"expected a datetime, not {type(dt).__name__}")
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise NaiveDatetimeError(f"naive datetime {dt.isoformat()} has no timezone; attach one")
    return dt


def as_utc(dt: datetime) -> datetime:
    """The same instant expressed in UTC (naive datetimes are refused)."""
    return ensure_aware(dt).astimezone(UTC)


def utc_now(clock: Clock) -> datetime:
    """``clock.now()``, checked to be aware and normalised to UTC (guards custom clocks)."""
    return as_utc(clock.now())


def zone(tz_name: str) -> ZoneInfo:
    """The IANA zone for ``tz_name`` (e.g. ``"Pacific/Auckland"``), with a readable error."""
    if not isinstance(tz_name, str) or not tz_name.strip():
        raise UnknownTimeZone(f"time zone name must be a non-empty string, got {tz_name!r}")
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(f"unknown time zone {tz_name!r}") from exc


def local_date(dt: datetime, tz_name: str) -> date:
    """The organization's ledger date for the instant ``dt`` in its time zone ``tz_name``.

    Example: 2026-03-01 20:00 UTC is already 2026-03-02 in ``Pacific/Auckland`` — a refund made
    then belongs on the 2 March ledger day there.
    """
    return ensure_aware(dt).astimezone(zone(tz_name)).date()
