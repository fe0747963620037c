"""The RMS emulator keeps the contract in ``docs/rms-api.yaml``: requests and responses validate.

Clean data must validate completely; bad records are, by design, the ones that break the contract
(so the app's pre-flight has something to catch), and the schema must notice them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.validation.response.exceptions import InvalidData

SPEC = Path(__file__).resolve().parents[2] / "docs" / "rms-api.yaml"


@pytest.fixture(scope="module")
def contract() -> OpenAPI:
    return OpenAPI.from_file_path(str(SPEC))


def _valid(contract: OpenAPI, resp: requests.Response, *, request_too: bool = False) -> requests.Response:
    req = RequestsOpenAPIRequest(resp.request)
    if request_too:
        contract.validate_request(req)
    contract.validate_response(req, RequestsOpenAPIResponse(resp))
    return resp


def test_feed_pages_and_single_returns_validate(sandbox: Any, contract: OpenAPI) -> None:
    sandbox.control("POST", "reset", {"seed": 2, "rms": {"bad_ratio": 0}})
    cursor, count = "", 0
    while True:
        resp = _valid(contract, sandbox.rms("GET", "/v1/returns", params={"cursor": cursor, "limit": 150}),
                      request_too=True)
        body = resp.json()
        count += len(body["returns"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            break
    assert count > 250
    rid = body["returns"][-1]["id"]
    _valid(contract, sandbox.rms("GET", f"/v1/returns/{rid}"), request_too=True)
    _valid(contract, sandbox.rms("GET", "/v1/organizations"), request_too=True)


def test_error_responses_validate(sandbox: Any, contract: OpenAPI) -> None:
    assert _valid(contract, sandbox.rms("GET", "/v1/returns", api_key="wrong")).status_code == 401
    assert _valid(contract, sandbox.rms("GET", "/v1/returns", params={"cursor": "zzz"})).status_code == 400
    assert _valid(contract, sandbox.rms("GET", "/v1/returns/ret_missing")).status_code == 404
    sandbox.control("POST", "config", {"service": "rms", "rate_limits": {"requests_per_minute": 1}})
    sandbox.rms("GET", "/v1/organizations")
    assert _valid(contract, sandbox.rms("GET", "/v1/organizations")).status_code == 429


def test_writeback_requests_and_responses_validate(sandbox: Any, contract: OpenAPI) -> None:
    rid = sandbox.control("POST", "rms/generate", {"org": "KIWI-NZ", "count": 1})["generated"][0]
    body = {"revision": 1, "status": "posted", "platform": "xero",
            "company_id": "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01",
            "documents": [{"type": "CreditNote", "id": "0f3c1e7a-0000-4000-8000-000000000001",
                           "number": "CN-0042", "total": "148.35", "currency": "NZD"}],
            "message": "posted by Returns Ledger Sync", "occurred_at": "2026-11-27T10:15:00.000Z"}

    def post(key: str, payload: Any) -> requests.Response:
        return sandbox.rms("POST", f"/v1/returns/{rid}/accounting-status", json=payload,
                           headers={"Idempotency-Key": key})

    assert _valid(contract, post("k1", body), request_too=True).status_code == 201
    assert _valid(contract, post("k1", body), request_too=True).status_code == 200
    assert _valid(contract, post("k1", {**body, "status": "voided"})).status_code == 409
    assert _valid(contract, post("k2", {"revision": 1, "status": "posted", "documents": [{}]})).status_code == 422


def test_bad_records_break_the_schema(sandbox: Any, contract: OpenAPI) -> None:
    """Defects the schema can express (missing fields, bad enums, amounts) are caught by it."""
    out = sandbox.control("POST", "rms/generate", {"org": "ACME-US", "count": 60, "bad_ratio": 1, "seed": 5})
    kinds = {b["id"]: b["defect"] for b in sandbox.control("GET", "rms/bad")["bad"]}
    schema_visible = {"missing_field", "unknown_reason_code", "negative_quantity", "malformed_amount"}
    checked = 0
    for rid in out["bad"]:
        if kinds[rid] not in schema_visible:
            continue  # unknown jurisdiction / wrong currency are well-formed; pre-flight catches those
        with pytest.raises(InvalidData):
            _valid(contract, sandbox.rms("GET", f"/v1/returns/{rid}"))
        checked += 1
    assert checked >= 20
