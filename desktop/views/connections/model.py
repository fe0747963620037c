"""The connections grid: one row per organization and ledger, with a status pill and countdowns.

Rows are the service's immutable ``ConnectionSummary`` objects. Cells are formatted when the view
asks, against the model's own idea of "now" (:meth:`ConnectionsModel.tick` moves it), so the
countdowns ("access: 42 min") tick without any service call: the page's timer only repaints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QRectF,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from desktop.services.auth.platforms import environment_label, platform_label
from desktop.services.connections.details import countdown, sign_in_expiry
from desktop.services.connections.service import ConnectionSummary
from desktop.views.models.columns import HeadedColumn
from desktop.views.models.pill import PillDelegate as SharedPill
from desktop.views.sources import source, source_name

Index = QModelIndex | QPersistentModelIndex
SUMMARY_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
STATE_ROLE = Qt.ItemDataRole.UserRole + 3


class Column(HeadedColumn):
    ORGANIZATION = "Organization"
    LEDGER = "Ledger"
    ENVIRONMENT = "Environment"
    COMPANY = "Company"
    COMPANY_ID = "Company ID"
    STATUS = "Status"
    LAST_REFRESH = "Last refresh"
    ACCESS = "Access"
    SIGN_IN = "Sign-in"


HEADER_TIPS = {
    Column.ACCESS: "How long the current access token lasts; it is renewed automatically.",
    Column.SIGN_IN: "How long until someone must sign in again (QuickBooks: also its 5-year limit).",
    Column.COMPANY_ID: "QuickBooks realm ID or Xero tenant ID",
    Column.LAST_REFRESH: "When the access token was last renewed",
}
#: State → (label, colour). The colours read on light and dark cards (the pill is a soft fill).
STATES: dict[str, tuple[str, str]] = {
    "connected": ("Connected", "#1f9d55"),
    "token_expiring": ("Token expiring", "#d97706"),
    "needs_reconnect": ("Needs reconnect", "#dc3545"),
    "disconnected": ("Disconnected", "#7b8594"),
    "error": ("Error", "#c2410c"),
}
COUNTDOWN_COLUMNS = (Column.ACCESS, Column.SIGN_IN)
_STATE_RANK = {name: i for i, name in enumerate(("needs_reconnect", "error", "token_expiring", "connected",
                                                  "disconnected"))}


_icons: dict[str, QIcon] = {}


def platform_icon(platform: str) -> QIcon:
    """A small round monogram for the ledger column (drawn once, after QApplication exists).

    Brand-neutral (we do not ship third-party logos): the platform's initials and colour.
    """
    icon = _icons.get(platform)
    if icon is None:
        found = source(platform)
        text, colour = (found.monogram, found.brand_colour) if found else (platform[:1].upper(), "#7b8594")
        pixmap = QPixmap(40, 40)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawEllipse(QPointF(20, 20), 18, 18)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(15 if len(text) < 3 else 11)
        painter.setFont(font)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(QRectF(0, 0, 40, 40), int(Qt.AlignmentFlag.AlignCenter), text)
        painter.end()
        pixmap.setDevicePixelRatio(2.0)
        icon = _icons[platform] = QIcon(pixmap)
    return icon


def state_label(state: str) -> str:
    return STATES.get(state, (state.replace("_", " ").capitalize(), ""))[0]


def local_time(when: datetime | None) -> str:
    """A time people read at their desk: local, to the minute."""
    return when.astimezone().strftime("%d %b %Y, %H:%M") if when else "—"


def short_time(when: datetime | None, now: datetime) -> str:
    """Compact for the grid: '11:28' today, '27 Nov 11:28' this year, else with the year."""
    if when is None:
        return "—"
    local, today = when.astimezone(), now.astimezone()
    if local.date() == today.date():
        return local.strftime("Today %H:%M")
    return local.strftime("%d %b %H:%M" if local.year == today.year else "%d %b %Y")


class ConnectionsModel(QAbstractTableModel):
    """Connection summaries as a table; replace them with :meth:`set_rows`, move time with :meth:`tick`."""

    def __init__(self, now: Callable[[], datetime], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clock = now
        self._now = now()
        self._rows: list[ConnectionSummary] = []

    # -- reading -------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(Column)

    def summary_at(self, row: int) -> ConnectionSummary:
        return self._rows[row]

    def summaries(self) -> list[ConnectionSummary]:
        return list(self._rows)

    def row_of(self, connection_id: int) -> int:
        return next((i for i, s in enumerate(self._rows) if s.id == connection_id), -1)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return Column(section).header
        if role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(Column(section))
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) \
                or not 0 <= index.column() < len(Column):
            return None
        row = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == STATE_ROLE:
            return row.state
        if role == SUMMARY_ROLE:
            return row
        if role == Qt.ItemDataRole.DecorationRole and column is Column.LEDGER:
            return platform_icon(row.platform.value)
        if role == Qt.ItemDataRole.ForegroundRole and column in COUNTDOWN_COLUMNS:
            return self._countdown_colour(row, column)
        return None

    def display(self, row: ConnectionSummary, column: Column, *, full: bool = False) -> str:
        """The text of one cell; ``full`` spells everything out (CSV export)."""
        if column is Column.ORGANIZATION:
            return row.org_code
        if column is Column.LEDGER:
            return platform_label(row.platform) if full else source_name(row.platform.value, short=True, default="")
        if column is Column.LAST_REFRESH and full:
            return row.last_refresh_at.isoformat() if row.last_refresh_at else ""
        if column is Column.ENVIRONMENT:
            return environment_label(row.environment)
        if column is Column.COMPANY:
            return row.company_name or "—"
        if column is Column.COMPANY_ID:
            return row.company_id
        if column is Column.STATUS:
            return state_label(row.state)
        if column is Column.LAST_REFRESH:
            return short_time(row.last_refresh_at, self._now)
        if row.state == "disconnected":
            return "—"
        if column is Column.ACCESS:
            return countdown(row.access_expires_at, self._now)
        return countdown(sign_in_expiry(row.refresh_expires_at, row.hard_expires_at), self._now)

    def _tooltip(self, row: ConnectionSummary, column: Column) -> str | None:
        if column is Column.STATUS:
            return row.state_text
        if column is Column.LEDGER:
            return f"{platform_label(row.platform)} · {environment_label(row.environment)}"
        if column is Column.ORGANIZATION:
            return row.org_name
        if column in (Column.COMPANY, Column.COMPANY_ID):
            return f"{row.company_name} — {row.company_id}"
        if column is Column.LAST_REFRESH:
            return local_time(row.last_refresh_at)
        if column is Column.SIGN_IN and row.hard_expires_at is not None:
            return (f"Refresh token: {local_time(row.refresh_expires_at)}; "
                    f"QuickBooks 5-year limit: {local_time(row.hard_expires_at)}")
        if column is Column.ACCESS:
            return f"Access token valid until {local_time(row.access_expires_at)}"
        return None

    def _sort_key(self, row: ConnectionSummary, column: Column) -> Any:
        if column is Column.STATUS:
            return _STATE_RANK.get(row.state, 99)
        if column is Column.LAST_REFRESH:
            return row.last_refresh_at.timestamp() if row.last_refresh_at else 0.0
        if column is Column.ACCESS:
            return row.access_expires_at.timestamp() if row.access_expires_at else float("inf")
        if column is Column.SIGN_IN:
            until = sign_in_expiry(row.refresh_expires_at, row.hard_expires_at)
            return until.timestamp() if until else float("inf")
        return self.display(row, column).casefold()

    def _countdown_colour(self, row: ConnectionSummary, column: Column) -> QColor | None:
        if row.state == "disconnected":
            return None
        if column is Column.SIGN_IN:
            until = sign_in_expiry(row.refresh_expires_at, row.hard_expires_at)
            if until is not None and (until - self._now).days < 14:
                return QColor(STATES["token_expiring"][1])
        elif row.access_expires_at is not None and row.access_expires_at <= self._now:
            return QColor(STATES["disconnected"][1])  # expired access is normal: renewed on next use
        return None

    # -- writing (GUI thread only) -------------------------------------------------------------
    def set_rows(self, rows: Sequence[ConnectionSummary]) -> None:
        """Replace every row (the list is small: one per organization and ledger)."""
        self.beginResetModel()
        self._rows = list(rows)
        self._now = self._clock()
        self.endResetModel()

    def replace_row(self, summary: ConnectionSummary) -> None:
        """Update one connection in place (after an action), or append it if it is new."""
        row = self.row_of(summary.id)
        if row < 0:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
            self._rows.append(summary)
            self.endInsertRows()
            return
        self._rows[row] = summary
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))

    def tick(self) -> None:
        """Move "now" on and repaint the countdowns (no service call: just arithmetic)."""
        self._now = self._clock()
        if self._rows:
            self.dataChanged.emit(self.index(0, Column.ACCESS), self.index(len(self._rows) - 1, Column.SIGN_IN),
                                  [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole])


class ConnectionsFilter(QSortFilterProxyModel):
    """Sorts by real values (times, state severity) and filters on any visible text."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)


class StatusPillDelegate(SharedPill):
    """Draws the status cell as a coloured pill with a dot, so health reads at a glance."""

    colours = STATES
    state_role = STATE_ROLE
    inset = 8


class ElideMiddleDelegate(QStyledItemDelegate):
    """Long ids keep both ends visible ('9130…0001'): people match them by their start and end."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Index) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle
