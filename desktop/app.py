"""Composition root: builds the services in order, opens the main window, wires shutdown.

Order matters both ways. Start-up: data folders → file logging (redacting) → database migrations
→ ``Database`` → clock and ``EventBus`` → the event-log sink → (demo) the sandbox emulators, started
on a background thread so the window never waits for them → QApplication and ``MainWindow``.
Shutdown runs the same list backwards: background operations finish, the sandbox stops, the sink
flushes what is queued, the database is disposed, and the log file is closed last so every step
above can still be logged.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.services.core.config import AppConfig, sqlite_url
from desktop.services.core.errors import ConfigurationError
from desktop.services.core.logs import LOG_FILE, configure_file_logging  # noqa: F401 - LOG_FILE: tests read it here

if TYPE_CHECKING:
    from desktop.services.admin.users import UserService
    from desktop.services.auth.roles import Actor
    from desktop.services.auth.vault import TokenVault
    from desktop.services.connections.service import ConnectionService
    from desktop.services.core.clock import Clock, SystemClock
    from desktop.services.core.events import EventBus
    from desktop.services.mapping.service import MappingService
    from desktop.services.pipeline.scheduler import SyncScheduler
    from desktop.services.reconcile.service import ReconcileService
    from desktop.services.rms.client import RmsClient
    from desktop.services.store.db import Database
    from desktop.services.store.event_sink import EventLogSink
    from desktop.views.services import ViewServices

log = logging.getLogger(__name__)


# --- the demo sandbox -----------------------------------------------------------------------

class DemoSandbox:
    """The QBO / Xero / RMS emulators for ``--demo``, started on a background thread.

    Binding and seeding take a moment; the window opens meanwhile. When the sandbox is up it says
    so on the event bus (from its own thread — the GUI receives it through the bridge like any
    service event). Its start-up info holds demo client secrets and API keys: they are kept here
    for the connectors and never logged or published.
    """

    def __init__(self, bus: EventBus, seed: int = 1,
                 on_ready: Callable[[dict[str, Any]], object] | None = None) -> None:
        self._bus = bus
        self._seed = seed
        self._on_ready = on_ready
        self._lock = threading.Lock()
        self._server: Any = None
        self._stopping = False
        self._settled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-start", daemon=True)
        self.info: dict[str, Any] | None = None
        self.error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def is_settled(self) -> bool:
        """True once the sandbox is up or has failed to start."""
        return self._settled.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._settled.wait(timeout)

    def _run(self) -> None:
        from desktop.sandbox.server import SandboxServer

        try:
            server = SandboxServer(seed=self._seed)
            info = server.start()
        except Exception as exc:
            self.error = exc
            log.exception("the demo sandbox could not start")
            self._bus.emit("sandbox.failed", "error", f"The demo sandbox could not start: {exc}")
            self._settled.set()
            return
        with self._lock:
            stop_now = self._stopping
            if not stop_now:
                self._server, self.info = server, info
        if stop_now:
            server.stop()
        else:
            self._announce(info)
            if self._on_ready is not None:
                try:
                    self._on_ready(info)
                except Exception as exc:  # the demo still opens; the log pane says what failed
                    log.exception("demo set-up failed")
                    self._bus.emit("sandbox.failed", "error", f"Setting up the demo companies failed: {exc}")
        self._settled.set()

    def _announce(self, info: dict[str, Any]) -> None:
        from desktop.services.platforms.registry import PROFILES
        from desktop.services.rms.facts import RMS
        names = {key: p.display_name for key, p in PROFILES.items()} | {RMS.key: RMS.display_name.lower()}
        running = [names[k] for k in info if k in names]
        base = str(info.get("control_url", "")).rsplit("/_sandbox", 1)[0]
        self._bus.emit("sandbox.ready", "info",
                       f"Demo sandbox running at {base}: {', '.join(running)} emulators")
        for platform, profile in PROFILES.items():
            for company in (info.get(platform) or {}).get(profile.sandbox_listing[0], []):
                self._bus.emit("sandbox.company_available", "info",
                               f"Demo {profile.display_name} company ready to connect: {company.get('name')} "
                               f"({company.get('home_currency', '')})".replace(" ()", ""),
                               org=company.get("rms_org"), platform=platform)

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            server, self._server = self._server, None
        if self._thread.is_alive():
            self._thread.join(timeout=15)
            with self._lock:
                server, self._server = server or self._server, None
        if server is not None:
            server.stop()


# --- services -------------------------------------------------------------------------------


@dataclass
class Services:
    """Everything the app runs on, built by :func:`build_services` and stopped by :meth:`shutdown`."""

    config: AppConfig
    revision: str
    database: Database
    clock: SystemClock
    bus: EventBus
    sink: EventLogSink
    vault: TokenVault
    connections: ConnectionService
    actor: Actor
    mapping: MappingService
    scheduler: SyncScheduler
    views: ViewServices
    sandbox: DemoSandbox | None = None
    _stops: list[tuple[str, Callable[[], None]]] = field(default_factory=list, repr=False)
    stopped: list[str] = field(default_factory=list)

    def for_views(self) -> tuple[ViewServices, Actor]:
        """What the pages get: the typed services object and who is at the desk, never the container."""
        return self.views, self.actor

    def shutdown(self) -> list[str]:
        """Stop everything in reverse start order; idempotent. Returns the names stopped, in order.

        One failing step is logged and does not keep the others from running.
        """
        while self._stops:
            name, stop = self._stops.pop()
            if name == "logging":
                log.info("shutdown complete")
            try:
                stop()
            except Exception:
                log.exception("shutting down %s failed", name)
            else:
                log.info("shut down: %s", name)
            self.stopped.append(name)
        return list(self.stopped)


def build_services(config: AppConfig, *, stage_findings: bool = False) -> Services:
    """Build every service in order; if a step fails, stop what was already started and re-raise.

    ``stage_findings`` (``--demo --screenshots``): after the demo's first sync, plant what a finance
    admin meets — ledger edits and a refused document — and reconcile, before the demo counts as
    settled (:mod:`desktop.services.demo_findings`)."""
    from desktop.services.admin.users import UserService
    from desktop.services.alerts.service import AlertService
    from desktop.services.core.clock import SystemClock
    from desktop.services.core.events import EventBus
    from desktop.services.demo import set_up_demo
    from desktop.services.mapping.service import MappingService
    from desktop.services.reconcile.service import ReconcileService
    from desktop.services.runtime import connection_service, rms_client_factory, sync_scheduler
    from desktop.services.store.db import Database
    from desktop.services.store.event_sink import EventLogSink
    from desktop.services.store.migrate import upgrade
    stops: list[tuple[str, Callable[[], None]]] = []

    def unwind() -> None:
        for name, stop in reversed(stops):
            try:
                stop()
            except Exception:
                log.exception("shutting down %s failed", name)

    try:
        config.ensure_dirs()
        stops.append(("logging", configure_file_logging(config.log_dir)))
        log.info("starting %s (data: %s)", "demo" if config.demo else "app", config.data_dir)
        revision = upgrade(config.db_url)
        database = Database(config.db_url)
        stops.append(("database", database.dispose))
        clock = SystemClock()
        bus = EventBus(clock)
        sink = EventLogSink(database)
        sink.attach(bus)
        stops.append(("event log", sink.close))
        bus.emit("app.started", "info", f"Database ready (schema revision {revision})",
                 details={"revision": revision})
        vault, connections = connection_service(database, bus, clock, config.data_dir)
        mapping = MappingService(database, clock, bus)
        users = UserService(database, clock, bus)
        actor = users.signed_in(enroll_newcomers=database.is_sqlite)  # the OS account, or the PostgreSQL login
        alerts = AlertService(database, bus, clock)
        alerts.attach()
        stops.append(("alerts", alerts.close))
        scheduler = sync_scheduler(database, bus, clock, connections, vault, actor)
        reconcile = ReconcileService(database, bus, clock, connections)
        sandbox = None
        if config.demo:
            stops.append(("demo keyring entries", lambda: forget_all_grants(database, vault)))

            def demo_ready(info: dict[str, Any]) -> None:
                done = set_up_demo(database, bus, clock, vault, connections, mapping, actor, info)
                start_scheduling(scheduler, reconcile)
                # A first sync right away, so every page has data: the organizations in parallel.
                orgs = [org.code for org, _summary in done.connected]
                running = scheduler.sync_all(orgs)
                if stage_findings:
                    from desktop.services.demo_findings import stage_findings as stage
                    for future in running.values():
                        future.result()
                    stage(info, database, bus, clock, actor, reconcile,
                          lambda org: scheduler.sync_now(org).result(), orgs)

            sandbox = DemoSandbox(bus, on_ready=demo_ready)
            sandbox.start()
            stops.append(("sandbox", sandbox.stop))
        else:
            start_scheduling(scheduler, reconcile)

        def stop_scheduler() -> None:
            scheduler.shutdown()  # waits for running work; releases leases it never used

        stops.append(("scheduler", stop_scheduler))  # appended after the sandbox: stops before it
        stops.append(("ledger requests", connections.stop))  # first of all: nothing waits on a rate limit
        views = view_services(database, clock, bus, connections=connections, mapping=mapping, users=users,
                              reconcile=reconcile, scheduler=scheduler, data_dir=config.data_dir, vault=vault,
                              rms_client_for=rms_client_factory(database, vault, connections.stopping))
    except BaseException:
        unwind()
        raise
    return Services(config=config, revision=revision, database=database, clock=clock, bus=bus,
                    sink=sink, vault=vault, connections=connections, actor=actor, mapping=mapping,
                    scheduler=scheduler, views=views, sandbox=sandbox, _stops=stops)


def view_services(database: Database, clock: Clock, bus: EventBus | None, *,
                  connections: ConnectionService | None = None, mapping: MappingService | None = None,
                  users: UserService | None = None, reconcile: ReconcileService | None = None,
                  scheduler: SyncScheduler | None = None, data_dir: Path | None = None,
                  vault: TokenVault | None = None,
                  rms_client_for: Callable[[str], RmsClient | None] | None = None) -> ViewServices:
    """The typed services object the pages use, over one database: the only place views' services are built.

    ``build_services`` passes the services it already runs (so the pages share their state);
    tests pass what their world has and get the rest built the same way. Without ``connections``
    the pages that need a ledger show it is unavailable; without ``scheduler`` the dashboard has
    no sync controls. ``data_dir`` holds the audit trail's checkpoint (default: a SQLite file's folder).
    Without ``vault`` (the keyring) the RMS tile and the set-up assistant are unavailable.
    ``rms_client_for`` is the RMS an undo of a run tells (None: the undo tells no RMS).
    """
    from desktop.services.admin.audit_trail import AuditTrail
    from desktop.services.admin.fx_rates import FxRateSettings
    from desktop.services.admin.org_settings import PostingSettings
    from desktop.services.admin.users import UserService as Users
    from desktop.services.core.events import EventBus as Bus
    from desktop.services.manual import ManualEntryService
    from desktop.services.manual.approvals import ApprovalService
    from desktop.services.mapping.impact import MappingImpact
    from desktop.services.mapping.service import MappingService as Mapping
    from desktop.services.pipeline.undo import UndoService
    from desktop.services.queries.dashboard import DashboardService
    from desktop.services.queries.errors import ErrorsQueue
    from desktop.services.queries.organizations import OrganizationDirectory
    from desktop.services.queries.returns import ReturnsQuery
    from desktop.services.queries.setup import SetupService
    from desktop.services.reconcile.adjust import AdjustService
    from desktop.services.reconcile.packs import AuditPacks
    from desktop.services.reconcile.service import ReconcileService as Reconcile
    from desktop.services.rms.endpoint import RmsEndpoint
    from desktop.services.rms.file_import import ReturnsFileImport
    from desktop.services.rms.ingest import IngestService
    from desktop.views.services import ViewServices
    mapping = mapping or Mapping(database, clock, bus)
    rms = RmsEndpoint(database, vault, clock, bus) if vault is not None else None
    manual = ManualEntryService(database, clock, bus, mapping, connections)
    adjust = AdjustService(database, clock, bus, mapping)
    undo = UndoService(database, clock, bus or Bus(clock), connections, rms_client_for or (lambda _org: None)) \
        if connections is not None else None  # approving an undo request needs it as much as undoing
    return ViewServices(
        clock=clock, connections=connections, oauth_apps=connections.apps if connections is not None else None,
        users=users or Users(database, clock, bus), errors_queue=ErrorsQueue(database, clock, bus),
        audit_trail=AuditTrail(database, data_dir=data_dir, clock=clock), returns_query=ReturnsQuery(database),
        returns_import=ReturnsFileImport(IngestService(database, bus or Bus(clock), clock)),
        manual_entry=manual, approvals=ApprovalService(database, clock, bus, manual, mapping, adjust, undo),
        reconcile=reconcile or Reconcile(database, bus or Bus(clock), clock, connections),
        adjust=adjust, audit_packs=AuditPacks(database),
        mapping=mapping, mapping_impact=MappingImpact(database), fx_rates=FxRateSettings(database, clock),
        posting_settings=PostingSettings(database, clock),
        organizations=OrganizationDirectory(database),
        dashboard=DashboardService(database, connections, scheduler, clock), scheduler=scheduler,
        rms=rms, setup=SetupService(rms, connections, mapping, scheduler) if rms is not None else None,
        runs=undo)


def start_scheduling(scheduler: SyncScheduler, reconcile: ReconcileService) -> None:
    """Schedule every connected organization's sync jobs and the reconciliation job.

    Not for someone who may not run the sync (a viewer's app changes nothing, not even unattended).
    """
    from desktop.services.auth.roles import Action
    if not scheduler.actor.can(Action.RUN_SYNC):
        log.info("%s may not run the sync: no scheduled jobs in this window", scheduler.actor.username)
        return
    scheduler.start()
    reconcile.schedule_into(scheduler)


def current_login() -> str:
    """The OS account's login name (never an environment variable)."""
    from desktop.services.core.identity import os_login

    return os_login()


def forget_all_grants(database: Database, vault: TokenVault) -> None:
    """A throwaway demo leaves nothing in the OS keyring."""
    import sqlalchemy as sa

    from desktop.services.store.models import LedgerConnection
    with database.session() as s:
        refs = list(s.execute(sa.select(LedgerConnection.credential_ref)).scalars())
    for ref in refs:
        vault.forget(ref)


def _demo_config(args: argparse.Namespace, config: AppConfig) -> tuple[AppConfig, Path | None]:
    """``--demo`` without ``--data-dir`` runs in a throwaway folder, removed on exit."""
    if not config.demo or getattr(args, "data_dir", None):
        return config, None
    temp = Path(tempfile.mkdtemp(prefix="returns-ledger-demo-"))
    db_url = config.db_url if getattr(args, "db", None) else sqlite_url(temp / "returns-ledger.sqlite3")
    return replace(config, data_dir=temp, db_url=db_url), temp


def _no_display() -> bool:
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_gui(args: argparse.Namespace, config: AppConfig) -> int:
    """The GUI entry point (``returns-ledger``, ``--demo``, ``--self-test``, ``--screenshots``)."""
    from desktop.services.core.quit_latch import install as install_quit_latch
    latch = install_quit_latch()  # first: a Ctrl+C / SIGTERM during start-up is remembered, not fatal
    started = time.perf_counter()
    self_test = bool(getattr(args, "self_test", False))
    shots = getattr(args, "screenshots", None)
    if shots and not config.demo:
        raise ConfigurationError("--screenshots needs --demo", action="add --demo to the command")
    shot_size = _size(getattr(args, "screenshot_size", None))  # a wrong size fails before anything starts
    if self_test or (shots and _no_display()):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--disable-gpu")  # no GPU to probe offscreen
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen") and hasattr(os, "geteuid") \
            and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # Chromium cannot sandbox as root

    config, temp_dir = _demo_config(args, config)
    try:
        from desktop.views.ops import record_refusals_with
        services = build_services(config, stage_findings=bool(shots))
        try:
            from desktop.views.ops_failure import install_error_boundary
            from desktop.views.shell import run_shell

            users = services.views.users  # every refusal in the window is audited, like the CLI's
            record_refusals_with((lambda exc: users.record_refusal(exc, via="app")) if users is not None else None)

            from desktop.self_test import run_checks
            # --self-test: the database and the keyring, before the window
            checks = run_checks(services.database, config.db_url, services.vault) if self_test else []
            views, actor = services.for_views()
            if latch.requested():  # asked to quit while starting: shut down without opening the window
                log.info("quit requested by a signal during start-up")
                return 0
            # Uncaught exceptions become the failure dialog and a crash report (a throwaway demo's
            # folder is deleted on exit, so its reports go to the temporary folder instead).
            restore_hooks = install_error_boundary(
                config.data_dir / "crash-reports" if temp_dir is None
                else Path(tempfile.gettempdir()) / "returns-ledger-crash-reports")
            try:
                outcome = run_shell(services.bus, config, self_test=self_test,
                                    screenshots=Path(shots) if shots else None,
                                    screenshot_size=shot_size,
                                    sandbox_ready=services.sandbox.is_settled if services.sandbox else None,
                                    history=_history_loader(services), services=views, actor=actor,
                                    quit_requested=latch.requested)
            finally:
                restore_hooks()
        finally:
            record_refusals_with(None)
            stopped = services.shutdown()
        if self_test:
            elapsed = time.perf_counter() - started
            failed = [c for c in checks if not c.ok]
            status = "ok" if outcome.exit_code == 0 and not failed else "FAILED"
            for check in failed:
                sys.stderr.write(f"self-test: {check.line()}\n")
            print(f"self-test {status}: {outcome.summary}; {'; '.join(c.line() for c in checks)}; "  # noqa: T201 - the self-test's output
                  f"shut down {', '.join(stopped)}; {elapsed:.1f} s")
            return outcome.exit_code or (1 if failed else 0)
        elif shots:
            print(f"wrote {outcome.summary} to {shots}")  # noqa: T201 - the command's output
        return outcome.exit_code
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        latch.restore()
        sys.stdout.flush()


def _size(text: str | None) -> tuple[int, int] | None:
    """``--screenshot-size WxH`` as (width, height); a wrong one is a usage error, not a traceback."""
    if not text:
        return None
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit() and 640 <= int(width) <= 4000 and 480 <= int(height) <= 3000):
        raise ConfigurationError(f"--screenshot-size {text!r} is not a window size",
                                 action="give it as WIDTHxHEIGHT, e.g. 1024x700")
    return int(width), int(height)


def _history_loader(services: Services) -> Callable[[], Any]:
    """Earlier sessions' events for the log pane (runs on a worker via ``views.ops``)."""

    def load() -> Any:
        services.sink.flush(timeout=5)
        queue = services.views.errors_queue
        assert queue is not None  # build_services always builds it
        return queue.history()  # (events oldest first, their resolutions)

    return load
