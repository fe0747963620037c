"""Xero identity: authorize page, token endpoint, revocation and the connections list.

Mirrors login.xero.com / identity.xero.com: access tokens live 30 minutes, refresh tokens rotate on
every use, expire after 60 days unused, and the previous refresh token may be replayed for 30
minutes after rotation (Xero's documented grace period for lost responses).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from desktop.sandbox.base import SandboxClock, TokenLog

ACCESS_TTL = timedelta(minutes=30)
REFRESH_TTL = timedelta(days=60)
GRACE = timedelta(minutes=30)
CODE_TTL = timedelta(minutes=5)

CONFIDENTIAL_CLIENT_ID = "4C3D7E21A9B84F0E9D5A6B7C8E9F0A1B"
CONFIDENTIAL_SECRET = "xs-demo-Q2hF9kLm3Np7Rt5Vw8Yz1Bc4Df6Gh0Jk"
PKCE_CLIENT_ID = "8F1E2D3C4B5A69788796A5B4C3D2E1F0"
REDIRECT_URI = "https://app.returns-ledger.example/oauth/xero/callback"
DEMO_USER = "5b2a9e1c-7d43-4e8f-a1b6-0c9d8e7f6a51"

KNOWN_SCOPES = {
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.transactions",
    "accounting.transactions.read",
    "accounting.settings",
    "accounting.settings.read",
    "accounting.contacts",
    "accounting.contacts.read",
    "accounting.attachments",
    "accounting.attachments.read",
    "accounting.journals.read",
    "accounting.reports.read",
    "accounting.budgets.read",
    "accounting.invoices",
    "accounting.invoices.read",
    "accounting.payments",
    "accounting.payments.read",
    "accounting.manualjournals",
    "accounting.manualjournals.read",
    "accounting.banktransactions",
    "accounting.banktransactions.read",
}


# RFC 7636 §4.1: 43–128 characters of [A-Za-z0-9-._~] (Xero's PKCE page repeats the rule).
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


class OAuthError(Exception):
    """An RFC 6749 error answer from the token/revocation endpoints."""

    def __init__(self, error: str, status: int = 400, description: str | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.description = description


@dataclass
class Connection:
    id: str
    auth_event_id: str
    tenant_id: str
    client_id: str
    created: datetime
    updated: datetime


@dataclass
class Grant:
    id: str
    client_id: str
    scope: str
    auth_event_id: str
    revoked: bool = False


@dataclass
class AuthCode:
    grant_id: str
    client_id: str
    redirect_uri: str
    challenge: str | None
    expires: datetime
    used: bool = False


@dataclass
class AccessRecord:
    grant_id: str
    client_id: str
    expires: datetime


@dataclass
class RefreshRecord:
    grant_id: str
    client_id: str
    expires: datetime
    rotated_at: datetime | None = None


@dataclass
class IdentityState:
    grants: dict[str, Grant] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    access: dict[str, AccessRecord] = field(default_factory=dict)
    refresh: dict[str, RefreshRecord] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)


def redirect_allowed(uri: str) -> bool:
    """The registered demo URI, or any loopback port/path (Xero allows http only for localhost)."""
    if uri == REDIRECT_URI:
        return True
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in {"localhost", "127.0.0.1"} and not parts.fragment


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def s256(verifier: str) -> str:
    return _b64url(hashlib.sha256(verifier.encode()).digest())


class Identity:
    """The identity service state machine; thread-safe, on the Xero sandbox clock."""

    def __init__(self, clock: SandboxClock, tokens: TokenLog, issuer: str) -> None:
        self._clock = clock
        self._tokens = tokens
        self.issuer = issuer
        self._lock = threading.Lock()
        self.state = IdentityState()

    def reset(self) -> None:
        with self._lock:
            self.state = IdentityState()

    # -- authorize -----------------------------------------------------------------------------
    def check_authorize(self, params: dict[str, str]) -> str | None:
        """Why an authorize request must be refused outright (no redirect), or None if fine."""
        if params.get("client_id") not in (CONFIDENTIAL_CLIENT_ID, PKCE_CLIENT_ID):
            return "unauthorized_client: unknown client_id"
        if not redirect_allowed(params.get("redirect_uri", "")):
            return "invalid_request: redirect_uri is not registered for this app"
        return None

    def redirect_error(self, params: dict[str, str]) -> str | None:
        """An error that is reported back to the redirect URI (RFC 6749 §4.1.2.1)."""
        if params.get("response_type") != "code":
            return "unsupported_response_type"
        scopes = params.get("scope", "").split()
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            return "invalid_scope"
        if params.get("client_id") == PKCE_CLIENT_ID and (
            not params.get("code_challenge") or params.get("code_challenge_method") != "S256"
        ):
            return "invalid_request"
        return None

    def issue_code(self, params: dict[str, str], tenant_ids: list[str]) -> str:
        """Consent given: connect the tenants and return the redirect URL carrying the code."""
        now = self._clock.now()
        with self._lock:
            grant = Grant(
                id=str(uuid.uuid4()),
                client_id=params["client_id"],
                scope=params["scope"],
                auth_event_id=str(uuid.uuid4()),
            )
            self.state.grants[grant.id] = grant
            for tid in tenant_ids:
                existing = next(
                    (
                        c
                        for c in self.state.connections.values()
                        if c.tenant_id == tid and c.client_id == grant.client_id
                    ),
                    None,
                )
                if existing:
                    existing.auth_event_id, existing.updated = grant.auth_event_id, now
                else:
                    cid = str(uuid.uuid4())
                    self.state.connections[cid] = Connection(cid, grant.auth_event_id, tid, grant.client_id, now, now)
            code = secrets.token_hex(32)
            self.state.codes[code] = AuthCode(
                grant.id,
                grant.client_id,
                params["redirect_uri"],
                params.get("code_challenge"),
                now + CODE_TTL,
            )
        self._tokens.record("xero", "code", code, now)
        query = {"code": code, "scope": params["scope"], "session_state": secrets.token_hex(8)}
        if params.get("state") is not None:
            query["state"] = params["state"]
        return _with_query(params["redirect_uri"], query)

    # -- token endpoint ------------------------------------------------------------------------
    def client_auth(self, basic: tuple[str, str] | None, form: dict[str, str]) -> str:
        """Authenticate the caller: Basic (or posted) secret for the web app, client id for PKCE."""
        if basic is not None:
            client_id, secret = basic
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if client_id == CONFIDENTIAL_CLIENT_ID:
            if not secrets.compare_digest(secret, CONFIDENTIAL_SECRET):
                raise OAuthError("invalid_client")
            return client_id
        if client_id == PKCE_CLIENT_ID and not secret:
            return client_id
        raise OAuthError("invalid_client")

    def exchange(self, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._exchange_code(client_id, form)
        if grant_type == "refresh_token":
            return self._refresh(client_id, form.get("refresh_token", ""))
        raise OAuthError("unsupported_grant_type")

    def _exchange_code(self, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        now = self._clock.now()
        with self._lock:
            rec = self.state.codes.get(form.get("code", ""))
            if rec is None or rec.used or rec.expires <= now or rec.client_id != client_id:
                raise OAuthError("invalid_grant")
            if rec.redirect_uri != form.get("redirect_uri"):
                raise OAuthError("invalid_grant")
            if rec.challenge is not None:
                verifier = form.get("code_verifier", "")
                if not _VERIFIER.fullmatch(verifier) or not secrets.compare_digest(s256(verifier), rec.challenge):
                    raise OAuthError("invalid_grant")
            elif client_id == PKCE_CLIENT_ID:
                raise OAuthError("invalid_grant")
            rec.used = True
            grant = self.state.grants[rec.grant_id]
            return self._issue_pair(grant, now, with_id_token=True)

    def _refresh(self, client_id: str, token: str) -> dict[str, Any]:
        now = self._clock.now()
        with self._lock:
            rec = self.state.refresh.get(token)
            if rec is None or rec.client_id != client_id or rec.expires <= now:
                raise OAuthError("invalid_grant")
            grant = self.state.grants[rec.grant_id]
            if grant.revoked:
                raise OAuthError("invalid_grant")
            if rec.rotated_at is not None and now - rec.rotated_at > GRACE:
                raise OAuthError("invalid_grant")
            if rec.rotated_at is None:
                rec.rotated_at = now
            return self._issue_pair(grant, now, with_id_token=False)

    def _issue_pair(self, grant: Grant, now: datetime, with_id_token: bool) -> dict[str, Any]:
        access = self._jwt(
            {
                "nbf": int(now.timestamp()),
                "exp": int((now + ACCESS_TTL).timestamp()),
                "iss": self.issuer,
                "aud": f"{self.issuer}/resources",
                "client_id": grant.client_id,
                "sub": DEMO_USER,
                "auth_time": int(now.timestamp()),
                "xero_userid": DEMO_USER,
                "global_session_id": grant.id.replace("-", ""),
                "jti": secrets.token_hex(16),
                "authentication_event_id": grant.auth_event_id,
                "scope": grant.scope.split(),
            }
        )
        self.state.access[access] = AccessRecord(grant.id, grant.client_id, now + ACCESS_TTL)
        self._tokens.record("xero", "access", access, now)
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": int(ACCESS_TTL.total_seconds()),
            "token_type": "Bearer",
            "scope": grant.scope,
        }
        if "offline_access" in grant.scope.split():
            refresh = secrets.token_hex(32)
            self.state.refresh[refresh] = RefreshRecord(grant.id, grant.client_id, now + REFRESH_TTL)
            self._tokens.record("xero", "refresh", refresh, now)
            body["refresh_token"] = refresh
        if with_id_token and "openid" in grant.scope.split():
            id_token = self._jwt(
                {
                    "nbf": int(now.timestamp()),
                    "exp": int((now + timedelta(minutes=5)).timestamp()),
                    "iss": self.issuer,
                    "aud": grant.client_id,
                    "sub": DEMO_USER,
                    "email": "finance.admin@returns-ledger.example",
                    "given_name": "Demo",
                    "family_name": "Admin",
                    "xero_userid": DEMO_USER,
                }
            )
            self._tokens.record("xero", "id", id_token, now)
            body = {"id_token": id_token, **body}
        return body

    @staticmethod
    def _jwt(payload: dict[str, Any]) -> str:
        header = {"alg": "RS256", "kid": "1CAF8E66772D6DC028D6726FD0261581570EFC19", "typ": "JWT"}
        return ".".join(
            (
                _b64url(json.dumps(header).encode()),
                _b64url(json.dumps(payload).encode()),
                _b64url(secrets.token_bytes(64)),
            )
        )

    def revoke(self, client_id: str, token: str) -> None:
        """Revoke the grant behind a refresh token and drop the app's connections (as Xero does)."""
        with self._lock:
            rec = self.state.refresh.get(token)
            if rec is None or rec.client_id != client_id:
                return  # RFC 7009: unknown tokens are not an error
            self.state.grants[rec.grant_id].revoked = True
            for cid in [c.id for c in self.state.connections.values() if c.client_id == client_id]:
                del self.state.connections[cid]

    # -- bearer checks -------------------------------------------------------------------------
    def bearer(self, token: str) -> tuple[AccessRecord | None, str]:
        """The access record for a Bearer token, or None plus the problem ``Detail`` text."""
        now = self._clock.now()
        with self._lock:
            rec = self.state.access.get(token)
            if rec is None or self.state.grants[rec.grant_id].revoked:
                return None, "AuthenticationUnsuccessful"
            if rec.expires <= now:
                return None, f"TokenExpired: token expired at {rec.expires.strftime('%m/%d/%Y %H:%M:%S')}"
            return rec, ""

    def connections_for(self, client_id: str) -> list[Connection]:
        with self._lock:
            return [c for c in self.state.connections.values() if c.client_id == client_id]

    def is_connected(self, client_id: str, tenant_id: str) -> bool:
        return any(c.tenant_id == tenant_id for c in self.connections_for(client_id))

    def delete_connection(self, client_id: str, connection_id: str) -> bool:
        with self._lock:
            conn = self.state.connections.get(connection_id.lower())
            if conn is None or conn.client_id != client_id:
                return False
            del self.state.connections[conn.id]
            return True


def _with_query(uri: str, query: dict[str, str]) -> str:
    sep = "&" if urlsplit(uri).query else "?"
    return f"{uri}{sep}{urlencode(query)}"


def error_redirect(params: dict[str, str], error: str) -> str:
    query = {"error": error}
    if params.get("state") is not None:
        query["state"] = params["state"]
    return _with_query(params["redirect_uri"], query)
