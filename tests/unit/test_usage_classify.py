"""The app's metering rule (each platform's ``metered``) classifies requests as the sandbox's ``usage.classify``.

The end-to-end check is ``tests/integration/test_usage_meter.py`` (after a sync, the app's counts
equal ``GET /_sandbox/usage``); this table covers the kinds a sync may not send (reports, a batch of
queries and writes, HEAD, OAuth and identity calls).
"""

from __future__ import annotations

import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from desktop.sandbox.usage import QBO_READ_KINDS, classify
from desktop.services.platforms.registry import platform_for

REALM = "9130350000000001"
BATCH = json.dumps({"BatchItemRequest": [{"bId": "1", "Query": "SELECT * FROM Customer"},
                                         {"bId": "2", "CreditMemo": {}}, {"bId": "3", "Query": "x"}]}).encode()
CASES = [
    ("qbo", "GET", f"/v3/company/{REALM}/query", None),
    ("qbo", "GET", f"/v3/company/{REALM}/cdc", None),
    ("qbo", "GET", f"/v3/company/{REALM}/reports/ProfitAndLoss", None),
    ("qbo", "GET", f"/v3/company/{REALM}/creditmemo/12", None),
    ("qbo", "HEAD", f"/v3/company/{REALM}/preferences", None),
    ("qbo", "POST", f"/v3/company/{REALM}/creditmemo", b"{}"),
    ("qbo", "POST", f"/v3/company/{REALM}/creditmemo?operation=void", b"{}"),
    ("qbo", "POST", f"/v3/company/{REALM}/batch", BATCH),
    ("qbo", "POST", f"/v3/company/{REALM}/batch", b"not json"),
    ("qbo", "POST", "/oauth2/v1/tokens/bearer", b"grant_type=refresh_token"),
    ("xero", "GET", "/api.xro/2.0/CreditNotes", None),
    ("xero", "PUT", "/api.xro/2.0/CreditNotes", b"{}"),
    ("xero", "POST", "/api.xro/2.0/CreditNotes/abc", b"{}"),
    ("xero", "GET", "/connections", None),
    ("xero", "POST", "/identity/connect/token", b""),
]


def _sandbox(service: str, method: str, path: str, body: bytes | None) -> tuple[int, int] | None:
    request = Request(EnvironBuilder(method=method, path=path, data=body,
                                     headers={"xero-tenant-id": "t-1"}).get_environ())
    found = classify(service, request, path.split("?")[0])
    if found is None:
        return None
    kinds = found[1]
    if service == "qbo":
        reads = sum(1 for k in kinds if k in QBO_READ_KINDS)
        return reads, kinds.count("write")
    return kinds.count("read"), kinds.count("write")


@pytest.mark.parametrize(("service", "method", "path", "body"), CASES)
def test_the_app_meters_a_request_as_the_sandbox_does(service: str, method: str, path: str,
                                                      body: bytes | None) -> None:
    url = f"http://127.0.0.1:5000/{service}{path}"
    assert platform_for(service).metered(method, url, body) == _sandbox(service, method, path, body)
