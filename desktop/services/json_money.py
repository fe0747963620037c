"""JSON for the ledgers' wire: every Decimal written as a plain JSON number from its own digits.

``json.dumps`` cannot write a Decimal without going through float, and ``str(Decimal)`` may
choose exponent notation (``1E-7``, ``0E+2``) that some parsers read differently from what we
meant. :func:`dumps` writes positional digits (``0.0000001``), keeps the scale (``50.00``), turns
``-0.00`` into ``0.00`` and refuses floats outright — money never travels as a float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["decimal_text", "dumps"]


def decimal_text(value: Decimal) -> str:
    """A finite Decimal as positional JSON-number text (``-0`` normalised to ``0``)."""
    if not value.is_finite():
        raise ValueError(f"JSON cannot hold {value!r}")
    text = format(value, "f")
    return text[1:] if text.startswith("-") and value.is_zero() else text


def _encode(value: Any, out: list[str]) -> None:
    if value is None or isinstance(value, bool):
        out.append(json.dumps(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, int):
        out.append(str(int(value)))
    elif isinstance(value, Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, float):
        raise TypeError(f"float {value!r} refused on the wire: amounts are Decimal")
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
        raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (see the module docstring)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out)
