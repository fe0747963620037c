"""The official SDKs (python-quickbooks with intuit-oauth, xero-python) signed in to the emulators.

Consent is approved through the control API; from then on every call is the SDK's own, pointed at
the sandbox (python-quickbooks by its ``api_url_v3`` attributes, xero-python by ``base_url`` and
``TokenApi.refresh_token_url``). requests-oauthlib refuses plain HTTP unless
``OAUTHLIB_INSECURE_TRANSPORT`` is set, so the QBO session sets it through ``monkeypatch`` (loopback only).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from intuitlib.client import AuthClient
from quickbooks import QuickBooks
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi

LOOPBACK_REDIRECT = "http://localhost:53682/qbo/callback"  # development keys allow loopback redirects


@contextmanager
def quickbooks_session(sandbox: Any, monkeypatch: pytest.MonkeyPatch, company: str = "ACME-US") -> Iterator[QuickBooks]:
    """python-quickbooks on ``company``, after intuit-oauth's own code exchange."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    info = sandbox.info["qbo"]
    realm = next(c["realm_id"] for c in info["companies"] if company in (c["rms_org"], c["realm_id"]))
    consent = sandbox.control("POST", "authorize", {"service": "qbo", "company": realm,
                                                    "redirect_uri": LOOPBACK_REDIRECT, "state": "s1"})
    code = parse_qs(urlparse(consent["redirect_url"]).query)["code"][0]
    auth = AuthClient(info["client_id"], info["client_secret"], LOOPBACK_REDIRECT, info["discovery_url"])
    auth.get_bearer_token(code, realm_id=realm)
    qb = QuickBooks(auth_client=auth, refresh_token=auth.refresh_token, company_id=realm, minorversion=75)
    qb.api_url_v3 = qb.sandbox_api_url_v3 = f"{info['base_url']}/v3"
    try:
        yield qb
    finally:
        qb.session.close()
        auth.close()


@dataclass
class XeroSession:
    api: AccountingApi
    tenant: str
    token: dict[str, Any] = field(default_factory=dict)


@contextmanager
def xero_session(sandbox: Any, monkeypatch: pytest.MonkeyPatch, company: str = "KIWI-NZ") -> Iterator[XeroSession]:
    """xero-python's AccountingApi on ``company`` (the code exchanged as an OAuth library would)."""
    info = sandbox.info["xero"]
    tenant = next(t["tenant_id"] for t in info["tenants"] if company in (t.get("rms_org"), t["tenant_id"]))
    consent = sandbox.control("POST", "authorize", {"service": "xero", "company": tenant, "state": "s1"})
    code = parse_qs(urlparse(consent["redirect_url"]).query)["code"][0]
    token_url = f"{info['base_url']}/identity/connect/token"
    answer = requests.post(token_url, data={"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": info["redirect_uri"]},
                           auth=(info["client_id"], info["client_secret"]), timeout=10)
    assert answer.status_code == 200, answer.text
    token = answer.json()
    token |= {"scope": token["scope"].split(), "expires_at": time.time() + token["expires_in"]}
    monkeypatch.setattr(TokenApi, "refresh_token_url", token_url)
    holder = XeroSession(None, tenant, token)  # type: ignore[arg-type]
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id=info["client_id"], client_secret=info["client_secret"])),
        pool_threads=1, oauth2_token_getter=lambda: holder.token,
        oauth2_token_saver=lambda new: setattr(holder, "token", new))
    holder.api = AccountingApi(client, base_url=f"{info['base_url']}/api.xro/2.0")
    try:
        yield holder
    finally:
        client.rest_client.pool_manager.clear()  # the SDK has no close(); drop its pooled connections
