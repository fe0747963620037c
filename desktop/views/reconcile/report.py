"""The reconciliation report as CSV and PDF (a ``QTextDocument`` printed by ``QPdfWriter``).

Both are written by plain functions so the page can run them through ``run_in_background``:
``QTextDocument`` and ``QPdfWriter`` paint without a window, which is safe off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument

from desktop.services.core.csv_safe import export_rows
from desktop.services.core.exact_json import to_decimal
from desktop.services.core.progress import OperationProgress
from desktop.views.reconcile.model import HEADERS, format_row

__all__ = ["bridge_html", "bridge_steps", "currency_totals", "report_html", "write_csv", "write_pdf"]


def currency_totals(totals: dict[str, Any] | None) -> list[tuple[str, Decimal, Decimal, Decimal]]:
    """``(currency, rms, ledger, difference)`` per currency from ``ReconcileReport.totals``; the
    difference is the ledger less the expected ledger effect (what the listed variances add up to)."""
    out = []
    for cur, row in sorted(((totals or {}).get("by_currency") or {}).items()):
        rms, ledger = to_decimal(row.get("rms", "0")), to_decimal(row.get("ledger", "0"))
        expected = to_decimal(row.get("expected", row.get("rms", "0")))
        out.append((cur, rms, ledger, to_decimal(row.get("difference", ledger - expected))))
    return out


def bridge_steps(totals: dict[str, Any] | None) -> list[tuple[str, list[tuple[str, Decimal]], bool]]:
    """Per currency: the bridge's steps ``(label, amount)`` — RMS refunds → each kind of document
    → expected ledger effect → variances → ledger — and whether the difference ties to the variances."""
    out = []
    for cur, row in sorted(((totals or {}).get("by_currency") or {}).items()):
        steps = [(str(s.get("label")), to_decimal(s.get("amount", "0"))) for s in row.get("steps") or ()]
        out.append((cur, steps, bool(row.get("ties_out", True))))
    return out


def bridge_html(totals: dict[str, Any] | None) -> str:
    """The bridge as a small right-aligned table per currency (the page and the PDF)."""
    parts = []
    for cur, steps, ties in bridge_steps(totals):
        ends = (0, len(steps) - 1)
        rows = "".join(
            f"<tr><td>{f'<b>{escape(text)}</b>' if i in ends else escape(text)}</td>"
            f"<td align='right'>&nbsp;&nbsp;{amount:,} {escape(cur)}</td></tr>"
            for i, (text, amount) in enumerate(steps))
        note = "" if ties else "<tr><td colspan=2><b>Does not tie out — report this.</b></td></tr>"
        parts.append(f"<td valign='top'><table cellspacing='0' cellpadding='2'><tr><th align='left'>{escape(cur)}"
                     f"</th></tr>{rows}{note}</table></td>")
    return f"<table cellspacing='12'><tr>{''.join(parts)}</tr></table>" if parts else ""


def write_csv(path: Path, rows: Sequence[dict[str, Any]], progress: OperationProgress | None = None) -> int:
    """The variances as CSV; the file appears only complete (a cancel or a failure leaves none)."""
    return export_rows(path, HEADERS, (format_row(row) for row in rows), total=len(rows), progress=progress,
                       what="variance export")


def report_html(org: str, period: str, totals: dict[str, Any] | None, rows: Sequence[dict[str, Any]]) -> str:
    cells = "".join(
        f"<tr><td>{escape(c)}</td><td align='right'>{r:,.2f}</td><td align='right'>{lg:,.2f}</td>"
        f"<td align='right'><b>{d:,.2f}</b></td></tr>" for c, r, lg, d in currency_totals(totals))
    head = "".join(f"<th align='left'>{escape(h)}</th>" for h in HEADERS)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in format_row(r)) + "</tr>" for r in rows)
    return (f"<h2>Reconciliation — {escape(org)}</h2><p>Period {escape(period)} · {len(rows)} variance(s)</p>"
            "<h3>Totals</h3><table border='1' cellspacing='0' cellpadding='4'>"
            "<tr><th>Currency</th><th>RMS</th><th>Ledger</th><th>Difference</th></tr>"
            f"{cells or '<tr><td colspan=4>Not run in this session</td></tr>'}</table>"
            f"<h3>Bridge</h3>{bridge_html(totals)}"
            f"<h3>Variances</h3><table border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{body}</table>")


def write_pdf(path: Path, html: str) -> int:
    """Render ``html`` to an A4 PDF; returns the page count."""
    writer = QPdfWriter(str(path))
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape,
                                     QMarginsF(12, 12, 12, 12), QPageLayout.Unit.Millimeter))
    writer.setTitle("Reconciliation report")
    doc = QTextDocument()
    doc.setHtml(html)
    doc.print_(writer)
    return doc.pageCount()
