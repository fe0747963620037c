"""One rule picks an organization's ledger connection for every stage (push, planning, mapping,
manual entry, pull, reconciliation): the connected one connected most recently."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from desktop.services.store.connection_choice import connected_org, org_connection
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    ConnectionStatus,
    LedgerConnection,
    LedgerEnvironment,
    Organization,
    Platform,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    upgrade(db_url)
    db = Database(db_url)
    yield db
    db.dispose()


def _add(s, org_id: int, ref: str, status: ConnectionStatus, *, connected: datetime | None,  # type: ignore[no-untyped-def]
         updated: datetime) -> int:
    conn = LedgerConnection(organization_id=org_id, platform=Platform.QBO, environment=LedgerEnvironment.LOCAL,
                            remote_id=ref, credential_ref=ref, status=status, connected_at=connected,
                            created_at=NOW, updated_at=updated)
    s.add(conn)
    s.flush()
    return conn.id


def test_every_stage_picks_the_most_recently_connected_connection(database: Database) -> None:
    with database.write_session() as s:
        org = Organization(code="ACME-US", name="Acme", platform=Platform.QBO, timezone="UTC", home_currency="USD",
                           settings={}, created_at=NOW, updated_at=NOW)
        s.add(org)
        s.flush()
        # Connected first, but its tokens were refreshed last (updated_at newest): not the choice.
        _add(s, org.id, "old", ConnectionStatus.CONNECTED, connected=NOW - timedelta(days=30), updated=NOW)
        newest = _add(s, org.id, "new", ConnectionStatus.CONNECTED, connected=NOW - timedelta(days=1),
                      updated=NOW - timedelta(hours=5))
        # Never connected (NULL connected_at sorts last on both databases) and disconnected ones lose.
        _add(s, org.id, "never", ConnectionStatus.CONNECTED, connected=None, updated=NOW + timedelta(hours=1))
        _add(s, org.id, "gone", ConnectionStatus.DISCONNECTED, connected=NOW, updated=NOW + timedelta(hours=2))
        org_id = org.id
    with database.session() as s:
        assert org_connection(s, org_id) == newest
        assert org_connection(s, org_id, connected_only=True) == newest
        _org, conn = connected_org(s, "ACME-US")
        assert conn is not None and conn.id == newest


def test_without_a_connected_connection_only_callers_that_can_wait_get_one(database: Database) -> None:
    with database.write_session() as s:
        org = Organization(code="MAPLE", name="Maple", platform=Platform.QBO, timezone="UTC", home_currency="CAD",
                           settings={}, created_at=NOW, updated_at=NOW)
        s.add(org)
        s.flush()
        _add(s, org.id, "a", ConnectionStatus.DISCONNECTED, connected=NOW, updated=NOW - timedelta(days=2))
        latest = _add(s, org.id, "b", ConnectionStatus.DISCONNECTED, connected=None, updated=NOW)
        org_id = org.id
    with database.session() as s:
        assert org_connection(s, org_id) == latest
        assert org_connection(s, org_id, connected_only=True) is None
        assert connected_org(s, "MAPLE")[1] is None
