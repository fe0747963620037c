"""Xero response shapes: the OK envelope, ValidationException, problem details, list paging."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.http import parse_date as parse_http_date
from werkzeug.wrappers import Request

from desktop.sandbox.xero.msjson import ms_datetime, parse_datetime
from desktop.sandbox.xero.store import Doc
from desktop.sandbox.xero.where import QueryError, compile_where, sort_docs

PROVIDER_NAME = "Returns Ledger Sync"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


class ApiError(Exception):
    """Stop handling and answer with ``status`` and a ready body (already in Xero's shape)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """RFC 7807-style body Xero uses for 401/403/404/429/5xx."""
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }


def not_found() -> ApiError:
    return ApiError(404, problem(404, "Not Found", "The resource you're looking for cannot be found"))


def validation_error(elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }


def envelope(
    now: datetime,
    key: str,
    items: list[Any],
    pagination: dict[str, int] | None = None,
    warnings: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": PROVIDER_NAME,
        "DateTimeUTC": ms_datetime(now, offset=False),
    }
    if pagination is not None:
        body["pagination"] = pagination
    if warnings:
        body["Warnings"] = warnings
    # Items stay live store docs: ``msjson.dumps`` renders them while encoding, under the store
    # lock, so no rendered copy of a 1,000-row page is built only to be thrown away.
    body[key] = list(items)
    return body


def _since(request: Request) -> datetime | None:
    raw = request.headers.get("If-Modified-Since")
    if not raw:
        return None
    parsed = parse_http_date(raw)
    if parsed is not None:
        return parsed.astimezone(UTC)
    try:
        return parse_datetime(raw)
    except ValueError as exc:
        raise ApiError(
            400,
            {
                "ErrorNumber": 16,
                "Type": "QueryParseException",
                "Message": f"If-Modified-Since header '{raw}' is not a valid date",
            },
        ) from exc


def list_view(
    request: Request, docs: list[Doc], paged: bool, extra: Callable[[Doc], bool] | None = None
) -> tuple[list[Doc], dict[str, int] | None]:
    """Apply If-Modified-Since, ``where``, ``order`` and paging the way Xero's GET lists do."""
    since = _since(request)
    try:
        where = request.args.get("where")
        pred = compile_where(where) if where and where.strip() else None
        out = docs
        if since is not None:
            # Whole seconds, as Xero compares. With ``cut`` on a whole second, ``updated >= cut``
            # equals ``updated.replace(microsecond=0) >= cut`` without a new datetime per doc.
            cut = since.replace(microsecond=0)
            out = [d for d in out if "UpdatedDateUTC" in d and d["UpdatedDateUTC"] >= cut]
        if extra is not None:
            out = [d for d in out if extra(d)]
        if pred is not None:
            out = [d for d in out if pred(d)]
        out = sort_docs(out, request.args.get("order"))
    except QueryError as exc:
        raise ApiError(400, {"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}) from exc
    if not paged or "page" not in request.args:
        return out, None
    try:
        page = max(1, int(request.args["page"]))
        size = min(MAX_PAGE_SIZE, max(1, int(request.args.get("pageSize", DEFAULT_PAGE_SIZE))))
    except ValueError as exc:
        raise ApiError(
            400,
            {
                "ErrorNumber": 16,
                "Type": "QueryParseException",
                "Message": "page and pageSize must be whole numbers",
            },
        ) from exc
    count = len(out)
    pagination = {"page": page, "pageSize": size, "pageCount": (count + size - 1) // size, "itemCount": count}
    return out[(page - 1) * size : page * size], pagination
