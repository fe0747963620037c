"""Migrations on real databases: from empty, idempotent, concurrent, and in step with the models."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import DBAPIError

from desktop.services.store import migrate
from desktop.services.store.db import Database, make_engine
from desktop.services.store.models import AuditLog, metadata

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_every_table(db_url: str) -> None:
    assert migrate.current_revision(db_url) is None

    revision = migrate.upgrade(db_url)

    assert revision == migrate.head_revision() == "0008"
    assert migrate.current_revision(db_url) == revision
    assert _tables(db_url) == set(metadata.tables) | {"alembic_version"}


def test_upgrade_is_idempotent(db_url: str) -> None:
    first = migrate.upgrade(db_url)
    tables = _tables(db_url)

    second = migrate.upgrade(db_url)

    assert second == first == migrate.head_revision()
    assert _tables(db_url) == tables


def test_concurrent_upgrades_both_succeed(db_url: str) -> None:
    """Two processes starting at once (GUI + CLI, or two workers) must not race the DDL."""
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate.upgrade(db_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    assert results == [migrate.head_revision()] * 2


def test_models_and_migrations_agree(db_url: str) -> None:
    """Autogenerate finds nothing to do after upgrade: the migration builds exactly the models."""
    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=migrate.migration_context_options())
            diff = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_upgrade_creates_the_sqlite_directory(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "app.sqlite3"
    url = f"sqlite:///{target}"
    assert migrate.current_revision(url) is None
    assert not target.exists()  # asking must not create the file

    assert migrate.upgrade(url) == migrate.head_revision()

    assert target.is_file()


def test_constraint_names_fit_postgresql_identifiers() -> None:
    """PostgreSQL truncates names past 63 bytes; SQLite does not — names must be equal on both."""
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    dialect = sqlite.dialect()
    too_long: list[str] = []
    for table in metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        ddl += "".join(str(CreateIndex(ix).compile(dialect=dialect)) for ix in table.indexes)
        for word in ddl.replace("(", " ").split():
            if word.startswith(("pk_", "uq_", "fk_", "ck_", "ix_")) and len(word) > 63:
                too_long.append(word)
    assert too_long == []


def test_audit_log_is_append_only_in_the_database(db_url: str) -> None:
    migrate.upgrade(db_url)
    db = Database(db_url)
    try:
        with db.write_session() as session:
            session.add(AuditLog(occurred_at=T0, actor="alice", action="mapping.changed", target="set 1",
                                 details={"rules": 3}, prev_hash="0" * 64, hash="a" * 64))
        with db.session() as session:
            assert session.scalars(sa.select(AuditLog.actor)).all() == ["alice"]

        for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"), db.write_session() as session:
                session.execute(sa.text(statement))

        with db.session() as session:
            assert session.scalars(sa.select(AuditLog.actor)).all() == ["alice"]
    finally:
        db.dispose()


def test_0002_moves_hand_entered_documents_to_awaiting_adoption(db_url: str) -> None:
    """Before 0002 a hand-entered document was a quarantined row with a magic key in its error."""
    assert migrate.upgrade(db_url, "0001") == "0001"
    engine = make_engine(db_url)
    waiting = {"kind": "needs_person", "awaiting_adoption": "HAND-7", "message": "To be adopted as HAND-7"}
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO organizations (code, name, platform, home_currency, timezone, "
                                 "settings, is_active, created_at, updated_at) VALUES ('ORG', 'Org', 'qbo', 'USD', "
                                 "'UTC', '{}', true, :t, :t)"), {"t": T0})
            for key, err in (("k-waiting", waiting), ("k-refused", {"kind": "fatal", "message": "400"})):
                conn.execute(sa.text(
                    "INSERT INTO outbox_documents (organization_id, idempotency_key, role, platform, doc_type, "
                    "payload, status, attempts, last_error, created_at, updated_at) VALUES ((SELECT id FROM "
                    "organizations), :k, 'refund', 'qbo', 'CreditMemo', '{}', 'quarantined', 0, :e, :t, :t)"),
                    {"k": key, "e": json.dumps(err), "t": T0})

        assert migrate.upgrade(db_url, "0002") == "0002"

        with engine.connect() as conn:
            rows = {r.idempotency_key: r for r in conn.execute(sa.text(
                "SELECT idempotency_key, status, awaiting_number, last_error FROM outbox_documents"))}
        assert rows["k-waiting"].status == "awaiting_adoption" and rows["k-waiting"].awaiting_number == "HAND-7"
        left = rows["k-waiting"].last_error
        assert "awaiting_adoption" not in (json.loads(left) if isinstance(left, str) else left)
        assert rows["k-refused"].status == "quarantined" and rows["k-refused"].awaiting_number is None
        with pytest.raises(DBAPIError), engine.begin() as conn:  # the CHECK constraint knows the states
            conn.execute(sa.text("UPDATE outbox_documents SET status = 'lost' WHERE idempotency_key = 'k-refused'"))
    finally:
        engine.dispose()


def test_downgrade_to_nothing_and_back(db_url: str) -> None:
    """Every migration can be undone (0002 back to the magic key, 0001 dropping every table)."""
    from alembic import command

    migrate.upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.begin() as conn:
            command.downgrade(migrate._config(conn), "base")
    finally:
        engine.dispose()
    assert _tables(db_url) <= {"alembic_version"}
    assert migrate.upgrade(db_url) == migrate.head_revision()
    assert _tables(db_url) == set(metadata.tables) | {"alembic_version"}
