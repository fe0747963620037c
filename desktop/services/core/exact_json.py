"""Exact decimals in JSON and in text: the one encoder and the one parser of the app.

Money never passes through ``float``. Everything that writes JSON — the ledgers' wire, the
database's JSON columns, audit packs, the RMS client — uses :func:`dumps`; everything that reads
JSON uses :func:`loads`; every number that arrives as text or from a foreign JSON document
becomes a ``Decimal`` through :func:`to_decimal`. Tests use the same functions.

- :func:`dumps` writes a ``Decimal`` as a plain JSON number from its own digits, positional
  (``0.0000001``, never ``1E-7``, which some parsers read differently), keeping its scale
  (``50.00``), with ``-0.00`` written as ``0.00``; it refuses ``float`` outright and non-finite
  decimals.
- :func:`loads` reads every non-integer number as ``Decimal``, refuses ``NaN``/``Infinity``, and
  turns nesting too deep to parse into ``ValueError``; with ``max_depth`` (file inputs) it refuses
  nesting deeper than that before parsing.
- :func:`to_decimal` accepts ``Decimal``, ``int`` and decimal text (``"12.50"``, ``" -3 "``),
  and refuses ``float``, ``bool``, ``NaN``, infinities and anything else with a ``ValueError``
  naming what was expected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["MAX_DEPTH", "EncodedJSON", "brackets", "decimal_text", "depth_ok", "dumps", "dumps_plain",
           "dumps_plain_sorted", "is_plain", "loads", "to_decimal", "to_decimal_or_none"]

#: Deepest nesting of lists/objects accepted in any JSON input. Real documents (RMS returns,
#: ledger payloads, mapping sets) nest fewer than 10 levels.
MAX_DEPTH = 64

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def decimal_text(value: Decimal) -> str:
    """A finite Decimal as positional JSON-number text (``-0`` normalised to ``0``)."""
    if not value.is_finite():
        raise ValueError(f"JSON cannot hold {value!r}")
    text = format(value, "f")
    return text[1:] if text.startswith("-") and value.is_zero() else text


def _encode(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append("null" if value is None else "true" if value else "false")
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, float):
        raise TypeError(f"float {value!r} refused: amounts are Decimal (money is never float)")
    elif isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be str, got {type(key).__name__}")
            out.append(("," if i else "") + json.dumps(key, ensure_ascii=False) + ":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot write {type(value).__name__} as JSON; convert it first")


#: The standard library's C encoder, for values with no number but ``int`` (see :func:`_plain`).
_PLAIN_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


#: The same, with every object's keys sorted (:func:`dumps_plain_sorted`).
_PLAIN_SORTED_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, sort_keys=True)


def is_plain(value: Any, *, tuples: bool = True) -> bool:
    """Whether ``value`` holds only ``str``, ``int``, ``bool``, ``None``, lists, ``dict`` with ``str``
    keys (and tuples, unless ``tuples`` is false), exact types: nothing :func:`dumps` must refuse
    or write digit by digit (no ``float``, no ``Decimal``)."""
    return _plain(value, tuples=tuples)


def dumps_plain(value: Any) -> str:
    """A :func:`is_plain` value as :func:`dumps` writes it, in one pass of the C encoder without
    :func:`dumps`'s own walk (the caller has proved plainness, e.g. in a walk it makes anyway)."""
    return _PLAIN_ENCODER.encode(value)


def dumps_plain_sorted(value: Any) -> str:
    """A :func:`is_plain` value (``tuples=False``) as :func:`dumps` writes it once every object's
    keys are sorted, in one pass of the C encoder (the caller checks plainness)."""
    return _PLAIN_SORTED_ENCODER.encode(value)


def _plain(value: Any, *, tuples: bool = True) -> bool:
    """Does ``value`` hold only ``str``, ``int``, ``bool``, ``None``, ``dict`` with ``str`` keys, lists and
    tuples (exact types)? Then the C encoder writes exactly what :func:`_encode` writes, much faster;
    anything else (a ``Decimal``, a refused ``float``, a subclass) goes through :func:`_encode`."""
    containers = (list, tuple) if tuples else (list,)
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            children: Any = item.values()
        elif kind in containers:
            children = item
        elif kind in _PLAIN_SCALARS:
            continue
        else:
            return False
        for child in children:  # scalars are settled here, only containers go on the stack
            kind = type(child)
            if kind is dict or kind in containers:
                stack.append(child)
            elif kind not in _PLAIN_SCALARS:
                return False
    return True


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})


class EncodedJSON:
    """What :func:`dumps` writes for a value, written already: by a caller that proved the value
    plain in a walk of its own and encoded it once (:func:`dumps_plain`). :func:`dumps` returns
    the text as it is, so a JSON column binds it with neither its check nor a second encoding.
    For bulk inserts' parameters only, never a value kept anywhere."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (see the module docstring); an :class:`EncodedJSON`, its text."""
    if type(value) is EncodedJSON:
        return value.text
    if _plain(value):
        return _PLAIN_ENCODER.encode(value)
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


def brackets(text: str) -> Iterator[tuple[int, str]]:
    """``(index, bracket)`` of every ``[``/``{``/``]``/``}`` outside strings (escapes respected):
    the one linear scan behind :func:`depth_ok` and the RMS reader's depth trimming."""
    in_string = escaped = False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{]}":
            yield i, ch


def depth_ok(text: str | bytes, limit: int = MAX_DEPTH) -> bool:
    """A linear scan: does the nesting of ``[``/``{`` outside strings stay within ``limit``?"""
    if isinstance(text, bytes | bytearray):
        text = text.decode("utf-8", "replace")
    depth = 0
    for _i, ch in brackets(text):
        depth += 1 if ch in "[{" else -1
        if depth > limit:
            return False
    return True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(text: str | bytes, *, max_depth: int | None = None) -> Any:
    """JSON with exact Decimal numbers; ``ValueError`` for invalid JSON, NaN/Infinity, or nesting
    too deep to parse.

    ``max_depth`` (for files a person hands us) first scans the text and refuses nesting deeper
    than that; the scan is linear but runs in Python, so the database's and the wire's hot paths
    leave it out and rely on the parser's own recursion limit, reported as ``ValueError`` too.
    """
    if max_depth is not None and not depth_ok(text, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None


def to_decimal(value: object, what: str = "an amount") -> Decimal:
    """``value`` as an exact, finite Decimal (see the module docstring); ``ValueError`` otherwise."""
    if isinstance(value, bool | float):
        raise ValueError(f"{what} must be exact: {type(value).__name__} {value!r} refused")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not _NUMBER.fullmatch(text):
            raise ValueError(f"{what} must be a number, not {value!r}")
        try:
            result = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
            raise ValueError(f"{what} must be a number, not {value!r}") from None
    else:
        raise ValueError(f"{what} must be a number, not {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{what} must be finite, not {value!r}")
    return result


def to_decimal_or_none(value: object) -> Decimal | None:
    """:func:`to_decimal`, or ``None`` for an absent or unreadable value (reading foreign documents)."""
    if value is None:
        return None
    try:
        return to_decimal(value)
    except ValueError:
        return None
