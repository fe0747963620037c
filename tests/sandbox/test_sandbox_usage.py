"""``/_sandbox/usage``: every request counted per service, company and kind, as the platforms meter
them — QuickBooks CorePlus reads (query, read, CDC, report; each batch item on its own) apart from
Core writes; Xero calls and response bytes per tenant — with a reset, and a monthly read quota past
which QuickBooks reads get 429 while writes still pass. Over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.helpers.qbo_client import ACME, MAPLE, Qbo
from tests.helpers.xero_client import KIWI, TEA, Xero


def _usage(sandbox: Any) -> dict[str, Any]:
    services: dict[str, Any] = sandbox.control("GET", "usage")["services"]
    return services


def test_qbo_reads_and_writes_are_counted_per_company_as_intuit_meters_them(sandbox: Any) -> None:
    sandbox.control("DELETE", "usage")  # the sign-in's calls aside (OAuth is not metered anyway)
    qbo = Qbo(sandbox)
    assert _usage(sandbox) == {}  # OAuth, discovery and consent are not metered
    qbo.ok(qbo.query("select * from Account"))
    qbo.ok(qbo.get(f"companyinfo/{ACME}"))
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    qbo.ok(qbo.get("cdc", entities="CreditMemo", changedSince=since))
    memo = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("USG-1")))["CreditMemo"]  # 2 look-ups + 1 write
    items = [{"bId": "1", "Query": "select * from Class"},
             {"bId": "2", "operation": "delete", "CreditMemo": {"Id": memo["Id"], "SyncToken": memo["SyncToken"]}}]
    qbo.ok(qbo.post("batch", {"BatchItemRequest": items}))
    acme = _usage(sandbox)["qbo"][ACME]
    assert acme["kinds"] == {"cdc": 1, "query": 1 + 2 + 1, "read": 1, "write": 1 + 1}
    assert (acme["reads"], acme["writes"], acme["requests"]) == (6, 2, 7)  # a batch is one request
    assert acme["response_bytes"] > 0
    assert MAPLE not in _usage(sandbox)["qbo"]
    maple = Qbo(sandbox, "MAPLE-CA")
    maple.ok(maple.query("select * from Class"))
    assert _usage(sandbox)["qbo"][MAPLE]["reads"] == 1
    sandbox.control("DELETE", "usage")
    assert _usage(sandbox) == {}


def test_xero_calls_and_bytes_are_counted_per_tenant(sandbox: Any) -> None:
    xero = Xero(sandbox)
    sandbox.control("DELETE", "usage")  # the sign-in's identity calls carry no tenant anyway
    body = xero.call("GET", "Accounts").content
    xero.ok("GET", "Contacts")
    usage = _usage(sandbox)["xero"]
    assert set(usage) == {KIWI}
    kiwi = usage[KIWI]
    assert (kiwi["calls"], kiwi["reads"], kiwi["writes"]) == (2, 2, 0)
    assert kiwi["response_bytes"] > len(body)  # both answers' bytes: what the egress tiers bill
    xero.credit_note()  # one look-up (Contacts), one PUT
    kiwi = _usage(sandbox)["xero"][KIWI]
    assert (kiwi["calls"], kiwi["reads"], kiwi["writes"]) == (4, 3, 1)
    tea = Xero(sandbox, "TEA-UK")
    tea.ok("GET", "Accounts")
    assert _usage(sandbox)["xero"][TEA]["calls"] == 1


def test_a_monthly_read_quota_answers_429_on_reads_and_lets_writes_through(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    sandbox.control("DELETE", "usage")
    quota = sandbox.control("POST", "usage", {"service": "qbo", "monthly_read_quota": 3})["quotas"]["qbo"]
    assert quota["monthly_read_quota"] == 3
    body = qbo.credit_memo("USG-Q1")  # two look-up queries: reads 1 and 2
    qbo.ok(qbo.get(f"companyinfo/{ACME}"))  # read 3: the last one this month
    error = qbo.fault(qbo.query("select * from Class"), 429)
    assert error["code"] == "3001"
    assert qbo.post("creditmemo", body).status_code == 200  # writes are not metered
    other = Qbo(sandbox, "MAPLE-CA")
    assert other.query("select * from Class").status_code == 200  # the allowance is per company
    assert _usage(sandbox)["qbo"][ACME]["reads"] == 3  # the refused read was not served
    sandbox.control("POST", "config", {"service": "qbo", "clock_offset_s": 40 * 86_400})  # next month
    assert Qbo(sandbox).query("select * from Class").status_code == 200  # signed in again: 40 days passed
    sandbox.control("POST", "usage", {"service": "qbo", "monthly_read_quota": None})


def test_usage_control_refuses_bad_bodies(sandbox: Any) -> None:
    import requests
    url = f"{sandbox.control_url}/usage"
    for body in ({"service": "xero", "monthly_read_quota": 5}, {"service": "qbo", "monthly_read_quota": -1},
                 {"service": "qbo"}, {"service": "qbo", "monthly_read_quota": "many"}):
        resp = requests.post(url, json=body, timeout=10)
        assert resp.status_code == 400 and "error" in resp.json()


def test_reads_arriving_together_never_overshoot_the_quota(sandbox: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor
    qbo = Qbo(sandbox)
    sandbox.control("POST", "usage", {"service": "qbo", "monthly_read_quota": 5})
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(lambda _n: qbo.get(f"companyinfo/{ACME}").status_code, range(20)))
    assert sorted(codes) == [200] * 5 + [429] * 15
    assert _usage(sandbox)["qbo"][ACME]["reads"] == 5
