"""Alerts: rules over the event bus, delivered by email, tray notification and webhook.

See :mod:`desktop.services.alerts.service` for the service, :mod:`.rules` for what raises an
alert, :mod:`.channels` for delivery and :mod:`.settings` for per-recipient configuration.
"""

from desktop.services.alerts.rules import ALERT_RAISED, RULES, Alert, RuleName
from desktop.services.alerts.service import AlertService
from desktop.services.alerts.settings import AlertSettings, Recipient, SmtpSettings

__all__ = ["ALERT_RAISED", "RULES", "Alert", "AlertService", "AlertSettings", "Recipient", "RuleName",
           "SmtpSettings"]
