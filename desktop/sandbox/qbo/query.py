"""The QBO query language, evaluated: filter with index help, order, page, answer from cached JSON.

The grammar (what parses, and the faults for what does not) lives in :mod:`query_grammar`; this
module runs a parsed :class:`Query` against one company. Property paths match case-insensitively
(``id``, ``metadata.lastupdatedtime``, ``CustomerRef``); a reference compares by its ``value``;
``' '`` matches an absent property (QBO's null).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from desktop.sandbox.qbo.query_grammar import (
    MAX_RESULTS,
    NULL,
    Condition,
    Query,
    parse,
    parser_error,
    validation_error,
)
from desktop.sandbox.qbo.store import Company, Record
from desktop.sandbox.qbo.util import RawJson, parse_qbo_datetime

__all__ = ["MAX_RESULTS", "Query", "execute", "parse", "parser_error", "validation_error"]


# ---- evaluation -----------------------------------------------------------------------------------
def _getter(path: str) -> Callable[[Record], Any]:
    low = path.lower()
    if low == "metadata.lastupdatedtime":
        return lambda r: r.updated
    if low == "metadata.createtime":
        return lambda r: r.created
    if low == "id":
        return lambda r: r.num if r.id.isdigit() else r.id
    parts = path.split(".")
    # QBO matches property names case-insensitively; every record spells a property the same
    # way, so the spelling found once (``metadata`` → ``MetaData``) serves the rest of the scan.
    spelled: dict[int, str] = {}

    def get(r: Record) -> Any:
        v: Any = r.obj
        for depth, name in enumerate(parts):
            if not isinstance(v, dict):
                return None
            key = spelled.get(depth)
            if key is None:
                low = name.lower()
                key = name if name in v else next((k for k in v if k.lower() == low), None)
                if key is None:
                    return None
                spelled[depth] = key
            v = v.get(key)
        if isinstance(v, dict) and "value" in v:
            v = v["value"]
        return v

    return get


def _coerce(sample: Any, literal: Any, path: str) -> Any:
    """Turn a query literal into the stored value's type (dates, money, numeric ids)."""
    low = path.lower()
    if low.startswith("metadata."):
        try:
            return parse_qbo_datetime(str(literal))
        except ValueError:
            raise parser_error(f"Invalid date/time value '{literal}' for {path}.") from None
    if low == "id":
        text = str(literal)
        return int(text) if text.isdigit() else text
    if isinstance(sample, Decimal) and not isinstance(literal, Decimal):
        try:
            return Decimal(str(literal))
        except InvalidOperation:
            return literal
    if isinstance(sample, str) and isinstance(literal, Decimal):
        return str(literal)
    if isinstance(sample, bool) and isinstance(literal, str) and literal.lower() in ("true", "false"):
        return literal.lower() == "true"
    return literal


def _predicate(cond: Condition) -> Callable[[Record], bool]:
    get = _getter(cond.path)
    cache: dict[type, list[Any]] = {}

    def values_for(v: Any) -> list[Any]:
        t = type(v)
        if t not in cache:
            cache[t] = [_coerce(v, lit, cond.path) for lit in cond.values]
        return cache[t]

    if cond.op == "LIKE":
        pattern = re.compile(
            "^" + ".*".join(re.escape(p) for p in str(cond.values[0]).split("%")) + "$",
            re.IGNORECASE | re.DOTALL,
        )
        return lambda r: isinstance(v := get(r), str) and pattern.match(v) is not None
    compare: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
    }

    null_matches = cond.op in ("=", "IN") and NULL in cond.values

    def pred(r: Record) -> bool:
        v = get(r)
        if v is None:
            return null_matches
        lits = values_for(v)
        try:
            if cond.op == "IN":
                return v in lits
            return compare[cond.op](v, lits[0])
        except TypeError:
            return False

    return pred


def _candidates(c: Company, q: Query) -> list[Record]:
    for cond in q.where:
        key_path = cond.path.lower()
        if cond.op in ("=", "IN") and key_path in ("id", "docnumber") and NULL not in cond.values:
            out: dict[str, Record] = {}
            for lit in cond.values:
                key = str(lit)
                if key_path == "id":
                    rec = c.get(q.entity, key)
                    if rec is not None:
                        out[rec.id] = rec
                else:
                    for rec in c.with_docnumber(q.entity, key):
                        out[rec.id] = rec
            return sorted(out.values(), key=lambda r: (r.num, r.id))
    return list(c.all(q.entity))


def execute(c: Company, q: Query) -> dict[str, Any]:
    """The ``QueryResponse`` object (entity texts spliced in as cached raw JSON)."""
    with c.lock:
        rows = _candidates(c, q)
        for cond in q.where:
            pred = _predicate(cond)
            rows = [r for r in rows if pred(r)]
        if q.count:
            return {"totalCount": len(rows)}
        for path, desc in reversed(q.order):
            get = _getter(path)
            rows.sort(key=lambda r, g=get: _sort_key(g(r)), reverse=desc)  # type: ignore[misc]
        page = rows[q.start - 1 : q.start - 1 + q.max_results]
        if not page:
            return {}
        return {q.entity: [RawJson(r.text) for r in page], "startPosition": q.start, "maxResults": len(page)}


def _sort_key(v: Any) -> tuple[int, Any]:
    if v is None:
        return (1, 0)
    if isinstance(v, datetime):
        return (0, v.timestamp())
    if isinstance(v, bool):
        return (0, int(v))
    if isinstance(v, str):
        return (0, v.lower())
    return (0, v)
