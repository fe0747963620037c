"""The ``where`` / ``order`` mini-language of Xero GET endpoints (a practical subset).

Supported: ``Field==value``, ``!=``, ``>``, ``>=``, ``<``, ``<=``; ``&&``/``AND``, ``||``/``OR``,
parentheses; dotted fields (``Contact.ContactID``); values ``"text"``, numbers, ``true``/``false``,
``null``, ``Guid("…")``, ``DateTime(y,m,d[,h,m,s])``; ``Field.Contains("x")``, ``.StartsWith``,
``.EndsWith``. Field names match case-insensitively, as Xero's do.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import lru_cache
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
    return getter(path)(doc)


def getter(path: str) -> Callable[[Doc], Any]:
    """:func:`lookup` compiled for one path, for use over many documents.

    Scanning every key of every document for a case-insensitive match dominated a 100,000-row
    query, so each level remembers the spelling it last matched and tries that exact key first;
    the documents of one collection all spell their keys the same way.
    """
    lows = [part.lower() for part in path.split(".")]
    spelled = path.split(".")

    def get_top(doc: Doc) -> Any:  # the common one-level path, without the loop
        if not isinstance(doc, dict):
            return None
        key = spelled[0]
        if key in doc:
            return doc[key]
        found = next((k for k in doc if k.lower() == lows[0]), None)
        if found is None:
            return None
        spelled[0] = found
        return doc[found]

    def get(doc: Doc) -> Any:
        value: Any = doc
        for i, low in enumerate(lows):
            if not isinstance(value, dict):
                return None
            key = spelled[i]
            if key not in value:
                found = next((k for k in value if k.lower() == low), None)
                if found is None:
                    return None
                key = spelled[i] = found
            value = value[key]
        return value

    return get_top if len(lows) == 1 else get


@lru_cache(maxsize=4096)
def _midnight(value: date) -> datetime:
    return datetime.combine(value, time(0), tzinfo=UTC)


def _norm(value: Any) -> Any:
    """Comparable form: UTC datetimes for dates and times, Decimal numbers, lower-case text."""
    kind = type(value)  # exact-type fast paths first; the isinstance chain below is the rule
    if kind is str:
        return value.lower()
    if kind is Decimal or kind is bool or value is None:
        return value
    if kind is date:
        return _midnight(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    if isinstance(value, str):
        return value.lower()
    return value


_ORDERING: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _comparison(field: str, op: str, right: Any) -> Predicate:
    """``field op right`` as a predicate, with ``right`` normalised once rather than per document."""
    get = getter(field)
    b = _norm(right)
    if op in ("==", "!=") and type(b) is str:
        want = op == "=="

        def text_eq(d: Doc) -> bool:
            v = get(d)
            return bool(v.lower() == b if type(v) is str else _norm(v) == b) is want

        return text_eq
    if op == "==":
        return lambda d: bool(_norm(get(d)) == b)
    if op == "!=":
        return lambda d: bool(_norm(get(d)) != b)
    if b is None:
        return lambda d: False
    ordering = _ORDERING[op]

    def ordered(d: Doc) -> bool:
        a = _norm(get(d))
        if a is None:
            return False
        try:
            return bool(ordering(a, b))
        except TypeError:
            return False

    return ordered


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
        return self._joined(("||", "OR"), self.conj, any)

    def conj(self) -> Predicate:
        return self._joined(("&&", "AND"), self.atom, all)

    def _joined(self, words: tuple[str, str], operand: Callable[[], Predicate],
                combine: Callable[[Iterable[bool]], bool]) -> Predicate:
        """``operand (word operand)*``: one predicate, ``combine`` (any / all) of the operands, left
        to right and stopping at the first that decides."""
        parts = [operand()]
        while (tok := self.peek()) and tok[1].upper() in words:
            self.take()
            parts.append(operand())
        if len(parts) == 1:
            return parts[0]
        return lambda d: combine(p(d) for p in parts)

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
            get = getter(field)
            return lambda d: isinstance(v := get(d), str) and bool(fn(v.lower(), arg))
        field = ".".join(parts)
        kind, op = self.take()
        if op not in ("==", "!=", ">", ">=", "<", "<="):
            raise QueryError(f"Operator '{op}' not supported")
        return _comparison(field, op, self.value())

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
        get = getter(field)
        values = [get(d) for d in out]
        sort_keys: list[Any]
        if all(type(v) is date for v in values):
            sort_keys = values  # calendar dates order exactly as their UTC midnights do, but cheaper
        elif any(v is None for v in values):
            sort_keys = [(v is not None, _norm(v) if v is not None else 0) for v in values]
        else:
            sort_keys = [_norm(v) for v in values]
        try:
            positions = sorted(range(len(out)), key=sort_keys.__getitem__, reverse=desc)
        except TypeError as exc:
            raise QueryError(f"Order by clause '{order}' mixes values that cannot be compared") from exc
        out = [out[i] for i in positions]
    return out
