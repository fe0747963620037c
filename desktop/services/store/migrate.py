"""Schema migrations: bring a database to the current schema, or ask where it stands.

Alembic is configured in code — the scripts ship inside the package (``migrations/``), so an
installed app (wheel or PyInstaller bundle) needs no ``alembic.ini``. The CLI's
``returns-ledger db upgrade`` and the app's start-up both call :func:`upgrade`.

Two processes may start at once (two workers on one PostgreSQL database, or the GUI and a CLI
command on one SQLite file). The upgrade therefore runs in one transaction that first takes a
lock: ``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL. The
loser waits, then finds the schema already current and does nothing. Within one process a
lock serialises calls as well, because Alembic's ``context`` is a module-level global.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url

from desktop.services.store.coltypes import ExactDecimal, ExactJSON, UTCDateTime
from desktop.services.store.db import make_engine, sqlite_immediate, transaction_lock

__all__ = ["MIGRATIONS_DIR", "current_revision", "head_revision", "migration_context_options", "upgrade"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
#: Arbitrary constant naming this app's schema-upgrade lock among PostgreSQL advisory locks.
_PG_UPGRADE_LOCK_KEY = 0x524C535F4D4947  # "RLS_MIG"
_PROCESS_LOCK = threading.Lock()


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    """Render our column types as plain SQLAlchemy types in generated migrations.

    A migration must keep producing the same DDL even if the model's Python type later changes,
    so generated scripts spell out the storage type instead of importing ours.
    """
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, ExactDecimal):
        return 'sa.Text().with_variant(sa.Numeric(), "postgresql")'
    if isinstance(obj, ExactJSON):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def migration_context_options() -> dict[str, Any]:
    """Options for ``context.configure`` — shared by ``env.py`` and the schema-drift test."""
    return {
        "render_as_batch": True,  # SQLite cannot ALTER most things; batch mode rebuilds the table
        "compare_type": True,
        "render_item": _render_item,
    }


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))  # ini escaping
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision the installed code knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return Path(parsed.database).expanduser()


#: How long a second ``db upgrade`` (or app start) on a SQLite file waits for one already migrating it:
#: the whole migration is one write transaction, which on a loaded machine outlasts the 15 s every
#: other write waits (``SQLITE_BUSY_TIMEOUT_MS``); it then finds the file current and changes nothing.
MIGRATION_BUSY_TIMEOUT_MS = 300_000


def upgrade(url: str, revision: str = "head") -> str:
    """Migrate the database at ``url`` to ``revision``; return the revision now current.

    Creates the SQLite file (and its directory) if needed. Idempotent: running it on a database
    that is already current changes nothing.
    """
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    if path is not None:
        @event.listens_for(engine, "connect")  # after make_engine's own: this busy_timeout wins
        def _wait_for_the_other_upgrade(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout={MIGRATION_BUSY_TIMEOUT_MS}")
            finally:
                cursor.close()
    try:
        with _PROCESS_LOCK, sqlite_immediate(engine).begin() as conn:
            transaction_lock(conn, _PG_UPGRADE_LOCK_KEY)
            command.upgrade(_config(conn), revision)
            now = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    if now is None:
        raise RuntimeError(f"database has no revision after upgrading to {revision!r}")
    return now


def current_revision(url: str) -> str | None:
    """The database's revision, or ``None`` if it was never migrated (or the file is absent)."""
    path = _sqlite_path(url)
    if path is not None and not path.exists():
        return None
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
