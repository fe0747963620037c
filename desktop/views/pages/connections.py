"""Connections: one ledger (QuickBooks Online or Xero) per client organization, and its health.

The grid is fed from ``ConnectionService.summaries()`` through the background helper and
refreshed when a connection event arrives on the bus; its countdowns tick on a timer that only
repaints. Every action runs in the background; buttons and the context menu are enabled per the
selected row's state and the actor's role, with the reason in the tooltip when they are not
(the service refuses anyway). The work itself lives in :mod:`desktop.views.connections.actions`.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, QPointF, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.services.connections.service import ConnectionSummary
from desktop.services.platforms.registry import PROFILES
from desktop.services.rms.facts import RMS
from desktop.views.connections.actions import ConnectionActions
from desktop.views.connections.details import DetailsPanel
from desktop.views.connections.model import (
    STATES,
    Column,
    ConnectionsFilter,
    ConnectionsModel,
    ElideMiddleDelegate,
    StatusPillDelegate,
    state_label,
)
from desktop.views.connections.rms import RmsTile
from desktop.views.models.selection import current_row
from desktop.views.pages.base import (
    Card,
    Page,
    StatusLine,
    activity_row,
    house_style,
    label,
    search_field,
)
from desktop.views.pages.info import PAGE_INFO
from desktop.views.setup import SETUP_KEY
from desktop.views.sources import Source

TICK_MS = 30_000
_COLUMN_WIDTHS = {Column.ORGANIZATION: 108, Column.LEDGER: 112, Column.ENVIRONMENT: 110, Column.COMPANY_ID: 100,
                  Column.STATUS: 128, Column.LAST_REFRESH: 98, Column.ACCESS: 66, Column.SIGN_IN: 72}
_BUTTON_TEXT = {"connect": "Connect…", "reconnect": "Reconnect…", "test": "Test", "refresh": "Refresh data",
                "disconnect": "Disconnect…"}


class Monogram(QWidget):
    """A brand-neutral round badge with initials (we do not ship third-party logos)."""

    def __init__(self, text: str, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = text
        self._colour = QColor(colour)
        self.setFixedSize(QSize(40, 40))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._colour)
        painter.drawEllipse(QPointF(20, 20), 20, 20)
        font = QFont(self.font())
        font.setBold(True)
        font.setPixelSize(14)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self._text)
        painter.end()


class ProviderTile(Card):
    """One kind of connection and how its connections are doing ("2 connected · 1 needs reconnect")."""

    def __init__(self, initials: str, colour: str, name: str, blurb: str, state: str) -> None:
        super().__init__()
        top = QHBoxLayout()
        top.setSpacing(12)
        top.addWidget(Monogram(initials, colour))
        names = QVBoxLayout()
        names.setSpacing(2)
        names.addWidget(label(name, "SectionTitle", wrap=True))  # wraps rather than widen a 1024-px window
        self.state_label = label(state, "Badge")
        names.addWidget(self.state_label, 0, Qt.AlignmentFlag.AlignLeft)
        top.addLayout(names, 1)
        self.layout_.addLayout(top)
        self.layout_.addSpacing(8)
        self.layout_.addWidget(label(blurb, "CardHint", wrap=True))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def show_counts(self, rows: list[ConnectionSummary]) -> None:
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.state] = counts.get(row.state, 0) + 1
        order = ("needs_reconnect", "error", "token_expiring", "connected", "disconnected")
        parts = [f"{counts[s]} {state_label(s).lower()}" for s in order if counts.get(s)]
        self.state_label.setText(" · ".join(parts) if parts else "Not connected")
        worst = next((s for s in order if counts.get(s)), None)
        colour = STATES[worst][1] if worst and worst != "disconnected" else None
        # A soft pill in the worst state's colour; the QSS badge when there is nothing to say.
        self.state_label.setStyleSheet(
            f"color: {colour}; border-color: {colour}; font-weight: 600;" if colour else "")


class ConnectionsPage(StatusLine, Page):
    """Where organizations are connected; sign-in happens in an embedded browser."""

    info = PAGE_INFO["connections"]
    error_colour = STATES["needs_reconnect"][1]

    def build(self) -> None:
        kinds: tuple[Source, ...] = (*PROFILES.values(), RMS)
        self.tiles = {k.key: ProviderTile(k.monogram, k.brand_colour, k.display_name, k.tagline, "Not connected")
                      for k in kinds}
        self.add_row(*self.tiles.values())
        self.rms_tile = RmsTile(self.context, self.tiles[RMS.key], self)
        for tile in self.tiles.values():  # one height for the row (the RMS tile has a button)
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.actions_ = ConnectionActions(self, self)
        self.model = ConnectionsModel(self.actions_.clock.now, self)
        self.proxy = ConnectionsFilter(self)
        self.proxy.setSourceModel(self.model)
        self._build_toolbar()
        self._build_activity()
        self._build_grid()
        self.empty_state = self.add_empty_state(
            "No organizations connected",
            "Add an organization, choose its ledger and sign in. You can connect as many client "
            "organizations as you manage; each keeps its own mappings and schedule.",
            action="Connect a ledger…")
        self.empty_state.action_clicked.connect(self.actions_.connect_action.trigger)
        self.grid_area.setVisible(False)
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.model.tick)
        self.timer.start()
        self.actions_.update()
        self.actions_.reload()
        self.rms_tile.reload()

    def activated(self) -> None:
        """The RMS may have been set up elsewhere meanwhile (the assistant, ``rms connect``, the demo)."""
        self.rms_tile.reload()

    # --- building ---------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        a = self.actions_
        self.toolbar = QWidget()
        self.toolbar.setObjectName("ConnectionsToolbar")
        # The app style sheet gives buttons one look whatever their state; a disabled action must
        # look unavailable (its tooltip says why). Palette roles keep this right in light and dark.
        self.toolbar.setStyleSheet(
            "QPushButton:disabled { color: palette(dark); background: palette(window); border-color: palette(mid); }"
            "QPushButton#PrimaryButton:disabled { color: palette(dark); background: palette(mid);"
            " border-color: palette(mid); }")
        bar = QHBoxLayout(self.toolbar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(8)
        self.buttons: dict[str, QPushButton] = {}
        for key, action in (("connect", a.connect_action), ("reconnect", a.reconnect_action),
                            ("test", a.test_action), ("refresh", a.refresh_action),
                            ("disconnect", a.disconnect_action)):
            button = QPushButton(_BUTTON_TEXT[key])
            button.setObjectName("PrimaryButton" if key == "connect" else f"{key}Button")
            button.clicked.connect(action.trigger)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.buttons[key] = button
            bar.addWidget(button)
        bar.addStretch(1)
        self.filter_edit = search_field("Filter connections", min_width=150, max_width=260)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        bar.addWidget(self.filter_edit)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(a.export_action.trigger)
        bar.addWidget(self.export_button)
        # A narrow window (1024 px) has no room for every button: the secondary ones move into "More".
        self.more_button = QPushButton("More")
        self.more_button.setObjectName("moreButton")
        self.more_button.setAccessibleName("More actions")
        self.more_button.setToolTip("Refresh data, Disconnect…, Export CSV…")
        menu = QMenu(self.more_button)
        menu.setToolTipsVisible(True)  # a disabled entry says why, as its button would
        for action in (a.refresh_action, a.disconnect_action, a.export_action):
            menu.addAction(action)
        self.more_button.setMenu(menu)
        self.more_button.setVisible(False)
        bar.addWidget(self.more_button)
        self.body.addWidget(self.toolbar)
        self.body.addSpacing(10)

    def _build_activity(self) -> None:
        self.activity, self.progress, self.status, self.freshness = activity_row()
        self.setup_button = QPushButton("Set-up assistant…")  # here, not in the toolbar: it fits at 1024 px
        self.setup_button.setToolTip("Connect the returns system and the ledgers, review the mapping and the "
                                     "schedule, step by step")
        self.setup_button.clicked.connect(lambda: self.navigate_requested.emit(SETUP_KEY))
        layout = self.activity.layout()
        if layout is not None:
            layout.addWidget(self.setup_button)
        self.body.addWidget(self.activity)
        self.body.addSpacing(8)

    def _build_grid(self) -> None:
        self.grid_area = QWidget()
        column = QVBoxLayout(self.grid_area)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(14)
        self.table = QTableView()
        self.table.setObjectName("ConnectionsTable")
        self.table.setStyleSheet("QTableView::item { padding: 0 4px; }")  # cells line up with the headers
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.ORGANIZATION, Qt.SortOrder.AscendingOrder)
        self.table.setIconSize(QSize(20, 20))
        self.table.setItemDelegateForColumn(Column.STATUS, StatusPillDelegate(self.table))
        self.table.setItemDelegateForColumn(Column.COMPANY_ID, ElideMiddleDelegate(self.table))
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_table_context_menu_requested)
        self.table.doubleClicked.connect(lambda _i: self.actions_.test_action.trigger())
        header = house_style(self.table, 36)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.COMPANY, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(60)
        header.setStretchLastSection(False)
        header.sectionResized.connect(lambda *_: self._fit_table_height())
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset,
                       self.proxy.layoutChanged):
            signal.connect(lambda *_: self._fit_table_height())
        for col, width in _COLUMN_WIDTHS.items():
            header.resizeSection(col, width)
        self.table.selectionModel().currentRowChanged.connect(self._on_selection_current_row_changed)
        self.details = DetailsPanel()
        column.addWidget(self.table)
        column.addWidget(self.details)
        self.body.addWidget(self.grid_area)

    # --- state ------------------------------------------------------------------------------
    def selected(self) -> ConnectionSummary | None:
        row = current_row(self.table)
        return None if row is None else self.model.summary_at(row)

    def select_connection(self, connection_id: int) -> None:
        row = self.model.row_of(connection_id)
        if row < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.selectionModel().setCurrentIndex(index, flags)

    def show_rows(self, rows: list[ConnectionSummary]) -> None:
        """Put a fresh list in the grid, keeping the selection and updating the summary cards."""
        keep = self.selected()
        self.model.set_rows(rows)
        self.grid_area.setVisible(bool(rows))
        self.empty_state.setVisible(not rows)
        self._fit_table_height()
        count = f"{len(rows)} connection{'s' if len(rows) != 1 else ''}"
        self.freshness.setText(f"{count} · list updated {self.actions_.clock.now().astimezone():%H:%M:%S}")
        for key in PROFILES:
            self.tiles[key].show_counts([r for r in rows if r.platform.value == key])
        if keep is not None and self.model.row_of(keep.id) >= 0:
            self.select_connection(keep.id)
        elif rows and self.selected() is None:
            self.select_connection(self.model.summary_at(self.proxy.mapToSource(self.proxy.index(0, 0)).row()).id)
        self.actions_.update()

    def _fit_table_height(self) -> None:
        """Show every row (up to ten) without an inner vertical scroll bar; the page scrolls instead."""
        visible = max(1, min(self.proxy.rowCount(), 10))
        header = self.table.horizontalHeader()
        height = header.sizeHint().height() + visible * self.table.verticalHeader().defaultSectionSize() \
            + 2 * self.table.frameWidth()
        if header.length() > self.table.viewport().width() + 1:
            height += self.table.horizontalScrollBar().sizeHint().height()
        self.table.setFixedHeight(height)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_table_height()
        self._fit_toolbar(event.size().width())

    def _fit_toolbar(self, page_width: int) -> None:
        """Every button in the bar when they fit the page's width; else the secondary ones in "More"."""
        secondary = (self.buttons["refresh"], self.buttons["disconnect"], self.export_button)
        layout = self.toolbar.layout()
        spacing = layout.spacing() if layout is not None else 8
        needed = sum(b.sizeHint().width() + spacing for b in (*self.buttons.values(), self.export_button)) \
            + self.filter_edit.minimumWidth()
        margins = self.body.contentsMargins()
        room = page_width - margins.left() - margins.right() - 24  # the page's scroll bar
        fits = needed <= room
        for button in secondary:
            button.setVisible(fits)
        self.more_button.setVisible(not fits)

    # --- slots ------------------------------------------------------------------------------
    def _on_selection_current_row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        summary = self.selected()
        self.details.show_summary(summary)
        self.actions_.update()
        if summary is not None:
            self.actions_.load_details(summary.id)

    def _on_table_context_menu_requested(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.selectRow(index.row())
        menu = QMenu(self)
        a = self.actions_
        for action in (a.test_action, a.refresh_action, None, a.reconnect_action, a.disconnect_action, None,
                       a.connect_action, a.reload_action, a.export_action):
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.setToolTipsVisible(True)
        self.context_menu = menu
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def add_shortcut_action(self, action: QAction, keys: QKeySequence | str) -> None:
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(action)
