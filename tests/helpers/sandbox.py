"""The sandbox emulators (QBO, Xero, RMS) as tests reach them: over HTTP, like any outside service.

:class:`SandboxHandle` wraps the control API (reset, faults, simulated consent, ledger inspection
and tampering); :func:`memory_connection` signs in to a demo company through the real OAuth code
flow with the token kept in memory (no keyring); :func:`fast_http` is a client whose retries never
wait on the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from desktop.services.auth.platforms import Platform
from desktop.services.platforms.http import LedgerHttp, RetryPolicy, Throttle
from desktop.services.store.coltypes import json_dumps_exact

#: The seeded demo companies (seed 1): organization code → (ledger, realm id / tenant id).
ACME_REALM, MAPLE_REALM = "9130350000000001", "9130350000000002"
KIWI_TENANT, TEA_TENANT = "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01", "0b7e2d94-51c3-4f8a-a6d2-8c4e1f7b3a02"
DEMO_COMPANIES = {"ACME-US": (Platform.QBO, ACME_REALM), "MAPLE-CA": (Platform.QBO, MAPLE_REALM),
                  "KIWI-NZ": (Platform.XERO, KIWI_TENANT), "TEA-UK": (Platform.XERO, TEA_TENANT)}


class SandboxHandle:
    """What a test needs: the start-up info and a small client for the control API."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.control_url: str = info["control_url"]
        self.http = requests.Session()

    def control(self, method: str, path: str, json: Any = None) -> Any:
        resp = self.http.request(method, f"{self.control_url}/{path.lstrip('/')}", json=json, timeout=30)
        assert resp.status_code < 400, f"control {method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    def rms(self, method: str, path: str, *, api_key: str | None = None, **kwargs: Any) -> requests.Response:
        """One call to the RMS emulator's API (``path`` like ``/v1/returns``), with its API key."""
        headers = {"X-API-Key": self.info["rms"]["api_key"] if api_key is None else api_key,
                   **kwargs.pop("headers", {})}
        return self.http.request(method, f"{self.info['rms']['base_url']}{path}", headers=headers,
                                 timeout=30, **kwargs)

    def tamper(self, platform: str, company: str, body: dict[str, Any]) -> dict[str, Any]:
        """What an accountant does in the ledger's own screens (create, edit, void, delete…).

        Amounts go as exact JSON numbers and come back as Decimal, never through float.
        """
        resp = self.http.post(f"{self.control_url}/ledger/{platform}/{company}/tamper", data=json_dumps_exact(body),
                              headers={"Content-Type": "application/json"}, timeout=30)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json(parse_float=Decimal)
        return result

    def ledger(self, platform: str, company: str) -> list[dict[str, Any]]:
        """Every document in one emulated ledger company."""
        return list(self.control("GET", f"ledger/{platform}/{company}")["documents"])

    def writebacks(self) -> list[dict[str, Any]]:
        """Every write-back the RMS emulator recorded."""
        return list(self.control("GET", "rms/writebacks")["writebacks"])

    def close(self) -> None:
        self.http.close()


@contextmanager
def serve_sandbox(seed: int = 1) -> Iterator[Any]:
    """A running in-process sandbox server, stopped afterwards."""
    from desktop.sandbox.server import SandboxServer

    server = SandboxServer(seed=seed)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def reset_sandbox(info: dict[str, Any], seed: int = 1) -> Iterator[SandboxHandle]:
    """A handle on the sandbox described by ``info``, reset to ``seed``; its faults are cleared afterwards."""
    handle = SandboxHandle(info)
    handle.control("POST", "reset", {"seed": seed})
    try:
        yield handle
    finally:
        handle.control("DELETE", "faults")
        handle.close()


def query_params(url: str) -> dict[str, str]:
    """A URL's query parameters, first value of each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class Sleeps:
    """An injectable ``sleep``: records each delay and returns at once (the wall clock never waits)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def fast_http(platform: str = "rms", *, attempts: int = 2, token: Any = None) -> LedgerHttp:
    """A client with a budget that never runs out and quick retries that do not sleep (one retry by default)."""
    return LedgerHttp(throttle=Throttle(per_minute=100_000, concurrent=4), token=token, platform=platform,
                      retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.01, max_delay_s=0.02), sleep=Sleeps())


def fast_rms_client(info: dict[str, Any]) -> Any:
    """The app's RMS client for the sandbox RMS, over :func:`fast_http`."""
    from desktop.services.rms.client import RmsClient

    return RmsClient(info["rms"]["base_url"], info["rms"]["api_key"], http=fast_http("rms"))


@dataclass
class MemoryConnection:
    """A demo company signed in to through the real OAuth code flow; the access token is kept in memory."""

    platform: Platform
    company: str
    connector: Any
    http: LedgerHttp
    base: str


def memory_connection(info: dict[str, Any], platform: Platform, company: str) -> MemoryConnection:
    """Sign in to ``company`` as a person approving the sandbox's consent page would (no keyring).

    The app's own OAuth client and connector; the sandbox's confidential app for a ledger that
    needs a client secret, its public (PKCE) app otherwise — as the demo registers them.
    """
    from desktop.services.auth.oauth import ClientCredentials, OAuthClient
    from desktop.services.auth.platforms import Environment, auth_facts, endpoints
    from desktop.services.core.clock import SystemClock
    from desktop.services.demo import sandbox_root, simulated_consent
    from desktop.services.platforms.qbo.connector import QboConnector
    from desktop.services.platforms.xero.connector import XeroConnector

    app = info[platform.value]
    creds = (ClientCredentials(app["client_id"], app["client_secret"]) if auth_facts(platform).needs_client_secret
             else ClientCredentials(app["pkce_client_id"]))
    client = OAuthClient(endpoints(platform, Environment.LOCAL, sandbox_url=sandbox_root(info)), creds,
                         app["redirect_uri"], SystemClock())
    request = client.begin()
    redirect = simulated_consent(info, platform, request.url, company)
    tokens = client.exchange_code(request, client.parse_callback(request, redirect))
    http = LedgerHttp(throttle=Throttle(500, 10), platform=platform.value, token=lambda _rejected: tokens.access_token)
    base = client.endpoints.api_base_url
    connector: Any = (QboConnector(http, base, company) if platform is Platform.QBO
                      else XeroConnector(http, base, company))
    return MemoryConnection(platform, company, connector, http, base.rstrip("/"))
