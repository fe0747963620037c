"""The Returns grid: how the table over :class:`ReturnsModel` looks — column widths, the status pill, height."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QTableView

from desktop.views.pages.base import house_style
from desktop.views.returns.model import Column, PillDelegate, ReturnsModel

__all__ = ["VISIBLE_ROWS", "returns_table"]

_WIDTHS = {Column.ORGANIZATION: 108, Column.RMA: 134, Column.CUSTOMER: 120, Column.REFUND: 100, Column.STATUS: 142,
           Column.DOCUMENTS: 96, Column.LEDGER: 126, Column.UPDATED: 106}
VISIBLE_ROWS = 7


def returns_table(model: ReturnsModel) -> QTableView:
    """A sortable, single-selection grid over ``model``, tall enough for seven rows (the page scrolls)."""
    table = QTableView()
    table.setObjectName("ReturnsTable")
    table.setStyleSheet("QTableView::item { padding: 0 4px; }")
    table.setModel(model)
    table.setSortingEnabled(True)
    table.horizontalHeader().setSortIndicator(Column.UPDATED, Qt.SortOrder.DescendingOrder)
    table.setItemDelegateForColumn(Column.STATUS, PillDelegate(table))
    header = house_style(table, 34)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionResizeMode(Column.CUSTOMER, QHeaderView.ResizeMode.Stretch)
    header.setStretchLastSection(False)
    for col, width in _WIDTHS.items():
        header.resizeSection(col, width)
    table.setFixedHeight(header.sizeHint().height() + VISIBLE_ROWS * 34 + 2 * table.frameWidth() + 2)
    return table
