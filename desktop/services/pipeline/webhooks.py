"""Signed webhook receiver for worker mode: QBO and Xero tell us *that* something changed.

Webhooks carry only ids, so a verified notification does one thing: it asks for a ledger pull of
the organization whose company sent it (the pull then reads what changed, with CDC /
If-Modified-Since, exactly as a scheduled pull would). Signatures are checked on the **raw request
bytes**, before any parsing, with a constant-time comparison (API_FACTS §6, §11):

- QBO: ``intuit-signature`` = base64(HMAC-SHA256(verifier token, body)). Legacy bodies
  (``{"eventNotifications": [...]}``) and CloudEvents arrays (``[{"specversion": "1.0", …}]``,
  possibly ``application/cloudevents+json``) are both accepted. A missing or bad signature is
  answered 403, as Intuit's sample does.
- Xero: ``x-xero-signature`` = base64(HMAC-SHA256(webhook key, body)). Intent-to-receive
  payloads (no events) and real ones alike: 200 with an empty body for a good signature, 401 for
  a bad one — Xero disables the subscription otherwise.

The server binds loopback only (plain HTTP); a public endpoint is a TLS-terminating reverse
proxy's job. Answers are immediate: the pull runs on the caller's callback, which must only queue
work (the worker hands it to the scheduler's ``sync_now``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from desktop.services.platforms.http import check_transport

__all__ = ["Notification", "WebhookReceiver", "parse_qbo", "parse_xero", "sign", "verify"]

log = logging.getLogger(__name__)

QBO_PATH = "/webhooks/qbo"
XERO_PATH = "/webhooks/xero"
MAX_BODY = 2_000_000  # Intuit: ~1 MB per delivery; leave room


@dataclass(frozen=True)
class Notification:
    """One verified change notice: which company, which entity, what happened."""

    platform: str           # qbo | xero
    company_id: str         # realmId / tenantId
    entity: str             # CreditMemo, Payment, CREDITNOTE, …
    entity_id: str
    operation: str          # Create / Update / Delete / Void / CREATE / UPDATE / created / …
    event_id: str | None = None  # CloudEvents id (deduplicate by it)


def sign(key: str, body: bytes) -> str:
    """base64(HMAC-SHA256(key, body)) — the signature both platforms send."""
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify(key: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of ``signature`` against the raw ``body``; False when anything is missing."""
    if not key or not signature:
        return False
    return hmac.compare_digest(sign(key, body).encode("ascii"), signature.strip().encode("ascii", "replace"))


def _loads(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"), parse_float=Decimal)


def parse_qbo(body: bytes) -> list[Notification]:
    """Legacy ``eventNotifications`` or a CloudEvents array → notifications (unknown shapes → [])."""
    data = _loads(body)
    out: list[Notification] = []
    if isinstance(data, list):  # CloudEvents: type = qbo.<entity>.<verb>.v1
        for ev in data:
            if not isinstance(ev, dict):
                continue
            parts = str(ev.get("type", "")).split(".")
            entity = parts[1] if len(parts) > 2 else ""
            verb = parts[2] if len(parts) > 2 else ""
            out.append(Notification("qbo", str(ev.get("intuitaccountid", "")), entity,
                                    str(ev.get("intuitentityid", "")), verb,
                                    str(ev["id"]) if ev.get("id") is not None else None))
        return out
    if isinstance(data, dict):
        for note in data.get("eventNotifications") or []:
            if not isinstance(note, dict):
                continue
            realm = str(note.get("realmId", ""))
            for ent in (note.get("dataChangeEvent") or {}).get("entities") or []:
                if isinstance(ent, dict):
                    out.append(Notification("qbo", realm, str(ent.get("name", "")), str(ent.get("id", "")),
                                            str(ent.get("operation", ""))))
    return out


def parse_xero(body: bytes) -> list[Notification]:
    data = _loads(body)
    events = data.get("events") if isinstance(data, dict) else None
    return [Notification("xero", str(e.get("tenantId", "")), str(e.get("eventCategory", "")),
                         str(e.get("resourceId", "")), str(e.get("eventType", "")))
            for e in events or [] if isinstance(e, dict)]


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), (message % args) if args else message)


class WebhookReceiver:
    """A loopback HTTP endpoint at ``/webhooks/qbo`` and ``/webhooks/xero``.

    Args:
        on_notifications: called with each verified delivery's notifications (never raises into
            the server: a failure is logged and the delivery still acknowledged, since the
            scheduled pull will catch the change anyway).
        qbo_verifier: the QBO app's webhook verifier token (None: QBO deliveries refused).
        xero_key: the Xero app's webhook signing key (None: Xero deliveries refused).
    """

    def __init__(self, on_notifications: Callable[[list[Notification]], None], *, qbo_verifier: str | None,
                 xero_key: str | None, host: str = "127.0.0.1", port: int = 0) -> None:
        check_transport(f"http://{host}:{port or 1}/")  # plain HTTP: loopback only
        self._on = on_notifications
        self._qbo = qbo_verifier or ""
        self._xero = xero_key or ""
        self._host, self._port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.received = 0
        self.rejected = 0

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
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.method != "POST":
            return Response(status=405, headers={"Allow": "POST"})
        if request.content_length is not None and request.content_length > MAX_BODY:
            return Response(status=413)
        body = request.get_data(cache=False)  # the raw bytes, exactly as signed
        if request.path == QBO_PATH:
            return self._deliver(body, verify(self._qbo, body, request.headers.get("intuit-signature")),
                                 parse_qbo, refuse=403)
        if request.path == XERO_PATH:
            return self._deliver(body, verify(self._xero, body, request.headers.get("x-xero-signature")),
                                 parse_xero, refuse=401)
        return Response(status=404)

    def _deliver(self, body: bytes, signed: bool, parse: Callable[[bytes], list[Notification]],
                 refuse: int) -> Response:
        if not signed:
            self.rejected += 1
            log.info("webhook refused: signature missing or wrong")
            return Response(status=refuse)
        try:
            notes = parse(body)
        except (ValueError, UnicodeDecodeError):
            return Response(status=400)  # signed but unreadable: let the sender retry
        self.received += 1
        if notes:
            try:
                self._on(notes)
            except Exception:
                log.exception("handling a webhook delivery failed; the scheduled pull will catch up")
        return Response(status=200)  # no body (Xero requires none)
