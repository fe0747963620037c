"""QuickBooks Online webhook payloads → notifications (API_FACTS §6).

Two formats arrive at the same URL, signed alike (``intuit-signature``):

- legacy: ``{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities": [{"name", "id",
  "operation", "lastUpdated"}]}}]}`` — ``lastUpdated`` is the event's time (an offset such as
  ``-0700``, as Intuit's own example writes it);
- CloudEvents (2025–26 migration): a JSON array of ``{"id", "type": "qbo.<entity>.<verb>.v1",
  "time", "intuitaccountid", "intuitentityid", …}``. Intuit says to deduplicate by ``id``; verbs
  other than ``created`` are UNCONFIRMED, so the verb is kept as sent and not interpreted.

Anything of another shape yields no notifications (the scheduled pull catches every change anyway).
"""

from __future__ import annotations

from typing import Any

from desktop.services.platforms.webhooks import Notification, event_time, load_body, text

__all__ = ["parse"]


def parse(key: str, body: bytes) -> list[Notification]:
    """The notifications of a delivery; ``ValueError`` when the body is not readable JSON."""
    data = load_body(body)
    if isinstance(data, list):
        return [_cloud_event(key, ev) for ev in data if isinstance(ev, dict)]
    out: list[Notification] = []
    if isinstance(data, dict):
        for note in _list(data.get("eventNotifications")):
            if not isinstance(note, dict):
                continue
            realm = text(note.get("realmId"))
            change = note.get("dataChangeEvent")
            for ent in _list(change.get("entities") if isinstance(change, dict) else None):
                if isinstance(ent, dict):
                    out.append(Notification(key, realm, text(ent.get("name")), text(ent.get("id")),
                                            text(ent.get("operation")), at=event_time(ent.get("lastUpdated"))))
    return out


def _cloud_event(key: str, ev: dict[str, Any]) -> Notification:
    parts = text(ev.get("type")).split(".")
    entity, verb = (parts[1], parts[2]) if len(parts) > 2 else ("", "")
    event_id = ev.get("id")
    return Notification(key, text(ev.get("intuitaccountid")), entity, text(ev.get("intuitentityid")), verb,
                        text(event_id) or None, at=event_time(ev.get("time")))


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
