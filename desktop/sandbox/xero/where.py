"""The ``where`` / ``order`` mini-language of Xero GET endpoints (a practical subset).

Supported: ``Field==value``, ``!=``, ``>``, ``>=``, ``<``, ``<=``; ``&&``/``AND``, ``||``/``OR``,
parentheses; dotted fields (``Contact.ContactID``); values ``"text"``, numbers, ``true``/``false``,
``null``, ``Guid("…")``, ``DateTime(y,m,d[,h,m,s])``; ``Field.Contains("x")``, ``.StartsWith``,
``.EndsWith``. Field names match case-insensitively, as Xero's do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

Doc = dict[str, Any]
Predicate = Callable[[Doc], bool]

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|>=|<=|>|<|&&|\|\||\(|\)|,|\.)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
)""",
    re.VERBOSE,
)


class QueryError(ValueError):
    """A ``where`` or ``order`` clause Xero would refuse (QueryParseException)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"Operator '{text[pos : pos + 10]}' not supported")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def lookup(doc: Doc, path: str) -> Any:
    """Value at a dotted path, case-insensitive keys; None when absent."""
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        key = next((k for k in value if k.lower() == part.lower()), None)
        if key is None:
            return None
        value = value[key]
    return value


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    if isinstance(value, str):
        return value.lower()
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    a, b = _norm(left), _norm(right)
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if a is None or b is None:
        return False
    try:
        return bool({">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op])
    except TypeError:
        return False


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1].upper() != value.upper()):
            raise QueryError(f"Expected {value or 'more input'} in where clause")
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.expr()
        if self.peek() is not None:
            raise QueryError(f"Unexpected '{self.peek()[1]}' in where clause")  # type: ignore[index]
        return pred

    def expr(self) -> Predicate:
        left = self.conj()
        while (tok := self.peek()) and tok[1].upper() in ("||", "OR"):
            self.take()
            right = self.conj()
            left = (lambda a, b: lambda d: a(d) or b(d))(left, right)
        return left

    def conj(self) -> Predicate:
        left = self.atom()
        while (tok := self.peek()) and tok[1].upper() in ("&&", "AND"):
            self.take()
            right = self.atom()
            left = (lambda a, b: lambda d: a(d) and b(d))(left, right)
        return left

    def atom(self) -> Predicate:
        if self.peek() == ("op", "("):
            self.take("(")
            inner = self.expr()
            self.take(")")
            return inner
        kind, name = self.take()
        if kind != "name":
            raise QueryError(f"Expected a field name, got '{name}'")
        parts = [name]
        while self.peek() == ("op", "."):
            self.take(".")
            parts.append(self.take()[1])
        method = parts[-1].lower() if len(parts) > 1 and self.peek() == ("op", "(") else None
        if method in ("contains", "startswith", "endswith"):
            field = ".".join(parts[:-1])
            self.take("(")
            arg = str(self.value()).lower()
            self.take(")")
            fn = {"contains": str.__contains__, "startswith": str.startswith, "endswith": str.endswith}[method]
            return lambda d: isinstance(v := lookup(d, field), str) and bool(fn(v.lower(), arg))
        field = ".".join(parts)
        kind, op = self.take()
        if op not in ("==", "!=", ">", ">=", "<", "<="):
            raise QueryError(f"Operator '{op}' not supported")
        right = self.value()
        return lambda d: _compare(lookup(d, field), op, right)

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace('\\"', '"')
        if kind == "num":
            return Decimal(text)
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        if low in ("guid", "datetime"):
            self.take("(")
            args = [self.value()]
            while self.peek() == ("op", ","):
                self.take(",")
                args.append(self.value())
            self.take(")")
            if low == "guid":
                return str(args[0])
            try:
                nums = [int(a) for a in args] + [0, 0, 0]
                return datetime(nums[0], nums[1], nums[2], nums[3], nums[4], nums[5], tzinfo=UTC)
            except (TypeError, ValueError, IndexError) as exc:
                raise QueryError("DateTime() takes year, month, day[, hour, minute, second]") from exc
        raise QueryError(f"Unknown value '{text}' in where clause")


def compile_where(text: str | None) -> Predicate:
    if not text or not text.strip():
        return lambda d: True
    return _Parser(text).parse()


def sort_docs(docs: list[Doc], order: str | None) -> list[Doc]:
    """Apply ``order`` (``Field [ASC|DESC]``, comma-separated); stable, None sorts first."""
    if not order or not order.strip():
        return docs
    keys: list[tuple[str, bool]] = []
    for part in order.split(","):
        bits = part.split()
        if not bits or len(bits) > 2 or (len(bits) == 2 and bits[1].upper() not in ("ASC", "DESC")):
            raise QueryError(f"Order by clause '{order}' is not valid")
        keys.append((bits[0], len(bits) == 2 and bits[1].upper() == "DESC"))
    out = list(docs)
    for field, desc in reversed(keys):
        try:
            out.sort(key=_sort_key(field), reverse=desc)
        except TypeError as exc:
            raise QueryError(f"Order by clause '{order}' mixes values that cannot be compared") from exc
    return out


def _sort_key(field: str) -> Callable[[Doc], tuple[bool, Any]]:
    """Missing values sort first; dates, numbers and strings compare within their kind."""

    def key(doc: Doc) -> tuple[bool, Any]:
        value = lookup(doc, field)
        return (value is not None, _norm(value) if value is not None else 0)

    return key
