"""The live error log as a table: newest events appended in batches, oldest dropped past a cap.

Rows are the service layer's immutable ``Event`` objects, kept as they are; cells are formatted
only when the view asks for them, so 100k rows cost a list of references, not 500k strings. The
filter proxy reads events directly (not through ``data()``), which keeps re-filtering fast.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

if TYPE_CHECKING:
    from desktop.services.events import Event

Index = QModelIndex | QPersistentModelIndex

SEVERITY_ORDER = ("debug", "info", "warning", "error", "critical")
SEVERITY_COLOURS = {
    "debug": "#8a94a3", "info": "#3b82f6", "warning": "#f59e0b", "error": "#e5484d", "critical": "#b4236f",
}
EVENT_ROLE = Qt.ItemDataRole.UserRole + 1
#: Events carry platform codes (the event log column is short); people read names.
PLATFORM_NAMES = {"qbo": "QuickBooks Online", "xero": "Xero", "rms": "RMS"}


class Column(IntEnum):
    TIME = 0
    SEVERITY = 1
    ORGANIZATION = 2
    DOCUMENT = 3
    MESSAGE = 4


HEADERS = {
    Column.TIME: "Time", Column.SEVERITY: "Severity", Column.ORGANIZATION: "Organization",
    Column.DOCUMENT: "Return / document", Column.MESSAGE: "Message",
}


def severity_name(event: Event) -> str:
    return str(getattr(event.severity, "value", event.severity)).lower()


def severity_rank(name: str) -> int:
    return SEVERITY_ORDER.index(name) if name in SEVERITY_ORDER else 0


_icon_cache: dict[str, QIcon] = {}


def severity_icon(name: str) -> QIcon:
    """A filled dot in the severity's colour (drawn once per severity, after QApplication exists)."""
    icon = _icon_cache.get(name)
    if icon is None:
        pixmap = QPixmap(28, 28)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(SEVERITY_COLOURS.get(name, "#8a94a3")))
        painter.drawEllipse(QPointF(14, 14), 8, 8)
        painter.end()
        pixmap.setDevicePixelRatio(2.0)
        icon = _icon_cache[name] = QIcon(pixmap)
    return icon


def document_text(event: Event) -> str:
    """'RMA-1001 · CM-RLS-…' — whichever of the return and the document the event names."""
    parts = [p for p in (event.rma, event.document_key) if p]
    return " · ".join(str(p) for p in parts)


def message_text(event: Event) -> str:
    """Our message, then the platform's own code and words when it gave any."""
    if event.platform_code or event.platform_message:
        who = f"{PLATFORM_NAMES.get(event.platform, event.platform)} " if event.platform else ""
        code = f"{event.platform_code}: " if event.platform_code else ""
        return f"{event.message} ({who}{code}{event.platform_message or ''})".replace(": )", ")")
    return str(event.message)


class EventLogModel(QAbstractTableModel):
    """Events in arrival order; at most ``max_rows`` (oldest removed first)."""

    def __init__(self, parent: QObject | None = None, *, max_rows: int = 100_000) -> None:
        super().__init__(parent)
        self._rows: list[Event] = []
        self._counts = dict.fromkeys(SEVERITY_ORDER, 0)
        self.max_rows = max_rows

    # -- reading -------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(Column)

    def event_at(self, row: int) -> Event:
        return self._rows[row]

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(Column):
            return HEADERS[Column(section)]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        event = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(event, column)
        if role == Qt.ItemDataRole.DecorationRole and column is Column.SEVERITY:
            return severity_icon(severity_name(event))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(event)
        if role == EVENT_ROLE:
            return event
        return None

    @staticmethod
    def _display(event: Event, column: Column) -> str:
        if column is Column.TIME:
            return event.occurred_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        if column is Column.SEVERITY:
            return severity_name(event).capitalize()
        if column is Column.ORGANIZATION:
            return str(event.org or "")
        if column is Column.DOCUMENT:
            return document_text(event)
        return message_text(event)

    @staticmethod
    def _tooltip(event: Event) -> str:
        lines = [message_text(event), f"{event.kind} · {event.occurred_at.isoformat()}"]
        return "\n".join(lines)

    # -- writing (GUI thread only) -------------------------------------------------------------
    def append_events(self, events: Sequence[Event]) -> None:
        """Add a batch at the end, then trim the oldest rows past ``max_rows``."""
        if not events:
            return
        if len(events) > self.max_rows:
            events = events[-self.max_rows:]
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(events) - 1)
        self._rows.extend(events)
        self._tally(events, +1)
        self.endInsertRows()
        overflow = len(self._rows) - self.max_rows
        if overflow > 0:
            self.beginRemoveRows(QModelIndex(), 0, overflow - 1)
            self._tally(self._rows[:overflow], -1)
            del self._rows[:overflow]
            self.endRemoveRows()

    def prepend_events(self, events: Sequence[Event]) -> int:
        """Insert older events (history from the database) before the live ones.

        Events already shown (same ``event_id``: published live while the history was loading)
        are skipped. Returns how many rows were added; never grows past ``max_rows``.
        """
        known = {e.event_id for e in self._rows}
        fresh = [e for e in events if e.event_id not in known]
        room = self.max_rows - len(self._rows)
        fresh = fresh[-room:] if room > 0 else []
        if not fresh:
            return 0
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._rows[:0] = fresh
        self._tally(fresh, +1)
        self.endInsertRows()
        return len(fresh)

    def _tally(self, events: Sequence[Event], sign: int) -> None:
        for event in events:
            name = severity_name(event)
            self._counts[name] = self._counts.get(name, 0) + sign

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._counts = dict.fromkeys(SEVERITY_ORDER, 0)
        self.endResetModel()

    def counts(self) -> dict[str, int]:
        """Rows per severity name (for the dock's summary line); kept up to date incrementally."""
        return dict(self._counts)


class EventFilterProxy(QSortFilterProxyModel):
    """Filters by minimum severity and by text in organization, return/document, message or code."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._min_rank = 0

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "_text", text.strip().casefold()))

    def set_min_severity(self, name: str) -> None:
        self._refilter(lambda: setattr(self, "_min_rank", severity_rank(name)))

    def _refilter(self, change: Callable[[], None]) -> None:
        """Qt 6.10 replaced ``invalidateRowsFilter`` with begin/endFilterChange; support both."""
        if hasattr(self, "endFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - Qt < 6.10
            change()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if not isinstance(model, EventLogModel):
            return True
        event = model.event_at(source_row)
        if self._min_rank and severity_rank(severity_name(event)) < self._min_rank:
            return False
        if not self._text:
            return True
        haystack = " ".join(str(x) for x in (event.org, event.rma, event.document_key, event.message,
                                             event.platform_code, event.platform_message, event.kind) if x)
        return self._text in haystack.casefold()
