"""Connecting ledgers end to end: sign-in, keyring, database, reference cache, health, leaks.

Runs on SQLite and PostgreSQL against the sandbox over real HTTP, with the real keyring.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.auth.platforms import Environment, Platform
from desktop.services.auth.vault import NeedsReconnect
from desktop.services.core.clock import SystemClock
from desktop.services.core.errors import PermissionDenied
from desktop.services.core.events import EventKind
from desktop.services.store.db import Database
from desktop.services.store.models import LedgerConnection, RefAccount, RefCustomer, RefTracking
from tests.helpers.worlds import ADMIN, VIEWER, World


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_connecting_stores_tokens_in_the_keyring_and_caches_reference_data(world: World, platform: Platform) -> None:
    summary = world.connect("ACME-US" if platform is Platform.QBO else "KIWI-NZ")
    assert summary.state == "connected"
    assert summary.company_name in {"Acme Outdoor Supply Inc.", "Kiwi Cycles Ltd"}
    assert summary.refresh_expires_at is not None and summary.reference_fetched_at is not None
    with world.db.session() as s:
        conn = s.get(LedgerConnection, summary.id)
        assert conn is not None
        assert world.vault.load_grant(conn.credential_ref) is not None
        accounts = s.execute(sa.select(sa.func.count()).select_from(RefAccount)
                             .where(RefAccount.connection_id == conn.id)).scalar_one()
        customers = s.execute(sa.select(sa.func.count()).select_from(RefCustomer)
                              .where(RefCustomer.connection_id == conn.id)).scalar_one()
        assert accounts >= 10 and customers >= 1
        tracking = s.execute(sa.select(RefTracking.kind, RefTracking.remote_id)
                             .where(RefTracking.connection_id == conn.id)).all()
        if platform is Platform.QBO:  # classes and departments are numbered separately: both kept
            kinds = {k for k, _ in tracking}
            assert {"class", "department"} <= kinds, kinds
            ids = {(k, r) for k, r in tracking}
            assert ("class", "1") in ids and ("department", "1") in ids
        assert conn.company and conn.company["home_currency"] in {"USD", "NZD"}
        assert len(conn.company["currencies"]) >= 2
        assert audit.verify_chain(s).intact
    kinds = [e.kind for e in world.events]
    assert EventKind.CONNECTION_ESTABLISHED in kinds and EventKind.REFERENCE_DATA_REFRESHED in kinds


def test_a_viewer_cannot_connect_or_disconnect(world: World) -> None:
    with pytest.raises(PermissionDenied, match="victor is a viewer"):
        world.connections.begin_sign_in(VIEWER, "ACME-US", Platform.QBO, Environment.LOCAL)
    summary = world.connect("ACME-US")
    with pytest.raises(PermissionDenied):
        world.connections.disconnect(VIEWER, summary.id)
    assert world.connections.summary(summary.id).state == "connected"


def test_invalid_grant_means_needs_reconnect_with_one_alert_not_a_loop(world: World) -> None:
    summary = world.connect("KIWI-NZ")
    with world.db.session() as s:
        ref = s.get(LedgerConnection, summary.id).credential_ref  # type: ignore[union-attr]
    grant = world.vault.load_grant(ref)
    assert grant is not None
    # An accountant revokes the app in Xero; later the access token expires.
    world.connections.connector(summary.id)  # builds fine
    from desktop.services.auth.oauth import ClientCredentials, OAuthClient
    from desktop.services.auth.platforms import endpoints
    app = world.apps.get(Platform.XERO, Environment.LOCAL)
    OAuthClient(endpoints(Platform.XERO, Environment.LOCAL, sandbox_url=app.sandbox_url),
                ClientCredentials(app.client_id), app.redirect_uri, SystemClock()).revoke(grant.refresh_token)
    world.sandbox.control("POST", "config", {"service": "xero", "clock_offset_s": 1900})
    sent_before = len(world.issued("xero", "access"))
    for _ in range(2):
        with pytest.raises(NeedsReconnect):
            world.connections.test(ADMIN, summary.id)
    after = world.connections.summary(summary.id)
    assert after.state == "needs_reconnect"
    assert "invalid_grant" in after.state_text
    alerts = [e for e in world.events if e.kind == EventKind.CONNECTION_NEEDS_RECONNECT]
    assert len(alerts) == 1 and alerts[0].severity == "error"
    assert len(world.issued("xero", "access")) == sent_before, "no token was issued after the revocation"


def test_disconnect_revokes_and_forgets(world: World) -> None:
    summary = world.connect("ACME-US")
    with world.db.session() as s:
        ref = s.get(LedgerConnection, summary.id).credential_ref  # type: ignore[union-attr]
    grant = world.vault.load_grant(ref)
    assert grant is not None
    after = world.connections.disconnect(ADMIN, summary.id)
    assert after.state == "disconnected"
    assert world.vault.load_grant(ref) is None
    resp = world.sandbox.http.post(f"{world.sandbox.info['qbo']['base_url']}/oauth2/v1/tokens/bearer",
                                   data={"grant_type": "refresh_token", "refresh_token": grant.refresh_token},
                                   auth=(world.sandbox.info["qbo"]["client_id"],
                                         world.sandbox.info["qbo"]["client_secret"]), timeout=10)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
    with world.db.session() as s:
        actions = [a for a in s.execute(sa.text("SELECT action FROM audit_log ORDER BY seq")).scalars()]
    assert actions[-2:] == ["connection.connected", "connection.disconnected"]


def test_eight_threads_hitting_an_expired_token_refresh_once(world: World) -> None:
    summary = world.connect("ACME-US")
    connector = world.connections.connector(summary.id)
    connector.company_info()
    world.sandbox.control("POST", "config", {"service": "qbo", "clock_offset_s": 3700})  # server: expired
    before = len(world.issued("qbo", "refresh"))
    barrier = threading.Barrier(8)
    names: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            names.append(connector.company_info().name)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert names == ["Acme Outdoor Supply Inc."] * 8
    assert len(world.issued("qbo", "refresh")) == before + 1
    assert world.connections.summary(summary.id).last_refresh_at is not None


def test_token_health_warns_before_the_refresh_token_lapses(world: World) -> None:
    summary = world.connect("ACME-US")
    with world.db.write_session() as s:
        conn = s.get(LedgerConnection, summary.id)
        assert conn is not None
        conn.refresh_token_expires_at = SystemClock().now() + timedelta(days=3)
    expiring = world.connections.token_health()
    assert [c.id for c in expiring] == [summary.id]
    assert "expires in 2 days" in expiring[0].state_text or "expires in 3 days" in expiring[0].state_text
    assert any(e.kind == EventKind.CONNECTION_NEEDS_RECONNECT and e.severity == "warning" for e in world.events)


def test_no_token_leaks_into_the_database_or_data_directory(world: World, db_url: str, tmp_path: Path) -> None:
    from desktop.services.store.event_sink import EventLogSink
    sink = EventLogSink(world.db)
    sink.attach(world.bus)
    world.connect("ACME-US")
    world.connect("KIWI-NZ")
    sink.flush(10)
    sink.close()
    secrets = [t["value"] for t in world.sandbox.control("GET", "tokens")["tokens"]]
    secrets += [world.sandbox.info["qbo"]["client_secret"]]
    assert len(secrets) >= 6
    # Every value in every table, as text.
    dump: list[str] = []
    with world.db.session() as s:
        for table in _tables(world.db):
            for row in s.execute(sa.select(table)):
                dump.append(repr(tuple(row)))
    text = "\n".join(dump)
    assert "Acme Outdoor Supply" in text  # the dump is real
    for secret in secrets:
        assert secret not in text
    # The SQLite file itself (and its WAL), byte for byte.
    if db_url.startswith("sqlite"):
        for path in tmp_path.rglob("*"):
            if path.is_file():
                blob = path.read_bytes()
                for secret in secrets:
                    assert secret.encode() not in blob, f"{secret[:6]}… in {path.name}"


def _tables(db: Database) -> list[sa.Table]:
    meta = sa.MetaData()
    meta.reflect(bind=db.engine)
    return list(meta.tables.values())


def test_a_low_daily_allowance_is_announced_once(world: World) -> None:
    summary = world.connect("KIWI-NZ")
    world.connections.day_budget_warning = 4990  # Xero allows 5,000 calls a day; a few are spent connecting
    connector = world.connections.connector(summary.id)
    for _ in range(3):
        connector.company_info()
    low = [e for e in world.events if e.kind == EventKind.CONNECTION_RATE_BUDGET_LOW]
    assert len(low) == 1
    assert low[0].severity == "warning" and "API calls left today" in low[0].message
    assert int(low[0].details["day_remaining"]) < 4990
