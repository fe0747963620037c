"""The RMS emulator's API over real HTTP: auth, the cursor feed, one return, idempotent write-back."""

from __future__ import annotations

from typing import Any

import pytest


def _feed(sandbox: Any, limit: int, cursor: str = "", **params: Any) -> tuple[list[dict[str, Any]], str, int]:
    """Follow next_cursor to the end; returns (revisions, final cursor, pages fetched)."""
    seen: list[dict[str, Any]] = []
    pages = 0
    while True:
        resp = sandbox.rms("GET", "/v1/returns", params={"cursor": cursor, "limit": limit, **params})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        pages += 1
        assert len(body["returns"]) <= limit
        seen.extend(body["returns"])
        if body["returns"]:
            assert body["next_cursor"] != cursor
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return seen, cursor, pages


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "rms_sk_wrong"}, {"X-API-Key": ""}])
def test_api_key_is_required(sandbox: Any, headers: dict[str, str]) -> None:
    resp = sandbox.http.get(f"{sandbox.info['rms']['base_url']}/v1/returns", headers=headers, timeout=10)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "unauthorized"
    assert "X-API-Key" in resp.json()["error"]["message"]


def test_cursor_paging_returns_every_revision_once_in_order(sandbox: Any) -> None:
    paged, _, pages = _feed(sandbox, limit=37)
    whole, _, _ = _feed(sandbox, limit=500)
    assert pages > 5
    keys = [(r["updated_at"], r["id"], r["revision"]) for r in paged]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert paged == whole
    # Every return's revisions are all there, 1..n, each exactly once.
    revisions: dict[str, list[int]] = {}
    for r in paged:
        revisions.setdefault(r["id"], []).append(r["revision"])
    assert all(revs == list(range(1, len(revs) + 1)) for revs in revisions.values())
    assert any(len(revs) > 1 for revs in revisions.values())
    assert 250 <= len(revisions) <= 400  # "a few hundred returns"


def test_empty_page_keeps_the_cursor(sandbox: Any) -> None:
    _, cursor, _ = _feed(sandbox, limit=500)
    body = sandbox.rms("GET", "/v1/returns", params={"cursor": cursor}).json()
    assert body == {"returns": [], "next_cursor": cursor, "has_more": False}


def test_new_revisions_and_returns_appear_after_an_old_cursor(sandbox: Any) -> None:
    before, cursor, _ = _feed(sandbox, limit=200)
    clean = {r["id"] for r in before} - {b["id"] for b in sandbox.control("GET", "rms/bad")["bad"]}
    target = sorted(clean)[0]
    latest = sandbox.rms("GET", f"/v1/returns/{target}").json()
    revised = sandbox.control("POST", "rms/revise", {"id": target})
    assert revised["revision"] == latest["revision"] + 1
    new_ids = sandbox.control("POST", "rms/generate", {"org": "KIWI-NZ", "count": 2})["generated"]
    after, _, _ = _feed(sandbox, limit=1, cursor=cursor)
    assert [(r["id"], r["revision"]) for r in after] == [(target, revised["revision"]),
                                                         (new_ids[0], 1), (new_ids[1], 1)]
    assert after[0] == revised
    assert sandbox.rms("GET", f"/v1/returns/{target}").json() == revised


def test_organization_filter(sandbox: Any) -> None:
    everything, _, _ = _feed(sandbox, limit=500)
    tea, _, _ = _feed(sandbox, limit=50, organization="TEA-UK")
    assert tea == [r for r in everything if r.get("organization") == "TEA-UK"]
    assert tea and all(r["organization"] == "TEA-UK" for r in tea)
    resp = sandbox.rms("GET", "/v1/returns", params={"organization": "NOPE"})
    assert resp.status_code == 400


@pytest.mark.parametrize("params, code", [
    ({"limit": 0}, "invalid_request"), ({"limit": 501}, "invalid_request"), ({"limit": "ten"}, "invalid_request"),
    ({"cursor": "not-a-cursor"}, "invalid_cursor"), ({"cursor": "WyJ2OSIsMV0"}, "invalid_cursor"),
])
def test_bad_list_parameters_are_400(sandbox: Any, params: dict[str, Any], code: str) -> None:
    resp = sandbox.rms("GET", "/v1/returns", params=params)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == code


def test_get_one_returns_the_latest_revision(sandbox: Any) -> None:
    everything, _, _ = _feed(sandbox, limit=500)
    latest: dict[str, dict[str, Any]] = {}
    for r in everything:
        latest[r["id"]] = r
    multi = next(rid for rid, r in latest.items() if r["revision"] > 1)
    assert sandbox.rms("GET", f"/v1/returns/{multi}").json() == latest[multi]
    missing = sandbox.rms("GET", "/v1/returns/ret_0000000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert sandbox.rms("DELETE", f"/v1/returns/{multi}").status_code == 405
    assert sandbox.rms("GET", "/v2/anything").status_code == 404


def test_organizations(sandbox: Any) -> None:
    orgs = {o["code"]: o for o in sandbox.rms("GET", "/v1/organizations").json()["organizations"]}
    assert set(orgs) == {"ACME-US", "MAPLE-CA", "KIWI-NZ", "TEA-UK"}
    assert orgs["TEA-UK"]["currencies"] == ["GBP", "EUR", "JPY"]
    rates = {j["code"]: j["rate"] for j in orgs["ACME-US"]["tax_jurisdictions"]}
    assert rates["US-CA"] == "0.0725" and rates["US-CA-LA"] == "0.0225"


def _writeback(sandbox: Any, rid: str, key: str | None, body: Any) -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return sandbox.rms("POST", f"/v1/returns/{rid}/accounting-status", json=body, headers=headers)


def test_writeback_is_idempotent_by_key(sandbox: Any) -> None:
    rid = sandbox.control("POST", "rms/generate", {"org": "ACME-US", "count": 1})["generated"][0]
    body = {"revision": 1, "status": "posted", "platform": "qbo", "company_id": "9130350000000001",
            "documents": [{"type": "RefundReceipt", "id": "88", "number": "RMA-ACME-1", "total": "107.25",
                           "currency": "USD"}],
            "occurred_at": "2026-11-27T09:00:00Z"}
    first = _writeback(sandbox, rid, "post:ACME-US:1", body)
    assert first.status_code == 201
    record = first.json()
    assert record["return_id"] == rid and record["status"] == "posted"
    assert record["documents"] == body["documents"]
    again = _writeback(sandbox, rid, "post:ACME-US:1", body)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == record
    assert sandbox.control("GET", "rms/writebacks")["writebacks"] == [record]
    conflict = _writeback(sandbox, rid, "post:ACME-US:1", {**body, "status": "voided"})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    voided = _writeback(sandbox, rid, "void:ACME-US:1", {**body, "status": "voided"})
    assert voided.status_code == 201
    assert [w["status"] for w in sandbox.control("GET", "rms/writebacks")["writebacks"]] == ["posted", "voided"]


@pytest.mark.parametrize("key, body, status", [
    (None, {"revision": 1, "status": "posted"}, 400),
    ("k", {"revision": 1, "status": "archived"}, 422),
    ("k", {"revision": 99, "status": "posted"}, 422),
    ("k", {"status": "posted"}, 422),
    ("k", {"revision": 1, "status": "posted", "platform": "sage"}, 422),
    ("k", {"revision": 1, "status": "posted", "extra": 1}, 422),
    ("k", {"revision": 1, "status": "posted", "documents": [{"type": "CreditMemo"}]}, 422),
    ("k", {"revision": 1, "status": "posted", "occurred_at": "yesterday"}, 422),
    ("k", [1, 2], 422),
])
def test_invalid_writebacks_are_refused_and_not_stored(sandbox: Any, key: str | None, body: Any,
                                                        status: int) -> None:
    rid = sandbox.control("POST", "rms/generate", {"org": "MAPLE-CA", "count": 1})["generated"][0]
    resp = _writeback(sandbox, rid, key, body)
    assert resp.status_code == status, resp.text
    assert set(resp.json()["error"]) == {"code", "message"}
    assert sandbox.control("GET", "rms/writebacks")["writebacks"] == []


def test_writeback_for_unknown_return_is_404(sandbox: Any) -> None:
    resp = _writeback(sandbox, "ret_nope", "k", {"revision": 1, "status": "posted"})
    assert resp.status_code == 404
