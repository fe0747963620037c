"""The QBO query language subset: parse once, filter with index help, page, answer from cached JSON.

``SELECT * | count(*) FROM Entity [WHERE a op v [AND ...]] [ORDERBY f [ASC|DESC], ...]
[STARTPOSITION n] [MAXRESULTS n]`` with ``=, <, >, <=, >=, IN (...), LIKE '%x%'``. Keywords are
case-insensitive, entity names are case-sensitive, there is no OR. Bad syntax → 4000 QueryParserError.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from desktop.sandbox.qbo.store import ENTITIES, Company, Record
from desktop.sandbox.qbo.util import QboFault, RawJson, parse_qbo_datetime

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100
_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op><=|>=|!=|=|<|>|\(|\)|,|\*)|"""
    r"""(?P<word>[A-Za-z_][A-Za-z0-9_.]*(?:\(\*\))?)|(?P<num>-?\d+(?:\.\d+)?))"""
)


def parser_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}", "")


@dataclass
class Condition:
    path: str
    op: str  # "=", "<", ">", "<=", ">=", "IN", "LIKE"
    values: list[Any]


@dataclass
class Query:
    entity: str
    count: bool = False
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (path, descending)
    start: int = 1
    max_results: int = DEFAULT_RESULTS


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip().rstrip(";")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise parser_error(f'Encountered "{text[pos : pos + 10]}" at column {pos + 1}.')
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def parse(text: str) -> Query:
    toks = _tokens(text)
    i = 0

    def peek(offset: int = 0) -> tuple[str, str]:
        return toks[i + offset] if i + offset < len(toks) else ("eof", "")

    def take() -> tuple[str, str]:
        nonlocal i
        tok = peek()
        i += 1
        return tok

    def keyword(word: str) -> bool:
        kind, value = peek()
        if kind == "word" and value.upper() == word:
            take()
            return True
        return False

    if not keyword("SELECT"):
        raise parser_error('Encountered "' + peek()[1] + '"; was expecting "select".')
    kind, value = take()
    counting = kind == "word" and value.lower() == "count(*)"
    if not counting and value != "*":
        raise parser_error(f'Encountered "{value}"; only * and count(*) may be selected.')
    if not keyword("FROM"):
        raise parser_error('Encountered "' + peek()[1] + '"; was expecting "from".')
    kind, entity = take()
    if kind != "word":
        raise parser_error(f'Encountered "{entity}"; was expecting an entity name.')
    if entity not in ENTITIES:
        raise QboFault(
            "4001", "Invalid query", f"QueryValidationError: Entity {entity} is not supported.", ""
        )
    q = Query(entity, counting)
    if keyword("WHERE"):
        while True:
            q.where.append(_condition(take, peek))
            if not keyword("AND"):
                break
    if keyword("ORDERBY") or (keyword("ORDER") and keyword("BY")):
        while True:
            kind, path = take()
            if kind != "word":
                raise parser_error(f'Encountered "{path}"; was expecting a property name.')
            desc = keyword("DESC")
            if not desc:
                keyword("ASC")
            q.order.append((path, desc))
            if peek() == ("op", ","):
                take()
                continue
            break
    for word in ("STARTPOSITION", "MAXRESULTS"):
        if keyword(word):
            kind, num = take()
            if kind != "num" or "." in num or int(num) < (1 if word == "STARTPOSITION" else 0):
                raise parser_error(f'Encountered "{num}"; {word} needs a positive integer.')
            if word == "STARTPOSITION":
                q.start = int(num)
            else:
                q.max_results = min(int(num), MAX_RESULTS)
    if peek()[0] != "eof":
        raise parser_error(f'Encountered "{peek()[1]}" after the end of the statement.')
    return q


def _condition(take: Callable[[], tuple[str, str]], peek: Callable[[], tuple[str, str]]) -> Condition:
    kind, path = take()
    if kind != "word" or path.upper() in ("AND", "OR"):
        raise parser_error(f'Encountered "{path}"; was expecting a property name.')
    kind, op = take()
    if kind == "word" and op.upper() in ("IN", "LIKE"):
        op = op.upper()
    elif kind != "op" or op not in ("=", "<", ">", "<=", ">="):
        raise parser_error(f'Encountered "{op}" after {path}; was expecting an operator.')
    if op == "IN":
        if take() != ("op", "("):
            raise parser_error("IN needs a parenthesised list of values.")
        values = [_literal(take())]
        while peek() == ("op", ","):
            take()
            values.append(_literal(take()))
        if take() != ("op", ")"):
            raise parser_error("Unterminated IN list.")
        return Condition(path, op, values)
    value = _literal(take())
    if op == "LIKE" and not isinstance(value, str):
        raise parser_error("LIKE needs a quoted pattern.")
    return Condition(path, op, [value])


def _literal(tok: tuple[str, str]) -> Any:
    kind, value = tok
    if kind == "str":
        return value[1:-1].replace("\\'", "'")
    if kind == "num":
        return Decimal(value)
    if kind == "word" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise parser_error(f'Encountered "{value}"; was expecting a value.')


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

    def get(r: Record) -> Any:
        v: Any = r.obj
        for p in parts:
            if not isinstance(v, dict):
                return None
            v = v.get(p)
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

    def pred(r: Record) -> bool:
        v = get(r)
        if v is None:
            return False
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
        if cond.op in ("=", "IN") and cond.path in ("Id", "DocNumber"):
            out: dict[str, Record] = {}
            for lit in cond.values:
                key = str(lit)
                if cond.path == "Id":
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
