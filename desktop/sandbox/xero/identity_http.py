"""HTTP faces of the identity service: the login/consent page, token, revocation, connections.

Paths (under ``/xero``): ``/identity/connect/authorize`` (GET page, POST form),
``/identity/connect/token``, ``/identity/connect/revocation``,
``/identity/.well-known/openid-configuration``, ``/connections`` and ``/connections/{id}``.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from desktop.sandbox.xero.oauth import PKCE_CLIENT_ID, Identity, OAuthError, error_redirect
from desktop.sandbox.xero.store import XeroStore

_PASSTHROUGH = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Xero | Allow access</title>
<style>body{{font-family:sans-serif;background:#f4f5f7;margin:0}}main{{max-width:480px;margin:48px auto;
background:#fff;padding:32px;border-radius:8px}}h1{{font-size:20px}}label{{display:block;margin:8px 0}}
button{{padding:10px 20px;margin-right:8px}}.allow{{background:#13b5ea;color:#fff;border:0}}</style></head>
<body><main>
<h1>{app} wants to access your Xero organisations</h1>
<p>Signed in as <b>finance.admin@returns-ledger.example</b></p>
<form method="post" action="{action}" id="consent">
{hidden}
<fieldset><legend>Organisations</legend>
{orgs}
</fieldset>
<p>This app will be able to: {scopes}</p>
<button type="submit" name="action" value="allow" class="allow" id="allow">Allow access</button>
<button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
</form></main></body></html>
"""


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def _redirect(url: str) -> Response:
    return Response("", status=302, headers={"Location": url, "Cache-Control": "no-store"})


class IdentityHttp:
    """Routes identity requests to :class:`Identity`; ``limits_headers`` decorates connections calls."""

    def __init__(self, identity: Identity, store: XeroStore, prefix_url: Callable[[], str]) -> None:
        self.identity = identity
        self.store = store
        self._prefix_url = prefix_url

    def authorize_page(self, request: Request) -> Response:
        params = {k: request.args[k] for k in _PASSTHROUGH if k in request.args}
        if request.method == "POST":
            params = {k: request.form[k] for k in _PASSTHROUGH if k in request.form}
        problem = self.identity.check_authorize(params)
        if problem:
            return Response(
                f"<!DOCTYPE html><html><body><h1>Error</h1><p>{html.escape(problem)}</p></body></html>",
                status=400,
                content_type="text/html; charset=utf-8",
            )
        err = self.identity.redirect_error(params)
        if err:
            return _redirect(error_redirect(params, err))
        if request.method == "POST":
            if request.form.get("action") != "allow":
                return _redirect(error_redirect(params, "access_denied"))
            chosen = [t.lower() for t in request.form.getlist("tenant") if t.lower() in self.store.tenants]
            if not chosen:
                return _redirect(error_redirect(params, "access_denied"))
            return _redirect(self.identity.issue_code(params, chosen))
        hidden = "\n".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in params.items())
        orgs = "\n".join(
            f'<label><input type="checkbox" name="tenant" value="{t.tenant_id}"'
            f"{' checked' if i == 0 else ''}> {html.escape(t.name)}</label>"
            for i, t in enumerate(self.store.tenants.values())
        )
        app = "Returns Ledger Sync" + (" (desktop)" if params.get("client_id") == PKCE_CLIENT_ID else "")
        page = _PAGE.format(
            app=html.escape(app),
            action=html.escape(f"{self._prefix_url()}/identity/connect/authorize"),
            hidden=hidden,
            orgs=orgs,
            scopes=html.escape(params.get("scope", "")),
        )
        return Response(page, content_type="text/html; charset=utf-8")

    def _client(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        basic: tuple[str, str] | None = None
        if header.lower().startswith("basic "):
            try:
                raw = base64.b64decode(header[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_client") from exc
            cid, _, secret = raw.partition(":")
            basic = (cid, secret)
        return self.identity.client_auth(basic, request.form.to_dict())

    def token(self, request: Request) -> Response:
        try:
            client_id = self._client(request)
            body = self.identity.exchange(client_id, request.form.to_dict())
        except OAuthError as exc:
            return _json({"error": exc.error}, exc.status)
        resp = _json(body)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    def revocation(self, request: Request) -> Response:
        try:
            client_id = self._client(request)
        except OAuthError as exc:
            return _json({"error": exc.error}, exc.status)
        self.identity.revoke(client_id, request.form.get("token", ""))
        return Response("", status=200)

    def discovery(self) -> Response:
        base = self._prefix_url()
        return _json(
            {
                "issuer": self.identity.issuer,
                "authorization_endpoint": f"{base}/identity/connect/authorize",
                "token_endpoint": f"{base}/identity/connect/token",
                "revocation_endpoint": f"{base}/identity/connect/revocation",
                "jwks_uri": f"{base}/identity/.well-known/openid-configuration/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
            }
        )

    def connections(self, request: Request, client_id: str, connection_id: str | None) -> Response:
        if connection_id is None:
            if request.method != "GET":
                return Response("", status=405)
            event = request.args.get("authEventId")
            out = [
                {
                    "id": c.id,
                    "authEventId": c.auth_event_id,
                    "tenantId": c.tenant_id,
                    "tenantType": "ORGANISATION",
                    "tenantName": self.store.tenants[c.tenant_id].name,
                    "createdDateUtc": c.created.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4],
                    "updatedDateUtc": c.updated.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4],
                }
                for c in self.identity.connections_for(client_id)
                if event is None or c.auth_event_id == event
            ]
            return _json(out)
        if request.method != "DELETE":
            return Response("", status=405)
        if not self.identity.delete_connection(client_id, connection_id):
            return _json(
                {
                    "Type": None,
                    "Title": "Not Found",
                    "Status": 404,
                    "Detail": "Connection not found",
                    "Extensions": {},
                },
                404,
            )
        return Response("", status=204)
