"""The Returns grid: how the table over :class:`ReturnsModel` looks — column widths, the status pill, height.

Columns are resizable with sensible minimums; Customer takes the width the others leave, so the
grid fills the window at any size (and scrolls sideways rather than squeeze below the minimums);
rows are selected whole and several at once (Shift/Ctrl+click, Ctrl+A) for the bulk actions. The
table asks for at least :data:`MIN_ROWS` rows of height and grows with the window (the page gives
it the room the detail panel leaves).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableView

from desktop.views.pages.base import house_style
from desktop.views.returns.model import Column, PillDelegate, ReturnsModel

__all__ = ["MIN_ROWS", "ROW_HEIGHT", "returns_table"]

#: Starting widths; RMA fits "RMA-MAPLE-100051 · r2", Status the longest label's pill; at 1024 pixels
#: everything up to Status shows without scrolling.
_WIDTHS = {Column.ORGANIZATION: 110, Column.RMA: 150, Column.CUSTOMER: 150, Column.REFUND: 116, Column.STATUS: 180,
           Column.DOCUMENTS: 100, Column.LEDGER: 110, Column.UPDATED: 110}
MIN_ROWS = 6
ROW_HEIGHT = 34
MIN_CUSTOMER = 110


class _CustomerTakesTheRest(QObject):
    """Customer gets the width the other columns leave (never below :data:`MIN_CUSTOMER`; the grid
    scrolls sideways instead). ``QHeaderView``'s own Stretch mode does not shrink a stretched
    section again once the window narrows, so the grid would keep a 1600-pixel layout at 1024."""

    def __init__(self, table: QTableView) -> None:
        super().__init__(table)
        self._table = table
        table.viewport().installEventFilter(self)
        table.horizontalHeader().sectionResized.connect(self._on_section_resized)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def _on_section_resized(self, section: int, _old: int, _new: int) -> None:
        if section != Column.CUSTOMER:
            self.fit()  # a person widened another column: Customer gives (or takes) the difference

    def fit(self) -> None:
        header = self._table.horizontalHeader()
        others = sum(header.sectionSize(c) for c in Column if c is not Column.CUSTOMER)
        header.resizeSection(Column.CUSTOMER, max(MIN_CUSTOMER, self._table.viewport().width() - others))


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
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(64)
    for col, width in _WIDTHS.items():
        header.resizeSection(col, width)
    table.column_fitter = _CustomerTakesTheRest(table)  # type: ignore[attr-defined]
    table.setMinimumHeight(header.sizeHint().height() + MIN_ROWS * ROW_HEIGHT + 2 * table.frameWidth() + 2)
    table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    return table
