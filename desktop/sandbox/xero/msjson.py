"""Xero's wire format: MS-JSON dates, Decimal-exact JSON numbers, parsing of request bodies.

Xero still speaks the old ASP.NET dialect (``/Date(1551812702650+0000)/``). The emulator keeps
documents as plain dicts holding ``Decimal``, ``date`` and ``datetime`` values and only turns them
into wire text here, so no amount ever passes through a float.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
# What json.dumps uses for a str with ensure_ascii (the C speed-up), minus its per-call overhead.
_json_string: Callable[[str], str] = json.encoder.encode_basestring_ascii

TWO = Decimal("0.01")
FOUR = Decimal("0.0001")
SIX = Decimal("0.000001")

# Minor units per currency where it differs from 2 (Xero rounds line amounts to these).
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "KWD": 3, "BHD": 3, "OMR": 3}


def money_quantum(currency: str) -> Decimal:
    """The rounding step for amounts in ``currency`` (JPY whole yen, most others cents)."""
    return Decimal(1).scaleb(-_MINOR_UNITS.get(currency, 2))


def ms_datetime(value: datetime, offset: bool = True) -> str:
    """``/Date(ms+0000)/`` for a timestamp; Xero omits the offset on the envelope's DateTimeUTC."""
    ms = int(value.astimezone(UTC).timestamp() * 1000)
    return f"/Date({ms}+0000)/" if offset else f"/Date({ms})/"


@lru_cache(maxsize=4096)
def ms_date(value: date) -> str:
    """A calendar date as Xero returns it: midnight UTC in MS-JSON (cached: pages repeat dates)."""
    return ms_datetime(datetime.combine(value, time(0), tzinfo=UTC))


def iso_date_string(value: date) -> str:
    """The ``DateString`` companion field (``2026-01-15T00:00:00``)."""
    return f"{value.isoformat()}T00:00:00"


def iso_utc_string(value: datetime) -> str:
    """The ``UpdatedDateUTCString`` companion field (``2019-11-14T18:10:38Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(value: Any) -> date:
    """Accept the date spellings clients send: ``YYYY-MM-DD``, ``…T00:00:00`` or MS-JSON."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    m = _MS_DATE.match(value.strip())
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC).date()
    text = value.strip()
    if "T" in text:
        text = text.split("T", 1)[0]
    return date.fromisoformat(text)


def parse_datetime(value: str) -> datetime:
    """Parse an ISO or MS-JSON timestamp into an aware UTC datetime (naive means UTC)."""
    m = _MS_DATE.match(value.strip())
    if m:
        return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)
    dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def to_decimal(value: Any) -> Decimal:
    """A request number as Decimal; bodies are parsed with ``parse_float=Decimal`` already."""
    if isinstance(value, bool):
        raise ValueError("boolean is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
    raise ValueError(f"not a number: {value!r}")


def loads(raw: bytes) -> Any:
    """Parse a request body exactly (Decimal for every non-integer number)."""
    return json.loads(raw.decode("utf-8-sig"), parse_float=Decimal)


def render(value: Any) -> Any:
    """Wire form of an internal value: dates to MS-JSON, ``_private`` keys dropped."""
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list | tuple):
        return [render(v) for v in value]
    if isinstance(value, datetime):
        return ms_datetime(value)
    if isinstance(value, date):
        return ms_date(value)
    return value


def dumps(value: Any) -> str:
    """Serialize with Decimals written as exact JSON numbers (never via float).

    Renders while encoding (dates to MS-JSON, ``_private`` keys dropped) instead of building a
    rendered copy first: a 1,000-row page is ~200,000 values, and the copy's short-lived dicts
    cost more than the encoding itself (and feed the cyclic GC, which then scans every stored doc).
    """
    parts: list[str] = []
    _encode(value, parts.append)
    return "".join(parts)


def _encode(value: Any, emit: Callable[[str], None]) -> None:
    # Exact-type checks first (the common case), isinstance fallbacks keep subclasses working.
    kind = type(value)
    if kind is str:
        emit(_json_string(value))
    elif kind is dict:
        emit("{")
        first = True
        for k, v in value.items():
            if k.startswith("_"):
                continue
            emit(_json_string(k) + ":" if first else "," + _json_string(k) + ":")
            first = False
            _encode(v, emit)
        emit("}")
    elif kind is Decimal:
        emit(format(value, "f"))
    elif kind is list or kind is tuple:
        emit("[")
        for i, v in enumerate(value):
            if i:
                emit(",")
            _encode(v, emit)
        emit("]")
    elif value is None:
        emit("null")
    elif value is True:
        emit("true")
    elif value is False:
        emit("false")
    elif kind is int:
        emit(int.__repr__(value))
    elif kind is datetime:
        emit(_json_string(ms_datetime(value)))
    elif kind is date:
        emit(_json_string(ms_date(value)))
    else:
        _encode_other(value, emit)


def _encode_other(value: Any, emit: Callable[[str], None]) -> None:
    """Subclasses of the basic types (StrEnum, OrderedDict…) and anything json itself knows."""
    if isinstance(value, dict):
        _encode({str(k): v for k, v in value.items()}, emit)
    elif isinstance(value, list | tuple):
        _encode(list(value), emit)
    elif isinstance(value, datetime):
        emit(_json_string(ms_datetime(value)))
    elif isinstance(value, date):
        emit(_json_string(ms_date(value)))
    elif isinstance(value, Decimal):
        emit(format(value, "f"))
    elif isinstance(value, float):  # pragma: no cover - defensive: we never build floats
        raise TypeError("float in a Xero payload")
    else:
        emit(json.dumps(value))
