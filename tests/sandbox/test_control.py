"""The ``/_sandbox`` control API: health, reset, tokens, config, delegation, and its error answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from desktop.sandbox.demo_orgs import DEMO_ORGS


def _raw(sandbox: Any, method: str, path: str, json: Any = None) -> requests.Response:
    return sandbox.http.request(method, f"{sandbox.control_url}/{path}", json=json, timeout=30)


def test_health_lists_every_service(sandbox: Any) -> None:
    health = sandbox.control("GET", "health")
    assert health["status"] == "ok"
    assert health["seed"] == 1
    assert health["services"] == ["qbo", "rms", "xero"]


def test_startup_info_has_every_part(sandbox: Any) -> None:
    info = sandbox.info
    assert set(info) >= {"qbo", "xero", "rms", "control_url"}
    assert set(info["qbo"]) >= {"base_url", "client_id", "client_secret", "redirect_uri", "companies"}
    assert set(info["xero"]) >= {"base_url", "client_id", "client_secret", "pkce_client_id", "redirect_uri",
                                 "tenants"}
    assert set(info["rms"]) == {"base_url", "api_key"}


def test_reset_restores_a_fresh_world(sandbox: Any) -> None:
    before = sandbox.rms("GET", "/v1/returns", params={"limit": 500}).json()
    generated = sandbox.control("POST", "rms/generate", {"org": "ACME-US", "count": 3, "seed": 9})
    rid = generated["generated"][0]
    assert sandbox.rms("POST", f"/v1/returns/{rid}/accounting-status",
                       json={"revision": 1, "status": "failed"},
                       headers={"Idempotency-Key": "k1"}).status_code == 201
    sandbox.control("POST", "config", {"service": "rms", "clock_offset_s": 3600})
    sandbox.control("POST", "faults", {"rules": [{"service": "qbo", "action": "status", "status": 500}]})

    assert sandbox.control("POST", "reset", {"seed": 1}) == {"seed": 1}

    assert sandbox.rms("GET", f"/v1/returns/{rid}").status_code == 404
    assert sandbox.control("GET", "rms/writebacks") == {"writebacks": []}
    assert sandbox.control("GET", "faults") == {"rules": []}
    offset = sandbox.control("POST", "config", {"service": "rms"})
    assert offset["clock_offset_s"] == 0
    after = sandbox.rms("GET", "/v1/returns", params={"limit": 500}).json()
    assert after == before


def test_reset_changes_seed_and_rms_options(sandbox: Any) -> None:
    sandbox.control("POST", "reset", {"seed": 5, "rms": {"bad_ratio": 0, "scale": 0.1}})
    assert sandbox.control("GET", "health")["seed"] == 5
    assert sandbox.control("GET", "rms/bad") == {"bad": []}
    page = sandbox.rms("GET", "/v1/returns", params={"limit": 500}).json()
    ids = {r["id"] for r in page["returns"]}
    assert 30 <= len(ids) <= 40  # 10 % of the usual 320 returns


def test_tokens_log_holds_the_rms_api_key_and_resets(sandbox: Any) -> None:
    tokens = sandbox.control("GET", "tokens")["tokens"]
    assert {"service": "rms", "kind": "api_key", "value": sandbox.info["rms"]["api_key"]}.items() <= \
        next(t for t in tokens if t["service"] == "rms").items()
    # Every entry carries an aware timestamp, so leak scans can order them.
    assert all(datetime.fromisoformat(t["issued_at"]).tzinfo is not None for t in tokens)


def test_config_moves_a_service_clock(sandbox: Any) -> None:
    plain = datetime.fromisoformat(sandbox.control("POST", "config", {"service": "rms"})["now"])
    moved = sandbox.control("POST", "config", {"service": "rms", "clock_offset_s": 7200})
    assert moved["clock_offset_s"] == 7200
    assert datetime.fromisoformat(moved["now"]) - plain >= timedelta(seconds=7199)
    # New RMS activity is stamped with the moved clock.
    rid = sandbox.control("POST", "rms/generate", {"org": "TEA-UK", "count": 1})["generated"][0]
    created = sandbox.rms("GET", f"/v1/returns/{rid}").json()["created_at"]
    assert datetime.fromisoformat(created.replace("Z", "+00:00")) - plain >= timedelta(seconds=7199)


def test_config_rate_limits_reach_the_emulator(sandbox: Any) -> None:
    sandbox.control("POST", "config", {"service": "rms", "rate_limits": {"requests_per_minute": 3}})
    codes = [sandbox.rms("GET", "/v1/organizations").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = sandbox.rms("GET", "/v1/organizations")
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    sandbox.control("POST", "config", {"service": "rms", "rate_limits": None})
    assert sandbox.rms("GET", "/v1/organizations").status_code == 200


@pytest.mark.parametrize("service", ["qbo", "xero"])
def test_authorize_delegates_to_the_ledger_emulator(sandbox: Any, service: str) -> None:
    part = sandbox.info[service]
    body = {"service": service, "client_id": part["client_id"], "redirect_uri": part["redirect_uri"],
            "scope": "com.intuit.quickbooks.accounting" if service == "qbo"
            else "openid profile email offline_access accounting.transactions accounting.settings",
            "state": "st-123"}
    redirect = sandbox.control("POST", "authorize", body)["redirect_url"]
    assert redirect.startswith(part["redirect_uri"])
    query = parse_qs(urlsplit(redirect).query)
    assert query["state"] == ["st-123"]
    assert query["code"][0]
    issued = [t for t in sandbox.control("GET", "tokens")["tokens"] if t["service"] == service]
    assert any(t["kind"] == "code" and t["value"] == query["code"][0] for t in issued)


@pytest.mark.parametrize("service", ["qbo", "xero"])
def test_ledger_inspection_delegates(sandbox: Any, service: str) -> None:
    org = next(o for o in DEMO_ORGS if o.platform == service)
    docs = sandbox.control("GET", f"ledger/{service}/{org.company_id}")["documents"]
    assert isinstance(docs, list)
    assert _raw(sandbox, "GET", f"ledger/{service}/no-such-company").status_code == 404


@pytest.mark.parametrize("method, path, body, status, words", [
    ("GET", "nowhere", None, 404, "no control endpoint"),
    ("PUT", "reset", {}, 400, "not allowed"),
    ("POST", "reset", {"seed": "one"}, 400, "seed"),
    ("POST", "reset", {"rms": {"bad_ratio": 2}}, 400, "bad_ratio"),
    ("POST", "config", {"service": "nope"}, 404, "no such service"),
    ("POST", "config", {"service": "rms", "speed": 3}, 400, "unknown"),
    ("POST", "config", {"service": "rms", "rate_limits": {"requests_per_minute": 0}}, 400, "rate_limits"),
    ("POST", "authorize", {"service": "rms"}, 400, "no OAuth"),
    ("POST", "authorize", {"service": "nope"}, 404, "no such service"),
    ("GET", "ledger/rms/ACME-US", None, 400, "not a ledger"),
    ("POST", "ledger/rms/ACME-US/tamper", {}, 400, "not a ledger"),
    ("GET", "ledger/nope/x", None, 404, "no such service"),
    ("POST", "webhooks", {"service": "rms", "url": "http://127.0.0.1:9/x", "key": "k"}, 400, "webhooks"),
    ("POST", "webhooks", {"service": "qbo", "url": 5, "key": "k"}, 400, "url"),
    ("POST", "rms/generate", {"org": "NOPE", "count": 1}, 404, "organization"),
    ("POST", "rms/generate", {"org": "ACME-US", "count": 0}, 400, "count"),
    ("POST", "rms/generate", {"org": "ACME-US", "count": 2, "bad_ratio": -0.1}, 400, "bad_ratio"),
    ("POST", "rms/revise", {"id": "ret_nope"}, 404, "no such return"),
])
def test_errors_are_json_with_400_or_404(sandbox: Any, method: str, path: str, body: Any, status: int,
                                         words: str) -> None:
    resp = _raw(sandbox, method, path, body)
    assert resp.status_code == status
    assert words in resp.json()["error"]


def test_body_must_be_a_json_object(sandbox: Any) -> None:
    resp = sandbox.http.post(f"{sandbox.control_url}/faults", data="{not json", timeout=10)
    assert resp.status_code == 400 and "not JSON" in resp.json()["error"]
    resp = sandbox.http.post(f"{sandbox.control_url}/faults", json=[1, 2], timeout=10)
    assert resp.status_code == 400 and "object" in resp.json()["error"]
