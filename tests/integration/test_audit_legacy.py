"""A database from before sealing: migration 0003 leaves its plain SHA-256 entries as they were (never
re-sealed), the first sealed entry records the boundary, and from then on the old entries cannot change
either. On SQLite and PostgreSQL; the downgrade keeps the append-only guard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from desktop.services.admin import audit
from desktop.services.core.clock import ManualClock
from desktop.services.store import migrate
from desktop.services.store.db import Database, make_engine
from desktop.services.store.models import AuditLog

pytestmark = pytest.mark.db

T0 = datetime(2026, 2, 1, 8, 0, tzinfo=UTC)
LEGACY = 5


def _legacy_rows(db_url: str) -> None:
    """Five entries written the way the app wrote them before sealing (schema 0002, plain SHA-256)."""
    engine = make_engine(db_url)
    prev = audit.GENESIS
    try:
        with engine.begin() as conn:
            for i in range(1, LEGACY + 1):
                at = T0 + timedelta(minutes=i)
                own = audit.legacy_digest(prev, at.isoformat(), "alice", "mapping.changed", f"set {i}", None, {"n": i})
                conn.execute(sa.insert(AuditLog.__table__).values(  # only the columns schema 0002 has
                    seq=i, occurred_at=at, actor="alice", action="mapping.changed", target=f"set {i}",
                    organization_id=None, details={"n": i}, prev_hash=prev, hash=own))
                prev = own
    finally:
        engine.dispose()


@pytest.fixture
def upgraded(db_url: str) -> Iterator[Database]:
    assert migrate.upgrade(db_url, "0002") == "0002"
    _legacy_rows(db_url)
    assert migrate.upgrade(db_url) == migrate.head_revision()
    db = Database(db_url)
    yield db
    db.dispose()


def _verify(db: Database) -> audit.ChainReport:
    with db.session() as s:
        return audit.verify_chain(s)


def _update(db: Database, statement: str, params: dict[str, Any] | None = None) -> None:
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        else:
            conn.execute(sa.text("DROP TRIGGER IF EXISTS audit_log_no_update"))
        conn.execute(sa.text(statement), params or {})


def test_old_entries_stay_as_they_were_and_verify_under_their_old_rule(upgraded: Database) -> None:
    with upgraded.session() as s:
        before = list(s.execute(sa.text("SELECT seq, hash, key_id, keyed_from FROM audit_log ORDER BY seq")))
    assert [(r[2], r[3]) for r in before] == [(None, None)] * LEGACY, "the migration re-sealed nothing"
    report = _verify(upgraded)
    assert report.intact and report.legacy_entries == LEGACY and report.keyed_from is None


def test_the_first_sealed_entry_records_the_boundary(upgraded: Database) -> None:
    clock = ManualClock(T0 + timedelta(days=1))
    with upgraded.write_session() as s:
        for i in range(3):
            audit.append(s, clock, actor="ben", action="user.added", target=f"u{i}")
    with upgraded.session() as s:
        rows = list(s.execute(sa.text("SELECT seq, prev_hash, key_id, keyed_from FROM audit_log WHERE seq > :n "
                                      "ORDER BY seq"), {"n": LEGACY}))
        legacy_head = s.scalar(sa.text("SELECT hash FROM audit_log WHERE seq = :n"), {"n": LEGACY})
    assert [r[0] for r in rows] == [6, 7, 8]
    assert rows[0][3] == LEGACY + 1 and rows[0][1] == legacy_head and rows[0][2]
    assert [r[3] for r in rows[1:]] == [None, None]
    report = _verify(upgraded)
    assert report.intact and (report.entries, report.legacy_entries, report.keyed_from) == (8, LEGACY, 6)


def test_after_sealing_began_the_old_entries_cannot_be_rewritten(upgraded: Database) -> None:
    clock = ManualClock(T0 + timedelta(days=1))
    with upgraded.write_session() as s:
        audit.append(s, clock, actor="ben", action="user.added", target="u")
    # edit entry 2 and recompute the plain links of 2…5: the legacy part is consistent again…
    _update(upgraded, "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2")
    with upgraded.session() as s:
        prev = s.scalar(sa.select(AuditLog.hash).where(AuditLog.seq == 1))
        edited = list(s.scalars(sa.select(AuditLog).where(AuditLog.seq.between(2, LEGACY)).order_by(AuditLog.seq)))
    for row in edited:
        own = audit.legacy_digest(prev, row.occurred_at.isoformat(), row.actor, row.action, row.target,
                                  row.organization_id, row.details)
        _update(upgraded, "UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s",
                {"p": prev, "h": own, "s": row.seq})
        prev = own
    # …but the first sealed entry sealed the old head: it no longer follows
    report = _verify(upgraded)
    assert not report.intact and (report.first_broken_seq, report.problem) == (LEGACY, "link")
    assert "sealing began" in report.reason


def test_an_old_entry_edited_without_recomputing_is_named(upgraded: Database) -> None:
    _update(upgraded, "UPDATE audit_log SET target = 'set 99' WHERE seq = 3")
    report = _verify(upgraded)
    assert (report.intact, report.first_broken_seq, report.problem) == (False, 3, "changed")


def test_downgrade_drops_the_columns_and_keeps_the_append_only_guard(upgraded: Database, db_url: str) -> None:
    from alembic import command

    upgraded.dispose()
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.downgrade(migrate._config(conn), "0002")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("audit_log")}
        assert not {"key_id", "keyed_from", "rma"} & columns
        for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()
