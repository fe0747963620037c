"""How the emulated ledgers deliver webhooks: signed, batched and retried a few times quickly.

QuickBooks and Xero differ in payload and header name but deliver the same way: a background
thread takes the first queued event, gathers whatever else arrives within 50 ms, signs the body
with base64(HMAC-SHA256(key, body)) and POSTs it, retrying after short delays (the real services
retry over hours; tests need seconds). ``None`` on the queue is the close sentinel.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

import requests

T = TypeVar("T")

#: Pauses before the second, third and fourth attempt.
RETRY_DELAYS_S = (0.2, 0.5, 1.0)


def sign(key: str, body: bytes) -> str:
    """The signature both ledgers send: base64 of the body's HMAC-SHA256 under the shared key."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def gather(events: queue.Queue[T | None], first: T, limit: int) -> tuple[list[T], bool]:
    """``first`` and what else is queued within 50 ms, up to ``limit`` events; and whether the
    close sentinel was taken off the queue meanwhile (the caller then stops after this batch)."""
    batch = [first]
    while len(batch) < limit:
        try:
            nxt = events.get(timeout=0.05)
        except queue.Empty:
            break
        if nxt is None:
            return batch, True
        batch.append(nxt)
    return batch, False


def post_with_retries(session: requests.Session, url: str, body: bytes, headers: dict[str, str], *,
                      stop: threading.Event, timeout: float,
                      on_failure: Callable[[int, str], None] | None = None) -> bool | None:
    """POST until the receiver answers 200: True when it did, False when every attempt failed,
    None when ``stop`` was set while waiting to retry. ``on_failure(attempt, why)`` hears each miss."""
    for attempt, delay in enumerate((0.0, *RETRY_DELAYS_S), start=1):
        if delay and stop.wait(delay):
            return None
        try:
            resp = session.post(url, data=body, headers=headers, timeout=timeout)
            if resp.status_code == 200:
                return True
            why = f"answered {resp.status_code}"
        except requests.RequestException as exc:
            why = f"failed: {type(exc).__name__}"
        if on_failure is not None:
            on_failure(attempt, why)
    return False


class DeliveryQueue(Generic[T]):
    """The queue, stop flag and thread a webhook sender delivers from; ``close`` stops it for good.

    Subclasses start ``self._thread`` on their own terms (first registration, or on demand) with a
    ``_run`` that takes events off ``self._queue`` until ``self._stop`` is set.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[T | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _drop_queued(self) -> None:
        """Forget every event not yet delivered (unregistering, or a reset)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break

    def close(self) -> None:
        """Stop the thread (the sentinel wakes it) and wait up to 5 s for it to finish."""
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
