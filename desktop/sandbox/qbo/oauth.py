"""Intuit's OAuth 2.0 (authorization code, confidential client) as the emulator serves it.

Choices where Intuit's behaviour is UNCONFIRMED (see API_FACTS §1), made strict on purpose so
an app that passes here also survives the real service:

* Refresh tokens rotate on every refresh. The previous value stays usable only until the new
  one is used once (a client that lost a response can retry with the old value; a client that
  keeps using an old value after moving on gets ``invalid_grant``).
* A refresh token lives 100 days from its last use, capped at 5 years from the first grant.
* Redirect URIs: the registered HTTPS callback, plus ``http://localhost:<any port>/…`` and
  ``http://127.0.0.1:<any port>/…`` as development keys allow.
* No ``id_token`` is issued (the app asks for accounting scope only).
"""

from __future__ import annotations

import base64
import html
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

CLIENT_ID = "ABqboSandboxClient7fG2kL9mQ4rT8wX1zC5vB3nM6pD0sRetLedger"
CLIENT_SECRET = "qboSandboxSecret-4h8K2m9P3x7R1t6W0y5Z"
REDIRECT_URI = "https://app.returns-ledger.example/oauth/callback"
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
_LOOPBACK = re.compile(r"^http://(localhost|127\.0\.0\.1)(:\d{1,5})?(/[^\s#]*)?$")

ACCESS_LIFE = timedelta(seconds=3600)
REFRESH_LIFE = timedelta(days=100)
HARD_CAP = timedelta(days=5 * 365 + 1)
CODE_LIFE = timedelta(minutes=10)


class OAuthError(Exception):
    """An RFC 6749 error answer: ``{"error": code}`` with an HTTP status."""

    def __init__(self, error: str, status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.status = status


@dataclass
class Grant:
    """One app↔company connection: the chain of refresh tokens issued from one consent."""

    realm_id: str
    scope: str
    first_issued: datetime
    current: str = ""
    previous: str | None = None
    last_used: datetime | None = None
    revoked: bool = False
    access_tokens: set[str] = field(default_factory=set)


@dataclass
class AuthCode:
    value: str
    redirect_uri: str
    realm_id: str
    scope: str
    expires: datetime
    used: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires: datetime


def redirect_allowed(uri: str) -> bool:
    return uri == REDIRECT_URI or bool(_LOOPBACK.match(uri))


def basic_client(header: str | None, form: dict[str, str]) -> bool:
    """client_secret_basic (or client_secret_post) matching the demo app's credentials."""
    if header and header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        cid, _, secret = raw.partition(":")
        return secrets.compare_digest(cid, CLIENT_ID) and secrets.compare_digest(secret, CLIENT_SECRET)
    return secrets.compare_digest(form.get("client_id", ""), CLIENT_ID) and secrets.compare_digest(
        form.get("client_secret", ""), CLIENT_SECRET
    )


class OAuthServer:
    """Codes, grants and tokens; every issued value goes to the sandbox TokenLog via ``record``."""

    def __init__(self, record: Any) -> None:
        self._record = record
        self._lock = threading.Lock()
        self.codes: dict[str, AuthCode] = {}
        self.grants_by_refresh: dict[str, Grant] = {}
        self.access: dict[str, AccessToken] = {}

    def reset(self) -> None:
        with self._lock:
            self.codes.clear()
            self.grants_by_refresh.clear()
            self.access.clear()

    def issue_code(self, redirect_uri: str, realm_id: str, scope: str, now: datetime) -> str:
        value = "AB11" + secrets.token_urlsafe(30)
        with self._lock:
            self.codes[value] = AuthCode(value, redirect_uri, realm_id, scope, now + CODE_LIFE)
        self._record("code", value, now)
        return value

    def exchange_code(self, code: str, redirect_uri: str, now: datetime, hard: bool) -> dict[str, Any]:
        with self._lock:
            entry = self.codes.get(code)
            if entry is None or entry.used or entry.expires <= now:
                raise OAuthError("invalid_grant")
            if entry.redirect_uri != redirect_uri:
                raise OAuthError("invalid_grant")
            entry.used = True
            grant = Grant(entry.realm_id, entry.scope, now)
            return self._issue(grant, now, hard)

    def refresh(self, token: str, now: datetime, hard: bool) -> dict[str, Any]:
        with self._lock:
            grant = self.grants_by_refresh.get(token)
            if grant is None or grant.revoked or not self._refresh_alive(grant, now):
                raise OAuthError("invalid_grant")
            if token == grant.current:
                # the newest value is being used: from now on only its successor (and it) work
                if grant.previous:
                    self.grants_by_refresh.pop(grant.previous, None)
                grant.previous = token
            elif token == grant.previous:
                # a retry with the older value: the never-used newest value is replaced
                self.grants_by_refresh.pop(grant.current, None)
            else:
                raise OAuthError("invalid_grant")
            return self._issue(grant, now, hard)

    def _refresh_alive(self, grant: Grant, now: datetime) -> bool:
        last = grant.last_used or grant.first_issued
        return now < last + REFRESH_LIFE and now < grant.first_issued + HARD_CAP

    def _issue(self, grant: Grant, now: datetime, hard: bool) -> dict[str, Any]:
        access = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0.." + secrets.token_urlsafe(96)
        refresh = "AB11" + secrets.token_urlsafe(36)
        grant.current = refresh
        grant.last_used = now
        grant.access_tokens.add(access)
        self.grants_by_refresh[refresh] = grant
        self.access[access] = AccessToken(grant, now + ACCESS_LIFE)
        self._record("access", access, now)
        self._record("refresh", refresh, now)
        hard_left = int((grant.first_issued + HARD_CAP - now).total_seconds())
        body: dict[str, Any] = {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": int(ACCESS_LIFE.total_seconds()),
            "x_refresh_token_expires_in": min(int(REFRESH_LIFE.total_seconds()), hard_left),
        }
        if hard:
            body["x_refresh_token_hard_expires_in"] = hard_left
        return body

    def revoke(self, token: str) -> None:
        with self._lock:
            grant = self.grants_by_refresh.get(token)
            if grant is None and token in self.access:
                grant = self.access[token].grant
            if grant is None:
                return
            grant.revoked = True
            for value in (grant.current, grant.previous):
                if value:
                    self.grants_by_refresh.pop(value, None)
            for value in grant.access_tokens:
                self.access.pop(value, None)

    def check_access(self, token: str, now: datetime) -> tuple[Grant | None, str]:
        """(grant, "") if valid, else (None, reason for the 401 detail — never the token itself)."""
        with self._lock:
            entry = self.access.get(token)
            if entry is None or entry.grant.revoked:
                return None, "Token invalid: the access token is unknown or was revoked"
            if entry.expires <= now:
                return None, f"Token expired: the access token expired at {entry.expires.isoformat()}"
            return entry.grant, ""


def consent_page(params: dict[str, str], companies: list[tuple[str, str]], action: str) -> str:
    """The login/consent page: a company picker with Connect and Cancel, posting back to ``action``."""
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in params.items()
        if k in ("client_id", "redirect_uri", "scope", "state", "response_type")
    )
    options = "".join(
        f'<option value="{html.escape(rid)}">{html.escape(name)} ({html.escape(rid)})</option>'
        for rid, name in companies
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Intuit — Connect to QuickBooks (sandbox)</title>
<style>body{{font-family:sans-serif;max-width:34em;margin:3em auto}}button{{margin-right:1em}}</style></head>
<body><h1>Sign in to QuickBooks</h1>
<p>The app <strong>Returns Ledger Sync</strong> wants to access your QuickBooks company data
(<code>{html.escape(params.get("scope", ""))}</code>).</p>
<form method="post" action="{html.escape(action)}" id="consent">
{hidden}
<label for="user">User ID</label> <input id="user" name="user" value="accountant@example.com"><br>
<label for="realmId">Company</label> <select id="realmId" name="realmId">{options}</select>
<p><button type="submit" name="action" value="approve" id="connect">Connect</button>
<button type="submit" name="action" value="deny" id="cancel">Cancel</button></p>
</form></body></html>"""


def error_page(message: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Error</title></head>'
        f'<body><h1>Something went wrong</h1><p id="error">{html.escape(message)}</p></body></html>'
    )


def redirect_with(uri: str, params: dict[str, str]) -> str:
    sep = "&" if "?" in uri else "?"
    return uri + sep + urlencode(params)


def discovery(prefix: str) -> dict[str, Any]:
    return {
        "issuer": f"{prefix}/op/v1",
        "authorization_endpoint": f"{prefix}/connect/oauth2",
        "token_endpoint": f"{prefix}/oauth2/v1/tokens/bearer",
        "userinfo_endpoint": f"{prefix}/v1/openid_connect/userinfo",
        "revocation_endpoint": f"{prefix}/v2/oauth2/tokens/revoke",
        "jwks_uri": f"{prefix}/op/v1/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": [
            "openid",
            "email",
            "profile",
            "address",
            "phone",
            ACCOUNTING_SCOPE,
            "com.intuit.quickbooks.payment",
        ],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }
