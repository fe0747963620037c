"""What of an RMS record the database can keep: a payload any JSON parser accepts may still break a row.

A JSON document can carry things no column — and no JSON column — can hold, and each of them used
to fail the whole page's transaction, so the feed stopped on one record:

- text with NUL (PostgreSQL refuses it in ``text`` and ``jsonb``) or with an unpaired surrogate
  (``"\\ud800"``: valid JSON escapes, but not encodable as UTF-8 for either database);
- a number whose digits cannot be written out: ``1E+999999999`` is a few bytes of JSON but a
  billion digits in positional notation, which is how exact JSON stores it;
- nesting deeper than :data:`~desktop.services.core.exact_json.MAX_DEPTH` (writing and checking a
  payload recurse; a few hundred levels exhaust the stack).

:func:`storable` returns a copy that keeps everything it can and marks what it replaced, plus one
problem per kind found, so ingest quarantines the record with a specific code and keeps the copy
as its raw payload. It walks iteratively and never deeper than the limit.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from desktop.services.core.domain import Problem
from desktop.services.core.exact_json import MAX_DEPTH, brackets

__all__ = ["DEEP_MARKER", "MAX_DIGITS", "storable", "storable_plain", "trim_depth"]

#: The most digits a number may have before or after the point (a real amount has a dozen or so).
MAX_DIGITS = 100
#: What stands in for a part nested too deeply (in :func:`trim_depth`'s text and :func:`storable`'s copy).
DEEP_MARKER = "(nested too deeply: left out)"

_TEXT = "unstorable_text"
_NUMBER = "number_out_of_range"
_DEEP = "nested_too_deeply"
_MESSAGES = {
    _TEXT: "holds text with a NUL character or an unpaired surrogate, which the database cannot store "
           "(shown here as \\u escapes)",
    _NUMBER: f"holds a number with more than {MAX_DIGITS} digits (kept here as text)",
    _DEEP: f"nests lists/objects deeper than {MAX_DEPTH} levels (the deeper part is left out)",
}


_UNSTORABLE_CHAR = re.compile("[\x00\ud800-\udfff]")


def _clean_text(text: str) -> str | None:
    """``text`` with NUL and unpaired surrogates escaped as ``\\uXXXX``; None when it needs none."""
    if _UNSTORABLE_CHAR.search(text) is None:
        return None
    return _UNSTORABLE_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


#: The most bits an ``int`` may have (:func:`_too_long`'s bound for integers).
_MAX_BITS = MAX_DIGITS * 3.33


def _too_long(value: int | Decimal) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value.bit_length() > _MAX_BITS
    if not value.is_finite():
        return True
    exponent = value.as_tuple().exponent
    return abs(value.adjusted()) > MAX_DIGITS or (isinstance(exponent, int) and -exponent > MAX_DIGITS)


_STR_ONLY = frozenset({str})


def _survey(raw: object) -> tuple[bool, bool]:
    """(clean, plain) of ``raw`` in one read-only walk, no copy (the common case — nearly every record —
    then costs a fraction of the copying walk). *Clean*: it holds nothing :func:`storable` would
    replace. *Plain*: also what :func:`~desktop.services.core.exact_json.is_plain` says with
    ``tuples=False`` (exact ``dict`` with ``str`` keys, ``list``, ``str``, ``int``, ``bool``, ``None``),
    so its JSON needs no second walk: the copy rule's digest and the JSON column take it at once."""
    strings: list[str] = []  # searched once, joined: a match in the join is a match in one of them
    keep = strings.append
    plain = True
    stack: list[tuple[Any, int]] = [(raw, 1)]
    while stack:
        value, depth = stack.pop()
        kind = type(value)
        if kind is dict or kind is list or isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return False, False
            if isinstance(value, dict):
                if kind is dict and set(map(type, value)) <= _STR_ONLY:
                    strings.extend(value)
                else:
                    plain = False
                    strings.extend(map(str, value))
                items: Any = value.values()
            else:
                if kind is not list:
                    plain = False
                items = value
            for item in items:  # the usual scalars settled here; containers and the rest go on the stack
                kind = type(item)
                if kind is str:
                    if item == DEEP_MARKER:
                        return False, False
                    keep(item)
                elif kind is int:
                    if item.bit_length() > _MAX_BITS:
                        return False, False
                elif item is None or kind is bool:
                    continue
                else:
                    stack.append((item, depth + 1))
        elif kind is int:
            if value.bit_length() > _MAX_BITS:
                return False, False
        elif kind is bool or value is None:
            continue
        else:
            plain = False
            if isinstance(value, str):
                if value == DEEP_MARKER:
                    return False, False
                keep(value)
            elif isinstance(value, int | Decimal) and _too_long(value):
                return False, False
    if _UNSTORABLE_CHAR.search("".join(strings)) is not None:
        return False, False
    return True, plain


def storable(raw: object, *, fix: str, where: str = "The record") -> tuple[object, list[Problem]]:
    """A copy of ``raw`` the database can hold, and the problems found (none: ``raw`` itself);
    ``fix`` ends each problem's message, as the parser's do."""
    out, problems, _plain = storable_plain(raw, fix=fix, where=where)
    return out, problems


def storable_plain(raw: object, *, fix: str, where: str = "The record") -> tuple[object, list[Problem], bool]:
    """:func:`storable`, and whether what it returns is *plain* (see :func:`_survey`; False whenever a
    copy was made: the rare case pays the usual walks later)."""
    clean, plain = _survey(raw)
    if clean:
        return raw, [], plain
    found: dict[str, str] = {}  # code → path of the first occurrence

    def scalar(value: Any, path: str) -> Any:
        if isinstance(value, str):
            if value == DEEP_MARKER:  # left by trim_depth when the page was read
                found.setdefault(_DEEP, path)
                return value
            cleaned = _clean_text(value)
            if cleaned is not None:
                found.setdefault(_TEXT, path)
                return cleaned
        elif isinstance(value, int | Decimal) and _too_long(value):
            found.setdefault(_NUMBER, path)
            return str(value) if isinstance(value, Decimal) else f"(a {value.bit_length()}-bit integer)"
        return value

    def key(k: Any) -> str:
        text = str(k)
        cleaned = _clean_text(text)
        if cleaned is not None:
            found.setdefault(_TEXT, "(a key)")
            return cleaned
        return text

    def container(value: Any) -> Any:
        return {} if isinstance(value, dict) else []

    if not isinstance(raw, dict | list):
        out = scalar(raw, "")
    else:
        out = container(raw)
        stack: list[tuple[Any, Any, int, str]] = [(raw, out, 1, "")]
        while stack:
            source, target, depth, path = stack.pop()
            items = source.items() if isinstance(source, dict) else enumerate(source)
            for k, item in items:
                here = f"{path}.{key(k)}" if isinstance(source, dict) else f"{path}[{k}]"
                if isinstance(item, dict | list):
                    if depth >= MAX_DEPTH:
                        found.setdefault(_DEEP, here.lstrip("."))
                        child: Any = DEEP_MARKER
                    else:
                        child = container(item)
                        stack.append((item, child, depth + 1, here))
                else:
                    child = scalar(item, here.lstrip("."))
                if isinstance(target, dict):
                    target[key(k)] = child
                else:
                    target.append(child)
    if not found:
        return raw, [], False
    problems = [Problem(code, f"{where} {_MESSAGES[code]}{f' (first at {path[:200]})' if path else ''} — {fix}",
                        path[:200] or None) for code, path in found.items()]
    return out, problems, False


def trim_depth(text: str, limit: int = MAX_DEPTH) -> str | None:
    """JSON ``text`` with every value nested deeper than ``limit`` replaced by :data:`DEEP_MARKER`;
    None when nothing is that deep. A linear scan (strings and their escapes respected), for a
    document the parser refused as too deep: one deep record must not make a whole page unreadable."""
    marker = '"' + DEEP_MARKER + '"'
    out: list[str] = []
    depth, start, skipping = 0, 0, False
    for i, ch in brackets(text):
        if ch in "[{":
            depth += 1
            if depth == limit + 1 and not skipping:
                out.append(text[start:i])
                skipping = True
        else:
            if depth == limit + 1 and skipping:
                out.append(marker)
                start, skipping = i + 1, False
            depth -= 1
    if not out:
        return None
    out.append(text[start:])
    return "".join(out)
