"""OAuth 2.0 authorization-code flows for QuickBooks Online and Xero.

- QBO: confidential client only (Intuit documents no PKCE): the client secret, entered by the
  admin and kept in the keyring, authenticates with HTTP Basic at the token endpoint; the
  company (``realmId``) arrives on the redirect.
- Xero: a public client with PKCE (S256) by default — no secret on the desktop — or a
  confidential client when the organization registered a "Web app" with a secret. The tenant
  is chosen afterwards from ``/connections``.

``state`` is always generated and verified. Token responses are parsed with oauthlib's standard
parser, which turns ``{"error": "invalid_grant"}`` and friends into typed errors; we translate
those into the project's taxonomy (``invalid_grant`` → :class:`NeedsReconnect`).

Transport is plain ``requests`` behind :func:`check_transport` (HTTPS, or loopback for the
sandbox): oauthlib's own transport guard only knows a process-wide switch to allow HTTP, which
we will not flip.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from oauthlib.oauth2 import WebApplicationClient
from oauthlib.oauth2.rfc6749 import errors as oauth_errors
from oauthlib.oauth2.rfc6749.parameters import parse_token_response

from desktop.services.auth.platforms import Endpoints, Platform, auth_facts, platform_label
from desktop.services.auth.vault import NeedsReconnect, TokenResult
from desktop.services.core.clock import Clock
from desktop.services.core.errors import FatalError, NeedsPersonError, TransientError
from desktop.services.core.events import redact_text
from desktop.services.core.exact_json import to_decimal
from desktop.services.platforms.http import NETWORK_ERRORS, check_transport


class StateMismatch(NeedsPersonError):
    """The redirect did not carry the ``state`` we sent: refuse it (possible CSRF)."""


class AccessNotGranted(NeedsPersonError):
    """The person declined, or the platform refused, the consent."""


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str | None = None  # None: a public client (Xero PKCE)

    @property
    def is_public(self) -> bool:
        return self.client_secret is None


@dataclass(frozen=True)
class AuthorizationRequest:
    """One sign-in attempt: the URL to open and what we must check when it comes back."""

    url: str
    state: str
    redirect_uri: str
    code_verifier: str | None
    created_at: datetime


@dataclass(frozen=True)
class Callback:
    code: str
    realm_id: str | None  # QBO's company id on the redirect; None for Xero


class OAuthClient:
    """The authorization-code flow against one platform environment."""

    def __init__(self, endpoints: Endpoints, credentials: ClientCredentials, redirect_uri: str,
                 clock: Clock, *, session: requests.Session | None = None, timeout_s: float = 30.0) -> None:
        if auth_facts(endpoints.platform).needs_client_secret and credentials.is_public:
            raise NeedsPersonError(f"{platform_label(endpoints.platform)} needs the app's client secret",
                                   action="enter the client secret from the Intuit developer portal")
        for url in (endpoints.authorize_url, endpoints.token_url, endpoints.revoke_url):
            check_transport(url)
        self.endpoints = endpoints
        self.credentials = credentials
        self.redirect_uri = redirect_uri
        self._clock = clock
        self._http = session or requests.Session()
        self._timeout = timeout_s
        self._oauthlib = WebApplicationClient(credentials.client_id)

    @property
    def platform(self) -> Platform:
        return self.endpoints.platform

    def _uses_pkce(self) -> bool:
        return auth_facts(self.platform).uses_pkce

    # --- step 1: the URL to open -----------------------------------------------------------
    def begin(self) -> AuthorizationRequest:
        state = secrets.token_urlsafe(24)
        params = {"client_id": self.credentials.client_id, "response_type": "code",
                  "scope": " ".join(self.endpoints.scopes), "redirect_uri": self.redirect_uri,
                  "state": state}
        verifier = None
        if self._uses_pkce():
            verifier = self._oauthlib.create_code_verifier(64)
            params["code_challenge"] = self._oauthlib.create_code_challenge(verifier, "S256")
            params["code_challenge_method"] = "S256"
        url = f"{self.endpoints.authorize_url}?{urlencode(params)}"
        return AuthorizationRequest(url, state, self.redirect_uri, verifier, self._clock.now())

    def is_redirect(self, url: str) -> bool:
        """True if ``url`` is our redirect URI (what the embedded browser must intercept)."""
        a, b = urlsplit(url), urlsplit(self.redirect_uri)
        return (a.scheme, a.hostname, a.port, a.path.rstrip("/")) == (
            b.scheme, b.hostname, b.port, b.path.rstrip("/"))

    # --- step 2: the redirect comes back ---------------------------------------------------
    def parse_callback(self, request: AuthorizationRequest, redirect_url: str) -> Callback:
        query = {k: v[0] for k, v in parse_qs(urlsplit(redirect_url).query).items()}
        if query.get("state") != request.state:
            raise StateMismatch("The sign-in answer does not belong to this sign-in (state mismatch); "
                                "nothing was connected", action="start the connection again")
        if "error" in query:
            detail = query.get("error_description") or query["error"]
            raise AccessNotGranted(f"{platform_label(self.platform)} did not grant access: {detail}",
                                   platform=self.platform.value, platform_code=query["error"],
                                   action="try again and choose Allow / Connect")
        code = query.get("code")
        if not code:
            raise AccessNotGranted(f"{platform_label(self.platform)} sent no authorization code",
                                   action="start the connection again")
        realm = query.get("realmId")
        if auth_facts(self.platform).company_on_redirect and not realm:
            raise AccessNotGranted("QuickBooks did not say which company was chosen (no realmId)",
                                   action="start the connection again and pick a company")
        return Callback(code, realm)

    # --- step 3: tokens --------------------------------------------------------------------
    def _basic(self) -> dict[str, str]:
        raw = f"{self.credentials.client_id}:{self.credentials.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def _token_call(self, form: dict[str, str]) -> TokenResult:
        headers = {"Accept": "application/json"}
        if self.credentials.is_public:
            form = {**form, "client_id": self.credentials.client_id}
        else:
            headers.update(self._basic())
        if auth_facts(self.platform).reports_hard_expiry:
            headers["x-include-refresh-token-hard-expires-in"] = "true"
        try:
            # A redirect would re-send the grant (a refresh token) to another address: never follow one.
            resp = self._http.post(self.endpoints.token_url, data=form, headers=headers, timeout=self._timeout,
                                   allow_redirects=False)
        except NETWORK_ERRORS as exc:
            raise TransientError(f"{platform_label(self.platform)}'s sign-in service did not answer",
                                 platform=self.platform.value, platform_message=type(exc).__name__) from exc
        return self._parse_token_response(resp)

    def _parse_token_response(self, resp: requests.Response) -> TokenResult:
        label = platform_label(self.platform)
        if 300 <= resp.status_code < 400:
            raise FatalError(f"{label}'s sign-in service sent us to another address (HTTP {resp.status_code}); "
                             "the app does not follow it, so the sign-in details go nowhere else",
                             platform=self.platform.value, platform_code=str(resp.status_code),
                             action="check the environment's token address; contact support if it persists")
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientError(f"{label}'s sign-in service is unavailable (HTTP {resp.status_code})",
                                 platform=self.platform.value, platform_code=str(resp.status_code))
        try:
            token = parse_token_response(resp.text, scope=None)
        except oauth_errors.InvalidGrantError as exc:
            raise NeedsReconnect(f"{label} no longer accepts this connection's authorization "
                                 "(invalid_grant: revoked, expired or replaced)",
                                 platform=self.platform.value, platform_code="invalid_grant",
                                 action="reconnect it on the Connections page") from exc
        except oauth_errors.OAuth2Error as exc:
            raise NeedsPersonError(f"{label} refused the sign-in: {exc.error}",
                                   platform=self.platform.value, platform_code=exc.error,
                                   platform_message=redact_text(exc.description or ""),
                                   action="check the app's client id and secret") from exc
        except (ValueError, json.JSONDecodeError) as exc:
            raise FatalError(f"{label}'s sign-in service answered something unexpected "
                             f"(HTTP {resp.status_code})", platform=self.platform.value) from exc
        result = _token_result(token)
        life = auth_facts(self.platform).refresh_life_s
        if result.refresh_expires_in_s is None and life is not None:
            # The platform does not say (Xero); its documented rule stands in.
            result = replace(result, refresh_expires_in_s=life)
        return result

    def exchange_code(self, request: AuthorizationRequest, callback: Callback) -> TokenResult:
        form = {"grant_type": "authorization_code", "code": callback.code, "redirect_uri": request.redirect_uri}
        if request.code_verifier:
            form["code_verifier"] = request.code_verifier
        try:
            return self._token_call(form)
        except NeedsReconnect as exc:  # invalid_grant on a fresh code: expired, reused or bad verifier
            raise AccessNotGranted(f"{platform_label(self.platform)} refused to complete this sign-in (invalid_grant: "
                                   "the code expired, was already used, or the PKCE verifier did not match)",
                                   platform=self.platform.value, platform_code="invalid_grant",
                                   action="start the connection again") from exc

    def refresh(self, refresh_token: str) -> TokenResult:
        return self._token_call({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def revoke(self, token: str) -> None:
        """Revoke the grant at the platform (QBO: JSON body; Xero: form)."""
        headers = {"Accept": "application/json"}
        try:
            if auth_facts(self.platform).revoke_as_json:
                resp = self._http.post(self.endpoints.revoke_url, json={"token": token},
                                       headers={**headers, **self._basic()}, timeout=self._timeout)
            else:
                form = {"token": token}
                if self.credentials.is_public:
                    form["client_id"] = self.credentials.client_id
                else:
                    headers.update(self._basic())
                resp = self._http.post(self.endpoints.revoke_url, data=form, headers=headers,
                                       timeout=self._timeout, allow_redirects=False)
        except NETWORK_ERRORS as exc:
            raise TransientError(f"{platform_label(self.platform)} did not answer the revocation",
                                 platform=self.platform.value) from exc
        if resp.status_code >= 500:
            raise TransientError(f"{platform_label(self.platform)} could not revoke now (HTTP {resp.status_code})",
                                 platform=self.platform.value, platform_code=str(resp.status_code))
        # 400 invalid_grant / invalid_token: already revoked or expired — the goal is reached.


def _seconds(value: Any) -> int | None:
    if value in (None, ""):
        return None
    return int(to_decimal(value, "a token lifetime"))


def _token_result(token: dict[str, Any]) -> TokenResult:
    refresh = token.get("refresh_token")
    if not refresh:
        raise FatalError("The sign-in service issued no refresh token (is offline access allowed?)",
                         action="for Xero, the app must ask for the offline_access scope")
    return TokenResult(
        access_token=str(token["access_token"]),
        expires_in_s=_seconds(token.get("expires_in")) or 1800,
        refresh_token=str(refresh),
        refresh_expires_in_s=_seconds(token.get("x_refresh_token_expires_in")),
        hard_expires_in_s=_seconds(token.get("x_refresh_token_hard_expires_in")),
        scope=" ".join(token["scope"]) if isinstance(token.get("scope"), list) else str(token.get("scope") or ""),
    )
