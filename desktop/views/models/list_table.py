"""A table over a plain list of rows with fixed, titled columns.

Several grids (manual entries, the event log, the audit log, the dashboard's queue, the settings
tables) keep their rows in a Python list and title their columns from a fixed table: the row and
column counts, the column titles and finding the row a cell belongs to are the same code for all
of them, here. A subclass sets :attr:`ListTableModel.headers` and fills ``self._rows``; it formats
a row's cells in :meth:`ListTableModel.row_data`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

Index = QModelIndex | QPersistentModelIndex


class ListTableModel(QAbstractTableModel):
    """Rows in ``self._rows``; one column per entry of :attr:`headers`, titled by it."""

    #: The column titles, in column order.
    headers: ClassVar[Sequence[str]] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self.headers)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """The value of ``index``'s cell for ``role`` (:meth:`row_data`); None outside the rows."""
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        return self.row_data(self._rows[index.row()], index.column(), role)

    def row_data(self, row: Any, column: int, role: int) -> Any:
        """What ``row``'s cell in ``column`` holds for ``role`` (override); None: nothing."""
        return None

    def row_at(self, row: int) -> Any:
        """The row at position ``row`` (as the view numbers it)."""
        return self._rows[row]

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.headers):
            return self.headers[section]
        return None
