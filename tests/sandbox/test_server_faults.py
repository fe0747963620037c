"""Fault injection over real HTTP: status, delay, reset_connection, commit_then_drop, and filters.

State is observed through the control API (the RMS write-back log) and the client side through
what ``requests`` raises, exactly as the app's connectors will meet these faults.
"""

from __future__ import annotations

import http.client
import time
from typing import Any

import pytest
import requests

WRITEBACK = {"revision": 1, "status": "posted", "platform": "qbo", "company_id": "9130350000000001",
             "documents": [{"type": "CreditMemo", "id": "171", "number": "RMA-1"}]}


def _first_return_id(sandbox: Any) -> str:
    return str(sandbox.rms("GET", "/v1/returns", params={"limit": 1}).json()["returns"][0]["id"])


def _post_writeback(sandbox: Any, rid: str, key: str) -> requests.Response:
    return sandbox.rms("POST", f"/v1/returns/{rid}/accounting-status", json=WRITEBACK,
                       headers={"Idempotency-Key": key})


def _writebacks(sandbox: Any) -> list[dict[str, Any]]:
    return list(sandbox.control("GET", "rms/writebacks")["writebacks"])


def _dropped(exc: BaseException) -> bool:
    """True if the exception chain shows the server closing the connection without a response."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionResetError | http.client.RemoteDisconnected | BrokenPipeError):
            return True
        seen = seen.__cause__ or seen.__context__ or (seen.args[0] if seen.args and isinstance(
            seen.args[0], BaseException) else None)
    return "Connection aborted" in str(exc) or "RemoteDisconnected" in str(exc)


def test_status_fault_answers_in_the_services_envelope_without_touching_state(sandbox: Any) -> None:
    rid = _first_return_id(sandbox)
    sandbox.control("POST", "faults", {"rules": [{"service": "rms", "action": "status", "status": 503}]})
    resp = _post_writeback(sandbox, rid, "k-status")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] == "1"
    assert resp.json() == {"error": {"code": "service_unavailable", "message": "Injected fault: HTTP 503"}}
    assert _writebacks(sandbox) == []
    sandbox.control("DELETE", "faults")
    assert _post_writeback(sandbox, rid, "k-status").status_code == 201
    assert len(_writebacks(sandbox)) == 1


def test_delay_fault_sleeps_then_serves(sandbox: Any) -> None:
    sandbox.control("POST", "faults", {"rules": [{"service": "rms", "action": "delay", "delay_s": 0.4}]})
    started = time.monotonic()
    resp = sandbox.rms("GET", "/v1/organizations")
    assert resp.status_code == 200
    assert time.monotonic() - started >= 0.4


def test_delay_combines_with_a_later_status_rule(sandbox: Any) -> None:
    sandbox.control("POST", "faults", {"rules": [
        {"service": "rms", "action": "delay", "delay_s": 0.2},
        {"service": "rms", "action": "status", "status": 429, "times": 1}]})
    started = time.monotonic()
    assert sandbox.rms("GET", "/v1/organizations").status_code == 429
    assert time.monotonic() - started >= 0.2
    assert sandbox.rms("GET", "/v1/organizations").status_code == 200


def test_reset_connection_drops_without_response_and_without_state_change(sandbox: Any) -> None:
    rid = _first_return_id(sandbox)
    sandbox.control("POST", "faults", {"rules": [{"service": "rms", "action": "reset_connection",
                                                  "method": "POST", "times": 1}]})
    with pytest.raises(requests.ConnectionError) as caught:
        _post_writeback(sandbox, rid, "k-reset")
    assert _dropped(caught.value)
    assert _writebacks(sandbox) == []
    # The rule fired once and is spent: the retry goes through and is recorded exactly once.
    assert _post_writeback(sandbox, rid, "k-reset").status_code == 201
    assert len(_writebacks(sandbox)) == 1


def test_commit_then_drop_changes_state_but_loses_the_answer(sandbox: Any) -> None:
    rid = _first_return_id(sandbox)
    sandbox.control("POST", "faults", {"rules": [{"service": "rms", "action": "commit_then_drop",
                                                  "path_regex": "/accounting-status$", "times": 1}]})
    with pytest.raises(requests.ConnectionError) as caught:
        _post_writeback(sandbox, rid, "k-commit")
    assert _dropped(caught.value)
    recorded = _writebacks(sandbox)
    assert [w["idempotency_key"] for w in recorded] == ["k-commit"]
    # The client retries with the same key: the RMS recognises it and records nothing new.
    replay = _post_writeback(sandbox, rid, "k-commit")
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == recorded[0]
    assert len(_writebacks(sandbox)) == 1


def test_times_limits_how_often_a_rule_fires(sandbox: Any) -> None:
    sandbox.control("POST", "faults", {"rules": [{"service": "rms", "action": "status", "status": 500,
                                                  "times": 2}]})
    codes = [sandbox.rms("GET", "/v1/organizations").status_code for _ in range(4)]
    assert codes == [500, 500, 200, 200]
    rules = sandbox.control("GET", "faults")["rules"]
    assert rules[0]["fired"] == 2 and rules[0]["times"] == 0


def _pattern(sandbox: Any, n: int = 30) -> list[int]:
    sandbox.control("POST", "faults", {"rules": [{"service": "rms", "action": "status", "status": 502,
                                                  "probability": 0.5}]})
    try:
        return [sandbox.rms("GET", "/v1/organizations").status_code for _ in range(n)]
    finally:
        sandbox.control("DELETE", "faults")


def test_probability_is_seeded_and_repeatable(sandbox: Any) -> None:
    first = _pattern(sandbox)
    assert set(first) == {200, 502}  # p = 0.5 over 30 tries: both outcomes occur
    sandbox.control("POST", "reset", {"seed": 1})
    assert _pattern(sandbox) == first  # same seed, same requests: same faults
    sandbox.control("POST", "reset", {"seed": 2})
    assert _pattern(sandbox) != first


def test_method_filter(sandbox: Any) -> None:
    rid = _first_return_id(sandbox)
    sandbox.control("POST", "faults", {"rules": [{"service": "rms", "action": "status", "status": 503,
                                                  "method": "post"}]})
    assert sandbox.rms("GET", f"/v1/returns/{rid}").status_code == 200
    assert _post_writeback(sandbox, rid, "k-method").status_code == 503


def test_path_filter_matches_service_subpath_or_full_path(sandbox: Any) -> None:
    sandbox.control("POST", "faults", {"rules": [
        {"service": "rms", "action": "status", "status": 504, "path_regex": "^/v1/organizations$"}]})
    assert sandbox.rms("GET", "/v1/organizations").status_code == 504
    assert sandbox.rms("GET", "/v1/returns", params={"limit": 1}).status_code == 200
    sandbox.control("DELETE", "faults")
    sandbox.control("POST", "faults", {"rules": [
        {"service": "*", "action": "status", "status": 504, "path_regex": "^/rms/v1/returns"}]})
    assert sandbox.rms("GET", "/v1/returns", params={"limit": 1}).status_code == 504
    assert sandbox.rms("GET", "/v1/organizations").status_code == 200


def test_service_filter_and_control_api_immunity(sandbox: Any) -> None:
    sandbox.control("POST", "faults", {"rules": [{"service": "qbo", "action": "reset_connection"}]})
    assert sandbox.rms("GET", "/v1/organizations").status_code == 200
    sandbox.control("POST", "faults", {"rules": [{"service": "*", "action": "status", "status": 500}]})
    assert sandbox.rms("GET", "/v1/organizations").status_code == 500
    assert sandbox.control("GET", "health")["status"] == "ok"  # faults never hit /_sandbox


def test_reset_clears_faults(sandbox: Any) -> None:
    sandbox.control("POST", "faults", {"rules": [{"service": "rms", "action": "status", "status": 500}]})
    sandbox.control("POST", "reset", {"seed": 1})
    assert sandbox.control("GET", "faults") == {"rules": []}
    assert sandbox.rms("GET", "/v1/organizations").status_code == 200


@pytest.mark.parametrize("rule, message", [
    ({"service": "nope", "action": "status"}, "service"),
    ({"service": "rms", "action": "explode"}, "action"),
    ({"service": "rms", "action": "status", "status": 200}, "status"),
    ({"service": "rms", "action": "delay", "delay_s": -1}, "delay_s"),
    ({"service": "rms", "action": "status", "times": 0}, "times"),
    ({"service": "rms", "action": "status", "probability": 1.5}, "probability"),
    ({"service": "rms", "action": "status", "path_regex": "("}, "path_regex"),
    ({"service": "rms", "action": "status", "colour": "red"}, "unknown"),
])
def test_malformed_rules_are_refused_whole(sandbox: Any, rule: dict[str, Any], message: str) -> None:
    good = {"service": "rms", "action": "status", "status": 500}
    resp = sandbox.http.post(f"{sandbox.control_url}/faults", json={"rules": [good, rule]}, timeout=10)
    assert resp.status_code == 400
    assert message in resp.json()["error"]
    assert sandbox.control("GET", "faults") == {"rules": []}


@pytest.mark.parametrize("service, status", [("qbo", 503), ("xero", 503), ("xero", 429), ("rms", 429)])
def test_status_faults_use_each_services_own_envelope(sandbox: Any, service: str, status: int) -> None:
    sandbox.control("POST", "faults", {"rules": [{"service": service, "action": "status", "status": status,
                                                  "message": "Injected outage"}]})
    resp = sandbox.http.get(f"{sandbox.info[service]['base_url']}/anything", timeout=10)
    assert resp.status_code == status
    body = resp.json()
    if service == "qbo":
        assert "Fault" in body or "fault" in body
    elif service == "xero":
        assert body["Status"] == status and body["Detail"] == "Injected outage"
    else:
        assert body == {"error": {"code": "rate_limited", "message": "Injected outage"}}
    if status == 429:
        assert resp.headers["Retry-After"] == "1"
