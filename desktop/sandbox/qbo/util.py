"""Small helpers every QBO module shares: Decimal-exact JSON, QBO time formats, faults.

QBO answers amounts as JSON numbers; the app parses them with ``parse_float=Decimal``, so the
emulator must write them from ``Decimal`` without a float round-trip. The stdlib encoder cannot
emit a raw number for a Decimal, hence the small hand-written encoder (cached per entity by the
store, so its speed matters little).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Response

_enc_str = json.encoder.encode_basestring  # C-accelerated when available

TWO = Decimal("0.01")


def dumps(value: Any) -> str:
    """JSON text with every ``Decimal`` written as a JSON number, exactly."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


def _write(v: Any, out: list[str]) -> None:
    if isinstance(v, str):
        out.append(_enc_str(v))
    elif v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, Decimal):
        out.append(_decimal_text(v))
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, dict):
        out.append("{")
        first = True
        for k, item in v.items():
            if not first:
                out.append(",")
            first = False
            out.append(_enc_str(str(k)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(v, list | tuple):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(v, RawJson):
        out.append(v.text)
    else:
        raise TypeError(f"cannot serialize {type(v).__name__}")


def _decimal_text(d: Decimal) -> str:
    if not d.is_finite():
        raise ValueError("non-finite amount")
    text = format(d, "f")
    return text if text not in ("-0", "-0.00") else text[1:]


class RawJson:
    """Already-serialized JSON spliced into a response as-is (cached entity text)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def loads(raw: bytes | str) -> Any:
    """Parse request JSON with money as Decimal."""
    return json.loads(raw, parse_float=Decimal, parse_int=Decimal)


def money(value: Any) -> Decimal:
    """A 2-place Decimal from a parsed JSON number or string (never via float)."""
    if isinstance(value, Decimal):
        return value.quantize(TWO)
    if isinstance(value, int | str) and not isinstance(value, bool):
        return Decimal(value).quantize(TWO)
    raise ValueError(f"not an amount: {value!r}")


def qbo_datetime(moment: datetime, tz: ZoneInfo) -> str:
    """``2026-01-15T10:00:00-08:00``: QBO writes MetaData times in the company's zone."""
    return moment.astimezone(tz).replace(microsecond=0).isoformat()


def qbo_time(moment: datetime, tz: ZoneInfo) -> str:
    """The envelope's ``time`` attribute, with milliseconds."""
    local = moment.astimezone(tz)
    return local.isoformat(timespec="milliseconds")


def parse_qbo_datetime(text: str) -> datetime:
    """Accepts the offsets QBO clients send (``-08:00``, ``Z``) and date-only values (UTC midnight)."""
    text = text.strip()
    if len(text) == 10:
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


class QboFault(Exception):
    """A validation/service fault answered in QBO's ``Fault`` envelope."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str = "",
        element: str = "",
        status: int = 400,
        fault_type: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail or message
        self.element = element
        self.status = status
        self.fault_type = fault_type

    def fault_body(self) -> dict[str, Any]:
        return {
            "Error": [
                {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}
            ],
            "type": self.fault_type,
        }


def json_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        dumps(body), status=status, headers=headers or {}, content_type="application/json;charset=UTF-8"
    )


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
