"""Signed webhook receiver for worker mode: QBO and Xero tell us *that* something changed.

Webhooks carry only ids, so a verified notification does one thing: it asks for a ledger pull of
the organization whose company sent it (the pull then reads what changed, with CDC /
If-Modified-Since, exactly as a scheduled pull would). Each platform's profile says how its
deliveries are signed and shaped (:meth:`PlatformProfile.parse_webhook`,
``webhook_signature_header``, ``webhook_refusal_status``); this module names no platform. A
delivery to ``/webhooks/<platform key>`` is handled like this:

1. **Size first.** A ``Content-Length`` above :data:`MAX_BODY` is answered 413 before a byte is
   read; a body without one (``Transfer-Encoding: chunked``) is read in :data:`READ_CHUNK` pieces
   and answered 413 as soon as it passes the cap — never buffered whole.
2. **Signature** on the raw bytes, before any parsing, with a constant-time comparison
   (API_FACTS §6, §11). Missing or wrong: the profile's refusal status (QBO 403, as Intuit's
   sample does; Xero 401, which its intent-to-receive checks for).
3. **Parse**: an unreadable signed body is answered 400 (the platform retries it).
4. **Replay window** (:mod:`.webhook_replay`): events outside ±15 minutes of the injectable clock
   and repeats of a delivery or a CloudEvents id are acknowledged (200) but not acted on.
5. The fresh notifications go to the callback, which must only queue work; the answer is 200 with
   no body (Xero requires none) right away.

The server binds loopback only (plain HTTP); a public endpoint is a TLS-terminating reverse
proxy's job.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from desktop.services.core.clock import Clock, SystemClock
from desktop.services.pipeline.webhook_replay import WINDOW, ReplayGuard
from desktop.services.platforms.http import check_transport
from desktop.services.platforms.registry import PROFILES
from desktop.services.platforms.webhooks import Notification, sign, verify

__all__ = ["MAX_BODY", "READ_CHUNK", "Notification", "WebhookReceiver", "sign", "verify"]

log = logging.getLogger(__name__)

PATH_PREFIX = "/webhooks/"
#: The largest delivery read (Intuit: ~1 MB per delivery; leave room).
MAX_BODY = 2_000_000
#: A body is read this much at a time, so an oversized one is refused without being held whole.
READ_CHUNK = 64 * 1024
#: After the answer at most this much more is read (and dropped), so a refused client sees the answer.
_DRAIN_AFTER_ANSWER = 64 * 1024
_STOP_READING = "returns_ledger.stop_reading"
#: Seconds a connection may sit idle mid-request (a slow sender holds a thread no longer than this).
SOCKET_TIMEOUT_S = 10


class _TooLarge(Exception):
    pass


class _BoundedTail:
    """What is left of a request after its answer: at most ``limit`` bytes more, then end of input."""

    def __init__(self, raw: Any, limit: int) -> None:
        self._raw, self._left = raw, limit

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        data: bytes = self._raw.read1(want) if hasattr(self._raw, "read1") else self._raw.read(want)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._raw.close()


class _QuietHandler(WSGIRequestHandler):
    timeout = SOCKET_TIMEOUT_S

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), (message % args) if args else message)

    def make_environ(self) -> Any:
        environ = super().make_environ()
        environ[_STOP_READING] = self._stop_reading
        return environ

    def _stop_reading(self) -> None:
        """After the answer werkzeug drains what the client still sends — up to gigabytes, in reads
        that each set aside 10 MB; we read at most a little more (a refused body's tail in flight,
        so the client sees the answer rather than a reset), then the connection closes."""
        self.rfile = _BoundedTail(self.rfile, _DRAIN_AFTER_ANSWER)  # type: ignore[assignment]


class WebhookReceiver:
    """A loopback HTTP endpoint at ``/webhooks/<platform key>`` for every platform.

    Args:
        on_notifications: called with each verified delivery's fresh notifications (never raises
            into the server: a failure is logged and the delivery still acknowledged, since the
            scheduled pull will catch the change anyway).
        keys: each platform's webhook secret by its key (QBO: the app's verifier token; Xero: the
            webhook signing key); a platform without one has its deliveries refused.
        clock: the replay window's clock.
        window: how far an event's time may be from now (:data:`.webhook_replay.WINDOW`).
        max_body: the size cap in bytes.
    """

    def __init__(self, on_notifications: Callable[[list[Notification]], None], keys: Mapping[str, str | None], *,
                 clock: Clock | None = None, window: timedelta = WINDOW, max_body: int = MAX_BODY,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        check_transport(f"http://{host}:{port or 1}/")  # plain HTTP: loopback only
        unknown = sorted(set(keys) - set(PROFILES))
        if unknown:
            raise ValueError(f"no such platform: {', '.join(unknown)}")
        self._on = on_notifications
        self._keys = {k: v for k, v in keys.items() if v}
        self._guard = ReplayGuard(clock or SystemClock(), window=window)
        self.window = window
        self.max_body = max_body
        self._host, self._port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._count_lock = threading.Lock()
        self.received = 0   # verified deliveries acted on (their fresh notifications handed over)
        self.rejected = 0   # missing or wrong signature
        self.too_large = 0  # refused for size
        self.replayed = 0   # verified, but nothing fresh in it: a repeat, or every event outside the window

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the webhook receiver is not running")
        return f"http://{self._host}:{self._server.port}"

    def start(self) -> str:
        """Bind and serve from a daemon thread; returns the base URL."""
        server = make_server(self._host, self._port, self._app, threaded=True, request_handler=_QuietHandler)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="webhook-receiver", daemon=True)
        self._thread.start()
        log.info("webhook receiver listening at %s", self.url)
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- WSGI ------------------------------------------------------------------------------------
    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        response = self.handle(Request(environ))
        stop = environ.get(_STOP_READING)
        if callable(stop):
            stop()
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(status=405, headers={"Allow": "POST"})
        key = request.path.removeprefix(PATH_PREFIX) if request.path.startswith(PATH_PREFIX) else ""
        profile = PROFILES.get(key)
        if profile is None:
            return Response(status=404)
        try:
            body = self._read(request)
        except _TooLarge:
            self._count("too_large")
            log.info("webhook refused: body larger than %d bytes", self.max_body)
            return Response(status=413)  # the server closes every connection after its answer
        except (OSError, HTTPException):  # broken chunk framing, a client gone mid-body
            return Response(status=400)
        if not verify(self._keys.get(key, ""), body, request.headers.get(profile.webhook_signature_header)):
            self._count("rejected")
            log.info("webhook refused: signature missing or wrong")
            return Response(status=profile.webhook_refusal_status)
        try:
            notes = profile.parse_webhook(body)
        except ValueError:
            return Response(status=400)  # signed but unreadable: let the sender retry
        admitted = self._guard.admit(key, body, notes)
        if admitted.repeated or (notes and not admitted.fresh):
            self._count("replayed")
            log.info("webhook delivery not acted on: %s", "a repeat of one already received" if admitted.repeated
                     else f"{len(admitted.stale)} event(s) outside the replay window, "
                          f"{len(admitted.duplicates)} already received")
            return Response(status=200)
        self._count("received")
        if admitted.fresh:
            try:
                self._on(admitted.fresh)
            except Exception:
                log.exception("handling a webhook delivery failed; the scheduled pull will catch up")
        return Response(status=200)  # no body (Xero requires none)

    def _read(self, request: Request) -> bytes:
        """The raw body, read incrementally; :class:`_TooLarge` as soon as it passes the cap."""
        length = request.content_length
        if length is not None and length > self.max_body:
            raise _TooLarge
        stream = request.stream  # Content-Length-limited, or de-chunked by the server
        parts: list[bytes] = []
        size = 0
        while True:
            # Never ask for more than one byte past the cap: a de-chunked read waits until it has
            # all it asked for, and the refusal must not wait on bytes the sender has not sent.
            chunk = stream.read(min(READ_CHUNK, self.max_body + 1 - size))
            if not chunk:
                return b"".join(parts)
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            parts.append(chunk)

    def _count(self, name: str) -> None:
        with self._count_lock:
            setattr(self, name, getattr(self, name) + 1)
