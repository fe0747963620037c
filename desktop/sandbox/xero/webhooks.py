"""Xero webhooks: intent-to-receive on registration, then signed CREATE/UPDATE event batches.

Signature: ``x-xero-signature`` = base64(HMAC-SHA256(signing key, raw body)). Only credit notes
and contacts produce events (Xero sends none for manual journals or payments). Delivery runs on a
background thread with a few quick retries, so API calls never wait on the receiver.
"""

from __future__ import annotations

import json
import logging
import secrets
import string
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests

from desktop.sandbox.webhook_delivery import RETRY_DELAYS_S, DeliveryQueue, gather, post_with_retries, sign

log = logging.getLogger(__name__)


def _entropy() -> str:
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))


@dataclass
class Subscription:
    url: str
    key: str
    intent_passed: bool = False


class WebhookDispatcher(DeliveryQueue[dict[str, Any]]):
    """Owns the subscription, the event sequence and the delivery thread."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.subscription: Subscription | None = None
        self._sequence = 0
        self.delivered: list[dict[str, Any]] = []

    def register(self, url: str, key: str) -> bool:
        """Run intent-to-receive (good and bad signatures) and subscribe only if it passes.

        An empty ``url`` unregisters (the control API's convention).
        """
        if not url:
            with self._lock:
                self.subscription = None
            return False
        sub = Subscription(url, key)
        passed = True
        with requests.Session() as http:
            for good in (True, False, True, False):
                body = json.dumps(
                    {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": _entropy()}
                ).encode()
                signature = sign(key if good else secrets.token_hex(16), body)
                try:
                    resp = http.post(
                        url,
                        data=body,
                        timeout=5,
                        headers={"Content-Type": "application/json", "x-xero-signature": signature},
                    )
                    ok = resp.status_code == (200 if good else 401)
                except requests.RequestException:
                    ok = False
                passed = passed and ok
        sub.intent_passed = passed
        log.info("xero webhook intent-to-receive %s for %s", "passed" if passed else "failed", url)
        with self._lock:
            self.subscription = sub
        self._ensure_thread()
        return passed

    def status(self) -> dict[str, Any]:
        """What the subscription looks like now (for the control API and tests)."""
        with self._lock:
            sub = self.subscription
            return {
                "url": sub.url if sub else None,
                "intent_passed": bool(sub and sub.intent_passed),
                "delivered_batches": len(self.delivered),
                "last_sequence": self._sequence,
            }

    def reset(self) -> None:
        with self._lock:
            self.subscription = None
            self._sequence = 0
            self.delivered = []
        self._drop_queued()

    def publish(self, event: dict[str, Any]) -> None:
        with self._lock:
            sub = self.subscription
        if sub is None or not sub.intent_passed:
            return
        self._queue.put(event)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="xero-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        http = requests.Session()
        try:
            while not self._stop.is_set():
                first = self._queue.get()
                if first is None:
                    continue
                batch, _closing = gather(self._queue, first, 20)  # close() has set _stop already
                self._deliver(http, batch)
        finally:
            http.close()

    def _deliver(self, http: requests.Session, events: list[dict[str, Any]]) -> None:
        with self._lock:
            sub = self.subscription
            if sub is None:
                return
            first = self._sequence + 1
            self._sequence += len(events)
            payload = {
                "events": events,
                "firstEventSequence": first,
                "lastEventSequence": self._sequence,
                "entropy": _entropy(),
            }
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "x-xero-signature": sign(sub.key, body)}
        delivered = post_with_retries(http, sub.url, body, headers, stop=self._stop, timeout=5)
        if delivered:
            with self._lock:
                self.delivered.append(payload)
        if delivered is False:
            log.info("xero webhook delivery to %s gave up after %d attempts", sub.url, len(RETRY_DELAYS_S) + 1)


def event(
    resource_url: str,
    resource_id: str,
    tenant_id: str,
    category: str,
    event_type: str,
    data: dict[str, Any] | None,
    when: datetime,
) -> dict[str, Any]:
    """One element of ``events`` in Xero's payload shape."""
    out: dict[str, Any] = {
        "resourceUrl": resource_url,
        "resourceId": resource_id,
        "eventDateUtc": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
        "eventType": event_type,
        "eventCategory": category,
        "tenantId": tenant_id,
        "tenantType": "ORGANISATION",
    }
    if data is not None:
        out["data"] = data
    return out
