"""Xero's wire format: MS-JSON dates, Decimal-exact JSON numbers, parsing of request bodies.

Xero still speaks the old ASP.NET dialect (``/Date(1551812702650+0000)/``). The emulator keeps
documents as plain dicts holding ``Decimal``, ``date`` and ``datetime`` values and only turns them
into wire text here, so no amount ever passes through a float.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")

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


def ms_date(value: date) -> str:
    """A calendar date as Xero returns it: midnight UTC in MS-JSON."""
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
    """Serialize with Decimals written as exact JSON numbers (never via float)."""
    parts: list[str] = []
    _encode(render(value), parts)
    return "".join(parts)


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(k)))
            out.append(":")
            _encode(v, out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            _encode(v, out)
        out.append("]")
    elif isinstance(value, Decimal):
        out.append(format(value, "f"))
    elif isinstance(value, float):  # pragma: no cover - defensive: we never build floats
        raise TypeError("float in a Xero payload")
    else:
        out.append(json.dumps(value))
