"""Engines and sessions: a SQLite file (single user) or PostgreSQL (shared, several workers).

SQLite discipline — one writer at a time:

- The file runs in WAL mode, so readers never block the writer and the writer never blocks
  readers; ``synchronous=NORMAL`` is durable across application crashes in WAL mode (only an OS
  crash can lose the last commits, never corrupt the file); ``foreign_keys=ON`` because SQLite
  ignores FKs otherwise; ``busy_timeout`` makes a second *process* wait for the lock instead of
  failing at once.
- We take transaction control away from the ``sqlite3`` driver (its legacy mode never BEGINs
  before a SELECT) and emit ``BEGIN`` ourselves. :meth:`Database.write_session` emits
  ``BEGIN IMMEDIATE``: the write lock is taken at the start, so a transaction never reads a
  snapshot and then fails to upgrade it (``SQLITE_BUSY_SNAPSHOT``, which no timeout can cure).
  Inside one process an additional lock serialises write sessions, so threads queue politely
  instead of spinning on ``busy_timeout``.
- :meth:`Database.session` is for reading (a deferred ``BEGIN``). Anything that writes should use
  :meth:`Database.write_session`; on PostgreSQL the two are the same thing.

PostgreSQL: ``pool_pre_ping`` so a server restart costs one reconnect rather than an error;
workers share the database and claim outbox rows with ``FOR UPDATE SKIP LOCKED``. Each person
connects as their own PostgreSQL login (``--db postgresql+psycopg://alice@host/db``); a password,
if the server wants one, comes from the OS keyring (:func:`save_db_password`), never from the URL
shown anywhere or from an environment variable. :meth:`Database.login` is who the database says
is connected: the actor's identity in shared mode.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from desktop.services.core.config import KEYRING_SERVICE
from desktop.services.core.identity import os_login
from desktop.services.store.coltypes import json_dumps_exact, json_loads_exact

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "Database", "db_password_entry", "make_engine", "save_db_password",
           "sqlite_immediate", "transaction_lock"]

SQLITE_BUSY_TIMEOUT_MS = 15_000
_BEGIN_OPTION = "rls_sqlite_begin"


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver (see the module docstring); COMMIT/ROLLBACK still work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the project's settings (see the module docstring).

    JSON columns are (de)serialised with :func:`json_dumps_exact` / :func:`json_loads_exact`, so
    Decimal values in JSON round-trip exactly and floats never sneak in. Extra keyword arguments
    go to :func:`sqlalchemy.create_engine` (tests use ``echo`` or pool sizes).
    """
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", json_dumps_exact)
    kwargs.setdefault("json_deserializer", json_loads_exact)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise ValueError("the app's SQLite database must be a file (WAL mode needs one)")
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        _install_sqlite_hooks(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        # Organizations sync in parallel (up to scheduler.MAX_PARALLEL = 64 at once), each holding an
        # advisory-lock connection besides its session, plus the event log and the token lock: room
        # for all of them. The pool opens a connection only when one is needed at that moment.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 2 * 64 + 12)
        engine = create_engine(parsed, **kwargs)
        entry = db_password_entry(url)
        if entry is not None and parsed.password is None:
            _install_keyring_password(engine, entry)
        return engine
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL")


def db_password_entry(url: str) -> str | None:
    """The keyring entry holding the password of ``url``'s PostgreSQL login (None: no login named)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.username:
        return None
    return f"db:{parsed.username}@{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def save_db_password(url: str, password: str) -> str:
    """Keep the password of ``url``'s PostgreSQL login in the OS keyring; returns the entry's name."""
    import keyring

    from desktop.services.core.keyring_calls import steady

    entry = db_password_entry(url)
    if entry is None:
        raise ValueError("a password is kept only for a PostgreSQL URL that names its user")
    steady(lambda: keyring.set_password(KEYRING_SERVICE, entry, password))
    return entry


def _install_keyring_password(engine: Engine, entry: str) -> None:
    """Give every new connection the login's password from the keyring (read once, when first needed)."""
    found: list[str | None] = []

    @event.listens_for(engine, "do_connect")
    def _password(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        if not found:
            found.append(_keyring_password(entry))
        if found[0] is not None and cparams.get("password") is None:
            cparams["password"] = found[0]


def _keyring_password(entry: str) -> str | None:
    import keyring
    import keyring.errors

    from desktop.services.core.keyring_calls import steady

    try:
        return steady(lambda: keyring.get_password(KEYRING_SERVICE, entry))
    except keyring.errors.KeyringError:
        # No usable keyring: connect without a password; a server that wants one refuses the
        # sign-in, and that failure tells the person to check the password in the keyring.
        return None


def sqlite_immediate(engine: Engine) -> Engine:
    """The same engine, but its transactions on SQLite start with ``BEGIN IMMEDIATE``.

    For code that writes without a :class:`Database` (migrations). On PostgreSQL it returns
    ``engine`` unchanged. The returned engine shares ``engine``'s pool.
    """
    if engine.dialect.name != "sqlite":
        return engine
    return engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})


def transaction_lock(conn: Connection | Session, key: int) -> None:
    """Serialise this transaction with every other one that takes ``key``, until it ends.

    PostgreSQL: ``pg_advisory_xact_lock`` (released at commit or rollback, across processes and
    machines). SQLite: nothing to do — a write transaction there already holds the one writer lock
    (``BEGIN IMMEDIATE``). Use it for check-then-insert races no unique row exists yet to lock.
    """
    bind = conn.connection() if isinstance(conn, Session) else conn
    if bind.dialect.name == "postgresql":
        bind.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


@contextmanager
def _unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session from ``sessions`` that commits when the block succeeds and rolls back when it raises."""
    with sessions() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class Database:
    """The app's handle on its database: an engine plus transactional session scopes.

    Sessions are created with ``expire_on_commit=False``: the desktop app hands loaded rows to
    views after the transaction ends, and they must stay readable (as detached snapshots) rather
    than trigger lazy reloads from the GUI thread.
    """

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        if self.is_sqlite:
            self._write_sessions = sessionmaker(bind=sqlite_immediate(self.engine), expire_on_commit=False)
        else:
            self._write_sessions = self._sessions
        self._write_lock = threading.Lock()
        self._local = threading.local()

    @property
    def dialect_name(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect_name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit when the block succeeds, roll back when it raises."""
        with _unit_of_work(self._sessions) as session:
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A unit of work that writes: on SQLite, the single writer (``BEGIN IMMEDIATE``).

        Keep these short — every other writer in the process waits on this one. On PostgreSQL this
        is an ordinary session; concurrency there is row locks' business.
        """
        if not self.is_sqlite:
            with self.session() as session:
                yield session
            return
        if getattr(self._local, "writing", False):
            # A second writer in the same thread would wait forever on the first one's lock.
            raise RuntimeError("write_session() is already open in this thread; pass its session down")
        with self._write_lock:
            self._local.writing = True
            try:
                with _unit_of_work(self._write_sessions) as session:
                    yield session
            finally:
                self._local.writing = False

    def login(self) -> str:
        """Who is connected: the OS account on SQLite, the PostgreSQL login (``session_user``) on PostgreSQL.

        In shared mode the database vouches for this name (it authenticated the connection);
        nothing in the environment can change it.
        """
        if self.is_sqlite:
            return os_login()
        with self.engine.connect() as conn:
            return str(conn.exec_driver_sql("SELECT session_user").scalar_one())

    def dispose(self) -> None:
        """Close every pooled connection (on shutdown, and in tests before deleting the file)."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"
