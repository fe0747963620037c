"""Qt-free factories shared by the app's composition root and the headless commands.

The GUI (``desktop.app.build_services``) and commands such as ``returns-ledger connect`` need the
same token vault (with the same inter-process lock, so a CLI refresh and a running app never
race on a rotating refresh token) and the same connection service. Building them here, once,
keeps the two from drifting apart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.services.core.identity import os_login

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.services.admin.users import UserService
    from desktop.services.auth.roles import Actor
    from desktop.services.auth.vault import TokenVault
    from desktop.services.connections.service import ConnectionService
    from desktop.services.core.clock import Clock, SystemClock
    from desktop.services.core.config import AppConfig
    from desktop.services.core.events import EventBus
    from desktop.services.pipeline.scheduler import SyncScheduler
    from desktop.services.rms.client import RmsClient
    from desktop.services.store.db import Database
def login_name() -> str:
    """The OS account's login name (the actor in single-workstation mode; see ``Database.login``)."""
    return os_login()


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
    """What a headless command runs on; :meth:`close` releases it (use as a context manager).

    ``actor`` is the person running the command, as the ``users`` table knows them; a command that
    ends in :class:`PermissionDenied` leaves an ``access.refused`` entry in the audit log.
    """

    database: Database
    clock: SystemClock
    bus: EventBus
    vault: TokenVault
    connections: ConnectionService
    actor: Actor
    users: UserService
    _stops: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def close(self) -> None:
        while self._stops:
            self._stops.pop()()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        from desktop.services.core.errors import PermissionDenied
        try:
            if isinstance(exc, PermissionDenied):
                self.users.record_refusal(exc)
        finally:
            self.close()


def open_runtime(config: AppConfig) -> Runtime:
    """Migrate the database and build the services a command needs (events go to the event log).

    The actor is whoever the database says is connected (the OS account on SQLite, the PostgreSQL
    login in shared mode), in the role the ``users`` table gives them; someone not enrolled is
    refused (:class:`PermissionDenied`, audited), except the first person on an empty installation.
    """
    from desktop.services.admin.users import UserService
    from desktop.services.core.clock import SystemClock
    from desktop.services.core.events import EventBus
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
        stops.append(connections.usage.try_flush)  # what a command counted, stored before the database closes
        users = UserService(database, clock, bus)
        actor = users.signed_in()
    except BaseException:
        for stop in reversed(stops):
            stop()
        raise
    return Runtime(database, clock, bus, vault, connections, actor, users, stops)


# --- the RMS endpoint ------------------------------------------------------------------------

def configure_rms(database: Database, vault: TokenVault, clock: Clock, actor: Actor, base_url: str,
                  api_key: str) -> None:
    """Remember where the RMS is (a setting) and its API key (the OS keyring, never the database)."""
    from desktop.services.rms.endpoint import RmsEndpoint
    RmsEndpoint(database, vault, clock).save(actor, base_url, api_key)


def rms_client_factory(database: Database, vault: TokenVault, stopping: threading.Event | None = None, *,
                       sleep: Callable[[float], None] | None = None, monotonic: Callable[[], float] | None = None
                       ) -> Callable[[str], RmsClient | None]:
    """``org code → RmsClient`` (one RMS serves every organization), or None if none is configured.

    ``stopping``, once set, makes requests waiting on the RMS's rate limit give up (shutdown);
    ``sleep``/``monotonic`` are how it waits (a connection service's, so tests wait on a manual clock).
    """
    import time

    from desktop.services.rms.client import RmsClient, default_http
    from desktop.services.rms.endpoint import stored_base_url
    cache: dict[str, RmsClient | None] = {}
    once = threading.Lock()  # organizations start in parallel: one client (one throttle, one keyring read)

    def client_for(_org: str) -> RmsClient | None:
        with once:
            return _cached()

    def _cached() -> RmsClient | None:
        if "rms" not in cache:
            url = stored_base_url(database)
            key = vault.load_client_secret("rms", "api", url) if url else None
            http = default_http(sleep=sleep or time.sleep, monotonic=monotonic or time.monotonic)
            client = RmsClient(url, key, http=http) if url and key else None
            if client is not None:
                client.http.throttle.stopping = stopping
            cache["rms"] = client
        return cache["rms"]

    return client_for


# --- webhook keys ----------------------------------------------------------------------------

# Kept under each platform's ``webhook_key_name`` (QBO: the app's verifier token; Xero: the webhook
# signing key). Both come from the platform's developer portal; the demo makes its own.

def save_webhook_key(vault: TokenVault, platform: str, key: str) -> None:
    from desktop.services.platforms.registry import platform_for
    vault.save_client_secret(platform, "webhook", platform_for(platform).webhook_key_name, key)


def load_webhook_key(vault: TokenVault, platform: str) -> str | None:
    from desktop.services.platforms.registry import platform_for
    return vault.load_client_secret(platform, "webhook", platform_for(platform).webhook_key_name)


# --- the sync pipeline and its scheduler ------------------------------------------------------

def sync_scheduler(database: Database, bus: EventBus, clock: Clock, connections: ConnectionService,
                   vault: TokenVault, actor: Actor, *, worker_id: str | None = None,
                   parallel: int | None = None) -> SyncScheduler:
    """The scheduler over the real pipeline — RMS ingest, the sync engine, the ledger pull — not started.

    The GUI and ``returns-ledger worker`` / ``sync --once`` build it the same way; call
    ``start()`` to schedule, ``sync_now(org)`` for one cycle, ``shutdown()`` when done.
    ``parallel``: organizations at most at once; by default the ``sync.parallel_organizations``
    setting, else ``scheduler.DEFAULT_PARALLEL`` (every organization with work, up to ``MAX_PARALLEL``).
    """
    from desktop.services.manual import ManualEntryService
    from desktop.services.mapping.service import MappingService
    from desktop.services.pipeline.engine import SyncEngine
    from desktop.services.pipeline.plan import Planner, connector_rates
    from desktop.services.pipeline.poster import default_lock
    from desktop.services.pipeline.pull import PullService
    from desktop.services.pipeline.scheduler import PipelineSteps, SyncScheduler
    from desktop.services.rms.ingest import IngestService
    rms_for = rms_client_factory(database, vault, connections.stopping, sleep=connections.sleep,
                                 monotonic=connections.monotonic)
    mapping = MappingService(database, clock, bus)
    ingest = IngestService(database, bus, clock)
    pull = PullService(database, bus, clock, connections, rms_for)
    planner = Planner(database, clock, mapping, connector_rates(connections))  # one planner for every caller
    manual = ManualEntryService(database, clock, bus, mapping, connections, planner=planner)
    engine = SyncEngine(database, bus, clock, connections, mapping, rms_for, ingest=ingest, pull=pull,
                        before_push=manual.adopt_pending, planner=planner)
    steps = PipelineSteps(ingest=ingest, rms_client_for=rms_for, engine=engine, pull=pull,
                          lock=default_lock(database))

    def mapping_problems(org: str) -> list[Any]:
        active = mapping.active_set(org)
        return list(mapping.validate(org, active.rules)) if active is not None else []

    return SyncScheduler(steps, connections, mapping_problems, clock, bus, db=database, actor=actor,
                         worker_id=worker_id, parallel=parallel or parallel_setting(database))


def parallel_setting(database: Database) -> int:
    """How many organizations sync at once: the ``sync.parallel_organizations`` setting (a whole
    number from 1 to ``MAX_PARALLEL``), else ``DEFAULT_PARALLEL``."""
    import sqlalchemy as sa

    from desktop.services.pipeline.scheduler import DEFAULT_PARALLEL, MAX_PARALLEL, PARALLEL_KEY
    from desktop.services.store.models import Setting
    with database.session() as s:
        value = s.execute(sa.select(Setting.value).where(
            Setting.key == PARALLEL_KEY, Setting.organization_id.is_(None))).scalar()
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_PARALLEL:
        return value
    return DEFAULT_PARALLEL
