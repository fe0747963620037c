"""The alerting service: listens on the event bus, applies the rules, delivers off the bus thread.

:meth:`AlertService.attach` subscribes to the bus. The subscriber only evaluates the rules (cheap)
and queues what must be sent; one daemon thread delivers, so a slow SMTP relay never holds up the
sync job that published the event. The same alert (rule, organization, subject) is sent at most
once per ``cooldown_s``. A delivery that fails publishes ``alert.delivery_failed`` (never a log
warning with the message in it) and is not retried: the next occurrence after the cooldown is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

import keyring
import sqlalchemy as sa

from desktop.services.alerts import channels
from desktop.services.alerts import settings as cfg
from desktop.services.alerts.rules import ALERT_DELIVERY_FAILED, Alert, evaluate
from desktop.services.alerts.settings import AlertSettings, Recipient
from desktop.services.auth.vault import KEYRING_SERVICE
from desktop.services.core.clock import Clock
from desktop.services.core.errors import AppError
from desktop.services.core.events import Event, EventBus, Severity
from desktop.services.core.keyring_calls import steady
from desktop.services.store.db import Database
from desktop.services.store.models import (
    Organization,
    OutboxDocument,
    OutboxStatus,
    Return,
    ReturnSyncStatus,
)

__all__ = ["AlertService", "Delivery"]


@dataclass(frozen=True)
class Delivery:
    """One alert delivered (or not) on one channel to one recipient; kept for the settings page."""

    alert: Alert
    channel: str
    recipient: str | None
    ok: bool
    error: str | None = None


class AlertService:
    """Evaluates alert rules on events and delivers alerts (see the module docstring).

    Args:
        db: where the settings are, and the quarantine counts.
        bus: the app's event bus (listened to; tray alerts and delivery failures are published on it).
        clock: the injected clock (cooldowns).
        settings: fixed settings (tests); by default they are read from the database on each alert.
        keyring_service: the keyring service name the secrets are under.
    """

    def __init__(self, db: Database, bus: EventBus, clock: Clock, *, settings: AlertSettings | None = None,
                 keyring_service: str = KEYRING_SERVICE) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._fixed = settings
        self._service = keyring_service
        self._queue: queue.Queue[Alert | None] = queue.Queue()
        self._last: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._pending = 0
        self.deliveries: list[Delivery] = []
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- life cycle -----------------------------------------------------------------------------
    def attach(self) -> None:
        """Start listening and the delivery thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._deliver_loop, name="alerts", daemon=True)
            self._thread.start()
        if self._unsubscribe is None:
            self._unsubscribe = self._bus.subscribe(self.on_event, min_severity=Severity.INFO)

    def close(self, timeout: float = 10.0) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued alert has been delivered (tests, shutdown); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def settings(self) -> AlertSettings:
        return self._fixed if self._fixed is not None else cfg.load(self._db)

    # --- the bus side ---------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """Bus subscriber: evaluate, throttle, queue. Quick; never sends from the publishing thread."""
        if event.kind.startswith("alert."):
            return
        current = self.settings()
        for alert in evaluate(event, current.thresholds, self.quarantined):
            if self._cooling(alert, current.cooldown_s):
                continue
            with self._idle:
                self._pending += 1
            self._queue.put(alert)

    def _cooling(self, alert: Alert, cooldown_s: int) -> bool:
        now = self._clock.now()
        with self._lock:
            last = self._last.get(alert.dedupe_key)
            if last is not None and now - last < timedelta(seconds=cooldown_s):
                return True
            self._last[alert.dedupe_key] = now
            return False

    def quarantined(self, org: str | None) -> int:
        """Quarantined outbox documents plus quarantined returns of ``org`` (all if None)."""
        with self._db.session() as s:
            docs = sa.select(sa.func.count()).select_from(OutboxDocument).where(
                OutboxDocument.status == OutboxStatus.QUARANTINED)
            rets = sa.select(sa.func.count()).select_from(Return).where(
                Return.sync_status == ReturnSyncStatus.QUARANTINED)
            if org is not None:
                org_id = sa.select(Organization.id).where(Organization.code == org).scalar_subquery()
                docs = docs.where(OutboxDocument.organization_id == org_id)
                rets = rets.where(Return.organization_id == org_id)
            return int(s.execute(docs).scalar() or 0) + int(s.execute(rets).scalar() or 0)

    # --- the delivery side ----------------------------------------------------------------------
    def _deliver_loop(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            try:
                self.deliver(alert)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def deliver(self, alert: Alert) -> list[Delivery]:
        """Send ``alert`` to every recipient that wants it, on each of their channels."""
        current = self.settings()
        wanted = [r for r in current.recipients if r.wants(alert.rule, alert.org, alert.severity)]
        done: list[Delivery] = []
        if not current.recipients or any("tray" in r.channels for r in wanted):
            done.append(self._attempt(alert, "tray", None, lambda: channels.send_tray(self._bus, alert)))
        for r in wanted:
            if "email" in r.channels and r.email:
                done.append(self._attempt(alert, "email", r.name, partial(self._email, current, r, alert)))
            if "webhook" in r.channels:
                done.append(self._attempt(alert, "webhook", r.name, partial(self._webhook, r, alert)))
        with self._lock:
            self.deliveries.extend(done)
        return done

    def _email(self, current: AlertSettings, r: Recipient, alert: Alert) -> None:
        password = steady(lambda: keyring.get_password(self._service, cfg.smtp_secret_name(current.smtp))) \
            if current.smtp.username else None
        assert r.email is not None
        channels.send_email(current.smtp, password, r.email, alert)

    def _webhook(self, r: Recipient, alert: Alert) -> None:
        url = steady(lambda: keyring.get_password(self._service, cfg.webhook_secret_name(r.name)))
        if url:
            channels.send_webhook(url, alert)

    def _attempt(self, alert: Alert, channel: str, recipient: str | None, send: Callable[[], None]) -> Delivery:
        try:
            send()
        except AppError as exc:
            self._bus.emit(ALERT_DELIVERY_FAILED, Severity.WARNING,
                           f"Alert '{alert.title}' could not be sent by {channel}"
                           + (f" to {recipient}" if recipient else "") + f": {exc.message}", org=alert.org,
                           details={"channel": channel, "recipient": recipient, "rule": alert.rule.value})
            return Delivery(alert, channel, recipient, False, exc.message)
        return Delivery(alert, channel, recipient, True)
