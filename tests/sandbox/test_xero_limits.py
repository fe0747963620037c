"""Xero rate limits over real HTTP: headers on every response, 429 for each kind of limit."""

from __future__ import annotations

import threading
from typing import Any

import requests

from tests.helpers.xero_client import Xero

HEADERS = ("X-DayLimit-Remaining", "X-MinLimit-Remaining", "X-AppMinLimit-Remaining")


def test_every_api_response_carries_the_limit_headers(sandbox: Any) -> None:
    xero = Xero(sandbox)
    responses = [
        xero.call("GET", "Organisation"),
        xero.call("GET", "CreditNotes/not-a-guid"),
        xero.call("PUT", "CreditNotes", {"CreditNotes": [{"Type": "X"}]}),
        xero.call("GET", "Organisation", tenant="00000000-0000-0000-0000-000000000000"),
    ]
    assert [r.status_code for r in responses] == [200, 404, 400, 403]
    for resp in responses:
        assert all(h in resp.headers for h in HEADERS), resp.headers
    first, second = int(responses[0].headers["X-MinLimit-Remaining"]), int(responses[1].headers["X-MinLimit-Remaining"])
    assert (first, second) == (59, 58)
    assert int(responses[1].headers["X-DayLimit-Remaining"]) == 4998


def test_minute_limit_gives_429_with_retry_after(sandbox: Any) -> None:
    xero = Xero(sandbox)
    sandbox.control("POST", "config", {"service": "xero", "rate_limits": {"per_minute": 3}})
    codes = [xero.call("GET", "Organisation").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    resp = xero.call("GET", "Organisation")
    assert resp.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert resp.headers["X-MinLimit-Remaining"] == "0"
    sandbox.control("POST", "config", {"service": "xero", "clock_offset_s": 61})
    assert xero.call("GET", "Organisation").status_code == 200


def test_day_and_app_minute_limits(sandbox: Any) -> None:
    xero = Xero(sandbox)
    sandbox.control("POST", "config", {"service": "xero", "rate_limits": {"per_day": 2}})
    assert [xero.call("GET", "Organisation").status_code for _ in range(3)] == [200, 200, 429]
    resp = xero.call("GET", "Organisation")
    assert resp.headers["X-Rate-Limit-Problem"] == "day" and int(resp.headers["Retry-After"]) > 3600
    sandbox.control("POST", "config", {"service": "xero", "rate_limits": {"app_per_minute": 2}})
    tea = Xero(sandbox, company="TEA-UK")
    codes = [
        xero.call("GET", "Organisation").status_code,
        tea.call("GET", "Organisation").status_code,
        tea.call("GET", "Organisation").status_code,
    ]
    assert codes == [200, 200, 429]
    assert tea.call("GET", "Organisation").headers["X-Rate-Limit-Problem"] == "appminute"


def test_concurrent_limit(sandbox: Any) -> None:
    xero = Xero(sandbox)
    sandbox.control("POST", "config", {"service": "xero", "rate_limits": {"concurrent": 2, "hold_ms": 1000}})
    results: list[requests.Response] = []
    lock = threading.Lock()

    def one() -> None:
        session = requests.Session()
        resp = session.get(
            f"{xero.base}/api.xro/2.0/Organisation",
            timeout=10,
            headers={"Authorization": f"Bearer {xero.tokens['access_token']}", "xero-tenant-id": xero.tenant},
        )
        with lock:
            results.append(resp)
        session.close()

    threads = [threading.Thread(target=one) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 200, 429, 429, 429]
    refused = [r for r in results if r.status_code == 429]
    assert all(r.headers["X-Rate-Limit-Problem"] == "concurrent" for r in refused)


def test_unknown_limit_name_is_refused(sandbox: Any) -> None:
    resp = sandbox.http.post(
        f"{sandbox.control_url}/config", timeout=10, json={"service": "xero", "rate_limits": {"per_hour": 1}}
    )
    assert resp.status_code == 400 and "per_hour" in resp.text
