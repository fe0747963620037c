"""The one world the service tests run in, built by the app's own composition root.

A :class:`World` is a database migrated like the app's (SQLite file or PostgreSQL), a clock (the
system's, or a :class:`~desktop.services.core.clock.ManualClock` the test moves), an event bus
whose events the world records, and the token vault and connection service that
``desktop.services.runtime.connection_service`` builds for the app and the headless commands —
the real OS keyring, and the same inter-process lock. Given the sandbox, the sandbox's OAuth apps
are registered the way the demo registers them, and :meth:`World.connect` signs in to a demo
company through the real sign-in flow with the sandbox's simulated consent.

The services the tests drive (mapping, manual entry, ingest, pull, reconciliation, users, error
queue, dashboard, schedulers) are built on first use, with the same constructors the runtime and
the GUI's ``view_services`` use. What differs between tests is a parameter (clock, sandbox, event
log), never a copy of this class.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from desktop.services.auth.platforms import Environment, Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import Clock, ManualClock, SystemClock
from desktop.services.core.events import Event, EventBus
from desktop.services.core.keys import idempotency_key, memo_text
from desktop.services.core.money import Money
from desktop.services.reconcile.model import Period
from desktop.services.runtime import connection_service
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    LedgerConnection,
    Organization,
    OutboxDocument,
    OutboxStatus,
    RefundMethod,
    Return,
    ReturnSyncStatus,
)
from desktop.services.store.models import Platform as StorePlatform
from tests.helpers.db import from_template

if TYPE_CHECKING:
    from desktop.services.connections.service import ConnectionSummary
    from desktop.services.demo import DemoOrganization
    from desktop.services.pipeline.documents import LedgerDocument
    from desktop.services.pipeline.poster import Poster
    from desktop.services.pipeline.scheduler import MappingCheck, SyncScheduler
    from tests.helpers.sandbox import SandboxHandle

ADMIN = Actor("alice", Role.ADMIN)
VIEWER = Actor("victor", Role.VIEWER)
QBO_ORG, XERO_ORG = "ACME-US", "KIWI-NZ"
#: Where each document type carries our memo (and so its idempotency key).
MEMO_FIELD = {"CreditMemo": "PrivateNote", "JournalEntry": "PrivateNote", "RefundReceipt": "PrivateNote",
              "CreditNote": "Reference", "Payment": "Reference", "ManualJournal": "Narration"}


def month_of(day: date) -> Period:
    """The calendar month ``day`` falls in."""
    start = day.replace(day=1)
    nxt = (start + timedelta(days=32)).replace(day=1)
    return Period(start, nxt - timedelta(days=1))


class NoSteps:
    """The sync engine's place in a scheduler whose sync steps are not under test: nothing runs."""

    def ingest(self, org: str) -> Mapping[str, Any]:
        return {}

    def push(self, org: str, worker_id: str) -> Mapping[str, Any]:
        return {}

    def pull(self, org: str) -> Mapping[str, Any]:
        return {}


class ClockWaits:
    """How ledger requests wait, on a manual clock: ``sleep`` moves the clock on (never the wall
    clock) and records the wait; ``monotonic`` reads the clock. Retries and rate limits then take no time."""

    def __init__(self, clock: ManualClock | None = None) -> None:
        self.clock = clock or ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
        self.clock.advance(timedelta(seconds=max(seconds, 0.0)))

    def monotonic(self) -> float:
        return self.clock.now().timestamp()


def _no_mapping_problems(org: str) -> list[Any]:
    return []


class World:
    """Database, clock, bus and connections as the runtime builds them; see the module docstring.

    Args:
        db_url: an empty (or already migrated) database; it is migrated here.
        data_dir: the data directory (the vault's file lock lives there on SQLite).
        sandbox: the emulators; their OAuth apps are registered unless ``apps`` is False.
        clock: the world's clock (default: the system clock).
        event_log: attach the event-log sink, as the app does, so events land in ``event_log``.
    """

    def __init__(self, db_url: str, data_dir: Path, *, sandbox: SandboxHandle | None = None,
                 clock: Clock | None = None, apps: bool = True, event_log: bool = False) -> None:
        from desktop.services.store.event_sink import EventLogSink

        from_template(db_url)
        upgrade(db_url)
        self.db_url, self.data_dir, self.sandbox = db_url, data_dir, sandbox
        self.db = Database(db_url)
        self.clock: Any = clock or SystemClock()
        self.bus = EventBus(self.clock)
        self.events: list[Event] = []
        self._arrived = threading.Condition()
        self.bus.subscribe(self._record)
        self.sink = EventLogSink(self.db) if event_log else None
        if self.sink is not None:
            self.sink.attach(self.bus)
        self.vault, self.connections = connection_service(self.db, self.bus, self.clock, data_dir)
        self.apps = self.connections.apps
        self.today = self.clock.now().date()
        self.period = month_of(self.today)
        self.schedulers: list[SyncScheduler] = []
        self.scheduler: SyncScheduler | None = None
        self._closed = False
        if sandbox is not None and apps:
            from desktop.services.demo import configure_local_apps
            configure_local_apps(self.connections, ADMIN, sandbox.info)

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the schedulers, flush the event log, forget every grant in the keyring, dispose the database."""
        if self._closed:
            return
        self._closed = True
        from desktop.app import forget_all_grants
        try:
            for sched in reversed(self.schedulers):
                sched.shutdown(wait=True)
            if self.sink is not None:
                self.sink.close()
            forget_all_grants(self.db, self.vault)
        finally:
            self.db.dispose()

    # --- events ------------------------------------------------------------------------------

    def _record(self, event: Event) -> None:
        with self._arrived:
            self.events.append(event)
            self._arrived.notify_all()

    def audit(self) -> list[tuple[str, str, str | None]]:
        """The audit trail: (actor, action, target) in order."""
        from desktop.services.store.models import AuditLog
        with self.db.session() as s:
            return [(r.actor, r.action, r.target) for r in s.scalars(sa.select(AuditLog).order_by(AuditLog.seq))]

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def wait_for(self, what: Callable[[Event], bool], timeout: float = 20.0) -> Event:
        """The first recorded event ``what`` accepts, waiting (woken by each new event) up to ``timeout``."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: any(what(e) for e in self.events), timeout):
                raise AssertionError(f"no such event within {timeout} s; got {self.kinds()}")
            return next(e for e in self.events if what(e))

    def wait_on_a_manual_clock(self) -> ClockWaits:
        """From now on ledger requests wait out retries and rate limits on a manual clock (call it
        before connecting: each connection keeps the waits it was made with)."""
        waits = ClockWaits()
        self.connections.sleep, self.connections.monotonic = waits.sleep, waits.monotonic
        return waits

    # --- connecting ---------------------------------------------------------------------------

    def demo_org(self, which: str | Platform) -> DemoOrganization:
        """A demo organization by code, or a ledger's first demo organization."""
        from desktop.services.demo import demo_organizations
        assert self.sandbox is not None, "this world has no sandbox"
        orgs = demo_organizations(self.sandbox.info)
        if isinstance(which, Platform):
            return next(o for o in orgs if o.platform is which)
        return next(o for o in orgs if o.code == which)

    def connect(self, which: str | Platform = Platform.QBO, *, refresh_reference: bool = True,
                actor: Actor = ADMIN) -> ConnectionSummary:
        """Connect a demo company (by organization code, or a ledger's first) through the real sign-in
        flow; the sandbox's simulated consent stands in for the person clicking "Connect"."""
        from desktop.services.demo import simulated_consent
        from desktop.services.platforms.registry import platform_for
        assert self.sandbox is not None, "this world has no sandbox"
        org = self.demo_org(which)
        sign_in = self.connections.begin_sign_in(
            actor, org.code, org.platform, Environment.LOCAL, refresh_reference=refresh_reference,
            tenant_id=org.company if platform_for(org.platform).picks_tenant_after_sign_in else None)
        return sign_in.complete(simulated_consent(self.sandbox.info, org.platform, sign_in.authorize_url, org.company))

    def connection_id(self, org_code: str) -> int:
        with self.db.session() as s:
            return int(s.execute(sa.select(LedgerConnection.id).join(Organization)
                                 .where(Organization.code == org_code)).scalar_one())

    def connector(self, org_code: str) -> Any:
        """The connected ledger of ``org_code``, as the connection service hands it to the pipeline."""
        return self.connections.connector(self.connection_id(org_code))

    def org_id(self, connection_id: int) -> int:
        with self.db.session() as s:
            conn = s.get(LedgerConnection, connection_id)
            assert conn is not None
            return conn.organization_id

    def org_code(self, connection_id: int) -> str:
        with self.db.session() as s:
            return str(s.scalar(sa.select(Organization.code).join(LedgerConnection)
                                .where(LedgerConnection.id == connection_id)))

    def credential_ref(self, connection_id: int) -> str:
        with self.db.session() as s:
            conn = s.get(LedgerConnection, connection_id)
            assert conn is not None
            return conn.credential_ref

    def issued(self, service: str, kind: str) -> list[str]:
        """The tokens of ``kind`` (access, refresh) the sandbox's ``service`` has issued."""
        assert self.sandbox is not None
        return [t["value"] for t in self.sandbox.control("GET", "tokens")["tokens"]
                if t["service"] == service and t["kind"] == kind]

    # --- the services, built as the runtime builds them ----------------------------------------

    @cached_property
    def mapping(self) -> Any:
        from desktop.services.mapping.service import MappingService
        return MappingService(self.db, self.clock, self.bus)

    @cached_property
    def manual(self) -> Any:
        from desktop.services.manual import ManualEntryService
        return ManualEntryService(self.db, self.clock, self.bus, self.mapping, self.connections)

    @cached_property
    def query(self) -> Any:
        from desktop.services.queries.returns import ReturnsQuery
        return ReturnsQuery(self.db)

    @cached_property
    def ingest(self) -> Any:
        from desktop.services.rms.ingest import IngestService
        return IngestService(self.db, self.bus, self.clock)

    @cached_property
    def rms(self) -> Any:
        """The app's RMS client for the sandbox RMS; its retries never wait on the wall clock."""
        from tests.helpers.sandbox import fast_rms_client
        assert self.sandbox is not None, "this world has no sandbox"
        return fast_rms_client(self.sandbox.info)

    @cached_property
    def pull(self) -> Any:
        from desktop.services.pipeline.pull import PullService
        return PullService(self.db, self.bus, self.clock, self.connections, lambda _org: self.rms)

    @cached_property
    def reconcile(self) -> Any:
        from desktop.services.reconcile.service import ReconcileService
        return ReconcileService(self.db, self.bus, self.clock, self.connections)

    @cached_property
    def users(self) -> Any:
        from desktop.services.admin.users import UserService
        return UserService(self.db, self.clock, self.bus)

    @cached_property
    def errors(self) -> Any:
        from desktop.services.queries.errors import ErrorsQueue
        return ErrorsQueue(self.db, self.clock, self.bus)

    @cached_property
    def dashboard(self) -> Any:
        """The dashboard over :attr:`scheduler` (make one first with :meth:`new_scheduler` for sync controls)."""
        from desktop.services.queries.dashboard import DashboardService
        return DashboardService(self.db, self.connections, self.scheduler, self.clock)

    def new_scheduler(self, steps: Any = None, *, worker_id: str | None = "test-worker",
                      mapping_problems: MappingCheck | None = _no_mapping_problems,
                      actor: Actor = ADMIN, parallel: int | None = None) -> SyncScheduler:
        """A scheduler, not started, shut down with the world; it becomes :attr:`scheduler`.

        Without ``steps`` it runs the real pipeline, built by ``runtime.sync_scheduler`` exactly as
        the app and ``returns-ledger worker`` build it; with ``steps`` (e.g. :class:`NoSteps`) those
        stand in for the sync engine.
        """
        from desktop.services.pipeline.scheduler import SyncScheduler
        from desktop.services.runtime import sync_scheduler
        if steps is None:
            sched = sync_scheduler(self.db, self.bus, self.clock, self.connections, self.vault, actor,
                                   worker_id=worker_id, parallel=parallel)
        else:
            sched = SyncScheduler(steps, self.connections, mapping_problems, self.clock, self.bus, db=self.db,
                                  actor=actor, worker_id=worker_id, **({"parallel": parallel} if parallel else {}))
        self.schedulers.append(sched)
        self.scheduler = sched
        return sched

    # --- the outbox -----------------------------------------------------------------------------

    def poster(self, *, clock: Clock | None = None, **kw: Any) -> Poster:
        """A poster on this world's services (``clock`` to run its backoff on a clock of the test's)."""
        from desktop.services.pipeline.poster import Poster
        return Poster(self.db, self.bus, clock or self.clock, self.connections, **kw)

    def enqueue(self, connection_id: int, docs: list[LedgerDocument], return_id: int | None = None) -> list[str]:
        from desktop.services.pipeline import outbox
        with self.db.write_session() as s:
            return outbox.enqueue(s, docs, self.org_id(connection_id), connection_id, return_id,
                                  now=self.clock.now())

    def rows(self) -> dict[str, OutboxDocument]:
        with self.db.session() as s:
            return {r.idempotency_key: r for r in s.scalars(sa.select(OutboxDocument))}

    def outbox(self, key: str) -> OutboxDocument:
        with self.db.session() as s:
            return s.execute(sa.select(OutboxDocument).where(OutboxDocument.idempotency_key == key)).scalar_one()

    def statuses(self) -> dict[str, int]:
        from desktop.services.pipeline import outbox
        with self.db.session() as s:
            return {k: v for k, v in outbox.counts(s).items() if v}

    # --- the ledgers and the RMS, through the sandbox ---------------------------------------------

    def ledger(self, platform: str, company: str) -> list[dict[str, Any]]:
        assert self.sandbox is not None
        return self.sandbox.ledger(platform, company)

    def ledger_with(self, platform: str, company: str, key: str) -> list[dict[str, Any]]:
        return [d for d in self.ledger(platform, company) if key in str(d.get("reference") or d.get("raw"))]

    def tamper(self, org_code: str, body: dict[str, Any]) -> dict[str, Any]:
        """What an accountant does in ``org_code``'s ledger by hand (create, edit, void, delete…)."""
        assert self.sandbox is not None
        return self.sandbox.tamper(self.demo_org(org_code).platform.value, org_code, body)

    def rms_returns(self, org_code: str, n: int = 2) -> list[dict[str, Any]]:
        """The first ``n`` returns of ``org_code`` in the RMS's feed."""
        return list(self.rms.changes(None, 50, organization=org_code).returns[:n])

    def writebacks(self, rms_id: str | None = None) -> list[dict[str, Any]]:
        """What the RMS recorded as written back (for one return, or all)."""
        assert self.sandbox is not None
        return [w for w in self.sandbox.writebacks() if rms_id is None or w["return_id"] == rms_id]

    def add_return(self, org_code: str, rms: dict[str, Any] | None = None, *, rms_id: str | None = None,
                   rma: str | None = None, currency: str | None = None, total: Decimal | None = None,
                   revision: int | None = None, status: ReturnSyncStatus = ReturnSyncStatus.POSTED) -> int:
        """A return row of ``org_code``: from an RMS record, or from the given fields; its id."""
        now = self.clock.now()
        rms = rms or {}
        currency = currency or rms["currency"]
        with self.db.write_session() as s:
            org = s.execute(sa.select(Organization).where(Organization.code == org_code)).scalar_one()
            row = Return(organization_id=org.id, rms_id=rms_id or rms["id"],
                         revision=revision or rms.get("revision", 1), rma_number=rma or rms["rma_number"],
                         currency=currency,
                         refund_method=RefundMethod.STORE_CREDIT, rms_status=str(rms.get("status", "refunded")),
                         sync_status=status, rms_created_at=now, rms_updated_at=now, ingested_at=now,
                         updated_at=now, raw_payload={},
                         refund_total_minor=Money(total, currency).to_minor_units() if total is not None else None)
            s.add(row)
            s.flush()
            return int(row.id)

    def post(self, org_code: str, doc_type: str, document: dict[str, Any], rms: dict[str, Any] | None = None, *,
             role: str = "credit_memo", return_id: int | None = None, rma: str | None = None,
             record: bool = True) -> tuple[str, str, int | None]:
        """Create ``document`` in the ledger with our key in its memo — what the poster would have sent —
        and record it as posted in the outbox with its return, unless ``record`` is False (an orphan).

        The return is the RMS record ``rms`` (its id, revision and RMA), else a made-up one.
        Returns (key, remote id, return id).
        """
        if rms is None:
            self._made_up = getattr(self, "_made_up", 0) + 1
            rms = {"id": f"R-{org_code}-{self._made_up}", "revision": 1,
                   "rma_number": rma or f"RMA-{org_code}-{self._made_up}"}
        key = idempotency_key(org_code, rms["id"], rms["revision"], role)
        document = {**document, MEMO_FIELD[doc_type]: memo_text(key, rms["rma_number"], rms["revision"])}
        created = self.tamper(org_code, {"op": "create", "type": doc_type, "document": document})
        if not record:
            return key, str(created["id"]), None
        platform = self.demo_org(org_code).platform.value
        currency = created["currency"] or ("USD" if platform == "qbo" else "NZD")
        total = Money(Decimal(created["total"]), currency)
        if return_id is None:
            return_id = self.add_return(org_code, {**rms, "currency": rms.get("currency", currency)},
                                        total=None if "currency" in rms else total.amount)
        now = self.clock.now()
        with self.db.write_session() as s:
            org = s.execute(sa.select(Organization).where(Organization.code == org_code)).scalar_one()
            conn = s.execute(sa.select(LedgerConnection).where(LedgerConnection.organization_id == org.id)
                             ).scalar_one()
            s.add(OutboxDocument(
                organization_id=org.id, connection_id=conn.id, idempotency_key=key, return_id=return_id,
                role=role, platform=StorePlatform(platform), doc_type=doc_type,
                txn_date=date.fromisoformat(created["date"]), total_minor=total.to_minor_units(),
                currency=currency, payload=document, status=OutboxStatus.POSTED, attempts=1,
                remote_id=created["id"], remote_number=created["number"],
                sync_token=created["raw"].get("SyncToken"), created_at=now, updated_at=now, posted_at=now))
        return key, str(created["id"]), return_id

