"""A firm's client companies in the sandbox (``POST /_sandbox/reset {"firm": …}``), for the firm-scale
benchmark: served by both ledgers and the RMS, home-currency returns only, gone at the next reset."""

from __future__ import annotations

from typing import Any

import requests

from tests.helpers.qbo_client import Qbo
from tests.helpers.xero_client import Xero


def _orgs(sandbox: Any) -> tuple[list[str], list[str], list[str]]:
    info = sandbox.control("GET", "info")
    rms = [o["code"] for o in sandbox.rms("GET", "/v1/organizations").json()["organizations"]]
    return ([c["rms_org"] for c in info["qbo"]["companies"]], [t["rms_org"] for t in info["xero"]["tenants"]], rms)


def test_a_firm_adds_client_companies_until_the_next_reset(sandbox: Any) -> None:
    sandbox.control("POST", "reset", {"seed": 1, "firm": {"qbo": 2, "xero": 1}, "rms": {"bad_ratio": 0}})
    qbo, xero, rms = _orgs(sandbox)
    assert qbo == ["ACME-US", "MAPLE-CA", "FIRM-Q01", "FIRM-Q02"]
    assert xero == ["KIWI-NZ", "TEA-UK", "FIRM-X01"]
    assert sorted(rms) == sorted(qbo + xero)
    client = Qbo(sandbox, "FIRM-Q02")  # signs in to the firm's company like any other
    assert client.ok(client.query("select * from Account"))["QueryResponse"]["Account"]
    tenant = next(t["tenant_id"] for t in sandbox.control("GET", "info")["xero"]["tenants"]
                  if t["rms_org"] == "FIRM-X01")
    assert Xero(sandbox, "FIRM-X01").ok("GET", "Accounts", tenant=tenant)["Accounts"]
    sandbox.control("POST", "rms/generate", {"org": "FIRM-X01", "count": 30, "bad_ratio": 0, "seed": 3})
    page = sandbox.rms("GET", "/v1/returns", params={"organization": "FIRM-X01", "limit": 500}).json()
    assert len(page["returns"]) >= 30 and {r["currency"] for r in page["returns"]} == {"NZD"}
    sandbox.control("POST", "reset", {"seed": 1})
    assert _orgs(sandbox)[0] == ["ACME-US", "MAPLE-CA"]


def test_a_firm_beyond_the_limit_is_refused(sandbox: Any) -> None:
    for firm in ({"qbo": 101}, {"xero": -1}, {"sage": 3}, {"qbo": "many"}):
        resp = requests.post(f"{sandbox.control_url}/reset", json={"seed": 1, "firm": firm}, timeout=30)
        assert resp.status_code == 400 and "error" in resp.json()
