"""Xero identity over real HTTP: consent page, PKCE and confidential flows, expiry, rotation, grace,
revocation, connections and the tenant header."""

from __future__ import annotations

import base64
import html
import json
import re
from typing import Any

import requests

from tests.helpers.xero_client import KIWI, SCOPE, TEA, Xero, pkce_pair, query_params

LOOPBACK = "http://127.0.0.1:53682/callback"


def _form_fields(page: str) -> dict[str, str]:
    return {
        m.group(1): html.unescape(m.group(2))
        for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    }


def _payload(jwt: str) -> dict[str, Any]:
    part = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def _pkce_token(base: str, client_id: str, code: str, verifier: str) -> requests.Response:
    return requests.post(
        f"{base}/identity/connect/token",
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": code,
            "redirect_uri": LOOPBACK,
            "code_verifier": verifier,
        },
    )


def test_pkce_flow_through_the_consent_page(sandbox: Any) -> None:
    info = sandbox.info["xero"]
    base = info["base_url"]
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": info["pkce_client_id"],
        "redirect_uri": LOOPBACK,
        "scope": SCOPE,
        "state": "st-42",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = requests.get(f"{base}/identity/connect/authorize", params=params, timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "Allow access" in page.text and "Kiwi Cycles Ltd" in page.text and "Britannia Tea Co. Ltd" in page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    form = {**_form_fields(page.text), "tenant": [KIWI, TEA], "action": "allow"}
    resp = requests.post(html.unescape(action), data=form, allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(LOOPBACK)
    got = query_params(location)
    assert got["state"] == "st-42"
    tokens = _pkce_token(base, info["pkce_client_id"], got["code"], verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 1800
    assert {"id_token", "access_token", "refresh_token", "scope"} <= set(body)
    assert _payload(body["access_token"])["client_id"] == info["pkce_client_id"]
    conns = requests.get(
        f"{base}/connections", timeout=10, headers={"Authorization": f"Bearer {body['access_token']}"}
    ).json()
    assert {c["tenantId"] for c in conns} == {KIWI, TEA}
    # the code is single-use
    assert _pkce_token(base, info["pkce_client_id"], got["code"], verifier).json() == {"error": "invalid_grant"}


def test_consent_page_cancel_redirects_access_denied(sandbox: Any) -> None:
    info = sandbox.info["xero"]
    params = {
        "response_type": "code",
        "client_id": info["client_id"],
        "redirect_uri": info["redirect_uri"],
        "scope": SCOPE,
        "state": "abc",
    }
    page = requests.get(f"{info['base_url']}/identity/connect/authorize", params=params, timeout=10)
    resp = requests.post(
        f"{info['base_url']}/identity/connect/authorize",
        data={**_form_fields(page.text), "action": "cancel"},
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 302
    assert query_params(resp.headers["Location"]) == {"error": "access_denied", "state": "abc"}


def test_authorize_refuses_unknown_client_and_pkce_without_challenge(sandbox: Any) -> None:
    info = sandbox.info["xero"]
    url = f"{info['base_url']}/identity/connect/authorize"
    bad = requests.get(
        url, timeout=10, params={"response_type": "code", "client_id": "nope", "redirect_uri": LOOPBACK, "scope": SCOPE}
    )
    assert bad.status_code == 400 and "unauthorized_client" in bad.text
    evil = requests.get(
        url,
        timeout=10,
        params={
            "response_type": "code",
            "client_id": info["client_id"],
            "redirect_uri": "https://evil.example/cb",
            "scope": SCOPE,
        },
    )
    assert evil.status_code == 400
    no_pkce = requests.get(
        url,
        allow_redirects=False,
        timeout=10,
        params={
            "response_type": "code",
            "client_id": info["pkce_client_id"],
            "redirect_uri": LOOPBACK,
            "scope": SCOPE,
            "state": "q",
        },
    )
    assert no_pkce.status_code == 302
    assert query_params(no_pkce.headers["Location"])["error"] == "invalid_request"


def test_pkce_via_control_authorize_refuses_wrong_verifier(sandbox: Any) -> None:
    info = sandbox.info["xero"]
    verifier, challenge = pkce_pair()
    url = sandbox.control(
        "POST",
        "authorize",
        {
            "service": "xero",
            "client_id": info["pkce_client_id"],
            "redirect_uri": LOOPBACK,
            "state": "s",
            "code_challenge": challenge,
            "company": "TEA-UK",
        },
    )["redirect_url"]
    code = query_params(url)["code"]
    wrong = _pkce_token(info["base_url"], info["pkce_client_id"], code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_grant"}
    # a PKCE client cannot skip the verifier either, and the code is burnt only by success
    url2 = sandbox.control(
        "POST",
        "authorize",
        {
            "service": "xero",
            "client_id": info["pkce_client_id"],
            "redirect_uri": LOOPBACK,
            "code_challenge": challenge,
            "company": "TEA-UK",
        },
    )["redirect_url"]
    ok = _pkce_token(info["base_url"], info["pkce_client_id"], query_params(url2)["code"], verifier)
    assert ok.status_code == 200
    conns = requests.get(
        f"{info['base_url']}/connections", timeout=10, headers={"Authorization": f"Bearer {ok.json()['access_token']}"}
    ).json()
    assert [c["tenantId"] for c in conns] == [TEA]
    assert conns[0]["tenantName"] == "Britannia Tea Co. Ltd" and conns[0]["tenantType"] == "ORGANISATION"


def test_confidential_client_needs_its_secret(sandbox: Any) -> None:
    info = sandbox.info["xero"]
    url = sandbox.control("POST", "authorize", {"service": "xero", "state": "s"})["redirect_url"]
    code = query_params(url)["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": info["redirect_uri"]}
    bad = requests.post(
        f"{info['base_url']}/identity/connect/token", data=form, timeout=10, auth=(info["client_id"], "wrong-secret")
    )
    assert bad.status_code == 400 and bad.json() == {"error": "invalid_client"}
    good = requests.post(
        f"{info['base_url']}/identity/connect/token",
        data=form,
        timeout=10,
        auth=(info["client_id"], info["client_secret"]),
    )
    assert good.status_code == 200 and good.json()["expires_in"] == 1800
    issued = {t["value"]: t["kind"] for t in sandbox.control("GET", "tokens")["tokens"] if t["service"] == "xero"}
    assert issued[code] == "code" and issued[good.json()["access_token"]] == "access"
    assert issued[good.json()["refresh_token"]] == "refresh"


def test_access_token_expires_after_thirty_minutes(sandbox: Any) -> None:
    xero = Xero(sandbox)
    assert xero.call("GET", "Organisation").status_code == 200
    sandbox.control("POST", "config", {"service": "xero", "clock_offset_s": 1900})
    resp = xero.call("GET", "Organisation")
    assert resp.status_code == 401
    body = resp.json()
    assert body["Title"] == "Unauthorized" and body["Status"] == 401 and body["Type"] is None
    assert body["Detail"].startswith("TokenExpired: token expired at ")
    assert body["Extensions"] == {} and "Instance" in body
    refreshed = xero.token({"grant_type": "refresh_token", "refresh_token": xero.tokens["refresh_token"]})
    assert refreshed.status_code == 200
    xero.tokens = refreshed.json()
    assert xero.call("GET", "Organisation").status_code == 200


def test_refresh_rotates_and_the_old_token_has_a_thirty_minute_grace(sandbox: Any) -> None:
    xero = Xero(sandbox)
    first = xero.tokens["refresh_token"]
    second = xero.token({"grant_type": "refresh_token", "refresh_token": first}).json()
    assert second["refresh_token"] != first and second["access_token"] != xero.tokens["access_token"]
    again = xero.token({"grant_type": "refresh_token", "refresh_token": first})  # lost response: retry
    assert again.status_code == 200 and again.json()["refresh_token"] not in (first, second["refresh_token"])
    sandbox.control("POST", "config", {"service": "xero", "clock_offset_s": 1900})
    late = xero.token({"grant_type": "refresh_token", "refresh_token": first})
    assert late.status_code == 400 and late.json() == {"error": "invalid_grant"}
    latest = xero.token({"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert latest.status_code == 200


def test_refresh_token_expires_after_sixty_days_unused(sandbox: Any) -> None:
    xero = Xero(sandbox)
    sandbox.control("POST", "config", {"service": "xero", "clock_offset_s": 61 * 86400})
    resp = xero.token({"grant_type": "refresh_token", "refresh_token": xero.tokens["refresh_token"]})
    assert resp.json() == {"error": "invalid_grant"}


def test_revocation_kills_the_grant_and_the_connections(sandbox: Any) -> None:
    xero = Xero(sandbox)
    info = xero.info
    resp = requests.post(
        f"{info['base_url']}/identity/connect/revocation",
        timeout=10,
        data={"token": xero.tokens["refresh_token"]},
        auth=(info["client_id"], info["client_secret"]),
    )
    assert resp.status_code == 200
    again = xero.token({"grant_type": "refresh_token", "refresh_token": xero.tokens["refresh_token"]})
    assert again.json() == {"error": "invalid_grant"}
    assert xero.call("GET", "Organisation").status_code == 401
    fresh = Xero(sandbox)
    conns = fresh.http.get(
        f"{info['base_url']}/connections",
        timeout=10,
        headers={"Authorization": f"Bearer {fresh.tokens['access_token']}"},
    ).json()
    assert [c["tenantId"] for c in conns] == [KIWI]


def test_connections_list_and_delete(sandbox: Any) -> None:
    xero = Xero(sandbox)
    base = xero.info["base_url"]
    sandbox.control("POST", "authorize", {"service": "xero", "company": "TEA-UK"})
    auth = {"Authorization": f"Bearer {xero.tokens['access_token']}"}
    conns = requests.get(f"{base}/Connections", headers=auth, timeout=10).json()
    assert {c["tenantId"] for c in conns} == {KIWI, TEA}
    for c in conns:
        assert set(c) == {
            "id",
            "authEventId",
            "tenantId",
            "tenantType",
            "tenantName",
            "createdDateUtc",
            "updatedDateUtc",
        }
    tea = next(c for c in conns if c["tenantId"] == TEA)
    assert requests.delete(f"{base}/connections/{tea['id']}", headers=auth, timeout=10).status_code == 204
    assert [c["tenantId"] for c in requests.get(f"{base}/connections", headers=auth, timeout=10).json()] == [KIWI]
    gone = xero.call("GET", "Organisation", tenant=TEA)
    assert gone.status_code == 403 and gone.json()["Detail"] == "AuthenticationUnsuccessful"
    assert requests.get(f"{base}/connections", timeout=10).status_code == 401


def test_tenant_header_is_required_and_must_be_connected(sandbox: Any) -> None:
    xero = Xero(sandbox)
    missing = xero.http.get(
        f"{xero.base}/api.xro/2.0/Organisation",
        timeout=10,
        headers={"Authorization": f"Bearer {xero.tokens['access_token']}"},
    )
    assert missing.status_code == 403
    assert missing.json()["Title"] == "Forbidden" and missing.json()["Detail"] == "AuthenticationUnsuccessful"
    assert xero.call("GET", "Organisation", tenant=TEA).status_code == 403  # not connected
    assert xero.call("GET", "Organisation", tenant="00000000-0000-0000-0000-000000000000").status_code == 403
    org = xero.ok("GET", "Organisation")["Organisations"][0]
    assert org["OrganisationID"] == KIWI and org["BaseCurrency"] == "NZD" and org["CountryCode"] == "NZ"
    assert org["PeriodLockDate"].startswith("/Date(")


def test_missing_scope_is_refused(sandbox: Any) -> None:
    xero = Xero(sandbox, scope="offline_access accounting.settings.read")
    assert xero.call("GET", "Accounts").status_code == 200
    refused = xero.call("GET", "CreditNotes")
    assert refused.status_code == 403 and refused.json()["Detail"] == "AuthorizationUnsuccessful"
