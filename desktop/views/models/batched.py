"""A flat table that holds every row but hands them to the view a batch at a time.

Grids over long lists (mapping rules, a change's impact, the variance queue) read their rows once
and then let the view pull them in with ``canFetchMore``/``fetchMore``, so a 100,000-row list opens
at once and only what is scrolled into view is ever formatted. The counting and inserting is the
same for all of them; a subclass says how many rows it holds (:meth:`BatchedTableModel.held`), how
many columns it has, and formats cells.
"""

from __future__ import annotations

from typing import ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex

Index = QModelIndex | QPersistentModelIndex


class BatchedTableModel(QAbstractTableModel):
    """Rows ``0 .. _loaded - 1`` are visible; ``fetchMore`` reveals the next :attr:`batch`."""

    #: How many rows one ``fetchMore`` reveals (also the first batch subclasses show on a reset).
    batch: ClassVar[int] = 500
    #: How many columns the table has.
    column_count: ClassVar[int]

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loaded = 0

    def held(self) -> int:
        """How many rows the model holds, shown or not (override)."""
        raise NotImplementedError

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else self._loaded

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else self.column_count

    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and self._loaded < self.held()

    def fetchMore(self, parent: Index) -> None:
        if parent.isValid():
            return
        more = min(self.batch, self.held() - self._loaded)
        if more <= 0:
            return
        self.beginInsertRows(QModelIndex(), self._loaded, self._loaded + more - 1)
        self._loaded += more
        self.endInsertRows()
