"""The QBO emulator: routing, OAuth, bearer checks, throttles, ``requestid`` replay and envelopes.

Mounted by the sandbox server at ``/qbo``; every path below is what the real service serves
under its own hosts (``/connect/oauth2`` on appcenter, ``/oauth2/v1/tokens/bearer`` on the OAuth
platform, ``/v3/company/{realmId}/…`` on the API host).
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from desktop.sandbox.base import ConcurrencyLimit, Emulator, SandboxContext, SlidingWindowLimit
from desktop.sandbox.qbo import control, oauth, stock
from desktop.sandbox.qbo.api import ApiRouter
from desktop.sandbox.qbo.ops import Operations
from desktop.sandbox.qbo.seed import seed_all
from desktop.sandbox.qbo.store import Company, Record
from desktop.sandbox.qbo.util import QboFault, json_response, qbo_time
from desktop.sandbox.qbo.webhooks import Event, WebhookSender

PER_MINUTE = 500
CONCURRENT = 10
REPLAY_KEEP = 20_000
_API = re.compile(r"^/v3/company/(?P<realm>[^/]+)/(?P<rest>.+)$")


class QboEmulator(Emulator):
    """QuickBooks Online v3 as one in-process WSGI handler (see the package modules for the parts)."""

    name = "qbo"

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        self.oauth = oauth.OAuthServer(lambda kind, value, at: ctx.tokens.record("qbo", kind, value, at))
        self.webhooks = WebhookSender()
        self.ops = Operations(now=lambda: self.clock.now(), notify=self._notify)
        self.companies: dict[str, Company] = {}
        self._replay: OrderedDict[tuple[str, str], Response] = OrderedDict()
        self._replay_lock = threading.Lock()
        self.per_minute = SlidingWindowLimit(PER_MINUTE, 60.0, self.clock)
        self.concurrent = ConcurrencyLimit(CONCURRENT)
        self.api = ApiRouter(self)
        self.reset(0)

    # ---- Emulator interface -----------------------------------------------------------------------
    def reset(self, seed: int) -> None:
        self.companies = seed_all(seed, self.clock.now())
        self.oauth.reset()
        with self._replay_lock:
            self._replay.clear()
        self.webhooks.unregister()
        self.configure(None)

    def describe(self) -> dict[str, Any]:
        return {
            "base_url": self.prefix_url,
            "client_id": oauth.CLIENT_ID,
            "client_secret": oauth.CLIENT_SECRET,
            "redirect_uri": oauth.REDIRECT_URI,
            "discovery_url": f"{self.prefix_url}/.well-known/openid_configuration",
            "api_base_url": f"{self.prefix_url}/v3/company",
            "companies": [
                {
                    "realm_id": c.realm_id,
                    "name": c.name,
                    "home_currency": c.home_currency,
                    "rms_org": c.rms_org,
                }
                for c in self.companies.values()
            ],
        }

    def configure(self, rate_limits: dict[str, Any] | None) -> None:
        """``per_minute``, ``concurrent``, ``webhook_format`` ("legacy" | "cloudevents"); None = defaults."""
        if rate_limits is None:
            self.per_minute = SlidingWindowLimit(PER_MINUTE, 60.0, self.clock)
            self.concurrent = ConcurrencyLimit(CONCURRENT)
            self.webhooks.format = "legacy"
            return
        if "per_minute" in rate_limits:
            self.per_minute = SlidingWindowLimit(int(rate_limits["per_minute"]), 60.0, self.clock)
        if "concurrent" in rate_limits:
            self.concurrent = ConcurrencyLimit(int(rate_limits["concurrent"]))
        if "webhook_format" in rate_limits:
            fmt = str(rate_limits["webhook_format"])
            if fmt not in ("legacy", "cloudevents"):
                raise ValueError(f"webhook_format must be legacy or cloudevents, not {fmt!r}")
            self.webhooks.format = fmt

    def authorize(self, params: dict[str, Any]) -> str:
        c = (
            self.company(str(params["company"]))
            if params.get("company")
            else next(iter(self.companies.values()))
        )
        redirect = str(params.get("redirect_uri") or oauth.REDIRECT_URI)
        if not oauth.redirect_allowed(redirect):
            raise ValueError(f"redirect_uri not registered: {redirect}")
        code = self.oauth.issue_code(
            redirect, c.realm_id, str(params.get("scope") or oauth.ACCOUNTING_SCOPE), self.clock.now()
        )
        return oauth.redirect_with(
            redirect, {"code": code, "state": str(params.get("state") or ""), "realmId": c.realm_id}
        )

    def ledger_documents(self, company: str) -> list[dict[str, Any]]:
        return control.ledger_documents(self.company(company))

    def stock(self, company: str) -> dict[str, Any]:
        return stock.view(self.company(company))

    def tamper(self, company: str, body: dict[str, Any]) -> dict[str, Any]:
        return control.tamper(self.company(company), self.ops, body)

    def register_webhook(self, url: str, key: str) -> None:
        if url:
            self.webhooks.register(url, key)
        else:
            self.webhooks.unregister()

    def close(self) -> None:
        self.webhooks.close()

    # ---- helpers ----------------------------------------------------------------------------------
    def company(self, key: str) -> Company:
        """By realmId, RMS organization code or company name."""
        if key in self.companies:
            return self.companies[key]
        for c in self.companies.values():
            if key in (c.rms_org, c.name):
                return c
        raise KeyError(f"no QBO company {key!r}")

    def _notify(self, c: Company, rec: Record, operation: str) -> None:
        self.webhooks.enqueue(Event(c.realm_id, rec.entity, rec.id, operation, rec.updated, c.tz))

    def error_response(self, status: int, message: str) -> Response:
        """A QBO-shaped failure for injected faults (the server's fault injection calls this)."""
        if status == 401:
            return self.auth_failure(message)
        now = self.clock.now()
        if status == 429:
            fault = QboFault(
                "3001",
                "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                message or "The request limit was reached. Try again later",
                status=429,
                fault_type="SERVICE",
            )
        elif status == 403:
            fault = QboFault(
                "3100",
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                message,
                status=403,
                fault_type="SERVICE",
            )
        elif status < 500:
            fault = QboFault(
                "6000",
                "A business validation error has occurred while processing your request",
                message,
                status=status,
            )
        else:
            fault = QboFault(
                "10000",
                "An application error has occurred while processing your request",
                message or "System Failure Error: An unexpected error occurred",
                status=status,
                fault_type="SystemFault",
            )
        return self.fault_response(fault, now)

    def fault_response(self, fault: QboFault, now: datetime, c: Company | None = None) -> Response:
        tz = c.tz if c else next(iter(self.companies.values())).tz
        headers = {"intuit_tid": secrets.token_hex(16)}
        if fault.status == 429:
            headers["Retry-After"] = "60"  # UNCONFIRMED for the real service: clients must not rely on it
        return json_response({"Fault": fault.fault_body(), "time": qbo_time(now, tz)}, fault.status, headers)

    def auth_failure(self, detail: str) -> Response:
        now = self.clock.now()
        body: dict[str, Any] = {
            "warnings": None,
            "intuitObject": None,
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": detail,
                        "code": "3200",
                        "element": None,
                    }
                ],
                "type": "AUTHENTICATION",
            },
            "report": None,
            "queryResponse": None,
            "batchItemResponse": [],
            "attachableResponse": [],
            "syncErrorResponse": None,
            "requestId": None,
            "time": int(now.timestamp() * 1000),
            "status": None,
            "cdcresponse": [],
        }
        return json_response(
            body,
            401,
            {
                "WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"',
                "intuit_tid": secrets.token_hex(16),
            },
        )

    def replay_get(self, key: tuple[str, str]) -> Response | None:
        with self._replay_lock:
            return self._replay.get(key)

    def replay_put(self, key: tuple[str, str], resp: Response) -> None:
        with self._replay_lock:
            self._replay[key] = resp
            while len(self._replay) > REPLAY_KEEP:
                self._replay.popitem(last=False)

    # ---- routing ----------------------------------------------------------------------------------
    def handle(self, request: Request, subpath: str) -> Response:
        m = _API.match(subpath)
        if m:
            return self.api.handle(request, m.group("realm"), m.group("rest"))
        if subpath == "/connect/oauth2":
            return self._consent(request)
        if subpath == "/oauth2/v1/tokens/bearer" and request.method == "POST":
            return self._token(request)
        if subpath == "/v2/oauth2/tokens/revoke" and request.method == "POST":
            return self._revoke(request)
        if subpath.rstrip("/") in (
            "/.well-known/openid_configuration",
            "/.well-known/openid_sandbox_configuration",
        ):
            return json_response(oauth.discovery(self.prefix_url))
        if subpath == "/op/v1/jwks":
            return json_response({"keys": []})
        if subpath == "/v1/openid_connect/userinfo":
            return self._userinfo(request)
        return json_response({"error": "not_found", "path": subpath}, 404)

    def _consent(self, request: Request) -> Response:
        params = {k: str(v) for k, v in (request.form if request.method == "POST" else request.args).items()}
        if params.get("client_id") != oauth.CLIENT_ID:
            return Response(
                oauth.error_page("Invalid client_id: this app is not registered."),
                400,
                content_type="text/html; charset=utf-8",
            )
        redirect = params.get("redirect_uri", "")
        if not oauth.redirect_allowed(redirect):
            return Response(
                oauth.error_page(
                    "The redirect_uri query parameter value is invalid. Make sure it "
                    "is listed in the Redirect URIs section on your app's keys tab "
                    "and matches it exactly."
                ),
                400,
                content_type="text/html; charset=utf-8",
            )
        state = params.get("state", "")
        if params.get("response_type", "code") != "code":
            return _redirect(
                oauth.redirect_with(redirect, {"error": "unsupported_response_type", "state": state})
            )
        if oauth.ACCOUNTING_SCOPE not in params.get("scope", "").split():
            return _redirect(oauth.redirect_with(redirect, {"error": "invalid_scope", "state": state}))
        if request.method == "GET":
            companies = [(c.realm_id, c.name) for c in self.companies.values()]
            return Response(
                oauth.consent_page(params, companies, f"{self.prefix_url}/connect/oauth2"),
                200,
                content_type="text/html; charset=utf-8",
            )
        if params.get("action") != "approve":
            return _redirect(oauth.redirect_with(redirect, {"error": "access_denied", "state": state}))
        realm = params.get("realmId", "")
        if realm not in self.companies:
            return Response(
                oauth.error_page("Choose a company to connect."), 400, content_type="text/html; charset=utf-8"
            )
        code = self.oauth.issue_code(redirect, realm, params["scope"], self.clock.now())
        return _redirect(oauth.redirect_with(redirect, {"code": code, "state": state, "realmId": realm}))

    def _token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in request.form.items()}
        if not oauth.basic_client(request.headers.get("Authorization"), form):
            return json_response(
                {"error": "invalid_client"}, 401, {"WWW-Authenticate": 'Basic realm="Intuit"'}
            )
        hard = request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true"
        now = self.clock.now()
        try:
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                body = self.oauth.exchange_code(form.get("code", ""), form.get("redirect_uri", ""), now, hard)
            elif grant_type == "refresh_token":
                body = self.oauth.refresh(form.get("refresh_token", ""), now, hard)
            else:
                raise oauth.OAuthError("unsupported_grant_type")
        except oauth.OAuthError as err:
            return json_response({"error": err.error}, err.status, {"Cache-Control": "no-store"})
        return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _revoke(self, request: Request) -> Response:
        if not oauth.basic_client(request.headers.get("Authorization"), {}):
            return json_response({"error": "invalid_client"}, 401)
        try:
            from desktop.sandbox.qbo.util import loads

            token = str(loads(request.get_data() or b"{}").get("token") or "")
        except (ValueError, AttributeError):
            return json_response({"error": "invalid_request"}, 400)
        if not token:
            return json_response({"error": "invalid_request"}, 400)
        self.oauth.revoke(token)
        return Response(b"", 200)

    def _userinfo(self, request: Request) -> Response:
        token = _bearer(request)
        grant, reason = self.oauth.check_access(token, self.clock.now()) if token else (None, "missing token")
        if grant is None:
            return self.auth_failure(reason)
        return json_response(
            {
                "sub": f"sandbox-user-{grant.realm_id}",
                "email": "accountant@example.com",
                "emailVerified": True,
                "givenName": "Alex",
                "familyName": "Accountant",
            }
        )


def _bearer(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def _redirect(url: str) -> Response:
    return Response("", 302, headers={"Location": url})
