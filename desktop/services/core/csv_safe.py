"""The one CSV writer every export uses: cells a spreadsheet would run as a formula are defused.

Customer names, company names, messages and notes come from strangers; a cell such as
``=HYPERLINK("http://x","y")`` would become a live formula in Excel or LibreOffice. Following
OWASP's guidance on CSV injection, a cell whose first non-blank character is ``=``, ``+``, ``-``,
``@``, a tab or a carriage return — or the full-width forms ``＝ ＋ － ＠`` that spreadsheets
also accept — is prefixed with an apostrophe, so it is shown as text. Plain numbers (``-12.50``)
are left as they are: they are values, not formulas, and exports keep amounts exact.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import IO, Any

__all__ = ["SafeWriter", "safe_cell", "to_text"]

_FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def safe_cell(value: object) -> str:
    """Text for one cell, defused if a spreadsheet would evaluate it."""
    text = "" if value is None else value if isinstance(value, str) else format(value, "f") if _is_decimal(value) \
        else str(value)
    stripped = text.lstrip(" \u00a0\u3000")
    if stripped and stripped[0] in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(stripped):
        return "'" + text
    if text[:1] in ("\t", "\r", "\n") and text.strip():
        return "'" + text
    return text


def _is_decimal(value: object) -> bool:
    from decimal import Decimal

    return isinstance(value, Decimal)


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`safe_cell` (CRLF rows, as spreadsheets expect)."""

    def __init__(self, fh: IO[str]) -> None:
        self._out = csv.writer(fh, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._out.writerow([safe_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def to_text(header: Sequence[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV document as text."""
    buf = io.StringIO()
    writer = SafeWriter(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()
