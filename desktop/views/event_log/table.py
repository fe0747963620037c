"""The error log's grid: how the table over the filtered events looks and behaves."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from desktop.views.event_log.filter import EventFilterProxy
from desktop.views.event_log.model import Column

__all__ = ["event_table"]


def event_table(proxy: EventFilterProxy) -> QTableView:
    """The log's grid over ``proxy``: whole-row, multi-row selection; the actions are its context menu."""
    table = QTableView()
    table.setObjectName("ErrorLogTable")
    table.setModel(proxy)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
    table.setTabKeyNavigation(False)  # rows are chosen with the arrows; Tab goes on to Retry, Resolve, Open
    vheader = table.verticalHeader()
    vheader.setVisible(False)
    vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vheader.setDefaultSectionSize(26)
    header = table.horizontalHeader()
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    header.setHighlightSections(False)
    for column, width in ((Column.TIME, 150), (Column.SEVERITY, 100), (Column.ORGANIZATION, 120),
                          (Column.DOCUMENT, 200)):
        table.setColumnWidth(column, width)
    header.setStretchLastSection(True)
    return table
