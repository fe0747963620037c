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
from pathlib import Path
from typing import IO, Any

from desktop.services.core.progress import OperationProgress, check, replace_when_done

__all__ = ["SafeWriter", "export_rows", "safe_cell", "to_text"]

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


#: An export reports progress and looks for a cancel every this many rows.
EXPORT_STEP = 500


def export_rows(path: Path, header: Sequence[Any] | None, rows: Iterable[Iterable[Any]], *,
                total: int | None = None, progress: OperationProgress | None = None, what: str = "export",
                last: Iterable[Iterable[Any]] = ()) -> int:
    """Write ``header`` and ``rows`` (then ``last``) to ``path`` as CSV; returns how many ``rows``.

    The file appears only when every row is written (:func:`~desktop.services.core.progress.replace_when_done`):
    a failure or a cancel leaves no partial file. ``progress`` hears ``rows written`` of ``total``
    every :data:`EXPORT_STEP` rows, and a cancel stops the export there."""
    stop = f"The {what} was stopped on request; {path.name} was not written"
    count = 0
    with replace_when_done(path, progress, what=what) as fh:
        out = SafeWriter(fh)
        if header is not None:
            out.writerow(header)
        for row in rows:
            out.writerow(row)
            count += 1
            if progress is not None and count % EXPORT_STEP == 0:
                check(progress, stop)
                of = f" of {total:,}" if total is not None else ""
                progress.report(count, total, f"{count:,}{of} rows written to {path.name}")
        out.writerows(last)
    return count
