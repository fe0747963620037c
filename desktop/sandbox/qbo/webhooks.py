"""Signed webhook delivery from a background thread, in the legacy or the CloudEvents format.

Every create/update/delete/void (through the API or the control API's tamper) becomes one event.
The sender drains what is queued into one POST (grouped per realm for the legacy format), signs
the raw body with ``intuit-signature = base64(HMAC-SHA256(verifier token, body))`` and retries a
failed delivery a few times quickly (the real service retries over hours; tests need seconds).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from desktop.sandbox.webhook_delivery import RETRY_DELAYS_S, DeliveryQueue, gather, post_with_retries, sign

log = logging.getLogger(__name__)

VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided", "Merge": "merged"}


@dataclass(frozen=True)
class Event:
    realm_id: str
    entity: str
    entity_id: str
    operation: str  # Create | Update | Delete | Void
    at: datetime
    tz: ZoneInfo


def legacy_body(events: list[Event]) -> bytes:
    by_realm: dict[str, list[dict[str, str]]] = {}
    for e in events:
        by_realm.setdefault(e.realm_id, []).append(
            {
                "name": e.entity,
                "id": e.entity_id,
                "operation": e.operation,
                "lastUpdated": e.at.astimezone(e.tz).strftime("%Y-%m-%dT%H:%M:%S.000%z"),
            }
        )
    payload = {
        "eventNotifications": [
            {"realmId": realm, "dataChangeEvent": {"entities": ents}} for realm, ents in by_realm.items()
        ]
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def cloudevents_body(events: list[Event], source: str) -> bytes:
    payload = [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": f"qbo.{e.entity.lower()}.{VERBS.get(e.operation, e.operation.lower())}.v1",
            "datacontenttype": "application/json",
            "time": e.at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "intuitentityid": e.entity_id,
            "intuitaccountid": e.realm_id,
            "data": {},
        }
        for e in events
    ]
    return json.dumps(payload, separators=(",", ":")).encode()


class WebhookSender(DeliveryQueue[Event]):
    """One delivery thread per emulator, started on first registration."""

    def __init__(self) -> None:
        super().__init__()
        self.url: str | None = None
        self.key: str = ""
        self.format = "legacy"
        self.source = "intuit.sandbox-returns-ledger"
        self._session = requests.Session()

    def register(self, url: str, key: str) -> None:
        self.url, self.key = url, key
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="qbo-webhooks", daemon=True)
            self._thread.start()

    def unregister(self) -> None:
        self.url = None
        self.format = "legacy"
        self._drop_queued()

    def enqueue(self, event: Event) -> None:
        if self.url:
            self._queue.put(event)

    def close(self) -> None:
        super().close()
        self._session.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            first = self._queue.get()
            if first is None:
                break
            batch, closing = gather(self._queue, first, 100)
            if closing:
                self._stop.set()
            self._deliver(batch)

    def _deliver(self, batch: list[Event]) -> None:
        url, key = self.url, self.key
        if not url:
            return
        if self.format == "cloudevents":
            body, ctype = cloudevents_body(batch, self.source), "application/cloudevents+json"
        else:
            body, ctype = legacy_body(batch), "application/json"
        headers = {"intuit-signature": sign(key, body), "Content-Type": ctype}
        delivered = post_with_retries(
            self._session, url, body, headers, stop=self._stop, timeout=3,
            on_failure=lambda attempt, why: log.info("qbo webhook delivery attempt %d %s", attempt, why))
        if delivered is False:
            log.info("qbo webhook delivery gave up after %d attempts", len(RETRY_DELAYS_S) + 1)

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, "format": self.format}
