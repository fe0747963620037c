"""Delivering an alert: email (SMTP with STARTTLS), webhook (Slack / Teams JSON), tray (an event).

Email refuses to send a password over an unencrypted connection: STARTTLS is mandatory unless
the relay is on loopback and ``starttls`` is switched off. Webhooks go over HTTPS (plain HTTP to
loopback only, like every connection of the app). The tray channel publishes
:data:`~desktop.services.alerts.rules.ALERT_RAISED` on the bus; the GUI's tray icon listens.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

import requests

from desktop.services.alerts.rules import ALERT_RAISED, Alert
from desktop.services.alerts.settings import SmtpSettings
from desktop.services.core.errors import NeedsPersonError, TransientError
from desktop.services.core.events import EventBus, redact_text
from desktop.services.platforms.http import check_transport, is_loopback_host

__all__ = ["send_email", "send_tray", "send_webhook", "webhook_body"]


def _text(alert: Alert) -> str:
    details = json.dumps(dict(alert.details), indent=2, sort_keys=True, default=str) if alert.details else ""
    return redact_text(f"{alert.body}\n\nOrganization: {alert.org or '-'}\nRule: {alert.rule.value}\n"
                       f"Severity: {alert.severity.value}\n" + (f"\nDetails:\n{details}\n" if details else "")
                       + "\n— Returns Ledger Sync")


def send_email(smtp: SmtpSettings, password: str | None, to: str, alert: Alert) -> None:
    """One message to ``to``; raises ``TransientError`` (retry) or ``NeedsPersonError`` (fix settings)."""
    if not smtp.host or not smtp.sender:
        raise NeedsPersonError("Alert email is not configured (SMTP host and sender)",
                               action="set them in Settings → Alerts")
    if not smtp.starttls and not is_loopback_host(smtp.host):
        raise NeedsPersonError("Alert email needs STARTTLS for a relay that is not on this machine",
                               action="switch STARTTLS on in Settings → Alerts")
    msg = EmailMessage()
    msg["From"], msg["To"] = smtp.sender, to
    msg["Subject"] = f"[Returns Ledger Sync] {alert.title}"
    msg.set_content(_text(alert))
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
            client.ehlo()
            if smtp.starttls:
                context = ssl.create_default_context(cafile=smtp.ca_file)
                client.starttls(context=context)
                client.ehlo()
            if smtp.username and password:
                client.login(smtp.username, password)
            client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise NeedsPersonError("The SMTP server refused the alert account's sign-in",
                               action="check the SMTP user and password in Settings → Alerts",
                               platform_code=str(exc.smtp_code)) from exc
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise TransientError(f"Could not send the alert email: {type(exc).__name__}",
                             platform_message=redact_text(str(exc))[:300]) from exc


def webhook_body(alert: Alert) -> dict[str, Any]:
    """Slack incoming-webhook and Teams (legacy connector / Workflows) both read ``text``."""
    return {"text": f"*{alert.title}*\n{redact_text(alert.body)}", "title": alert.title,
            "severity": alert.severity.value, "org": alert.org, "rule": alert.rule.value}


def send_webhook(url: str, alert: Alert, *, session: requests.Session | None = None, timeout_s: float = 15.0) -> None:
    check_transport(url)
    http = session or requests.Session()
    try:
        resp = http.post(url, data=json.dumps(webhook_body(alert)), timeout=timeout_s,
                         headers={"Content-Type": "application/json"})
    except requests.RequestException as exc:
        raise TransientError(f"Could not reach the alert webhook: {type(exc).__name__}") from exc
    if resp.status_code >= 500 or resp.status_code == 429:
        raise TransientError(f"The alert webhook answered HTTP {resp.status_code}")
    if resp.status_code >= 400:
        raise NeedsPersonError(f"The alert webhook refused the message (HTTP {resp.status_code})",
                               action="check the webhook URL in Settings → Alerts")


def send_tray(bus: EventBus, alert: Alert) -> None:
    bus.emit(ALERT_RAISED, alert.severity, alert.title, org=alert.org,
             details={"rule": alert.rule.value, "title": alert.title, "body": alert.body})
