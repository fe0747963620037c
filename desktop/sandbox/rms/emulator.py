"""The RMS emulator: the returns API of ``docs/rms-api.yaml``, served under ``/rms``.

Seeded with a few hundred returns per reset (the last 30 days on the RMS's sandbox clock), with
revisions and a configurable share of bad records, so the app's ingest, pre-flight and write-back
paths meet what a real returns system sends. Tests drive it further through the control API
(``rms/generate``, ``rms/revise``, ``rms/writebacks``).
"""

from __future__ import annotations

import hmac
import json
import math
import random
import re
import secrets
import threading
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from werkzeug.wrappers import Request, Response

from desktop.sandbox.base import Emulator, SandboxContext, SlidingWindowLimit
from desktop.sandbox.demo_orgs import active_orgs, org_by_code
from desktop.sandbox.rms.catalog import TAX_JURISDICTIONS
from desktop.sandbox.rms.generator import ReturnFactory, rfc3339, timeline
from desktop.sandbox.rms.store import CursorError, ReturnStore

DEFAULT_BAD_RATIO = 0.03
SEED_COUNTS = {"ACME-US": 110, "MAPLE-CA": 70, "KIWI-NZ": 60, "TEA-UK": 80}
FIRM_SEED_COUNT = 10  # a firm's client company (``demo_orgs.set_firm``)
MAX_PAGE = 500
WRITEBACK_STATUSES = ("posted", "edited", "voided", "deleted", "refund_paid", "failed")
_WRITEBACK_FIELDS = {"revision", "status", "platform", "company_id", "documents", "message", "occurred_at"}
_DOC_FIELDS = {"type", "id", "number", "total", "currency"}
_ERROR_CODES = {400: "invalid_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
                409: "conflict", 422: "validation_error", 429: "rate_limited", 500: "internal_error",
                502: "bad_gateway", 503: "service_unavailable", 504: "gateway_timeout"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after
        self.code = code or _ERROR_CODES.get(status, "error")


#: How the fault hook spoils a feed page (all answered with HTTP 200, as a broken server or proxy does).
UNREADABLE_MODES = ("html", "truncated", "not_json", "wrong_envelope")


def unreadable_page(mode: str, body: str) -> Response:
    """The page ``body`` as a broken RMS might send it instead (see :data:`UNREADABLE_MODES`)."""
    if mode == "html":
        return Response("<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway"
                        "</h1><p>The upstream server returned an invalid response.</p></body></html>",
                        status=200, mimetype="text/html")
    if mode == "truncated":
        data = body.encode()
        return Response(data[:len(data) // 2], status=200, mimetype="application/json")
    if mode == "not_json":
        return Response("Internal error: could not serialise the page", status=200, mimetype="text/plain")
    return _json({"data": json.loads(body), "status": "ok"})  # JSON, but not the documented envelope


def _json_text(text: str) -> Response:
    return Response(text, status=200, mimetype="application/json")


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    mimetype="application/json")


class RmsEmulator(Emulator):
    """A returns management system with API-key auth and a cursor-based change feed."""

    name = "rms"

    def __init__(self, ctx: SandboxContext) -> None:
        super().__init__(ctx)
        self.api_key = "rms_sk_" + secrets.token_urlsafe(24)
        self.store = ReturnStore()
        self._lock = threading.Lock()
        self._limit: SlidingWindowLimit | None = None
        self._factories: dict[str, ReturnFactory] = {}
        self._numbers: dict[str, int] = {}
        self._seed = 1
        self._generations = 0
        #: Fault hook: (id, revision) → [mode, pages left or None]; a feed page holding it is unreadable.
        self.unreadable: dict[tuple[str, int], list[Any]] = {}

    # --- lifecycle -------------------------------------------------------------------------
    def reset(self, seed: int, *, bad_ratio: float = DEFAULT_BAD_RATIO, scale: float = 1.0) -> None:
        """Regenerate the demo returns from ``seed``; ``scale`` multiplies the per-org counts."""
        self.ctx.tokens.record("rms", "api_key", self.api_key, self.clock.now())
        now = self.clock.now()
        anchor = now.replace(hour=0, minute=0, second=0, microsecond=0)  # same data all day long
        docs: list[dict[str, Any]] = []
        bad: dict[str, dict[str, Any]] = {}
        with self._lock:
            self._seed, self._generations = seed, 0
            self._factories, self._numbers = {}, {}
            for org in active_orgs():
                rng = random.Random(f"rms:{seed}:{org.code}")
                factory = self._factories[org.code] = ReturnFactory(org, rng)
                count = max(1, round(SEED_COUNTS.get(org.code, FIRM_SEED_COUNT) * scale))
                bad_idx = set(rng.sample(range(count), round(count * bad_ratio)))
                for i in range(count):
                    doc = factory.new_return(i + 1, timeline(rng, anchor))
                    docs.append(doc)
                    if i in bad_idx:
                        kind, detail = factory.spoil(doc)
                        bad[doc["id"]] = self._bad_entry(doc, kind, detail)
                        continue
                    at = datetime.fromisoformat(doc["updated_at"].replace("Z", "+00:00"))
                    while rng.random() < (0.2 if doc["revision"] == 1 else 0.3) and doc["revision"] < 4:
                        at += timedelta(milliseconds=rng.randrange(3_600_000, 72 * 3_600_000))
                        if at >= anchor:
                            break
                        doc = factory.revise(doc, at)
                        docs.append(doc)
                self._numbers[org.code] = count
            self.store.load(docs)
            self.store.bad.update(bad)
            self._limit = None
            self.unreadable.clear()

    @staticmethod
    def _bad_entry(doc: dict[str, Any], kind: str, detail: str) -> dict[str, Any]:
        return {"id": doc["id"], "revision": doc["revision"], "organization": doc["organization"],
                "defect": kind, "detail": detail}

    def describe(self) -> dict[str, Any]:
        return {"base_url": self.prefix_url, "api_key": self.api_key}

    def configure(self, rate_limits: dict[str, Any] | None) -> None:
        """``{"requests_per_minute": n}`` per API key; ``None`` removes the limit (the default)."""
        per_minute = (rate_limits or {}).get("requests_per_minute")
        if per_minute is not None and (not isinstance(per_minute, int) or per_minute < 1):
            raise ValueError("requests_per_minute must be a positive integer")
        self._limit = SlidingWindowLimit(per_minute, 60.0, self.clock) if per_minute else None

    def error_response(self, status: int, message: str) -> Response:
        headers = {"Retry-After": "1"} if status in (429, 503) else {}
        return _json({"error": {"code": _ERROR_CODES.get(status, "error"), "message": message}},
                     status, headers)

    # --- control-API helpers -------------------------------------------------------------------
    def generate(self, org_code: str, count: int, bad_ratio: float, seed: int,
                 exchanges: float = 0.0) -> tuple[list[str], list[str]]:
        """Create ``count`` new returns now; returns (all new ids, the bad ones among them).

        ``exchanges`` is the share made exchanges that state their replacement goods (even, cheaper
        or dearer), drawn from a stream of its own so the other returns stay as they were."""
        org = org_by_code(org_code)
        with self._lock:
            self._generations += 1
            rng = random.Random(f"rms-gen:{self._seed}:{seed}:{org.code}:{self._generations}")
            swaps = random.Random(f"rms-exchange:{self._seed}:{seed}:{org.code}:{self._generations}")
            factory = ReturnFactory(org, rng)
            bad_idx = set(rng.sample(range(count), round(count * bad_ratio)))
            ids, bad_ids = [], []
            for i in range(count):
                self._numbers[org.code] = number = self._numbers.get(org.code, 0) + 1
                doc = factory.new_return(number, self.store.next_timestamp(self.clock.now()))
                doc["created_at"] = doc["updated_at"]
                if exchanges and swaps.random() < exchanges:
                    factory.make_exchange(doc, swaps)
                if i in bad_idx:
                    kind, detail = factory.spoil(doc)
                    self.store.bad[doc["id"]] = self._bad_entry(doc, kind, detail)
                    bad_ids.append(doc["id"])
                self.store.append(doc)
                ids.append(doc["id"])
            # Later revisions of these returns come from the org's main factory: let it know
            # which jurisdictions tax their fees.
            self._factories[org.code].adopt(factory)
        return ids, bad_ids

    def revise(self, rid: str, status: str | None = None) -> dict[str, Any]:
        """Publish the next revision of a clean return now (it appears after every cursor)."""
        with self._lock:
            doc = self.store.latest(rid)
            if doc is None:
                raise KeyError(rid)
            if rid in self.store.bad:
                raise ValueError("bad records cannot be revised")
            factory = self._factories[doc["organization"]]
            new = factory.revise(doc, self.store.next_timestamp(self.clock.now()))
            if status is not None:
                new["status"] = status
            self.store.append(new)
            return new

    def bad_records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(v) for v in self.store.bad.values()]

    # --- HTTP --------------------------------------------------------------------------------
    def handle(self, request: Request, subpath: str) -> Response:
        try:
            self._authenticate(request)
            return self._route(request, subpath)
        except ApiError as err:
            headers = {"Allow": "GET, POST"} if err.status == 405 else {}
            if err.status == 429:
                headers["Retry-After"] = str(err.retry_after)
            return _json({"error": {"code": err.code, "message": err.message}}, err.status, headers)

    def _authenticate(self, request: Request) -> None:
        given = request.headers.get("X-API-Key", "")
        if not given or not hmac.compare_digest(given.encode(), self.api_key.encode()):
            raise ApiError(401, "missing or invalid X-API-Key header")
        limit = self._limit
        if limit is not None:
            allowed, _remaining, retry = limit.try_acquire(self.api_key)
            if not allowed:
                wait = max(1, math.ceil(retry))
                raise ApiError(429, f"rate limit exceeded; retry in {wait} s", retry_after=wait)

    def _route(self, request: Request, subpath: str) -> Response:
        method = request.method
        if subpath == "/v1/organizations":
            self._expect(method, "GET")
            return _json({"organizations": [self._org_json(o.code) for o in active_orgs()]})
        if subpath == "/v1/returns":
            self._expect(method, "GET")
            return self._list(request)
        m = re.fullmatch(r"/v1/returns/([^/]+)(/accounting-status)?", subpath)
        if m is None:
            raise ApiError(404, f"no such endpoint: {subpath}")
        if m.group(2):
            self._expect(method, "POST")
            return self._writeback(request, m.group(1))
        self._expect(method, "GET")
        doc = self.store.latest(m.group(1))
        if doc is None:
            raise ApiError(404, f"return {m.group(1)} not found")
        return _json(doc)

    @staticmethod
    def _expect(method: str, allowed: str) -> None:
        if method != allowed:
            raise ApiError(405, f"method {method} not allowed here")

    @staticmethod
    def _org_json(code: str) -> dict[str, Any]:
        org = org_by_code(code)
        juris = TAX_JURISDICTIONS
        return {"code": org.code, "name": org.name, "country": org.country,
                "home_currency": org.home_currency,
                "currencies": [org.home_currency, *org.other_currencies], "timezone": org.timezone,
                "tax_jurisdictions": [{"code": j, "name": juris[j].name, "rate": str(juris[j].rate)}
                                      for j in org.tax_jurisdictions]}

    def _list(self, request: Request) -> Response:
        raw_skip = request.args.get("skip", "0")
        if not raw_skip.isdigit() or not 0 <= int(raw_skip) <= MAX_PAGE:
            raise ApiError(400, f"skip must be an integer from 0 to {MAX_PAGE}")
        skip = int(raw_skip)
        raw_limit = request.args.get("limit", "100")
        if not raw_limit.isdigit() or not (0 if skip else 1) <= int(raw_limit) <= MAX_PAGE:
            raise ApiError(400, f"limit must be an integer from 1 to {MAX_PAGE} (0 allowed with skip)")
        org = request.args.get("organization") or None
        if org is not None and org not in {o.code for o in active_orgs()}:
            raise ApiError(400, f"unknown organization {org!r}")
        try:
            docs, next_cursor, has_more = self.store.page(request.args.get("cursor", ""), int(raw_limit), org, skip)
        except CursorError as exc:
            raise ApiError(400, str(exc), "invalid_cursor") from exc
        body = json.dumps({"returns": docs, "next_cursor": next_cursor, "has_more": has_more}, ensure_ascii=False)
        spoiled = self._spoiled(docs)
        return _json_text(body) if spoiled is None else unreadable_page(spoiled, body)

    # --- the fault hook: a page the RMS cannot send ---------------------------------------------
    def make_unreadable(self, rid: str, revision: int, mode: str, times: int | None) -> None:
        """Every feed page holding revision ``revision`` of ``rid`` is answered 200 with an unreadable
        body (``mode``, see :data:`UNREADABLE_MODES`) — the next ``times`` such pages, or all of them;
        ``times`` 0 heals it."""
        if times == 0:
            with self._lock:
                self.unreadable.pop((rid, revision), None)
            return
        if mode not in UNREADABLE_MODES:
            raise ValueError(f"mode must be one of {list(UNREADABLE_MODES)}")
        if self.store.revision(rid, revision) is None:
            raise KeyError(rid)
        with self._lock:
            self.unreadable[(rid, revision)] = [mode, times]

    def _spoiled(self, docs: list[dict[str, Any]]) -> str | None:
        with self._lock:
            for doc in docs:
                fault = self.unreadable.get((doc["id"], doc["revision"]))
                if fault is None:
                    continue
                mode, left = fault
                if left is not None:
                    if left <= 0:
                        continue
                    fault[1] = left - 1
                return str(mode)
        return None

    def _writeback(self, request: Request, rid: str) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 255:
            raise ApiError(400, "an Idempotency-Key header (1-255 characters) is required")
        try:
            body = json.loads(request.get_data(as_text=True), parse_float=Decimal)
        except ValueError as exc:
            raise ApiError(400, f"body is not JSON: {exc}") from exc
        if self.store.latest(rid) is None:
            raise ApiError(404, f"return {rid} not found")
        self._validate_writeback(body, rid)
        fingerprint = rid + json.dumps(body, sort_keys=True, default=str)

        def build() -> dict[str, Any]:
            n = self.store.writeback_count() + 1
            return {"id": f"acs_{n:06d}", "return_id": rid, "revision": body["revision"],
                    "status": body["status"], "platform": body.get("platform"),
                    "company_id": body.get("company_id"),
                    "documents": json.loads(json.dumps(body.get("documents", []), default=str)),
                    "message": body.get("message"), "occurred_at": body.get("occurred_at"),
                    "received_at": rfc3339(self.clock.now()), "idempotency_key": key}

        try:
            record, replayed = self.store.record_writeback(key, fingerprint, build)
        except KeyError as exc:
            raise ApiError(409, "this Idempotency-Key was already used with a different request",
                           "idempotency_conflict") from exc
        return _json(record, 200 if replayed else 201, {"Idempotent-Replayed": "true"} if replayed else None)

    def _validate_writeback(self, body: Any, rid: str) -> None:
        if not isinstance(body, dict):
            raise ApiError(422, "body must be a JSON object")
        unknown = set(body) - _WRITEBACK_FIELDS
        if unknown:
            raise ApiError(422, f"unknown fields: {sorted(unknown)}")
        revision = body.get("revision")
        if not isinstance(revision, int) or isinstance(revision, bool):
            raise ApiError(422, "revision (integer) is required")
        if self.store.revision(rid, revision) is None:
            raise ApiError(422, f"return {rid} has no revision {revision}")
        if body.get("status") not in WRITEBACK_STATUSES:
            raise ApiError(422, f"status must be one of {list(WRITEBACK_STATUSES)}")
        if body.get("platform") not in (None, "qbo", "xero"):
            raise ApiError(422, "platform must be qbo or xero")
        for name in ("company_id", "message"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise ApiError(422, f"{name} must be a string")
        if body.get("occurred_at") is not None:
            try:
                when = datetime.fromisoformat(str(body["occurred_at"]).replace("Z", "+00:00"))
            except ValueError as exc:
                raise ApiError(422, "occurred_at must be an RFC 3339 date-time") from exc
            if when.tzinfo is None:
                raise ApiError(422, "occurred_at must carry a UTC offset")
        docs = body.get("documents", [])
        if not isinstance(docs, list):
            raise ApiError(422, "documents must be a list")
        for doc in docs:
            if not isinstance(doc, dict) or set(doc) - _DOC_FIELDS or not isinstance(doc.get("type"), str) \
                    or not isinstance(doc.get("id"), str):
                raise ApiError(422, f"each document needs string type and id, and only {sorted(_DOC_FIELDS)}")
            if "total" in doc:
                try:
                    Decimal(str(doc["total"]))
                except InvalidOperation as exc:
                    raise ApiError(422, "documents[].total must be a decimal string") from exc
