"""The variance grid: review-queue rows (plain dicts from ``ReconcileService.queue``) shown lazily.

The queue is read once in the background; the model then exposes it ``CHUNK`` rows at a time via
``canFetchMore``/``fetchMore`` so a 100,000-variance queue opens instantly and the view only
formats what it shows. Rows are sorted by class first so the grid reads "grouped by class".
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt

from desktop.services.core.money import Money
from desktop.services.reconcile.model import CLASS_WORDS, DOC_WORDS
from desktop.views.models.batched import BatchedTableModel
from desktop.views.models.status import status_label

__all__ = ["CHUNK", "CLASS_LABELS", "DOC_WORDS", "ROW_ROLE", "Column", "VarianceModel", "difference_text", "format_row",
           "grouped"]

Index = QModelIndex | QPersistentModelIndex
CHUNK = 500
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

#: The variance classes and document types in a person's words: the services' one table of each.
CLASS_LABELS = CLASS_WORDS

class Column(IntEnum):
    CLASS = 0
    RMA = 1
    DOCUMENT = 2
    LEDGER_ID = 3
    DIFFERENCE = 4
    CURRENCY = 5
    STATUS = 6
    NOTE = 7


HEADERS = ("Class", "RMA", "Document", "Ledger #", "Difference", "Currency", "Status", "Note")


def difference_text(row: dict[str, Any]) -> str:
    """Minor units → ``-12.50`` in the currency's own precision (JPY has none), exactly."""
    minor, currency = row.get("difference_minor"), row.get("currency")
    if minor is None:
        return ""
    if not currency:
        return f"{(Decimal(int(minor)) / 100):,.2f}"
    return f"{Money.from_minor_units(int(minor), str(currency)).amount:,f}"


def format_row(row: dict[str, Any]) -> list[str]:
    """One variance as the grid and the CSV show it."""
    doc = str(row.get("doc_type") or "")
    return [CLASS_LABELS.get(row.get("class") or "", str(row.get("class") or "")), row.get("rma") or "",
            DOC_WORDS.get(doc, doc), row.get("ledger_id") or "", difference_text(row), row.get("currency") or "",
            status_label(str(row.get("status") or "")), row.get("note") or ""]


def grouped(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows grouped by class, newest first within a class (run this off the GUI thread)."""
    return sorted(rows, key=lambda r: (str(r.get("class") or ""), -int(r.get("id") or 0)))


class VarianceModel(BatchedTableModel):
    """Read-only rows; ``set_rows`` replaces them, ``fetchMore`` exposes them chunk by chunk."""

    batch = CHUNK
    column_count = len(HEADERS)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []

    def set_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Show ``rows`` in the order given (the page passes them through :func:`grouped` first)."""
        self.beginResetModel()
        self._rows = list(rows)
        self._loaded = min(CHUNK, len(self._rows))
        self.endResetModel()

    def rows(self) -> list[dict[str, Any]]:
        """Every row (not only the fetched ones), for exports."""
        return list(self._rows)

    def held(self) -> int:
        return len(self._rows)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole and section == Column.DIFFERENCE:
            return int(_RIGHT)
        return None

    def row_at(self, row: int) -> dict[str, Any] | None:
        return self._rows[row] if 0 <= row < self._loaded else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is None or not 0 <= index.column() < len(HEADERS):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if index.column() == Column.DIFFERENCE and difference_text(row):
                return f"{difference_text(row)} {row.get('currency') or ''}".strip()  # the amount with its currency
            return format_row(row)[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == Column.DIFFERENCE:
            return int(_RIGHT)
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.UserRole and index.column() == Column.DIFFERENCE:
            return int(row.get("difference_minor") or 0)  # numeric sort key
        return None
