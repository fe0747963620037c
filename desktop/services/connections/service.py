"""Connect, watch and disconnect ledgers; keep their reference data cached.

A connection row (no secrets) says which company, which environment, how healthy; its
``credential_ref`` names the keyring entries of the token vault. Everything that talks to a
ledger goes through :meth:`ConnectionService.connector`, whose token hook refreshes single-
flight and whose failures that need a person (``invalid_grant``, a revoked app) flip the row to
"needs reconnect", publish an event and raise — never a crash or a retry loop.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from desktop.services.admin import audit
from desktop.services.auth.oauth import Callback, ClientCredentials, OAuthClient
from desktop.services.auth.platforms import Environment, Platform, endpoints, platform_label
from desktop.services.auth.roles import Action, Actor
from desktop.services.auth.signin import Report, SignIn
from desktop.services.auth.vault import NeedsReconnect, TokenResult, TokenVault
from desktop.services.connections.allowance import Allowances
from desktop.services.connections.apps import OAuthApp, OAuthApps
from desktop.services.connections.refcache import store_reference_data
from desktop.services.connections.usage import SignInTally, UsageRecorder
from desktop.services.core.clock import Clock
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.platforms.base import CompanyInfo, RefKind
from desktop.services.platforms.http import LedgerHttp, Throttle
from desktop.services.platforms.interface import LedgerPlatform
from desktop.services.platforms.registry import platform_for
from desktop.services.platforms.xero.connector import list_tenants
from desktop.services.store.db import Database
from desktop.services.store.models import ConnectionStatus, LedgerConnection, Organization

T = TypeVar("T")
_PLURAL = {"account": "accounts", "tax_code": "tax codes", "item": "items", "customer": "customers",
           "tracking": "tracking options", "currency": "currencies", "vendor": "vendors"}


@dataclass(frozen=True)
class ConnectionSummary:
    """A connection as the Connections page and ``returns-ledger connections`` show it."""

    id: int
    org_code: str
    org_name: str
    platform: Platform
    environment: Environment
    company_id: str
    company_name: str
    state: str            # connected | token_expiring | needs_reconnect | disconnected | error
    state_text: str
    last_refresh_at: datetime | None
    access_expires_at: datetime | None
    refresh_expires_at: datetime | None
    hard_expires_at: datetime | None
    reference_fetched_at: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else getattr(v, "value", v))
                for k, v in self.__dict__.items()}


def _summary(conn: LedgerConnection, org: Organization, now: datetime, reminder: timedelta) -> ConnectionSummary:
    label = platform_label(conn.platform)
    expiries = [d for d in (conn.refresh_token_expires_at, conn.refresh_token_hard_expires_at) if d]
    soonest = min(expiries) if expiries else None
    if conn.status is ConnectionStatus.NEEDS_REAUTH:
        state, text = "needs_reconnect", (conn.last_error or {}).get("message") or f"{label} needs you to sign in again"
    elif conn.status is ConnectionStatus.DISCONNECTED:
        state, text = "disconnected", "Disconnected"
    elif conn.status is ConnectionStatus.ERROR:
        state, text = "error", (conn.last_error or {}).get("message") or "The last call failed"
    elif soonest is not None and soonest - now <= reminder:
        days = max(0, (soonest - now).days)
        state, text = "token_expiring", f"Sign-in expires in {days} day{'s' if days != 1 else ''}: reconnect soon"
    else:
        state, text = "connected", "Connected"
    return ConnectionSummary(conn.id, org.code, org.name, conn.platform, conn.environment, conn.remote_id,
                             conn.company_name or "", state, text, conn.last_refresh_at, conn.access_token_expires_at,
                             conn.refresh_token_expires_at, conn.refresh_token_hard_expires_at,
                             conn.reference_fetched_at)


class ConnectionService:
    def __init__(self, db: Database, vault: TokenVault, bus: EventBus, clock: Clock, apps: OAuthApps, *,
                 reminder_days: int = 14) -> None:
        self._db = db
        self._vault = vault
        self._bus = bus
        self._clock = clock
        self.apps = apps
        self.reminder = timedelta(days=reminder_days)
        self.day_budget_warning = 500
        #: Metered calls per connection and day, counted as each platform meters them.
        self.usage = UsageRecorder(db, clock, bus)
        #: Which connections' metered allowance is used up, until when (the one owner of that state).
        self.allowance = Allowances(db, clock, bus, self.usage)
        #: How a ledger request waits out a retry backoff or a rate limit, and reads elapsed time.
        #: Tests hand in a manual clock's, so no retry waits on the wall clock.
        self.sleep: Callable[[float], None] = time.sleep
        self.monotonic: Callable[[], float] = time.monotonic
        self._stopping = threading.Event()
        self._throttles: dict[int, Throttle] = {}
        self._app_throttles: dict[Platform, Throttle] = {}  # an app-wide limit, shared by its connections
        self._app_lock = threading.Lock()

    # --- reading ---------------------------------------------------------------------------
    def summaries(self) -> list[ConnectionSummary]:
        now = self._clock.now()
        with self._db.session() as s:
            rows = s.execute(sa.select(LedgerConnection, Organization).join(Organization)
                             .order_by(Organization.code, LedgerConnection.id)).all()
            return [_summary(c, o, now, self.reminder) for c, o in rows]

    def summary(self, connection_id: int) -> ConnectionSummary:
        with self._db.session() as s:
            conn, org = self._load(s, connection_id)
            return _summary(conn, org, self._clock.now(), self.reminder)

    def rate_budgets(self, connection_id: int) -> tuple[int | None, int | None]:
        """``(minute_remaining, day_remaining)`` as the ledger last said; None before any call."""
        throttle = self._throttles.get(connection_id)
        if throttle is None:
            return None, None
        return throttle.minute_remaining, throttle.day_remaining

    def company(self, connection_id: int) -> dict[str, Any] | None:
        """What the ledger said about the company (currencies, country, closed period)."""
        with self._db.session() as s:
            conn, _org = self._load(s, connection_id)
            return dict(conn.company) if conn.company else None

    def _load(self, s: Session, connection_id: int) -> tuple[LedgerConnection, Organization]:
        row = s.execute(sa.select(LedgerConnection, Organization).join(Organization)
                        .where(LedgerConnection.id == connection_id)).first()
        if row is None:
            raise NeedsPersonError(f"There is no connection #{connection_id}", action="refresh the list")
        return row[0], row[1]

    # --- the OAuth client of a connection --------------------------------------------------
    def _client(self, app: OAuthApp, redirect_uri: str | None = None) -> OAuthClient:
        eps = endpoints(app.platform, app.environment, sandbox_url=app.sandbox_url)
        return OAuthClient(eps, ClientCredentials(app.client_id, app.client_secret), redirect_uri or app.redirect_uri,
                           self._clock)

    # --- signing in ------------------------------------------------------------------------
    def begin_sign_in(self, actor: Actor, org_code: str, platform: Platform, environment: Environment, *,
                      tenant_id: str | None = None, refresh_reference: bool = True) -> SignIn[ConnectionSummary]:
        """Start connecting ``org_code`` to a ledger; drive the returned SignIn to finish."""
        actor.require(Action.MANAGE_CONNECTIONS)
        app = self.apps.get(platform, environment)

        def finish(client: OAuthClient, callback: Callback, tokens: TokenResult, report: Report) -> ConnectionSummary:
            return self._finish(actor, org_code, app, client, callback, tokens, report, tenant_id, refresh_reference)

        return SignIn(lambda uri: self._client(app, uri), app.redirect_uri, finish, app.loopback_redirect_uri)

    def _finish(self, actor: Actor, org_code: str, app: OAuthApp, client: OAuthClient, callback: Callback,
                tokens: TokenResult, report: Report, tenant_id: str | None, refresh_reference: bool
                ) -> ConnectionSummary:
        ref = uuid.uuid4().hex
        self._vault.store_token_result(ref, tokens)  # the grant is safe before anything else happens
        http = self._http(app.platform, None, lambda rejected: self._vault.access_token(
            ref, client.refresh, rejected=rejected, grace=self._grace(app.platform)))
        http.on_answer = tally = SignInTally(platform_for(app.platform))  # metered before the row exists
        remote_connection_id = None
        if platform_for(app.platform).picks_tenant_after_sign_in:
            assert client.endpoints.connections_url is not None
            tenants = list_tenants(http, client.endpoints.connections_url)
            chosen = _choose_tenant(tenants, tenant_id)
            company_id, remote_connection_id = chosen["tenantId"], chosen.get("id")
        else:
            assert callback.realm_id is not None
            company_id = callback.realm_id
        report("Reading the company's settings…")
        connector = platform_for(app.platform).connect(http, client.endpoints.api_base_url, company_id)
        info = connector.company_info()
        now = self._clock.now()
        with self._db.write_session() as s:
            org = s.execute(sa.select(Organization).where(Organization.code == org_code)).scalar()
            if org is None:
                org = Organization(code=org_code, name=info.name, platform=app.platform, timezone="UTC",
                                   home_currency=info.home_currency, settings={}, created_at=now, updated_at=now)
                s.add(org)
                s.flush()
            conn = s.execute(sa.select(LedgerConnection).where(
                LedgerConnection.organization_id == org.id, LedgerConnection.platform == app.platform,
                LedgerConnection.environment == app.environment, LedgerConnection.remote_id == company_id)).scalar()
            old_ref = conn.credential_ref if conn else None
            if conn is None:
                conn = LedgerConnection(organization_id=org.id, platform=app.platform, environment=app.environment,
                                        remote_id=company_id, created_at=now, credential_ref=ref,
                                        status=ConnectionStatus.CONNECTED, updated_at=now)
                s.add(conn)
            grant = self._vault.load_grant(ref)
            conn.credential_ref = ref
            conn.client_id = app.client_id
            conn.remote_connection_id = remote_connection_id
            conn.company_name = info.name
            conn.company = _company_json(info)
            conn.status = ConnectionStatus.CONNECTED
            conn.scopes = tokens.scope or " ".join(client.endpoints.scopes)
            conn.connected_at = conn.last_refresh_at = now
            conn.access_token_expires_at = now + timedelta(seconds=tokens.expires_in_s)
            conn.refresh_token_expires_at = grant.refresh_expires_at if grant else None
            conn.refresh_token_hard_expires_at = grant.hard_expires_at if grant else None
            conn.last_error = None
            conn.updated_at = now
            s.flush()
            connection_id = conn.id
            audit.append(s, self._clock, actor=actor.username, action="connection.connected",
                         target=f"{app.platform.value}:{company_id}", organization_id=org.id,
                         details={"environment": app.environment.value, "company": info.name})
        self.usage.add(connection_id, tally.reads, tally.writes)
        if old_ref and old_ref != ref:
            self._vault.forget(old_ref)  # a reconnect replaces the old grant
        self._bus.emit(EventKind.CONNECTION_ESTABLISHED, Severity.INFO,
                       f"Connected {org_code} to {platform_label(app.platform)} company “{info.name}”",
                       org=org_code, platform=app.platform.value)
        if refresh_reference:
            self.refresh_reference_data(actor, connection_id, report)
        return self.summary(connection_id)

    # --- using a connection ----------------------------------------------------------------
    @staticmethod
    def _grace(platform: Platform) -> timedelta | None:
        return platform_for(platform).token_grace

    def _http(self, platform: Platform, connection_id: int | None,
              token: Callable[[str | None], str]) -> LedgerHttp:
        # Published limits (API_FACTS §5, §9); the throttle also obeys the headers the ledgers send.
        per_minute, concurrent = platform_for(platform).rate_limits
        app = self._app_throttle(platform)
        if connection_id is None:
            throttle = Throttle(per_minute, concurrent, sleep=self.sleep, monotonic=self.monotonic, app=app)
        else:
            with self._app_lock:  # organizations sync in parallel: one throttle per connection, ever
                found = self._throttles.get(connection_id)
                if found is None:
                    found = self._throttles[connection_id] = Throttle(
                        per_minute, concurrent, sleep=self.sleep, monotonic=self.monotonic, app=app)
                    found.on_day_remaining = self._budget_watch(connection_id)
                    found.stopping = self._stopping
            throttle = found
        http = LedgerHttp(throttle=throttle, token=token, platform=platform.value, sleep=self.sleep)
        if connection_id is not None:
            profile = platform_for(platform)
            counted = self.usage.hook(connection_id, profile)

            def answered(method: str, url: str, body: bytes | None, status: int) -> None:
                counted(method, url, body, status)
                self.allowance.answered(connection_id, profile, method, url, body, status)

            http.on_answer = answered
            http.gate = self.allowance.gate(connection_id, profile)
            http.spent = self.allowance.spent(connection_id, profile)
        return http

    def _app_throttle(self, platform: Platform) -> Throttle | None:
        """The platform's app-wide minute limit (Xero: 10,000 across every tenant), one per platform."""
        per_minute = platform_for(platform).app_per_minute
        if per_minute is None:
            return None
        with self._app_lock:
            if platform not in self._app_throttles:
                app = Throttle(per_minute, per_minute, sleep=self.sleep, monotonic=self.monotonic)
                app.stopping = self._stopping
                self._app_throttles[platform] = app
            return self._app_throttles[platform]

    def stop(self) -> None:
        """Shutting down: requests waiting for the rate limit give up at once (nothing is sent)."""
        self._stopping.set()

    @property
    def stopping(self) -> threading.Event:
        """Set by :meth:`stop`; other clients' throttles (the RMS's) follow it too."""
        return self._stopping

    def _budget_watch(self, connection_id: int) -> Callable[[int], None]:
        """Warn once when a platform's daily allowance (Xero: 5,000 calls) drops below the threshold."""
        warned = [False]

        def watch(remaining: int) -> None:
            low = remaining < self.day_budget_warning
            if low and not warned[0]:
                summary = self.summary(connection_id)
                self._bus.emit(EventKind.CONNECTION_RATE_BUDGET_LOW, Severity.WARNING,
                               f"{platform_label(summary.platform)} company “{summary.company_name}” has only "
                               f"{remaining} API calls left today; syncing slows down until the allowance resets",
                               org=summary.org_code, platform=summary.platform.value,
                               details={"day_remaining": remaining})
            warned[0] = low

        return watch

    def connector(self, connection_id: int) -> LedgerPlatform:
        """The connection's :class:`LedgerPlatform`, refreshing tokens single-flight as needed.

        Every read and write of a ledger goes through the object returned here (a new one per
        call: what its writer learns — customers, items — lasts as long as the caller keeps it).
        """
        with self._db.session() as s:
            conn, _org = self._load(s, connection_id)
            if conn.status is ConnectionStatus.DISCONNECTED:
                raise NeedsPersonError(f"{platform_label(conn.platform)} company “{conn.company_name}” is "
                                       "disconnected", action="connect it again on the Connections page")
            platform, environment = conn.platform, conn.environment
            ref, company_id = conn.credential_ref, conn.remote_id
        client = self._client(self.apps.get(platform, environment))

        def refresh(refresh_token: str) -> TokenResult:
            result = client.refresh(refresh_token)
            self._record_refresh(connection_id, result)
            return result

        def token(rejected: str | None) -> str:
            try:
                return self._vault.access_token(ref, refresh, rejected=rejected, grace=self._grace(platform))
            except NeedsReconnect as exc:
                self._mark_needs_reconnect(connection_id, exc)
                raise

        http = self._http(platform, connection_id, token)
        return platform_for(platform).connect(http, client.endpoints.api_base_url, company_id)

    def call(self, connection_id: int, fn: Callable[[LedgerPlatform], T]) -> T:
        """Run ``fn`` with the connection's connector; a reconnect-class failure marks the row."""
        try:
            return fn(self.connector(connection_id))
        except NeedsReconnect as exc:
            self._mark_needs_reconnect(connection_id, exc)
            raise

    def _record_refresh(self, connection_id: int, result: TokenResult) -> None:
        now = self._clock.now()
        with self._db.write_session() as s:
            conn = s.get(LedgerConnection, connection_id)
            if conn is None:
                return
            conn.last_refresh_at = now
            conn.access_token_expires_at = now + timedelta(seconds=result.expires_in_s)
            if result.refresh_expires_in_s:
                conn.refresh_token_expires_at = now + timedelta(seconds=result.refresh_expires_in_s)
            if result.hard_expires_in_s:
                conn.refresh_token_hard_expires_at = now + timedelta(seconds=result.hard_expires_in_s)
            if conn.status is not ConnectionStatus.DISCONNECTED:
                conn.status = ConnectionStatus.CONNECTED
            conn.updated_at = now

    def _mark_needs_reconnect(self, connection_id: int, exc: NeedsReconnect) -> None:
        with self._db.write_session() as s:
            conn, org = self._load(s, connection_id)
            already = conn.status is ConnectionStatus.NEEDS_REAUTH
            conn.status = ConnectionStatus.NEEDS_REAUTH
            conn.last_error = {**exc.as_dict(), "message": exc.user_message()}
            conn.updated_at = self._clock.now()
            org_code, platform, company = org.code, conn.platform, conn.company_name
        if not already:
            self._bus.emit(EventKind.CONNECTION_NEEDS_RECONNECT, Severity.ERROR,
                           f"{platform_label(platform)} company “{company}” needs you to sign in again: "
                           f"{exc.user_message()}", org=org_code, platform=platform.value,
                           platform_code=exc.platform_code)

    # --- actions ---------------------------------------------------------------------------
    def refresh_reference_data(self, actor: Actor, connection_id: int, report: Report | None = None) -> dict[str, int]:
        """Pull accounts, tax codes, items, customers, tracking and currencies into the cache (operators up)."""
        actor.require(Action.RUN_SYNC)
        say = report or (lambda _m: None)

        def progress(what: str, count: int) -> None:
            say(f"Reading {what}… {count}")

        def read(c: LedgerPlatform) -> tuple[CompanyInfo, dict[RefKind, list[Any]]]:
            return c.company_info(), c.reference_data(progress=progress)

        info, data = self.call(connection_id, read)
        counts = store_reference_data(self._db, connection_id, info, data, self._clock.now())
        with self._db.session() as s:
            _conn, org = self._load(s, connection_id)
            org_code = org.code
        self._bus.emit(EventKind.REFERENCE_DATA_REFRESHED, Severity.INFO,
                       "Cached " + ", ".join(f"{n} {_PLURAL.get(k, k)}" for k, n in counts.items()),
                       org=org_code, details=counts)
        return counts

    def test(self, actor: Actor, connection_id: int) -> ConnectionSummary:
        """Ask the ledger for the company. Anyone may; only someone who runs the sync records the answer
        (a viewer changes nothing)."""
        actor.require(Action.VIEW)
        info = self.call(connection_id, lambda c: c.company_info())
        if not actor.can(Action.RUN_SYNC):
            return self.summary(connection_id)
        with self._db.write_session() as s:
            conn, _org = self._load(s, connection_id)
            conn.company_name = info.name
            vendors = (conn.company or {}).get("vendors")  # the last reference refresh's list, kept
            conn.company = _company_json(info) | ({"vendors": vendors} if vendors is not None else {})
            conn.status = ConnectionStatus.CONNECTED
            conn.last_error = None
            conn.updated_at = self._clock.now()
        return self.summary(connection_id)

    def disconnect(self, actor: Actor, connection_id: int) -> ConnectionSummary:
        """Revoke at the platform, delete the keyring entries, mark disconnected (audited)."""
        actor.require(Action.MANAGE_CONNECTIONS)
        with self._db.session() as s:
            conn, org = self._load(s, connection_id)
            ref, platform, environment = conn.credential_ref, conn.platform, conn.environment
            org_code, org_id, company = org.code, org.id, conn.company_name
        grant = self._vault.load_grant(ref)
        if grant is not None:
            self._client(self.apps.get(platform, environment)).revoke(grant.refresh_token)
        self._vault.forget(ref)
        with self._db.write_session() as s:
            conn, _org = self._load(s, connection_id)
            conn.status = ConnectionStatus.DISCONNECTED
            conn.access_token_expires_at = conn.refresh_token_expires_at = None
            conn.updated_at = self._clock.now()
            audit.append(s, self._clock, actor=actor.username, action="connection.disconnected",
                         target=f"{platform.value}:{conn.remote_id}", organization_id=org_id, details={})
        self._bus.emit(EventKind.CONNECTION_DISCONNECTED, Severity.INFO,
                       f"Disconnected {org_code} from {platform_label(platform)} company “{company}”",
                       org=org_code, platform=platform.value)
        return self.summary(connection_id)

    def token_health(self) -> list[ConnectionSummary]:
        """Connections whose sign-in lapses within the reminder window; each gets a WARNING event."""
        expiring = [c for c in self.summaries() if c.state == "token_expiring"]
        for c in expiring:
            self._bus.emit(EventKind.CONNECTION_NEEDS_RECONNECT, Severity.WARNING,
                           f"{platform_label(c.platform)} company “{c.company_name}”: {c.state_text}",
                           org=c.org_code, platform=c.platform.value)
        return expiring


def _choose_tenant(tenants: list[dict[str, Any]], wanted: str | None) -> dict[str, Any]:
    if not tenants:
        raise NeedsPersonError("Xero connected no organisation", action="connect again and tick an organisation")
    if wanted:
        for t in tenants:
            if t.get("tenantId") == wanted:
                return t
        raise NeedsPersonError(f"Xero did not connect organisation {wanted}",
                               action="connect again and tick that organisation")
    return max(tenants, key=lambda t: str(t.get("updatedDateUtc") or t.get("createdDateUtc") or ""))


def _company_json(info: CompanyInfo) -> dict[str, Any]:
    return {"home_currency": info.home_currency, "currencies": list(info.currencies), "country": info.country,
            "multicurrency": info.multicurrency,
            "closed_through": info.closed_through.isoformat() if info.closed_through else None}
