"""HTTP plumbing every connector is built from: transport policy, throttle, retry, redaction.

Small parts, in the spirit of dlt / the Meltano SDK:

- :func:`check_transport` refuses plain HTTP to anything but loopback (the sandbox).
- :class:`Throttle` keeps a connection inside the platform's published limits (requests per
  minute, concurrent requests) and obeys what the responses say (``Retry-After``, Xero's
  ``X-MinLimit-Remaining``/``X-DayLimit-Remaining``).
- :class:`RetryPolicy` retries transient failures only, with exponential backoff and jitter,
  and never re-sends a non-idempotent write unless it carries an idempotency key.
- :class:`LedgerHttp` puts them together around a ``requests.Session`` with an auth hook that
  refreshes once on a 401 and retries once; every logged line is redacted.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from desktop.services.core.errors import ConfigurationError, TransientError
from desktop.services.core.events import redact_text

log = logging.getLogger(__name__)

TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


def is_loopback_host(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_transport(url: str) -> None:
    """HTTPS anywhere; plain HTTP only to loopback. Raises ConfigurationError otherwise."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return
    raise ConfigurationError(
        f"Refusing to send credentials over {parts.scheme or 'an unknown scheme'} to "
        f"{parts.hostname or url!r}: only HTTPS is allowed, except to this computer (loopback)",
        action="use the platform's https:// address",
    )


class NotSent(TransientError):
    """Nothing left this computer (the app is stopping): safe to send again, no look-up needed."""


class AllowanceUsedUp(NotSent):
    """The ledger's metered allowance is used up (QuickBooks' monthly reads, Xero's daily calls):
    the request was refused before it was processed, or never sent. Retrying before ``until`` is
    pointless; the connection's allowance state (``connections/allowance.py``) says when it resets."""

    def __init__(self, message: str, *, until: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.until = until


class Throttle:
    """Per-connection limits: a sliding minute window, a concurrency cap and server pauses.

    ``per_minute=None``: no minute window of our own (a service that publishes none and says
    ``429`` + ``Retry-After`` instead, which :meth:`pause` obeys). ``app``: a limit shared by every
    connection of one app (Xero's 10,000 calls a minute across all tenants); a request takes a
    place in it too, after its own connection's. ``sleep`` and ``monotonic`` are injectable so
    tests need not wait in real time.
    """

    def __init__(self, per_minute: int | None, concurrent: int, *, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic, app: Throttle | None = None) -> None:
        self.per_minute = per_minute
        self.concurrent = concurrent
        self.app = app
        self._slots = threading.BoundedSemaphore(concurrent)
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self._sleep = sleep
        self._now = monotonic
        self.day_remaining: int | None = None
        self.minute_remaining: int | None = None
        self.on_day_remaining: Callable[[int], None] | None = None  # told each time the platform says
        self.stopping: threading.Event | None = None  # set on shutdown: stop waiting, send nothing more

    def _wait_time(self) -> float:
        now = self._now()
        while self._sent and self._sent[0] <= now - 60.0:
            self._sent.popleft()
        wait = max(0.0, self._paused_until - now)
        if self.per_minute is not None and len(self._sent) >= self.per_minute:
            wait = max(wait, self._sent[0] + 60.0 - now)
        return wait

    def acquire(self) -> None:
        """Block until a request may start; pair with :meth:`release`.

        Raises TransientError instead of waiting once :attr:`stopping` is set (the app is
        shutting down): nothing was sent, so the work is simply picked up again next time.
        """
        self._slots.acquire()
        while True:
            with self._lock:
                wait = self._wait_time()
                if wait <= 0:
                    self._sent.append(self._now())
                    break
            if self.stopping is not None and self.stopping.is_set():
                self._slots.release()
                raise NotSent("Stopping: the request was not sent", action="it is retried on the next run")
            pause = min(wait, 5.0)
            if self.stopping is not None and self._sleep is time.sleep:
                self.stopping.wait(pause)  # wakes at once on shutdown
            else:
                self._sleep(pause)
        if self.app is not None:
            try:
                self.app.acquire()
            except BaseException:
                self._slots.release()
                raise

    def release(self) -> None:
        if self.app is not None:
            self.app.release()
        self._slots.release()

    def pause(self, seconds: float) -> None:
        """Hold every request of this connection for ``seconds`` (a 429's Retry-After)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._now() + seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn from the platform's rate-limit headers."""
        app_minute = headers.get("X-AppMinLimit-Remaining")
        app_spent = app_minute is not None and app_minute.isdigit() and int(app_minute) == 0
        if self.app is not None and (app_spent or headers.get("X-Rate-Limit-Problem", "").lower() == "appminute"):
            self.app.pause(parse_retry_after(headers.get("Retry-After")) or 1.0)  # every tenant of the app waits
        day = headers.get("X-DayLimit-Remaining")
        minute = headers.get("X-MinLimit-Remaining")
        if day is not None and day.isdigit():
            self.day_remaining = int(day)
            if self.on_day_remaining is not None:
                self.on_day_remaining(self.day_remaining)
        if minute is not None and minute.isdigit():
            self.minute_remaining = int(minute)
            if self.minute_remaining == 0:
                self.pause(parse_retry_after(headers.get("Retry-After")) or 1.0)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, for transient failures only."""

    max_attempts: int = 5
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        if retry_after is not None:
            return max(retry_after, 0.0)
        cap = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return rng.uniform(cap / 2, cap)


#: The longest a ``Retry-After`` may hold a connection. A larger (or ``inf``, or absurd) value is
#: capped here: a platform's hiccup must never pause a connection forever.
MAX_RETRY_AFTER_S = 3600.0

#: Failures of the transport itself, before or while reading an answer: all transient. A server
#: dying mid-body raises ``ChunkedEncodingError``, which is not a ``ConnectionError``.
NETWORK_ERRORS: tuple[type[Exception], ...] = (
    requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a finite, non-negative number capped at
    :data:`MAX_RETRY_AFTER_S`; None when absent, an HTTP date or not a number (then our own
    backoff applies)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:  # NaN or negative: meaningless
        return None
    return min(seconds, MAX_RETRY_AFTER_S)


def retry_after_seconds(resp: requests.Response) -> float | None:
    return parse_retry_after(resp.headers.get("Retry-After"))


def _body(kwargs: Mapping[str, Any]) -> bytes | None:
    """The body a request sends, as bytes (what a metering rule may need to read: QBO batch items)."""
    data = kwargs.get("data")
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    if kwargs.get("json") is not None:
        import json
        return json.dumps(kwargs["json"], default=str).encode()
    return None


TokenProvider = Callable[[str | None], str]
"""Called with the token just rejected by a 401 (or None) and returns a usable access token."""


class LedgerHttp:
    """One connection's HTTP client: auth, throttle, retry, redacted logging."""

    def __init__(self, *, throttle: Throttle, token: TokenProvider | None = None,
                 retry: RetryPolicy | None = None, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, timeout_s: float = 60.0,
                 platform: str = "") -> None:
        self.throttle = throttle
        self._token = token
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self._sleep = sleep
        self._timeout = timeout_s
        self._rng = random.Random()  # noqa: S311 - jitter, not security
        self.platform = platform
        self.requests_sent = 0  # counted under a lock: threads (the RMS write-back pool) share one client
        self._count_lock = threading.Lock()
        #: Told ``(method, url, body, status)`` of every request the platform answered (usage metering).
        self.on_answer: Callable[[str, str, bytes | None, int], None] | None = None
        #: Asked ``(method, url, body)`` before each request is sent; raises :class:`AllowanceUsedUp`
        #: to keep a metered call at home while the allowance is used up (nothing is sent, no wait).
        self.gate: Callable[[str, str, bytes | None], None] | None = None
        #: Asked about each 429 answer: the error when it means the metered allowance is used up —
        #: raised at once, never retried (it lasts until the allowance resets), else None (a rate limit).
        self.spent: Callable[[str, str, bytes | None, requests.Response], AllowanceUsedUp | None] | None = None

    def request(self, method: str, url: str, *, idempotent: bool | None = None,
                headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
        """Send with retries; returns the final response (any status) or raises TransientError.

        ``idempotent`` defaults to True for GET/HEAD/DELETE/PUT and for writes carrying an
        idempotency key (QBO ``requestid`` parameter or Xero ``Idempotency-Key`` header).
        """
        check_transport(url)
        hdrs = dict(headers or {})
        if idempotent is None:
            params = kwargs.get("params") or {}
            idempotent = (method.upper() in {"GET", "HEAD", "DELETE", "PUT"}
                          or "Idempotency-Key" in hdrs or "requestid" in params)
        rejected: str | None = None
        refreshed = False
        attempt = 0
        body = _body(kwargs) if self.gate is not None or self.spent is not None else None
        while True:
            attempt += 1
            if self.gate is not None:
                self.gate(method, url, body)
            if self._token is not None:
                hdrs["Authorization"] = f"Bearer {self._token(rejected)}"
            self.throttle.acquire()
            try:
                with self._count_lock:
                    self.requests_sent += 1
                # Never follow a redirect: it would re-send the bearer token (and a body) elsewhere.
                resp = self.session.request(method, url, headers=hdrs, timeout=self._timeout,
                                            allow_redirects=False, **kwargs)
            except NETWORK_ERRORS as exc:
                if not idempotent or attempt >= self.retry.max_attempts:
                    raise TransientError(
                        f"{self.platform or 'The ledger'} did not answer ({type(exc).__name__})",
                        platform=self.platform, platform_message=redact_text(str(exc))) from exc
                delay = self.retry.delay(attempt, None, self._rng)
                log.info("retrying %s %s in %.1fs after %s", method, redact_text(url), delay,
                         type(exc).__name__)
                self._sleep(delay)
                continue
            finally:
                self.throttle.release()
            if self.on_answer is not None:
                self.on_answer(method, url, _body(kwargs), resp.status_code)
            self.throttle.observe(resp.headers)
            if resp.status_code == 401 and self._token is not None and not refreshed:
                rejected = hdrs["Authorization"].removeprefix("Bearer ")
                refreshed = True
                continue
            if resp.status_code == 429 and self.spent is not None:
                used_up = self.spent(method, url, body, resp)
                if used_up is not None:
                    raise used_up
            if resp.status_code in TRANSIENT_STATUS:
                after = retry_after_seconds(resp)
                if attempt < self.retry.max_attempts and (idempotent or resp.status_code == 429):
                    if after is not None:
                        # The platform said when: hold the whole connection, not just this call.
                        self.throttle.pause(after)
                        delay = after
                    else:
                        delay = self.retry.delay(attempt, None, self._rng)
                        self._sleep(delay)
                    log.info("%s %s answered %s; retrying in %.1fs", method, redact_text(url),
                             resp.status_code, delay)
                    continue
            return resp
