"""A real world for the mapping editor tests (and the screenshot script): no mocks.

A SQLite file migrated by Alembic; organizations and their RMS profiles and returns ingested from
the sandbox's RMS emulator over HTTP; each demo ledger's chart of accounts, tax codes, items and
tracking read over HTTP by the app's own connectors (OAuth consent through the sandbox, tokens in
memory only, so no keyring is needed) and stored in the reference cache the way a connection
refresh does. Built once per module into a template file and copied per test.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from desktop.services.auth.oauth import ClientCredentials, OAuthClient
from desktop.services.auth.platforms import Environment, Platform, endpoints
from desktop.services.auth.roles import Actor, Role
from desktop.services.connections.refcache import store_reference_data
from desktop.services.core.clock import ManualClock, SystemClock
from desktop.services.core.enums import Platform as StorePlatform
from desktop.services.core.events import EventBus
from desktop.services.mapping.service import MappingService
from desktop.services.platforms.http import LedgerHttp, RetryPolicy, Throttle
from desktop.services.platforms.qbo.connector import QboConnector
from desktop.services.platforms.xero.connector import XeroConnector
from desktop.services.rms.client import RmsClient
from desktop.services.rms.ingest import IngestService
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import Organization
from desktop.services.store.testing import T0, make_connection

ADMIN = Actor("alice", Role.ADMIN)
VIEWER = Actor("victor", Role.VIEWER)
#: The demo organizations this world sets up: code → (platform, company id in the sandbox).
ORGS = {"ACME-US": (Platform.QBO, "9130350000000001"),
        "KIWI-NZ": (Platform.XERO, "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01")}


def _connector(info: dict[str, Any], control_url: str, platform: Platform, company: str) -> Any:
    """Sign in as a person approving the sandbox's consent page would; the token stays in memory."""
    import requests

    p = info[platform.value]
    eps = endpoints(platform, Environment.LOCAL, sandbox_url=control_url.rsplit("/_sandbox", 1)[0])
    client = OAuthClient(eps, ClientCredentials(p["client_id"], p["client_secret"]), p["redirect_uri"],
                         SystemClock())
    request = client.begin()
    q = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    body = {"service": platform.value, "client_id": q["client_id"], "redirect_uri": q["redirect_uri"],
            "scope": q["scope"], "state": q["state"], "company": company}
    if "code_challenge" in q:
        body["code_challenge"] = q["code_challenge"]
    resp = requests.post(f"{control_url}/authorize", json=body, timeout=30)
    resp.raise_for_status()
    tokens = client.exchange_code(request, client.parse_callback(request, str(resp.json()["redirect_url"])))
    http = LedgerHttp(throttle=Throttle(500, 10), platform=platform.value,
                      token=lambda _rejected: tokens.access_token)
    cls = QboConnector if platform is Platform.QBO else XeroConnector
    return cls(http, client.endpoints.api_base_url, company)


def build_template(path: Path, info: dict[str, Any]) -> None:
    """Write the world's database to ``path`` (the sandbox must be at its seed)."""
    url = f"sqlite:///{path}"
    upgrade(url)
    db = Database(url)
    clock = ManualClock(T0, tick=timedelta(seconds=1))
    bus = EventBus()
    try:
        rms = RmsClient(info["rms"]["base_url"], info["rms"]["api_key"], http=LedgerHttp(
            throttle=Throttle(per_minute=100_000, concurrent=4),
            retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02), platform="rms"))
        ingest = IngestService(db, bus, clock)
        ingest.ensure_organizations(rms, platforms={code: StorePlatform(p.value) for code, (p, _c) in ORGS.items()})
        for code, (platform, company) in ORGS.items():
            ingest.pull(code, rms)
            conn = _connector(info, info["control_url"], platform, company)
            with db.write_session() as s:
                org = s.query(Organization).filter_by(code=code).one()
                connection_id = make_connection(s, org, remote_id=company).id
            store_reference_data(db, connection_id, conn.company_info(), conn.reference_data(), T0)
    finally:
        db.dispose()


class MappingWorld:
    """One test's copy of the world: database, clock, bus and the mapping service."""

    def __init__(self, template: Path, tmp_path: Path) -> None:
        self.path = tmp_path / "app.sqlite3"
        shutil.copyfile(template, self.path)
        self.url = f"sqlite:///{self.path}"
        self.db = Database(self.url)
        self.clock = ManualClock(T0 + timedelta(days=30), tick=timedelta(seconds=1))
        self.bus = EventBus()
        self.mapping = MappingService(self.db, self.clock, self.bus)

    def close(self) -> None:
        self.db.dispose()
