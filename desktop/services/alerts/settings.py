"""Alert configuration: the SMTP server, recipients with their own rules and channels, thresholds.

Stored as one global setting (``alerts.config``) — never a secret in it: the SMTP password and
each recipient's webhook URL (Slack / Teams webhook URLs embed a secret) live in the OS keyring
under the app's service name, keyed by :func:`smtp_secret_name` / :func:`webhook_secret_name`.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import keyring
import sqlalchemy as sa

from desktop.services.alerts.rules import RULES, RuleName, Thresholds
from desktop.services.auth.roles import Action, Actor
from desktop.services.auth.vault import KEYRING_SERVICE
from desktop.services.core.clock import Clock
from desktop.services.core.events import Severity
from desktop.services.core.keyring_calls import steady
from desktop.services.store.db import Database
from desktop.services.store.models import Setting

__all__ = ["SETTING_KEY", "AlertSettings", "Recipient", "SmtpSettings", "load", "save", "smtp_secret_name",
           "webhook_secret_name"]

SETTING_KEY = "alerts.config"
CHANNELS = ("email", "tray", "webhook")


@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 587
    sender: str = ""
    username: str | None = None
    starttls: bool = True          # required for any host that is not loopback
    ca_file: str | None = None     # a private CA bundle (a company relay with its own certificate)
    timeout_s: int = 20  # seconds (whole: settings are JSON, and floats never go into JSON columns)


@dataclass(frozen=True)
class Recipient:
    """One person or channel: which rules, which organizations (None: all), which channels."""

    name: str
    email: str | None = None
    channels: tuple[str, ...] = ("email", "tray")
    rules: tuple[str, ...] = tuple(r.value for r in RULES)
    orgs: tuple[str, ...] | None = None
    min_severity: str = Severity.WARNING.value

    def wants(self, rule: RuleName, org: str | None, severity: Severity) -> bool:
        return (rule.value in self.rules and (self.orgs is None or org is None or org in self.orgs)
                and severity.at_least(self.min_severity))


@dataclass(frozen=True)
class AlertSettings:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    recipients: tuple[Recipient, ...] = ()
    thresholds: Thresholds = field(default_factory=Thresholds)
    cooldown_s: int = 3600   # the same alert (rule, organization, subject) again only after this

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["recipients"] = [{**asdict(r), "channels": list(r.channels), "rules": list(r.rules),
                               "orgs": list(r.orgs) if r.orgs is not None else None} for r in self.recipients]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertSettings:
        recips = []
        for r in data.get("recipients") or []:
            channels = tuple(c for c in r.get("channels") or ("email", "tray") if c in CHANNELS)
            recips.append(Recipient(str(r["name"]), r.get("email"), channels,
                                    tuple(r.get("rules") or [x.value for x in RULES]),
                                    tuple(r["orgs"]) if r.get("orgs") is not None else None,
                                    str(r.get("min_severity") or "warning")))
        return cls(SmtpSettings(**(data.get("smtp") or {})), tuple(recips),
                   Thresholds(**(data.get("thresholds") or {})), int(data.get("cooldown_s", 3600)))


def smtp_secret_name(smtp: SmtpSettings) -> str:
    return f"alerts:smtp:{smtp.host}:{smtp.port}:{smtp.username or ''}"


def webhook_secret_name(recipient: str) -> str:
    return f"alerts:webhook:{recipient}"


def load(db: Database) -> AlertSettings:
    with db.session() as s:
        value = s.execute(sa.select(Setting.value).where(Setting.key == SETTING_KEY,
                                                          Setting.organization_id.is_(None))).scalar()
    return AlertSettings.from_json(value) if isinstance(value, dict) else AlertSettings()


def save(db: Database, clock: Clock, actor: Actor, settings: AlertSettings, *, smtp_password: str | None = None,
         webhooks: dict[str, str] | None = None, service: str = KEYRING_SERVICE) -> None:
    """Persist ``settings``; secrets (SMTP password, webhook URLs by recipient name) go to the keyring."""
    actor.require(Action.MANAGE_SETTINGS)
    if smtp_password is not None:
        steady(partial(keyring.set_password, service, smtp_secret_name(settings.smtp), smtp_password))
    for name, url in (webhooks or {}).items():
        steady(partial(keyring.set_password, service, webhook_secret_name(name), url))
    now = clock.now()
    with db.write_session() as s:
        row = s.execute(sa.select(Setting).where(Setting.key == SETTING_KEY,
                                                 Setting.organization_id.is_(None))).scalar()
        if row is None:
            s.add(Setting(key=SETTING_KEY, value=settings.to_json(), updated_at=now, updated_by=actor.username))
        else:
            row.value, row.updated_at, row.updated_by = settings.to_json(), now, actor.username


def forget_secrets(settings: AlertSettings, service: str = KEYRING_SERVICE) -> None:
    """Remove this configuration's secrets from the keyring (tests, or when alerts are switched off)."""
    names = [smtp_secret_name(settings.smtp)] + [webhook_secret_name(r.name) for r in settings.recipients]
    for name in names:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            steady(partial(keyring.delete_password, service, name))
