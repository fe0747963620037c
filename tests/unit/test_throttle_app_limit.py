"""The throttle's app-wide limit (Xero: 10,000 calls a minute across every tenant) and the RMS's
throttle without a minute window of its own — on an injected clock, so nothing waits in real time."""

from __future__ import annotations

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.platforms.http import Throttle
from desktop.services.platforms.registry import platform_for
from desktop.services.rms.client import CONCURRENT, default_http


class Waits:
    """``sleep`` moves a fake monotonic clock on and records the wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def test_tenants_share_the_app_minute_and_each_keeps_its_own() -> None:
    waits = Waits()
    app = Throttle(3, 3, sleep=waits.sleep, monotonic=waits.monotonic)
    a, b = (Throttle(60, 5, sleep=waits.sleep, monotonic=waits.monotonic, app=app) for _ in range(2))
    for t in (a, b, a):
        t.acquire()
        t.release()
    assert waits.slept == []  # three calls: inside both tenants' 60 and the app's 3
    b.acquire()  # the app's fourth call this minute waits for the first to age out
    b.release()
    assert sum(waits.slept) == pytest.approx(60.0)


def test_an_app_minute_exhausted_pauses_every_tenant() -> None:
    waits = Waits()
    app = Throttle(10_000, 10_000, sleep=waits.sleep, monotonic=waits.monotonic)
    a, b = (Throttle(60, 5, sleep=waits.sleep, monotonic=waits.monotonic, app=app) for _ in range(2))
    a.observe({"X-AppMinLimit-Remaining": "0", "Retry-After": "7"})
    b.acquire()
    b.release()
    assert sum(waits.slept) == pytest.approx(7.0)
    a.observe({"X-Rate-Limit-Problem": "appminute", "Retry-After": "3"})  # a 429 naming the app's minute
    b.acquire()
    b.release()
    assert sum(waits.slept) == pytest.approx(10.0)


def test_a_tenant_waiting_for_its_own_minute_holds_no_app_slot() -> None:
    waits = Waits()
    app = Throttle(10_000, 1, sleep=waits.sleep, monotonic=waits.monotonic)
    a = Throttle(1, 5, sleep=waits.sleep, monotonic=waits.monotonic, app=app)
    a.acquire()
    a.release()
    b = Throttle(60, 5, sleep=waits.sleep, monotonic=waits.monotonic, app=app)
    b.acquire()  # the one app slot is free again: a released it along with its own
    b.release()
    assert waits.slept == []


def test_only_xero_publishes_an_app_minute() -> None:
    assert platform_for(Platform.XERO).app_per_minute == 10_000
    assert platform_for(Platform.QBO).app_per_minute is None
    assert platform_for(Platform.QBO).rate_limits == (500, 10)
    assert platform_for(Platform.XERO).rate_limits == (60, 5)


def test_the_rms_throttle_has_no_minute_window_but_obeys_retry_after() -> None:
    waits = Waits()
    http = default_http(sleep=waits.sleep, monotonic=waits.monotonic)
    assert http.throttle.per_minute is None and http.throttle.concurrent == CONCURRENT
    for _ in range(1_000):  # far past the old invented 300 a minute, all at one instant
        http.throttle.acquire()
        http.throttle.release()
    assert waits.slept == []
    http.throttle.pause(4)  # what a 429's Retry-After does
    http.throttle.acquire()
    http.throttle.release()
    assert sum(waits.slept) == pytest.approx(4.0)
