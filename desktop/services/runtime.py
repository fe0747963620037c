"""Qt-free factories shared by the app's composition root and the headless commands.

The GUI (``desktop.app.build_services``) and commands such as ``returns-ledger connect`` need the
same token vault (with the same inter-process lock, so a CLI refresh and a running app never
race on a rotating refresh token) and the same connection service. Building them here, once,
keeps the two from drifting apart.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.services.auth.roles import Actor
    from desktop.services.auth.vault import TokenVault
    from desktop.services.clock import Clock, SystemClock
    from desktop.services.config import AppConfig
    from desktop.services.connections.service import ConnectionService
    from desktop.services.events import EventBus
    from desktop.services.store.db import Database


def login_name() -> str:
    """The OS login name (the actor until real sign-in and roles land)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def connection_service(database: Database, bus: EventBus, clock: Clock, data_dir: Path
                       ) -> tuple[TokenVault, ConnectionService]:
    """The token vault and the connection service over ``database``.

    The vault's process lock is a PostgreSQL advisory lock when several machines may share the
    database, else a file lock in the data directory: either way one refresh at a time across
    every process that uses these tokens.
    """
    from desktop.services.auth.locks import FileLock, PostgresAdvisoryLock
    from desktop.services.auth.vault import TokenVault
    from desktop.services.connections.apps import OAuthApps
    from desktop.services.connections.service import ConnectionService

    lock = (PostgresAdvisoryLock(database.engine) if database.dialect_name == "postgresql"
            else FileLock(data_dir))
    vault = TokenVault(clock, process_lock=lock)
    return vault, ConnectionService(database, vault, bus, clock, OAuthApps(database, vault, clock))


@dataclass
class Runtime:
    """What a headless command runs on; :meth:`close` releases it (use as a context manager)."""

    database: Database
    clock: SystemClock
    bus: EventBus
    vault: TokenVault
    connections: ConnectionService
    actor: Actor
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        while self._stops:
            self._stops.pop()()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_runtime(config: AppConfig) -> Runtime:
    """Migrate the database and build the services a command needs (events go to the event log)."""
    from desktop.services.auth.roles import Actor, Role
    from desktop.services.clock import SystemClock
    from desktop.services.events import EventBus
    from desktop.services.store.db import Database
    from desktop.services.store.event_sink import EventLogSink
    from desktop.services.store.migrate import upgrade

    config.ensure_dirs()
    upgrade(config.db_url)
    database = Database(config.db_url)
    stops: list[Callable[[], None]] = [database.dispose]
    try:
        clock = SystemClock()
        bus = EventBus(clock)
        sink = EventLogSink(database)
        sink.attach(bus)
        stops.append(sink.close)
        vault, connections = connection_service(database, bus, clock, config.data_dir)
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise
    return Runtime(database, clock, bus, vault, connections, Actor(login_name(), Role.ADMIN), stops)
