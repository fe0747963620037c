"""Inter-process locks for single-flight token refresh.

Two processes that share a connection (two workers on one PostgreSQL database, or the GUI and
a headless worker on one workstation) must never refresh the same grant at once: the loser
would present a refresh token the platform has just rotated away and get ``invalid_grant``.

- :class:`PostgresAdvisoryLock`: a session-level advisory lock keyed by the connection id,
  for processes that share a PostgreSQL database (possibly on different machines).
- :class:`FileLock`: an ``flock`` on a file in the data directory, for processes on one
  machine sharing a SQLite database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` from any string."""
    digest = hashlib.sha256(f"returns-ledger:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresAdvisoryLock:
    """``lock(name)`` holds ``pg_advisory_lock`` on a dedicated connection while inside."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        key = _lock_key(name)
        with self._engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


class FileLock:
    """``lock(name)`` holds an exclusive ``flock`` on ``DIR/locks/<hash>.lock`` while inside."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory / "locks"

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        import fcntl  # POSIX only; Windows installs use the PostgreSQL lock or a single process

        self._dir.mkdir(parents=True, exist_ok=True)
        path = self._dir / f"{hashlib.sha256(name.encode()).hexdigest()[:32]}.lock"
        with path.open("a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
