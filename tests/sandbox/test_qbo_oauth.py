"""QBO OAuth 2.0 over real HTTP: consent page, code exchange, rotation, expiry, revoke."""

from __future__ import annotations

import html
import re
from typing import Any

import requests

from tests.helpers.qbo_client import ACME, MAPLE, Qbo, query_params

SCOPE = "com.intuit.quickbooks.accounting"


def _authorize_params(info: dict[str, Any], **over: str) -> dict[str, str]:
    params = {"client_id": info["client_id"], "response_type": "code", "scope": SCOPE,
              "redirect_uri": info["redirect_uri"], "state": "st-42"}
    params.update(over)
    return params


def _form_fields(page: str) -> dict[str, str]:
    return {html.unescape(n): html.unescape(v)
            for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}


def test_consent_page_flow_issues_code_for_the_chosen_company(sandbox: Any) -> None:
    info = sandbox.info["qbo"]
    http = requests.Session()
    page = http.get(f"{info['base_url']}/connect/oauth2", params=_authorize_params(info), timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "Maple Leaf Outfitters Ltd." in page.text and "Acme Outdoor Supply Inc." in page.text
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None
    form = _form_fields(page.text) | {"realmId": MAPLE, "action": "approve"}
    resp = http.post(html.unescape(action.group(1)), data=form, allow_redirects=False, timeout=10)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith(info["redirect_uri"] + "?")
    got = query_params(location)
    assert got["state"] == "st-42" and got["realmId"] == MAPLE and got["code"]
    tokens = http.post(f"{info['base_url']}/oauth2/v1/tokens/bearer", timeout=10,
                       auth=(info["client_id"], info["client_secret"]),
                       data={"grant_type": "authorization_code", "code": got["code"],
                             "redirect_uri": info["redirect_uri"]})
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8640000
    assert "x_refresh_token_hard_expires_in" not in body
    # the code is single-use
    again = http.post(f"{info['base_url']}/oauth2/v1/tokens/bearer", timeout=10,
                      auth=(info["client_id"], info["client_secret"]),
                      data={"grant_type": "authorization_code", "code": got["code"],
                            "redirect_uri": info["redirect_uri"]})
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}
    company = requests.get(f"{info['base_url']}/v3/company/{MAPLE}/companyinfo/{MAPLE}", timeout=10,
                           headers={"Authorization": f"Bearer {body['access_token']}",
                                    "Accept": "application/json"})
    assert company.json()["CompanyInfo"]["CompanyName"] == "Maple Leaf Outfitters Ltd."


def test_cancel_and_bad_requests_on_the_consent_page(sandbox: Any) -> None:
    info = sandbox.info["qbo"]
    url = f"{info['base_url']}/connect/oauth2"
    cancel = requests.post(url, data=_authorize_params(info) | {"realmId": ACME, "action": "deny"},
                           allow_redirects=False, timeout=10)
    assert cancel.status_code == 302
    assert query_params(cancel.headers["Location"]) == {"error": "access_denied", "state": "st-42"}
    bad_client = requests.get(url, params=_authorize_params(info, client_id="nope"), timeout=10)
    assert bad_client.status_code == 400 and "client_id" in bad_client.text
    bad_redirect = requests.get(url, params=_authorize_params(info, redirect_uri="https://evil.example/cb"),
                                timeout=10)
    assert bad_redirect.status_code == 400 and "redirect_uri" in bad_redirect.text
    loopback = requests.get(url, params=_authorize_params(info, redirect_uri="http://localhost:53123/callback"),
                            timeout=10)
    assert loopback.status_code == 200 and 'id="connect"' in loopback.text


def test_token_endpoint_errors_and_hard_expiry_header(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    info = qbo.info
    redirect = sandbox.control("POST", "authorize", {"service": "qbo", "company": "MAPLE-CA",
                                                      "redirect_uri": "http://127.0.0.1:8765/cb"})["redirect_url"]
    code = query_params(redirect)["code"]
    wrong_client = requests.post(f"{qbo.base}/oauth2/v1/tokens/bearer", auth=(info["client_id"], "wrong"),
                                 data={"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": "http://127.0.0.1:8765/cb"}, timeout=10)
    assert wrong_client.status_code == 401 and wrong_client.json() == {"error": "invalid_client"}
    mismatch = qbo.exchange(code, redirect_uri=info["redirect_uri"])
    assert mismatch.status_code == 400 and mismatch.json() == {"error": "invalid_grant"}
    hard = requests.post(f"{qbo.base}/oauth2/v1/tokens/bearer", auth=qbo.basic, timeout=10,
                         headers={"x-include-refresh-token-hard-expires-in": "true"},
                         data={"grant_type": "refresh_token", "refresh_token": qbo.tokens["refresh_token"]})
    assert hard.status_code == 200
    left = hard.json()["x_refresh_token_hard_expires_in"]
    assert 5 * 365 * 86400 - 60 < left <= (5 * 365 + 1) * 86400
    kinds = {t["kind"] for t in sandbox.control("GET", "tokens")["tokens"] if t["service"] == "qbo"}
    assert kinds == {"code", "access", "refresh"}


def test_refresh_tokens_rotate_and_old_values_die_once_the_new_one_is_used(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    r0 = qbo.tokens["refresh_token"]
    first = qbo.refresh(r0).json()
    r1 = first["refresh_token"]
    assert r1 != r0 and first["access_token"] != qbo.access
    # a client that lost the answer may retry with r0 while r1 is unused; r1 is then replaced
    retry = qbo.refresh(r0).json()
    r1b = retry["refresh_token"]
    assert r1b not in (r0, r1)
    assert qbo.refresh(r1).json() == {"error": "invalid_grant"}
    r2 = qbo.refresh(r1b).json()["refresh_token"]
    stale = qbo.refresh(r0)
    assert stale.status_code == 400 and stale.json() == {"error": "invalid_grant"}
    assert qbo.refresh(r2).status_code == 200


def test_access_token_expires_by_the_sandbox_clock_with_the_lowercase_401(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    assert qbo.get(f"companyinfo/{qbo.realm}").status_code == 200
    sandbox.control("POST", "config", {"service": "qbo", "clock_offset_s": 3700})
    resp = qbo.get(f"companyinfo/{qbo.realm}")
    assert resp.status_code == 401
    body = resp.json()
    assert body["fault"]["type"] == "AUTHENTICATION"
    error = body["fault"]["error"][0]
    assert error["code"] == "3200" and error["detail"].startswith("Token expired")
    assert qbo.access not in resp.text
    assert body["batchItemResponse"] == [] and body["cdcresponse"] == [] and isinstance(body["time"], int)
    renewed = qbo.refresh(qbo.tokens["refresh_token"]).json()
    qbo.access = renewed["access_token"]
    assert qbo.get(f"companyinfo/{qbo.realm}").status_code == 200
    sandbox.control("POST", "config", {"service": "qbo", "clock_offset_s": 3700 + 101 * 86400})
    assert qbo.refresh(renewed["refresh_token"]).json() == {"error": "invalid_grant"}


def test_revoke_ends_the_grant(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    resp = requests.post(f"{qbo.base}/v2/oauth2/tokens/revoke", auth=qbo.basic, timeout=10,
                         json={"token": qbo.tokens["refresh_token"]})
    assert resp.status_code == 200
    assert qbo.refresh(qbo.tokens["refresh_token"]).json() == {"error": "invalid_grant"}
    assert qbo.get(f"companyinfo/{qbo.realm}").status_code == 401
    unauth = requests.post(f"{qbo.base}/v2/oauth2/tokens/revoke", auth=("x", "y"), json={"token": "t"},
                           timeout=10)
    assert unauth.status_code == 401


def test_userinfo_and_wrong_realm(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    info = requests.get(f"{qbo.base}/v1/openid_connect/userinfo", headers=qbo.headers(), timeout=10)
    assert info.status_code == 200 and info.json()["email"]
    other = requests.get(f"{qbo.base}/v3/company/{MAPLE}/companyinfo/{MAPLE}", headers=qbo.headers(),
                         timeout=10)
    assert other.status_code == 403
    assert other.json()["Fault"]["Error"][0]["code"] == "3100"
