"""Clocks: aware UTC everywhere, test clocks that move on demand, and the local ledger date."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.services.core.clock import (
    Clock,
    FixedClock,
    ManualClock,
    NaiveDatetimeError,
    SystemClock,
    UnknownTimeZone,
    as_utc,
    ensure_aware,
    local_date,
    utc_now,
)

T0 = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


def test_system_clock_is_aware_utc_and_moves_forward() -> None:
    clock = SystemClock()
    first = clock.now()
    second = clock.now()
    assert first.tzinfo is UTC and first.utcoffset() == timedelta(0)
    assert second >= first
    assert isinstance(clock, Clock)


def test_fixed_clock_stands_still_and_normalises_to_utc() -> None:
    clock = FixedClock(datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=13))))
    assert clock.now() == clock.now() == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert isinstance(clock, Clock)


def test_manual_clock_advances_and_jumps() -> None:
    clock = ManualClock(T0)
    assert clock.now() == T0
    assert clock.advance(timedelta(minutes=5)) == T0 + timedelta(minutes=5)
    assert clock.now() == T0 + timedelta(minutes=5)
    clock.set(T0 - timedelta(days=1))  # corrections backwards are allowed through set()
    assert clock.now() == T0 - timedelta(days=1)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(TypeError):
        clock.advance(5)  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError):
        clock.set(datetime(2026, 1, 1))  # naive on purpose
    assert isinstance(clock, Clock)


def test_manual_clock_tick_orders_successive_reads() -> None:
    clock = ManualClock(T0, tick=timedelta(milliseconds=1))
    reads = [clock.now() for _ in range(5)]
    assert reads == [T0 + timedelta(milliseconds=i) for i in range(5)]
    with pytest.raises(ValueError):
        ManualClock(T0, tick=timedelta(seconds=-1))


def test_manual_clock_is_thread_safe() -> None:
    clock = ManualClock(T0)

    def worker() -> None:
        for _ in range(1000):
            clock.advance(timedelta(seconds=1))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.now() == T0 + timedelta(seconds=8000)


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 1, 1, 9, 30)  # naive on purpose
    for fn in (ensure_aware, as_utc, lambda d: local_date(d, "UTC")):
        with pytest.raises(NaiveDatetimeError, match="naive"):
            fn(naive)
    with pytest.raises(NaiveDatetimeError):
        FixedClock(naive)
    with pytest.raises(TypeError):
        ensure_aware(date(2026, 1, 1))  # type: ignore[arg-type]


def test_ensure_aware_keeps_the_value_and_as_utc_converts() -> None:
    berlin = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert ensure_aware(berlin) is berlin
    assert as_utc(berlin) == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert as_utc(berlin).tzinfo is UTC


def test_utc_now_normalises_and_checks_a_custom_clock() -> None:
    class OffsetClock:
        def now(self) -> datetime:
            return datetime(2026, 1, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))

    class NaiveClock:
        def now(self) -> datetime:
            return datetime(2026, 1, 1)  # a broken, naive clock on purpose

    now = utc_now(OffsetClock())
    assert now == datetime(2026, 1, 1, 0, 0, tzinfo=UTC) and now.tzinfo is UTC
    with pytest.raises(NaiveDatetimeError):
        utc_now(NaiveClock())


@pytest.mark.parametrize(("instant", "tz", "expected"), [
    (T0, "Pacific/Auckland", date(2026, 3, 2)),  # NZDT +13: already tomorrow
    (T0, "America/Los_Angeles", date(2026, 3, 1)),
    (datetime(2026, 3, 2, 3, 0, tzinfo=UTC), "America/Los_Angeles", date(2026, 3, 1)),  # still yesterday
    (datetime(2026, 6, 30, 23, 59, 59, tzinfo=UTC), "UTC", date(2026, 6, 30)),
    (datetime(2026, 6, 30, 22, 30, tzinfo=UTC), "Europe/London", date(2026, 6, 30)),  # BST +1
    (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "Europe/London", date(2026, 7, 1)),
    (datetime(2026, 12, 31, 18, 30, tzinfo=UTC), "Asia/Kolkata", date(2027, 1, 1)),  # +5:30
])
def test_local_date_is_the_organizations_ledger_day(instant: datetime, tz: str, expected: date) -> None:
    assert local_date(instant, tz) == expected


def test_local_date_does_not_depend_on_the_input_offset() -> None:
    utc = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    tokyo = utc.astimezone(ZoneInfo("Asia/Tokyo"))
    assert local_date(utc, "America/New_York") == local_date(tokyo, "America/New_York") == date(2026, 3, 1)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "", "   ", "../../etc/passwd", "UTC\x00"])
def test_unknown_time_zones_are_refused(name: str) -> None:
    with pytest.raises(UnknownTimeZone):
        local_date(T0, name)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
       st.sampled_from(["UTC", "Pacific/Auckland", "Pacific/Kiritimati", "Pacific/Pago_Pago",
                        "America/St_Johns", "Asia/Kathmandu", "Europe/Dublin"]))
def test_local_date_is_within_a_day_of_the_utc_date(naive: datetime, tz: str) -> None:
    instant = naive.replace(tzinfo=UTC)
    assert abs((local_date(instant, tz) - instant.date()).days) <= 1


def test_the_login_is_the_os_account_not_an_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """``LOGNAME=alice returns-ledger`` must not make anyone alice."""
    import os
    import pwd

    from desktop.app import current_login
    from desktop.services.core.identity import os_login
    from desktop.services.runtime import login_name
    from desktop.views.context import current_user

    real = pwd.getpwuid(os.getuid()).pw_name
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "alice-impostor")
    assert os_login() == login_name() == current_login() == current_user() == real != "alice-impostor"
