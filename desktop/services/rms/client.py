"""The RMS API client (``docs/rms-api.yaml``): organizations, the change feed, one return, write-back.

Built from the same parts as the ledger connectors (:mod:`desktop.services.platforms.http`):
loopback-only plain HTTP, a throttle, transient-only retries. JSON is parsed with
``parse_float=Decimal`` (and ``NaN``/``Infinity`` refused), so a number the RMS sends never
passes through binary floating point — the parser then refuses amounts that are numbers at all.

Failures become the project's error taxonomy: a refused API key or a 400 needs a person; 5xx,
429 and network trouble are transient (the scheduler retries later); a 409 on write-back means
our idempotency key was reused for a different body — a bug, so fatal. The API key travels in
the ``X-API-Key`` header only and is never logged or put in an error message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from desktop.services.core.errors import FatalError, NeedsPersonError, TransientError
from desktop.services.core.events import redact_text
from desktop.services.platforms.http import LedgerHttp, RetryPolicy, Throttle, check_transport, parse_retry_after
from desktop.services.rms.storable import trim_depth
from desktop.services.store.coltypes import json_dumps_exact, json_loads_exact

__all__ = ["CONCURRENT", "EXCERPT_CHARS", "Page", "RmsClient", "UnreadablePage", "WriteBack", "default_http"]

PLATFORM = "rms"
#: The contract caps a page at 500 revisions.
MAX_PAGE = 500
#: How much of an unreadable answer a person is shown (after redaction).
EXCERPT_CHARS = 200


class UnreadablePage(TransientError):
    """The RMS answered a change-feed request with success but not with a readable page (an HTML
    error page, a cut-off or non-JSON body, JSON that is not the documented envelope).

    Transient — the next pull asks again — but counted per page by ``rms/feed_guard.py``, which sets
    the page aside after a bounded number of attempts. ``excerpt`` is the redacted start of the body.
    """

    def __init__(self, message: str, *, what: str, excerpt: str, content_type: str, platform_code: str,
                 action: str) -> None:
        super().__init__(message, platform=PLATFORM, platform_code=platform_code, platform_message=excerpt,
                         action=action)
        self.what = what
        self.excerpt = excerpt
        self.content_type = content_type


@dataclass(frozen=True)
class Page:
    """One page of the change feed."""

    returns: list[dict[str, Any]]
    next_cursor: str
    has_more: bool


@dataclass(frozen=True)
class WriteBack:
    """The RMS's record of an accounting-status write-back; ``replayed`` if it had it already."""

    status: dict[str, Any]
    replayed: bool


#: Requests to the RMS at once. One RMS (one API key) serves every organization, so this is shared
#: by all of them; each organization's write-back sends up to 4 at a time.
CONCURRENT = 8


def default_http(*, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> LedgerHttp:
    """The RMS's HTTP plumbing: :data:`CONCURRENT` requests at a time, the standard retry policy.

    No requests-a-minute window of our own: the RMS contract (``docs/rms-api.yaml``) publishes no
    such limit but answers ``429`` with ``Retry-After``, which holds every request to it for that
    long. (An invented 300 a minute, shared by every organization since they share the RMS, made a
    ``sync --once`` of all four demo organizations wait about a minute for nothing: one write-back
    per return, ~380 in one minute.)
    """
    return LedgerHttp(throttle=Throttle(per_minute=None, concurrent=CONCURRENT, sleep=sleep, monotonic=monotonic),
                      retry=RetryPolicy(), platform=PLATFORM, sleep=sleep)


class RmsClient:
    """One RMS connection.

    Args:
        base_url: the API root, e.g. ``https://rms.example.com/rms`` (plain HTTP only to loopback).
        api_key: sent as ``X-API-Key``.
        http: the HTTP plumbing (tests pass one with a fast retry policy); by default
            :func:`default_http`.
    """

    def __init__(self, base_url: str, api_key: str, *, http: LedgerHttp | None = None) -> None:
        check_transport(base_url)
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.http = http or default_http()

    def __repr__(self) -> str:
        return f"RmsClient({self.base_url!r})"

    # --- calls -------------------------------------------------------------------------------

    def organizations(self) -> list[dict[str, Any]]:
        """Every organization the API key can see (``GET /v1/organizations``)."""
        body = self._call("GET", "/v1/organizations")
        orgs = body.get("organizations") if isinstance(body, dict) else None
        if not isinstance(orgs, list) or not all(isinstance(o, dict) for o in orgs):
            raise self._unexpected("/v1/organizations", "no organizations list")
        return orgs

    def changes(self, cursor: str | None, limit: int = 100, *, organization: str | None = None,
                skip: int = 0) -> Page:
        """One page of revisions after ``cursor`` (``None`` or ``""``: from the beginning).

        ``skip`` leaves out that many revisions right after the cursor; with ``limit`` 0 the page is
        empty and its ``next_cursor`` lies past them — how a revision the RMS cannot send is stepped
        over. A success answer that is not a readable page raises :class:`UnreadablePage`.
        """
        if not (0 if skip else 1) <= limit <= MAX_PAGE or not 0 <= skip <= MAX_PAGE:
            raise ValueError(f"limit must be from 1 to {MAX_PAGE} (0 with skip), skip from 0 to {MAX_PAGE}")
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        if organization:
            params["organization"] = organization
        if skip:
            params["skip"] = skip
        path = "/v1/returns"
        resp = self._send("GET", path, params=params)
        try:
            body = self._json(resp, path)
        except TransientError:
            raise self._unreadable(resp, "it is not JSON (or cut off)") from None
        if not isinstance(body, dict):
            raise self._unreadable(resp, "it is JSON, but not the documented page object")
        returns, next_cursor, has_more = body.get("returns"), body.get("next_cursor"), body.get("has_more")
        if not isinstance(returns, list) or not isinstance(next_cursor, str) or not isinstance(has_more, bool):
            raise self._unreadable(resp, "it is JSON, but returns, next_cursor or has_more is missing")
        return Page(returns=returns, next_cursor=next_cursor, has_more=has_more)

    def get(self, rms_id: str) -> dict[str, Any] | None:
        """The latest revision of one return, or ``None`` if the RMS has no such return."""
        path = f"/v1/returns/{quote(rms_id, safe='')}"
        body = self._call("GET", path, missing_ok=True)
        if body is None:
            return None
        if not isinstance(body, dict):
            raise self._unexpected(path, "not an object")
        return body

    def write_back(self, rms_id: str, update: Mapping[str, Any], idempotency_key: str) -> WriteBack:
        """Record what happened to a revision in the ledger; safe to repeat with the same key."""
        if not idempotency_key or len(idempotency_key) > 255:
            raise ValueError("idempotency key must be 1 to 255 characters")
        path = f"/v1/returns/{quote(rms_id, safe='')}/accounting-status"
        resp = self._send("POST", path, data=json_dumps_exact(dict(update)).encode(),
                          headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key})
        body = self._json(resp, path)
        if not isinstance(body, dict):
            raise self._unexpected(path, "not an object")
        return WriteBack(status=body, replayed=resp.headers.get("Idempotent-Replayed") == "true")

    # --- plumbing ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> Any:
        resp = self._send(method, path, missing_ok=missing_ok, **kwargs)
        if resp.status_code == 404 and missing_ok:
            return None
        return self._json(resp, path)

    def _send(self, method: str, path: str, *, missing_ok: bool = False,
              headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
        hdrs = {"X-API-Key": self._api_key, "Accept": "application/json", **(headers or {})}
        try:
            resp = self.http.request(method, self.base_url + path, headers=hdrs, **kwargs)
        except TransientError as exc:
            raise TransientError(
                f"The RMS did not answer {method} {path}", platform=PLATFORM,
                platform_message=exc.platform_message,
                action="check the network; the next scheduled pull retries") from exc
        if resp.status_code < 300 or (resp.status_code == 404 and missing_ok):
            return resp
        raise self._error(resp, method, path)

    def _json(self, resp: requests.Response, path: str) -> Any:
        try:
            return json_loads_exact(resp.content)
        except (ValueError, UnicodeDecodeError):
            pass
        # Valid JSON nested too deeply for the parser: one such record must not make its whole
        # page unreadable (the feed would stop there), so the deep part is left out and marked;
        # ingest quarantines that record (rms/storable.py).
        try:
            trimmed = trim_depth(resp.content.decode("utf-8"))
            if trimmed is not None:
                return json_loads_exact(trimmed)
        except (ValueError, UnicodeDecodeError):
            pass
        raise self._unexpected(path, "not JSON")

    @staticmethod
    def _unreadable(resp: requests.Response, what: str) -> UnreadablePage:
        content_type = (resp.headers.get("Content-Type") or "none").split(";")[0].strip()[:80]
        text = resp.content[:EXCERPT_CHARS * 10].decode("utf-8", "replace")
        excerpt = " ".join(redact_text(text).split())[:EXCERPT_CHARS]
        return UnreadablePage(
            f"The RMS answered a request for returns with something the app cannot read: {what} "
            f"(HTTP {resp.status_code}, {content_type}, {len(resp.content):,} bytes)", what=what, excerpt=excerpt,
            content_type=content_type, platform_code=str(resp.status_code),
            action="nothing yet: the next pull asks again; if it keeps happening, ask the RMS vendor")

    @staticmethod
    def _unexpected(path: str, what: str) -> TransientError:
        return TransientError(f"The RMS sent an unreadable answer to {path} ({what})", platform=PLATFORM,
                              action="if this persists, ask the RMS vendor; the next pull retries")

    @staticmethod
    def _error(resp: requests.Response, method: str, path: str) -> Exception:
        code: str | None = None
        message = resp.reason or ""
        try:
            err = json.loads(resp.content).get("error", {})
            code = str(err.get("code")) if err.get("code") is not None else None
            message = str(err.get("message") or message)
        except (ValueError, AttributeError):
            pass
        message = redact_text(message)
        status = resp.status_code
        kw: dict[str, Any] = {"platform": PLATFORM, "platform_code": code or str(status),
                              "platform_message": message}
        if status == 401:
            return NeedsPersonError("The RMS API key was refused",
                                    action="enter a valid RMS API key under Connections → Returns system → "
                                           "Edit… or with `returns-ledger rms connect` (the RMS administrator "
                                           "can issue one)", **kw)
        if status == 429 or status >= 500:
            after = resp.headers.get("Retry-After")
            return TransientError(f"The RMS is unavailable right now (HTTP {status} on {method} {path})",
                                  retry_after_s=parse_retry_after(after),
                                  action="nothing to do: the next pull retries", **kw)
        if status == 409:
            return FatalError(f"The RMS refused a repeated write-back: {message}",
                              action="report this: an idempotency key was reused for a different update", **kw)
        return NeedsPersonError(f"The RMS refused {method} {path}: {message}",
                                action="check the RMS settings and the request; nothing was changed", **kw)
