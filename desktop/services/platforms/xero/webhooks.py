"""Xero webhook payloads → notifications (API_FACTS §11).

``{"events": [{"resourceId", "eventDateUtc", "eventType", "eventCategory", "tenantId", …}],
"firstEventSequence", "lastEventSequence", "entropy"}``, signed with ``x-xero-signature``. An
intent-to-receive payload has no events. ``eventDateUtc`` carries no zone (``2025-12-02T00:44:09.923``);
its name says UTC, so that is how it is read. Xero events carry no id of their own.
"""

from __future__ import annotations

from desktop.services.platforms.webhooks import Notification, event_time, load_body, text

__all__ = ["parse"]


def parse(key: str, body: bytes) -> list[Notification]:
    """The notifications of a delivery; ``ValueError`` when the body is not readable JSON."""
    data = load_body(body)
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        return []
    return [Notification(key, text(e.get("tenantId")), text(e.get("eventCategory")), text(e.get("resourceId")),
                         text(e.get("eventType")), at=event_time(e.get("eventDateUtc"), naive_is_utc=True))
            for e in events if isinstance(e, dict)]
