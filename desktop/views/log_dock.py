"""The bottom "Error log" dock: live service events with a text filter and a severity floor."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.views.bridge import EventBridge
from desktop.views.models.event_log_model import Column, EventFilterProxy, EventLogModel
from desktop.views.resources import render_svg

_FLOORS = [("All severities", "debug"), ("Info and above", "info"),
           ("Warnings and above", "warning"), ("Errors only", "error")]


class ErrorLogDock(QDockWidget):
    """Owns the model, proxy and view; fed by an :class:`EventBridge` when there is a bus."""

    def __init__(self, parent: QWidget | None = None, *, bridge: EventBridge | None = None) -> None:
        super().__init__("Error log", parent)
        self.setObjectName("ErrorLogDock")
        self.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        self.model = EventLogModel(self)
        self.proxy = EventFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 4, 10, 8)
        layout.setSpacing(6)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by organization, return, document or message")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(320)
        self._search_action = self.filter_edit.addAction(
            render_svg("search", self.palette().color(QPalette.ColorRole.PlaceholderText), 16, 2.0),
            QLineEdit.ActionPosition.LeadingPosition)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.severity_combo = QComboBox()
        for text, floor in _FLOORS:
            self.severity_combo.addItem(text, floor)
        self.severity_combo.currentIndexChanged.connect(self._on_severity_combo_current_index_changed)
        self.summary = QLabel()
        self.summary.setObjectName("CardHint")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Clear this view (the database keeps every event)")
        self.clear_button.clicked.connect(self.model.clear)
        bar.addWidget(self.filter_edit, 2)
        bar.addWidget(self.severity_combo)
        bar.addStretch(1)
        bar.addWidget(self.summary)
        bar.addWidget(self.clear_button)
        layout.addLayout(bar)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vheader = self.table.verticalHeader()
        vheader.setVisible(False)
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(26)
        header = self.table.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setHighlightSections(False)
        for column, width in ((Column.TIME, 160), (Column.SEVERITY, 104), (Column.ORGANIZATION, 180),
                              (Column.DOCUMENT, 220)):
            self.table.setColumnWidth(column, width)
        header.setStretchLastSection(True)
        layout.addWidget(self.table)
        self.setWidget(body)

        self.model.rowsInserted.connect(self._update_summary)
        self.model.rowsRemoved.connect(self._update_summary)
        self.model.modelReset.connect(self._update_summary)
        self._update_summary()
        self.bridge = bridge
        if bridge is not None:
            bridge.events_arrived.connect(self._on_bridge_events_arrived)

    @Slot(list)
    def _on_bridge_events_arrived(self, events: list[object]) -> None:
        bar = self.table.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        self.model.append_events(events)  # type: ignore[arg-type]
        if at_bottom:
            self.table.scrollToBottom()

    def _on_severity_combo_current_index_changed(self, index: int) -> None:
        self.proxy.set_min_severity(str(self.severity_combo.itemData(index)))

    def _update_summary(self) -> None:
        counts = self.model.counts()
        errors = counts["error"] + counts["critical"]
        parts = [f"{self.model.rowCount():,} events"]
        if errors:
            parts.append(f"{errors:,} error{'s' if errors != 1 else ''}")
        if counts["warning"]:
            parts.append(f"{counts['warning']:,} warning{'s' if counts['warning'] != 1 else ''}")
        self.summary.setText(" · ".join(parts))
