"""The Xero emulator: identity + connections + Accounting API + webhooks behind one ``handle``.

Request pipeline for ``/api.xro/2.0``: Bearer token → ``xero-tenant-id`` (must be connected) →
scope → rate limits (429 + headers) → Idempotency-Key replay → the endpoint, under one store lock.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from desktop.sandbox.base import Emulator, SandboxContext
from desktop.sandbox.xero import control, seed, stock
from desktop.sandbox.xero.api import Api
from desktop.sandbox.xero.envelope import ApiError, problem
from desktop.sandbox.xero.identity_http import IdentityHttp
from desktop.sandbox.xero.limits import XeroLimits
from desktop.sandbox.xero.msjson import dumps
from desktop.sandbox.xero.oauth import (
    CONFIDENTIAL_CLIENT_ID,
    CONFIDENTIAL_SECRET,
    PKCE_CLIENT_ID,
    REDIRECT_URI,
    Identity,
)
from desktop.sandbox.xero.store import Doc, IdempotentReply, Tenant, XeroStore
from desktop.sandbox.xero.webhooks import WebhookDispatcher, event

log = logging.getLogger(__name__)

DEFAULT_SCOPE = "openid profile email offline_access accounting.transactions accounting.settings accounting.contacts"
_API_PREFIX = "/api.xro/2.0/"
# Which scopes open which collections (broad scope, granular scope); reads also accept ``.read``.
_SCOPES = {
    "creditnotes": ("accounting.transactions", "accounting.invoices"),
    "invoices": ("accounting.transactions", "accounting.invoices"),
    "items": ("accounting.transactions", "accounting.invoices"),
    "payments": ("accounting.transactions", "accounting.payments"),
    "manualjournals": ("accounting.transactions", "accounting.manualjournals"),
    "contacts": ("accounting.contacts", "accounting.contacts"),
}


class XeroEmulator(Emulator):
    """Xero as seen from ``https://api.xero.com`` / ``identity.xero.com`` / ``login.xero.com``."""

    name = "xero"

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        self.store = XeroStore()
        self.identity = Identity(self.clock, ctx.tokens, issuer="https://identity.xero.com")
        self.identity_http = IdentityHttp(self.identity, self.store, lambda: self.prefix_url)
        self.limits = XeroLimits(self.clock)
        self.webhooks = WebhookDispatcher()
        self.api = Api(self._notify)
        self.reset(1)

    # -- Emulator interface --------------------------------------------------------------------
    def reset(self, seed_value: int) -> None:
        with self.store.lock:
            self.store.tenants = seed.build_all(seed_value, self.clock.now())
        self.identity.reset()
        self.limits.configure(None)
        self.webhooks.reset()

    def describe(self) -> dict[str, Any]:
        return {
            "base_url": self.prefix_url,
            "client_id": CONFIDENTIAL_CLIENT_ID,
            "client_secret": CONFIDENTIAL_SECRET,
            "pkce_client_id": PKCE_CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "tenants": [
                {
                    "tenant_id": t.tenant_id,
                    "name": t.name,
                    "base_currency": t.base_currency,
                    "rms_org": t.rms_org,
                }
                for t in self.store.tenants.values()
            ],
        }

    def configure(self, rate_limits: dict[str, Any] | None) -> None:
        self.limits.configure(rate_limits)

    def authorize(self, params: dict[str, Any]) -> str:
        """Simulated consent: the redirect URL a user clicking "Allow access" would produce."""
        p = {
            "response_type": "code",
            "client_id": str(params.get("client_id") or CONFIDENTIAL_CLIENT_ID),
            "redirect_uri": str(params.get("redirect_uri") or REDIRECT_URI),
            "scope": str(params.get("scope") or DEFAULT_SCOPE),
        }
        if params.get("state") is not None:
            p["state"] = str(params["state"])
        if params.get("code_challenge"):
            p["code_challenge"] = str(params["code_challenge"])
            p["code_challenge_method"] = str(params.get("code_challenge_method") or "S256")
        problem_text = self.identity.check_authorize(p) or self.identity.redirect_error(p)
        if problem_text:
            raise ValueError(problem_text)
        company = params.get("company")
        companies = company if isinstance(company, list) else [company] if company else []
        tenant_ids = [self.store.find(str(c)).tenant_id for c in companies] or [next(iter(self.store.tenants))]
        return self.identity.issue_code(p, tenant_ids)

    def ledger_documents(self, company: str) -> list[dict[str, Any]]:
        with self.store.lock:
            return control.ledger_documents(self.store.find(company))

    def stock(self, company: str) -> dict[str, Any]:
        with self.store.lock:
            return stock.view(self.store.find(company))

    def tamper(self, company: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return control.tamper(self.store.find(company), body, self.clock.now(), self._notify)

    def register_webhook(self, url: str, key: str) -> None:
        self.webhooks.register(url, key)

    def close(self) -> None:
        self.webhooks.close()

    def error_response(self, status: int, message: str) -> Response:
        """A Xero-shaped error, used by the server for injected faults."""
        if status == 400:
            body: dict[str, Any] = {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": message,
                "Elements": [],
            }
        else:
            body = problem(status, HTTP_STATUS_CODES.get(status, "Error"), message)
        resp = self._json(status, body)
        if status == 429:
            resp.headers.update({"Retry-After": "1", "X-Rate-Limit-Problem": "minute"})
        return resp

    # -- HTTP ----------------------------------------------------------------------------------
    def handle(self, request: Request, subpath: str) -> Response:
        low = subpath.lower().rstrip("/")
        if low == "/identity/connect/authorize" and request.method in ("GET", "POST"):
            return self.identity_http.authorize_page(request)
        if low == "/identity/connect/token" and request.method == "POST":
            return self.identity_http.token(request)
        if low == "/identity/connect/revocation" and request.method == "POST":
            return self.identity_http.revocation(request)
        if low == "/identity/.well-known/openid-configuration":
            return self.identity_http.discovery()
        if low == "/connections" or low.startswith("/connections/"):
            return self._connections(request, subpath)
        if low.startswith(_API_PREFIX):
            return self._api(request, [p for p in subpath[len(_API_PREFIX) :].split("/") if p])
        return self._json(404, problem(404, "Not Found", "The resource you're looking for cannot be found"))

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        text = dumps(body) if not isinstance(body, str) else body
        resp = Response(text, status=status, content_type="application/json; charset=utf-8")
        resp.headers["Xero-Correlation-Id"] = str(uuid.uuid4())
        if headers:
            resp.headers.update(headers)
        return resp

    def _bearer(self, request: Request) -> tuple[Any, Response | None]:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        rec, detail = self.identity.bearer(token)
        if rec is None:
            return None, self._json(401, problem(401, "Unauthorized", detail), self.limits.headers(None, "anonymous"))
        return rec, None

    def _connections(self, request: Request, subpath: str) -> Response:
        rec, refused = self._bearer(request)
        if refused is not None:
            return refused
        parts = [p for p in subpath.split("/") if p]
        resp = self.identity_http.connections(request, rec.client_id, parts[1] if len(parts) > 1 else None)
        resp.headers.update(self.limits.headers(None, rec.client_id))
        return resp

    def _api(self, request: Request, parts: list[str]) -> Response:
        rec, refused = self._bearer(request)
        if refused is not None:
            return refused
        app = rec.client_id
        tenant_id = request.headers.get("xero-tenant-id", "").strip().lower()
        tenant = self.store.tenants.get(tenant_id)
        if tenant is None or not self.identity.is_connected(app, tenant_id):
            return self._json(
                403, problem(403, "Forbidden", "AuthenticationUnsuccessful"), self.limits.headers(None, app)
            )
        if not self._scope_ok(rec.grant_id, parts, request.method):
            return self._json(
                403,
                problem(403, "Forbidden", "AuthorizationUnsuccessful"),
                self.limits.headers(tenant_id, app),
            )
        verdict = self.limits.admit(tenant_id, app)
        if not verdict.allowed:
            return self._json(
                429,
                problem(429, "Too Many Requests", f"Rate limit exceeded: {verdict.problem}"),
                {
                    **self.limits.headers(tenant_id, app),
                    "Retry-After": str(verdict.retry_after),
                    "X-Rate-Limit-Problem": verdict.problem,
                },
            )
        try:
            if self.limits.hold_s:
                time.sleep(self.limits.hold_s)
            status, text = self._run(request, tenant, parts)
        finally:
            self.limits.release(tenant_id)
        return self._json(status, text, self.limits.headers(tenant_id, app))

    def _scope_ok(self, grant_id: str, parts: list[str], method: str) -> bool:
        grant = self.identity.state.grants.get(grant_id)
        scopes = set(grant.scope.split()) if grant else set()
        broad, granular = _SCOPES.get(parts[0].lower() if parts else "", ("accounting.settings",) * 2)
        allowed = {broad, granular}
        if method == "GET":
            allowed |= {f"{broad}.read", f"{granular}.read"}
        return bool(scopes & allowed)

    def _run(self, request: Request, tenant: Tenant, parts: list[str]) -> tuple[int, str]:
        key = request.headers.get("Idempotency-Key") if request.method in ("PUT", "POST") else None
        if key is not None and (len(key) > 128 or not key.strip()):
            return 400, dumps(
                {
                    "ErrorNumber": 10,
                    "Type": "ValidationException",
                    "Message": "Idempotency-Key must be between 1 and 128 characters",
                    "Elements": [],
                }
            )
        with self.store.lock:
            if key is not None and key in tenant.idempotency:
                reply = tenant.idempotency[key]
                return reply.status, reply.body
            try:
                status, body = self.api.dispatch(request, tenant, parts, self.clock.now())
            except ApiError as exc:
                status, body = exc.status, exc.body
            text = dumps(body)
            if key is not None and status < 500:
                tenant.idempotency[key] = IdempotentReply(status, text)
            return status, text

    def _notify(self, tenant: Tenant, category: str, event_type: str, doc: Doc) -> None:
        if category == "CREDITNOTE":
            rid, path, data = (
                doc["CreditNoteID"],
                "CreditNotes",
                {"Type": doc["Type"], "Status": doc["Status"]},
            )
        elif category == "INVOICE":
            rid, path, data = doc["InvoiceID"], "Invoices", None
        else:
            rid, path, data = doc["ContactID"], "Contacts", None
        self.webhooks.publish(
            event(
                f"{self.prefix_url}{_API_PREFIX}{path}/{rid}",
                rid,
                tenant.tenant_id,
                category,
                event_type,
                data,
                self.clock.now(),
            )
        )
