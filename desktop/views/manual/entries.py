"""Recent manual entries as a table model: what was recorded by hand and where each one stands.

A short list (the newest few hundred, read by
:meth:`~desktop.services.manual.ManualEntryService.entries` in the background), so a plain
list-backed model; sorting and filtering go through a ``QSortFilterProxyModel``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt

from desktop.views.models.columns import HeadedColumn
from desktop.views.models.list_table import ListTableModel

ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


class Column(HeadedColumn):
    WHEN = "Recorded"
    ORGANIZATION = "Organization"
    RMA = "RMA"
    DOCUMENT = "Document"
    PATH = "How"
    NUMBER = "Ledger no."
    TOTAL = "Total"
    STATUS = "Status"
    BY = "By"


PATHS = {"queued": "Queued", "entered_directly": "Entered in ledger"}
STATUS_TEXT = {"queued": "Waiting", "posted": "Posted by sync", "matched": "Adopted",
               "draft": "Draft", "cancelled": "Cancelled"}


class EntriesModel(ListTableModel):
    headers = Column.headers()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[dict[str, Any]] = []

    def row_data(self, row: dict[str, Any], col: int, role: int) -> Any:
        column = Column(col)
        if role == ENTRY_ROLE:
            return row
        if role == SORT_ROLE:
            return row["at"].isoformat() if column is Column.WHEN else str(self.display(row, column))
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.TOTAL:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def display(row: dict[str, Any], column: Column) -> str:
        if column is Column.WHEN:
            return str(row["at"].astimezone().strftime("%d %b %H:%M"))
        if column is Column.ORGANIZATION:
            return str(row["org"])
        if column is Column.RMA:
            return str(row["rma"])
        if column is Column.DOCUMENT:
            return str(row.get("doc_type") or "")
        if column is Column.PATH:
            return PATHS.get(row["path"], row["path"])
        if column is Column.NUMBER:
            return str(row.get("number") or "")
        if column is Column.TOTAL:
            return f"{row['total']} {row['currency']}" if row.get("total") else ""
        if column is Column.STATUS:
            return STATUS_TEXT.get(row["status"], row["status"])
        return str(row["by"])

    def set_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()
