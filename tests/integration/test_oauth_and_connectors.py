"""OAuth flows, the token vault and both connectors against the sandbox over real HTTP.

The same conformance checks run for QuickBooks Online and Xero: connect, read company info,
read every kind of reference data to exhaustion, survive a restart, an expired access token,
a revoked grant, and a rate limit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from desktop.services.auth.oauth import (
    AccessNotGranted,
    AuthorizationRequest,
    ClientCredentials,
    OAuthClient,
    StateMismatch,
)
from desktop.services.auth.platforms import Environment, Platform, endpoints
from desktop.services.auth.vault import NeedsReconnect, TokenVault
from desktop.services.core.clock import SystemClock
from desktop.services.platforms.base import RefKind
from desktop.services.platforms.http import LedgerHttp, Throttle
from desktop.services.platforms.qbo.connector import QboConnector
from desktop.services.platforms.xero.connector import XeroConnector, list_tenants
from tests.helpers.sandbox import SandboxHandle


@dataclass
class Connected:
    platform: Platform
    client: OAuthClient
    vault: TokenVault
    connection_id: str
    company_id: str
    expected_name: str
    expected_currency: str
    api_base: str

    def connector(self, vault: TokenVault | None = None) -> Any:
        vault = vault or self.vault
        http = LedgerHttp(throttle=Throttle(500, 10), platform=self.platform.value,
                          token=lambda rejected: vault.access_token(self.connection_id, self.client.refresh,
                                                                    rejected=rejected))
        if self.platform is Platform.QBO:
            return QboConnector(http, self.api_base, self.company_id)
        return XeroConnector(http, self.api_base, self.company_id)


def _client(sandbox: SandboxHandle, platform: Platform, *, public: bool = True) -> OAuthClient:
    info = sandbox.info[platform.value]
    eps = endpoints(platform, Environment.LOCAL, sandbox_url=sandbox.control_url.rsplit("/_sandbox", 1)[0])
    if platform is Platform.QBO:
        creds = ClientCredentials(info["client_id"], info["client_secret"])
    else:
        creds = ClientCredentials(info["pkce_client_id"]) if public else ClientCredentials(
            info["client_id"], info["client_secret"])
    return OAuthClient(eps, creds, info["redirect_uri"], SystemClock())


def _consent(sandbox: SandboxHandle, request: AuthorizationRequest, service: str, company: str | None = None) -> str:
    """Approve the authorize URL the client built, as a user clicking Connect/Allow would."""
    q = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    body = {"service": service, "client_id": q["client_id"], "redirect_uri": q["redirect_uri"],
            "scope": q["scope"], "state": q["state"]}
    if "code_challenge" in q:
        body["code_challenge"] = q["code_challenge"]
    if company:
        body["company"] = company
    return str(sandbox.control("POST", "authorize", body)["redirect_url"])


def _connect(sandbox: SandboxHandle, platform: Platform) -> Connected:
    client = _client(sandbox, platform)
    request = client.begin()
    info = sandbox.info[platform.value]
    company = info["companies"][0]["realm_id"] if platform is Platform.QBO else info["tenants"][0]["tenant_id"]
    redirect = _consent(sandbox, request, platform.value, company)
    assert client.is_redirect(redirect)
    callback = client.parse_callback(request, redirect)
    tokens = client.exchange_code(request, callback)
    vault = TokenVault(SystemClock())
    connection_id = f"it-{platform.value}-{uuid.uuid4().hex[:8]}"
    vault.store_token_result(connection_id, tokens)
    if platform is Platform.QBO:
        assert callback.realm_id == company
        return Connected(platform, client, vault, connection_id, company, info["companies"][0]["name"], "USD",
                         client.endpoints.api_base_url)
    http = LedgerHttp(throttle=Throttle(60, 5),
                      token=lambda rejected: vault.access_token(connection_id, client.refresh, rejected=rejected))
    assert client.endpoints.connections_url is not None
    tenants = list_tenants(http, client.endpoints.connections_url)
    assert company in {t["tenantId"] for t in tenants}
    return Connected(platform, client, vault, connection_id, company, info["tenants"][0]["name"], "NZD",
                     client.endpoints.api_base_url)


@pytest.fixture(params=[Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def connected(request: pytest.FixtureRequest, sandbox: SandboxHandle) -> Iterator[Connected]:
    c = _connect(sandbox, request.param)
    yield c
    c.vault.forget(c.connection_id)


def _issued(sandbox: SandboxHandle, service: str, kind: str) -> list[str]:
    return [t["value"] for t in sandbox.control("GET", "tokens")["tokens"]
            if t["service"] == service and t["kind"] == kind]


def test_company_info_and_reference_data(connected: Connected) -> None:
    conn = connected.connector()
    info = conn.company_info()
    assert info.company_id == connected.company_id
    assert info.name == connected.expected_name
    assert info.home_currency == connected.expected_currency
    assert info.home_currency in info.currencies and len(info.currencies) >= 2
    data = conn.reference_data()
    assert set(data) == set(RefKind)
    assert len(data[RefKind.ACCOUNT]) >= 10
    assert len(data[RefKind.TAX_CODE]) >= 2
    assert data[RefKind.CUSTOMER], "customers/contacts cached"
    assert {r.kind for rs in data.values() for r in rs} == set(RefKind)
    types = {r.type for r in data[RefKind.ACCOUNT]}
    assert types & {"Bank", "BANK"}, types


def test_refresh_rotation_survives_a_restart(connected: Connected, sandbox: SandboxHandle) -> None:
    service = connected.platform.value
    before = _issued(sandbox, service, "refresh")
    grant = connected.vault.load_grant(connected.connection_id)
    assert grant is not None
    # Expire the access token on the server's clock, then use a brand-new vault ("after a restart").
    sandbox.control("POST", "config", {"service": service, "clock_offset_s": 3700})
    restarted = TokenVault(SystemClock())
    info = connected.connector(restarted).company_info()
    assert info.company_id == connected.company_id
    after = _issued(sandbox, service, "refresh")
    assert len(after) == len(before) + 1, "exactly one refresh"
    stored = restarted.load_grant(connected.connection_id)
    assert stored is not None and stored.refresh_token == after[-1] != grant.refresh_token


def test_a_401_mid_call_refreshes_once_and_retries(connected: Connected, sandbox: SandboxHandle) -> None:
    conn = connected.connector()
    conn.company_info()  # the vault now holds an access token it believes valid for a long time
    service = connected.platform.value
    access_before = _issued(sandbox, service, "access")
    sandbox.control("POST", "config", {"service": service, "clock_offset_s": 3700})  # server says: expired
    sent = conn.requests_sent
    info = conn.company_info()
    assert info.name == connected.expected_name
    assert len(_issued(sandbox, service, "access")) == len(access_before) + 1
    # QBO: companyinfo + preferences + currencies query; Xero: Organisation + Currencies — plus the one 401.
    per_call = 3 if connected.platform is Platform.QBO else 2
    assert conn.requests_sent - sent == per_call + 1, "one rejected request, then the calls"


def test_revoked_grant_needs_reconnect(connected: Connected) -> None:
    grant = connected.vault.load_grant(connected.connection_id)
    assert grant is not None
    connected.client.revoke(grant.refresh_token)
    with pytest.raises(NeedsReconnect, match="invalid_grant") as err:
        connected.client.refresh(grant.refresh_token)
    assert err.value.platform_code == "invalid_grant"


def test_state_mismatch_is_refused(sandbox: SandboxHandle) -> None:
    client = _client(sandbox, Platform.QBO)
    request = client.begin()
    redirect = _consent(sandbox, request, "qbo")
    forged = redirect.replace(f"state={request.state}", "state=forged")
    with pytest.raises(StateMismatch, match="state mismatch"):
        client.parse_callback(request, forged)


def test_xero_pkce_verifier_is_sent_and_checked(sandbox: SandboxHandle) -> None:
    client = _client(sandbox, Platform.XERO)
    request = client.begin()
    assert request.code_verifier and "code_challenge_method=S256" in request.url
    callback = client.parse_callback(request, _consent(sandbox, request, "xero"))
    wrong = type(request)(request.url, request.state, request.redirect_uri, "x" * 64, request.created_at)
    with pytest.raises(AccessNotGranted, match="PKCE verifier"):
        client.exchange_code(wrong, callback)


def test_xero_confidential_client_connects(sandbox: SandboxHandle) -> None:
    client = _client(sandbox, Platform.XERO, public=False)
    request = client.begin()
    tokens = client.exchange_code(request, client.parse_callback(request, _consent(sandbox, request, "xero")))
    assert tokens.refresh_token and tokens.expires_in_s == 1800


def test_qbo_reports_the_hard_expiry(sandbox: SandboxHandle) -> None:
    c = _connect(sandbox, Platform.QBO)
    try:
        grant = c.vault.load_grant(c.connection_id)
        assert grant is not None and grant.hard_expires_at is not None
        assert grant.refresh_expires_at is not None
    finally:
        c.vault.forget(c.connection_id)


def test_429_is_honoured_with_retry_after(sandbox: SandboxHandle) -> None:
    c = _connect(sandbox, Platform.XERO)
    try:
        sandbox.control("POST", "faults", {"rules": [{"service": "xero", "path_regex": "Organisation",
                                                      "action": "status", "status": 429, "times": 1}]})
        conn = c.connector()
        started = time.monotonic()
        info = conn.company_info()
        assert info.home_currency == "NZD"
        assert time.monotonic() - started >= 0.9  # Retry-After: 1 was respected before the retry
        assert conn.requests_sent == 3  # the 429, its retry, Currencies
    finally:
        c.vault.forget(c.connection_id)


def test_system_browser_path_with_a_loopback_listener(sandbox: SandboxHandle) -> None:
    """RFC 8252: the redirect comes back to 127.0.0.1 on a free port; the browser is played by
    ``requests`` following the sandbox's consent redirect to the listener."""
    import requests

    from desktop.services.auth.loopback import LoopbackRedirect
    info = sandbox.info["xero"]
    eps = endpoints(Platform.XERO, Environment.LOCAL, sandbox_url=sandbox.control_url.rsplit("/_sandbox", 1)[0])
    with LoopbackRedirect() as listener:
        client = OAuthClient(eps, ClientCredentials(info["pkce_client_id"]), listener.redirect_uri, SystemClock())
        request = client.begin()
        listener.expect_state(request.state)
        redirect = _consent(sandbox, request, "xero", info["tenants"][0]["tenant_id"])
        # A local page pokes the listener first: refused, and the listener keeps waiting.
        for forged in (redirect.replace(f"state={request.state}", "state=forged"), listener.redirect_uri + "?code=x"):
            poke = requests.get(forged, timeout=10)
            assert poke.status_code == 400 and "Not this sign-in" in poke.text
        page = requests.get(redirect, timeout=10)  # what the system browser does after consent
        assert page.status_code == 200 and "close this tab" in page.text
        captured = listener.wait(5)
    callback = client.parse_callback(request, captured)
    tokens = client.exchange_code(request, callback)
    assert tokens.access_token and tokens.refresh_token


def test_a_registered_fixed_port_localhost_redirect_is_honoured(sandbox: SandboxHandle) -> None:
    """Platforms match redirect URIs exactly, so a registered http://localhost:<port>/callback is used as is."""
    import socket

    import requests

    from desktop.services.auth.loopback import LoopbackRedirect
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://localhost:{port}/callback"
    info = sandbox.info["qbo"]
    eps = endpoints(Platform.QBO, Environment.LOCAL, sandbox_url=sandbox.control_url.rsplit("/_sandbox", 1)[0])
    with LoopbackRedirect.for_uri(uri) as listener:
        assert listener.redirect_uri == uri
        client = OAuthClient(eps, ClientCredentials(info["client_id"], info["client_secret"]), uri, SystemClock())
        request = client.begin()
        listener.expect_state(request.state)
        assert f"redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2Fcallback" in request.url
        page = requests.get(_consent(sandbox, request, "qbo"), timeout=10)
        assert page.status_code == 200
        callback = client.parse_callback(request, listener.wait(5))
    assert callback.realm_id == info["companies"][0]["realm_id"]
    assert client.exchange_code(request, callback).refresh_token
