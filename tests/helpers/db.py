"""Real databases for tests: a SQLite file or a throwaway PostgreSQL database, migrated like the app's.

Run the suite through ``scripts/test.sh``: it starts a throwaway PostgreSQL server and exports
``RLS_TEST_PG_URL``. Without that variable the PostgreSQL half of every database test fails with a
message saying so (set ``RLS_ALLOW_NO_PG=1`` to skip it instead while iterating locally).
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from desktop.services.store.db import Database

BACKENDS = ("sqlite", "postgresql")


def pg_server_url() -> str:
    """The PostgreSQL server the suite may create databases on (fails or skips the test without one)."""
    url = os.environ.get("RLS_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("RLS_ALLOW_NO_PG") == "1":
        pytest.skip("PostgreSQL not configured (RLS_ALLOW_NO_PG=1)")
    pytest.fail("RLS_TEST_PG_URL is not set: run the suite through scripts/test.sh, which starts "
                "a throwaway PostgreSQL server", pytrace=False)


def create_pg_database(server_url: str, prefix: str = "rls_test") -> tuple[str, str]:
    """A new empty database on ``server_url``: (its name, its URL)."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = server_url.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def drop_pg_database(server_url: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def pg_database() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL database, dropped afterwards."""
    server = pg_server_url()
    name, url = create_pg_database(server)
    try:
        yield url
    finally:
        drop_pg_database(server, name)


@contextmanager
def database_url(backend: str, directory: Path) -> Iterator[str]:
    """An empty database URL: a WAL-mode SQLite file in ``directory``, or a throwaway PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'test.sqlite3'}"
        return
    with pg_database() as url:
        yield url


_TEMPLATES: dict[str, str] = {}


def _sqlite_template() -> str:
    """This process's SQLite file migrated to the newest schema by the app's own :func:`upgrade`
    (made on first use, removed at exit)."""
    if "sqlite" not in _TEMPLATES:
        from desktop.services.store.migrate import upgrade

        folder = Path(tempfile.mkdtemp(prefix="rls-sqlite-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.sqlite3"
        upgrade(f"sqlite:///{path}")
        with sqlite3.connect(path) as conn:  # everything in the main file, so copying it alone is whole
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        _TEMPLATES["sqlite"] = str(path)
    return _TEMPLATES["sqlite"]


def _pg_template(server: str) -> str:
    """The name of this process's PostgreSQL database migrated by the app's own :func:`upgrade`
    (made on first use, dropped at exit); nothing stays connected to it, so it can be copied."""
    if server not in _TEMPLATES:
        from desktop.services.store.migrate import upgrade

        name, url = create_pg_database(server, prefix="rls_template")
        atexit.register(drop_pg_database, server, name)
        upgrade(url)
        _TEMPLATES[server] = name
    return _TEMPLATES[server]


def from_template(url: str) -> None:
    """Give an empty test database the newest schema by copying this process's migrated template
    (running every migration per test cost about 0.3 s on SQLite and 0.5 s on PostgreSQL, more on a
    loaded machine): a SQLite file that does not exist yet becomes a copy of the template file; a
    PostgreSQL database with no tables at all is dropped and made again ``TEMPLATE`` the template
    database. The app's :func:`upgrade` still runs on it afterwards and finds it current. Anything
    else (a database with tables, another kind of URL) is left alone."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return
        path = Path(parsed.database).expanduser()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_sqlite_template(), path)
        return
    server = os.environ.get("RLS_TEST_PG_URL")
    if parsed.get_backend_name() != "postgresql" or not server or not parsed.database:
        return
    here = make_url(server)
    if (parsed.host, parsed.port, parsed.username) != (here.host, here.port, here.username):
        return  # not a database of the suite's server as its owner
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            tables = conn.execute(sa.text("SELECT count(*) FROM pg_catalog.pg_tables "
                                          "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")).scalar()
    finally:
        engine.dispose()
    if tables:
        return
    template = _pg_template(server)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            try:  # never from under someone connected to it: then it is simply migrated as before
                conn.execute(sa.text(f'DROP DATABASE "{parsed.database}"'))
            except sa.exc.DBAPIError:
                return
            try:
                conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}" TEMPLATE "{template}"'))
            except sa.exc.DBAPIError:
                conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))  # empty again, as it was
    finally:
        admin.dispose()


@contextmanager
def migrated(url: str) -> Iterator[Database]:
    """``url`` migrated to the newest schema (as the app does at start-up), open, disposed afterwards."""
    from desktop.services.store.db import Database
    from desktop.services.store.migrate import upgrade

    from_template(url)
    upgrade(url)
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


def unexpected_warnings(records: list[logging.LogRecord]) -> str | None:
    """What to fail a test with when it logged WARNING-or-worse records it did not ask for, else None."""
    bad = [r for r in records if r.levelno >= logging.WARNING]
    if not bad:
        return None
    lines = "\n".join(f"  {r.levelname} {r.name}: {r.getMessage()}" for r in bad[:10])
    return f"unexpected WARNING-or-worse log records:\n{lines}"
