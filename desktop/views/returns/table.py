"""The Returns grid: how the table over :class:`ReturnsModel` looks — column widths, the status pill, height.

Columns are resizable with sensible minimums; Customer takes the width the others leave, so the
grid fills the window at any size; rows are selected whole and several at once (Shift/Ctrl+click,
Ctrl+A) for the bulk actions. The table asks for at least :data:`MIN_ROWS` rows of height and
grows with the window (the page gives it the room the detail panel leaves).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableView

from desktop.views.pages.base import house_style
from desktop.views.returns.model import Column, PillDelegate, ReturnsModel

__all__ = ["MIN_ROWS", "ROW_HEIGHT", "returns_table"]

#: Starting widths; RMA fits "RMA-MAPLE-100051 · r2", Status the longest label's pill.
_WIDTHS = {Column.ORGANIZATION: 104, Column.RMA: 190, Column.CUSTOMER: 150, Column.REFUND: 124, Column.STATUS: 210,
           Column.DOCUMENTS: 104, Column.LEDGER: 112, Column.UPDATED: 112}
MIN_ROWS = 6
ROW_HEIGHT = 34


def returns_table(model: ReturnsModel) -> QTableView:
    """A sortable, multi-selection grid over ``model`` that grows with the window."""
    table = QTableView()
    table.setObjectName("ReturnsTable")
    table.setStyleSheet("QTableView::item { padding: 0 4px; }")
    table.setModel(model)
    table.setSortingEnabled(True)
    table.horizontalHeader().setSortIndicator(Column.UPDATED, Qt.SortOrder.DescendingOrder)
    table.setItemDelegateForColumn(Column.STATUS, PillDelegate(table))
    header = house_style(table, ROW_HEIGHT)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(Column.CUSTOMER, QHeaderView.ResizeMode.Stretch)
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(64)
    for col, width in _WIDTHS.items():
        header.resizeSection(col, width)
    table.setMinimumHeight(header.sizeHint().height() + MIN_ROWS * ROW_HEIGHT + 2 * table.frameWidth() + 2)
    table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    return table
