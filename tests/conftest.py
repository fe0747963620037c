"""Shared fixtures: intolerant logging, and databases that are real (SQLite file + PostgreSQL).

Run the suite through ``scripts/test.sh``: it starts the private D-Bus session with gnome-keyring
and a throwaway PostgreSQL server and exports ``RLS_TEST_PG_URL``. Without that variable the
PostgreSQL half of every database test fails with a message saying so (set ``RLS_ALLOW_NO_PG=1``
to skip it instead while iterating locally).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ("sqlite", "postgresql")

# Headless Qt: no GPU. Without this Chromium (QtWebEngine) probes for one and warns, and the
# suite treats Qt warnings as failures. Set before any QApplication exists.
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")


@pytest.fixture(autouse=True)
def _fail_on_unexpected_warning_logs(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Any WARNING-or-worse log record a test did not ask for fails it (qutebrowser style)."""
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_log_warnings"):
        return
    bad = [r for r in caplog.get_records("call") if r.levelno >= logging.WARNING]
    if bad:
        lines = "\n".join(f"  {r.levelname} {r.name}: {r.getMessage()}" for r in bad[:10])
        pytest.fail(f"unexpected WARNING-or-worse log records:\n{lines}", pytrace=False)


def _pg_server_url() -> str | None:
    url = os.environ.get("RLS_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("RLS_ALLOW_NO_PG") == "1":
        pytest.skip("PostgreSQL not configured (RLS_ALLOW_NO_PG=1)")
    pytest.fail("RLS_TEST_PG_URL is not set: run the suite through scripts/test.sh, which starts "
                "a throwaway PostgreSQL server", pytrace=False)
    return None


def _create_pg_database(server_url: str) -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"rls_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = server_url.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_pg_database(server_url: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once for SQLite (a WAL-mode file) and once for PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    server = _pg_server_url()
    assert server is not None
    name, url = _create_pg_database(server)
    try:
        yield url
    finally:
        _drop_pg_database(server, name)
