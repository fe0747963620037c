"""``/v3/company/{realmId}/…``: bearer check, throttles, requestid replay and the resource routes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from desktop.sandbox.base import ConcurrencyLimit, SandboxClock, SlidingWindowLimit
from desktop.sandbox.qbo import batch_cdc, query
from desktop.sandbox.qbo.oauth import OAuthServer
from desktop.sandbox.qbo.ops import URL_NAMES, Operations, not_found, unsupported
from desktop.sandbox.qbo.store import Company
from desktop.sandbox.qbo.util import QboFault, RawJson, json_response, loads, qbo_datetime, qbo_time

MIN_MINOR_VERSION = 75


def throttled() -> QboFault:
    return QboFault(
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached. Try again later",
        status=429,
        fault_type="SERVICE",
    )


class ApiHost(Protocol):
    """What the router reads from its emulator, named here so the router never imports the emulator.

    The emulator builds the router; a type the router imported back would make the two modules a
    cycle (the Xero emulator has the same shape: its ``Api`` knows nothing of ``XeroEmulator``).
    """

    @property
    def clock(self) -> SandboxClock: ...
    @property
    def oauth(self) -> OAuthServer: ...
    @property
    def ops(self) -> Operations: ...
    @property
    def companies(self) -> dict[str, Company]: ...
    @property
    def per_minute(self) -> SlidingWindowLimit: ...
    @property
    def concurrent(self) -> ConcurrencyLimit: ...

    def fault_response(self, fault: QboFault, now: datetime, c: Company | None = None) -> Response: ...
    def auth_failure(self, detail: str) -> Response: ...
    def replay_get(self, key: tuple[str, str]) -> Response | None: ...
    def replay_put(self, key: tuple[str, str], resp: Response) -> None: ...


class ApiRouter:
    """One instance per emulator; stateless apart from what it reads from the emulator."""

    def __init__(self, emu: ApiHost) -> None:
        self.emu = emu

    def handle(self, request: Request, realm: str, rest: str) -> Response:
        emu = self.emu
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token:
            return emu.auth_failure("Authorization header missing or not a Bearer token")
        grant, reason = emu.oauth.check_access(token, emu.clock.now())
        if grant is None:
            return emu.auth_failure(reason)
        c = emu.companies.get(realm)
        if grant.realm_id != realm or c is None:
            fault = QboFault(
                "3100",
                "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                "The token does not grant access to this company",
                status=403,
                fault_type="SERVICE",
            )
            return emu.fault_response(fault, emu.clock.now(), c)
        is_batch = rest.rstrip("/") == "batch" and request.method == "POST"
        request_id = request.args.get("requestid")
        if request_id is not None:
            limit = 36 if is_batch else 50
            if not request_id or len(request_id) > limit:
                return emu.fault_response(
                    QboFault(
                        "2010",
                        "Request has invalid or unsupported property",
                        f"requestid must be 1 to {limit} characters",
                        "requestid",
                    ),
                    emu.clock.now(),
                    c,
                )
            cached = emu.replay_get((realm, request_id))
            if cached is not None:
                return cached
        if not is_batch:
            allowed, _, _retry = emu.per_minute.try_acquire(realm)
            if not allowed:
                return emu.fault_response(throttled(), emu.clock.now(), c)
        if not emu.concurrent.enter(realm):
            return emu.fault_response(throttled(), emu.clock.now(), c)
        try:
            try:
                body = self._route(request, c, rest.rstrip("/"), is_batch)
                resp = json_response({**body, "time": qbo_time(emu.clock.now(), c.tz)})
            except QboFault as fault:
                resp = emu.fault_response(fault, emu.clock.now(), c)
        finally:
            emu.concurrent.leave(realm)
        resp.headers["intuit_tid"] = request_id or "sandbox"
        if request_id is not None and resp.status_code not in (429, 500, 503):
            emu.replay_put((realm, request_id), resp)
        return resp

    def _route(self, request: Request, c: Company, rest: str, is_batch: bool) -> dict[str, Any]:
        parts = rest.split("/")
        head = parts[0].lower()
        method = request.method
        ops = self.emu.ops
        if is_batch:

            def admit() -> QboFault | None:
                allowed, _, _ = self.emu.per_minute.try_acquire(c.realm_id)
                return None if allowed else throttled()

            return batch_cdc.run_batch(c, ops, _json(request), admit)
        if head == "query":
            text = request.get_data(as_text=True) if method == "POST" else request.args.get("query", "")
            if not text.strip():
                raise query.parser_error("Empty query")
            return {"QueryResponse": query.execute(c, query.parse(text))}
        if head == "cdc" and method == "GET":
            return batch_cdc.run_cdc(
                c,
                request.args.get("entities", ""),
                request.args.get("changedSince", ""),
                self.emu.clock.now(),
            )
        if head == "exchangerate" and method == "GET":
            return {"ExchangeRate": self._exchange_rate(c, request)}
        if head == "companyinfo" and method == "GET":
            return {"CompanyInfo": RawJson(c.singleton("CompanyInfo").text)}
        if head == "preferences" and method == "GET":
            return {"Preferences": RawJson(c.singleton("Preferences").text)}
        entity = URL_NAMES.get(head)
        if entity is None:
            raise QboFault("500", "Unsupported Operation", f"Operation {method} {rest} is not supported.")
        if method == "GET" and len(parts) == 2:
            return {entity: RawJson(ops.read(c, entity, parts[1]).text)}
        if method == "POST" and len(parts) == 1:
            operation = request.args.get("operation", "").lower()
            payload = _json(request)
            if operation == "delete":
                tomb = ops.delete(c, entity, payload)
                return {entity: batch_cdc.deleted_stub(tomb)}
            if operation == "void":
                return {entity: RawJson(ops.void(c, entity, payload).text)}
            if operation not in ("", "update", "create"):
                raise unsupported(f"{operation} for {entity}")
            return {entity: RawJson(ops.save(c, entity, payload).text)}
        if method == "GET" and len(parts) == 1:
            raise not_found(entity, "")
        raise QboFault("500", "Unsupported Operation", f"Operation {method} {rest} is not supported.")

    def _exchange_rate(self, c: Company, request: Request) -> dict[str, Any]:
        source = request.args.get("sourcecurrencycode", "").upper()
        if not source:
            raise QboFault(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter sourcecurrencycode is missing in the request",
                "sourcecurrencycode",
            )
        text = request.args.get("asofdate")
        now = self.emu.clock.now()
        try:
            day = date.fromisoformat(text) if text else now.astimezone(c.tz).date()
        except ValueError:
            raise QboFault(
                "2010", "Request has invalid or unsupported property", f"Invalid asofdate {text}", "asofdate"
            ) from None
        rate = c.rate(source, day)
        if rate is None:
            raise QboFault(
                "610",
                "Object Not Found",
                f"No exchange rate for {source} on {day.isoformat()}",
                "sourcecurrencycode",
            )
        return {
            "SyncToken": "0",
            "domain": "QBO",
            "sparse": False,
            "SourceCurrencyCode": source,
            "TargetCurrencyCode": c.home_currency,
            "Rate": Decimal(rate),
            "AsOfDate": day.isoformat(),
            "MetaData": {"LastUpdatedTime": qbo_datetime(now, c.tz)},
        }


def _json(request: Request) -> Any:
    raw = request.get_data()
    try:
        return loads(raw) if raw else {}
    except ValueError:
        raise QboFault(
            "2010", "Request has invalid or unsupported property", "Request body is not valid JSON", ""
        ) from None
