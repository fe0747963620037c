"""Alerts delivered for real: SMTP with STARTTLS and a login to a local server, a Slack/Teams-style
webhook to a local receiver, and the tray event — and never a secret in any of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import pytest

from desktop.services.alerts import ALERT_RAISED, AlertService, AlertSettings, Recipient, SmtpSettings
from desktop.services.alerts.rules import ALERT_DELIVERY_FAILED, Thresholds
from desktop.services.alerts.settings import smtp_secret_name, webhook_secret_name
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import Event, EventBus, EventKind, Severity
from desktop.services.store.db import Database
from tests.helpers.alerts import SMTP_PASSWORD, SMTP_USER, Hooks, Mailbox, body_of, remember
from tests.helpers.db import migrated

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
SECRET = "eyJhbGciOiJSUzI1NiJ9.secret-access-token-value"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with migrated(f"sqlite:///{tmp_path / 'alerts.sqlite3'}") as database:
        yield database


def _settings(box: Mailbox, **kw: object) -> AlertSettings:
    smtp = SmtpSettings(host=box.host, port=box.port, sender="rls@example.test", username=SMTP_USER,
                        ca_file=box.ca_file, timeout_s=10)
    recipients = (Recipient("ops", "ops@example.test", ("email", "tray", "webhook")),
                  Recipient("cfo", "cfo@example.test", ("email",), rules=("variance_found",)))
    return AlertSettings(smtp, recipients, Thresholds(quarantine=2), **kw)  # type: ignore[arg-type]


def _service(db: Database, bus: EventBus, clock: ManualClock, settings: AlertSettings, service: str,
             hooks: Hooks | None = None) -> AlertService:
    keyring.set_password(service, smtp_secret_name(settings.smtp), SMTP_PASSWORD)
    remember(service, smtp_secret_name(settings.smtp))
    if hooks is not None:
        keyring.set_password(service, webhook_secret_name("ops"), hooks.url)
        remember(service, webhook_secret_name("ops"))
    alerts = AlertService(db, bus, clock, settings=settings, keyring_service=service)
    alerts.attach()
    return alerts


def test_a_sync_failure_is_mailed_over_starttls_posted_to_the_webhook_and_shown_in_the_tray(
        db: Database, mailbox: Mailbox, webhook_receiver: Hooks, keyring_service: str) -> None:
    clock = ManualClock(START)
    bus = EventBus(clock)
    seen: list[Event] = []
    bus.subscribe(seen.append)
    alerts = _service(db, bus, clock, _settings(mailbox), keyring_service, webhook_receiver)
    try:
        bus.emit(EventKind.SYNC_FAILED, Severity.ERROR, f"push for ACME-US failed: Authorization: Bearer {SECRET}",
                 org="ACME-US", platform="qbo", platform_code="3200",
                 platform_message=f"token rejected access_token={SECRET}",
                 details={"job": "push", "access_token": SECRET, "refresh_token": SECRET})
        assert alerts.flush(15)
    finally:
        alerts.close()

    [mail] = mailbox.wait(1)
    assert mailbox.logins == [SMTP_USER]  # logged in, which the server allows only after STARTTLS
    assert mail["To"] == "ops@example.test" and "ACME-US: push failed" in mail["Subject"]
    body = body_of(mail)
    assert "push for ACME-US failed" in body and "Rule: sync_failure" in body
    everything = b"".join(mailbox.raw).decode() + repr(webhook_receiver.received) + repr(
        [e.to_dict() for e in seen])
    assert SECRET not in everything and SMTP_PASSWORD not in everything
    assert "***" in body
    [hook] = webhook_receiver.received
    assert hook["text"].startswith("*ACME-US: push failed*") and hook["severity"] == "error"
    tray = [e for e in seen if e.kind == ALERT_RAISED]
    assert len(tray) == 1 and tray[0].details["rule"] == "sync_failure" and tray[0].org == "ACME-US"
    assert {(d.channel, d.recipient, d.ok) for d in alerts.deliveries} == {
        ("tray", None, True), ("email", "ops", True), ("webhook", "ops", True)}


def test_the_same_alert_is_sent_once_per_cooldown_and_rules_follow_each_recipient(
        db: Database, mailbox: Mailbox, keyring_service: str) -> None:
    clock = ManualClock(START)
    bus = EventBus(clock)
    alerts = _service(db, bus, clock, _settings(mailbox, cooldown_s=600), keyring_service)
    try:
        for _ in range(3):
            bus.emit(EventKind.SYNC_FAILED, Severity.ERROR, "pull failed", org="KIWI-NZ", details={"job": "pull"})
        bus.emit(EventKind.RECONCILIATION_FINISHED, Severity.INFO, "Reconciled KIWI-NZ: 2 variances", org="KIWI-NZ",
                 details={"run_id": 7, "new": 2, "counts": {"amount_mismatch": 1, "voided_in_ledger": 1}})
        assert alerts.flush(15)
        clock.advance(timedelta(seconds=601))
        bus.emit(EventKind.SYNC_FAILED, Severity.ERROR, "pull failed", org="KIWI-NZ", details={"job": "pull"})
        assert alerts.flush(15)
    finally:
        alerts.close()
    mails = mailbox.wait(4)
    got = sorted((m["To"], m["Subject"].split("] ", 1)[1]) for m in mails)
    assert got == [("cfo@example.test", "KIWI-NZ: 2 new reconciliation variance(s)"),
                   ("ops@example.test", "KIWI-NZ: 2 new reconciliation variance(s)"),
                   ("ops@example.test", "KIWI-NZ: pull failed"),
                   ("ops@example.test", "KIWI-NZ: pull failed")]
    variance_body = body_of(next(m for m in mails if "variance" in m["Subject"]))
    assert "Amount differs: 1" in variance_body and "Voided in ledger: 1" in variance_body


@pytest.mark.parametrize("kind", ["token", "budget", "quarantine"])
def test_token_budget_and_quarantine_rules_raise_tray_alerts(db: Database, kind: str) -> None:
    clock = ManualClock(START)
    bus = EventBus(clock)
    seen: list[Event] = []
    bus.subscribe(seen.append, kinds=[ALERT_RAISED])
    alerts = AlertService(db, bus, clock, settings=AlertSettings(thresholds=Thresholds(quarantine=-1)))
    alerts.attach()
    try:
        if kind == "token":
            bus.emit(EventKind.CONNECTION_NEEDS_RECONNECT, Severity.WARNING, "Acme: Sign-in expires in 3 days",
                     org="ACME-US", platform="qbo")
        elif kind == "budget":
            bus.emit("connection.rate_budget_low", Severity.WARNING, "day budget", org="KIWI-NZ", platform="xero",
                     details={"day_remaining": 40, "day_limit": 5000})
            bus.emit("connection.rate_budget_low", Severity.WARNING, "fine", org="ACME-US", platform="xero",
                     details={"day_remaining": 4000, "day_limit": 5000})
        else:
            bus.emit(EventKind.DOCUMENT_QUARANTINED, Severity.WARNING, "no account for SKU X", org="ACME-US")
        assert alerts.flush(10)
    finally:
        alerts.close()
    rule = {"token": "token_expiring", "budget": "rate_budget_low", "quarantine": "quarantine_threshold"}[kind]
    assert [(e.details["rule"], e.org) for e in seen] == [(rule, "KIWI-NZ" if kind == "budget" else "ACME-US")]


def test_an_unreachable_smtp_server_is_a_delivery_failure_event_not_a_crash(
        db: Database, keyring_service: str) -> None:
    clock = ManualClock(START)
    bus = EventBus(clock)
    failures: list[Event] = []
    bus.subscribe(failures.append, kinds=[ALERT_DELIVERY_FAILED])
    settings = AlertSettings(SmtpSettings(host="127.0.0.1", port=9, sender="rls@example.test", timeout_s=2),
                             (Recipient("ops", "ops@example.test", ("email",)),))
    alerts = AlertService(db, bus, clock, settings=settings, keyring_service=keyring_service)
    alerts.attach()
    try:
        bus.emit(EventKind.SYNC_FAILED, Severity.ERROR, "push failed", org="ACME-US", details={"job": "push"})
        assert alerts.flush(15)
    finally:
        alerts.close()
    assert len(failures) == 1 and failures[0].details["channel"] == "email"
    assert [d.ok for d in alerts.deliveries] == [False]


def test_email_refuses_a_remote_relay_without_starttls() -> None:
    from desktop.services.alerts.channels import send_email
    from desktop.services.alerts.rules import Alert, RuleName
    from desktop.services.core.errors import NeedsPersonError
    alert = Alert(RuleName.SYNC_FAILURE, Severity.ERROR, "t", "b", None, "k")
    with pytest.raises(NeedsPersonError, match="STARTTLS"):
        send_email(SmtpSettings(host="smtp.example.test", sender="a@b.c", starttls=False), "pw", "x@y.z", alert)


def test_settings_round_trip_with_secrets_only_in_the_keyring(db: Database, keyring_service: str) -> None:
    import sqlalchemy as sa

    from desktop.services.alerts import settings as cfg
    from desktop.services.auth.roles import Actor, PermissionDenied, Role
    from desktop.services.store.models import Setting
    hook = "https://hooks.example.test/services/T000/B000/very-secret-part"
    settings = AlertSettings(SmtpSettings(host="smtp.example.test", port=587, sender="rls@example.test",
                                          username=SMTP_USER),
                             (Recipient("ops", "ops@example.test", ("email", "webhook"), orgs=("ACME-US",)),),
                             Thresholds(quarantine=5, rate_budget_pct=20), cooldown_s=900)
    with pytest.raises(PermissionDenied):
        cfg.save(db, ManualClock(START), Actor("val", Role.VIEWER), settings, service=keyring_service)
    cfg.save(db, ManualClock(START), Actor("alice", Role.ADMIN), settings, smtp_password=SMTP_PASSWORD,
             webhooks={"ops": hook}, service=keyring_service)
    try:
        assert cfg.load(db) == settings
        with db.session() as s:
            stored = repr(s.execute(sa.select(Setting.value).where(Setting.key == cfg.SETTING_KEY)).scalar_one())
        assert SMTP_PASSWORD not in stored and hook not in stored and "very-secret" not in stored
        assert keyring.get_password(keyring_service, cfg.smtp_secret_name(settings.smtp)) == SMTP_PASSWORD
        assert keyring.get_password(keyring_service, cfg.webhook_secret_name("ops")) == hook
    finally:
        cfg.forget_secrets(settings, keyring_service)
    assert keyring.get_password(keyring_service, cfg.smtp_secret_name(settings.smtp)) is None
    assert keyring.get_password(keyring_service, cfg.webhook_secret_name("ops")) is None
