"""The live error log as a table: newest events appended in batches, oldest dropped past a cap.

Rows are the service layer's immutable ``Event`` objects, kept as they are; cells are formatted
only when the view asks for them, so 100k rows cost a list of references, not 500k strings. The
filter proxy reads events directly (not through ``data()``), which keeps re-filtering fast.

Whether a person has resolved an event is not part of the event (events never change); the model
keeps an overlay of :class:`~desktop.services.queries.errors.Resolution` by ``event_id``, filled from
the database with the history and updated when someone resolves from the pane.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPointF,
    Qt,
)
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap

from desktop.services.rms.facts import RMS
from desktop.views.models.columns import HeadedColumn
from desktop.views.models.list_table import ListTableModel
from desktop.views.sources import source_name

if TYPE_CHECKING:
    from desktop.services.core.events import Event
    from desktop.services.queries.errors import Resolution
Index = QModelIndex | QPersistentModelIndex

SEVERITY_ORDER = ("debug", "info", "warning", "error", "critical")
SEVERITY_COLOURS = {
    "debug": "#8a94a3", "info": "#3b82f6", "warning": "#f59e0b", "error": "#e5484d", "critical": "#b4236f",
    "resolved": "#2f9e62",
}
EVENT_ROLE = Qt.ItemDataRole.UserRole + 1


def platform_name(key: str | None, default: str | None = None) -> str:
    """Events carry platform codes; people read names: a ledger's full name, the RMS as "RMS"
    (the column is short). An unknown code reads as ``default``, else as itself."""
    return source_name(key, short=key == RMS.key, default=default)



class Column(HeadedColumn):
    TIME = "Time"
    SEVERITY = "Severity"
    ORGANIZATION = "Organization"
    DOCUMENT = "Return / document"
    MESSAGE = "Message"




def severity_name(event: Event) -> str:
    return str(getattr(event.severity, "value", event.severity)).lower()


def severity_rank(name: str) -> int:
    return SEVERITY_ORDER.index(name) if name in SEVERITY_ORDER else 0


_icon_cache: dict[str, QIcon] = {}


def severity_icon(name: str) -> QIcon:
    """A filled dot in the severity's colour (drawn once per severity, after QApplication exists);
    ``"resolved"`` is a ring with a tick, so handled rows read as done at a glance."""
    icon = _icon_cache.get(name)
    if icon is None:
        pixmap = QPixmap(28, 28)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(SEVERITY_COLOURS.get(name, "#8a94a3"))
        if name == "resolved":
            painter.setPen(QPen(colour, 2.6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                                Qt.PenJoinStyle.RoundJoin))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(14, 14), 9, 9)
            painter.drawPolyline([QPointF(9.5, 14.5), QPointF(12.8, 17.6), QPointF(18.6, 10.8)])
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(QPointF(14, 14), 8, 8)
        painter.end()
        pixmap.setDevicePixelRatio(2.0)
        icon = _icon_cache[name] = QIcon(pixmap)
        icon.addPixmap(pixmap, QIcon.Mode.Selected)  # keep the true colour on a selected row
    return icon


def document_text(event: Event) -> str:
    """'RMA-1001 · CM-RLS-…' — whichever of the return and the document the event names."""
    parts = [p for p in (event.rma, event.document_key) if p]
    return " · ".join(str(p) for p in parts)


def message_text(event: Event) -> str:
    """Our message, then the platform's own code and words when it gave any."""
    if event.platform_code or event.platform_message:
        who = f"{platform_name(event.platform)} " if event.platform else ""
        code = f"{event.platform_code}: " if event.platform_code else ""
        return f"{event.message} ({who}{code}{event.platform_message or ''})".replace(": )", ")")
    return str(event.message)


class EventLogModel(ListTableModel):
    """Events in arrival order; at most ``max_rows`` (oldest removed first)."""

    headers = Column.headers()

    def __init__(self, parent: QObject | None = None, *, max_rows: int = 100_000) -> None:
        super().__init__(parent)
        self._rows: list[Event] = []
        self._counts = dict.fromkeys(SEVERITY_ORDER, 0)
        self._resolutions: dict[str, Resolution] = {}
        self._orgs: set[str] = set()
        self.max_rows = max_rows

    # -- reading -------------------------------------------------------------------------------

    def event_at(self, row: int) -> Event:
        return self._rows[row]

    def events_between(self, first: int, stop: int) -> list[Event]:
        return self._rows[first:stop]

    def events(self) -> list[Event]:
        """A snapshot of every row (a list of references to immutable events: cheap, thread-safe)."""
        return list(self._rows)

    def resolution(self, event_id: str) -> Resolution | None:
        return self._resolutions.get(event_id)

    def organizations(self) -> list[str]:
        """Every organization code seen so far, sorted (for the pane's organization filter)."""
        return sorted(self._orgs)

    def row_data(self, event: Event, col: int, role: int) -> Any:
        column = Column(col)
        resolved = self._resolutions.get(event.event_id) if self._resolutions else None
        if role == Qt.ItemDataRole.DisplayRole:
            if resolved is not None and column is Column.SEVERITY:
                return "Resolved"
            return self._display(event, column)
        if role == Qt.ItemDataRole.DecorationRole and column is Column.SEVERITY:
            return severity_icon("resolved" if resolved is not None else severity_name(event))
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self._tooltip(event)
            if resolved is not None:
                tip += f"\nResolved by {resolved.by}: {resolved.note}"
            return tip
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
        counts, orgs = self._counts, self._orgs
        for event in events:
            name = event.severity.value
            counts[name] = counts.get(name, 0) + sign
            if sign > 0 and event.org:
                orgs.add(event.org)

    def set_resolutions(self, resolutions: dict[str, Resolution]) -> None:
        """Overlay resolutions (from history or a Resolve just done) and repaint the rows they touch."""
        if not resolutions:
            return
        self._resolutions.update(resolutions)
        touched = [r for r, e in enumerate(self._rows) if e.event_id in resolutions]
        if touched:
            self.dataChanged.emit(self.index(min(touched), 0), self.index(max(touched), len(Column) - 1))

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._counts = dict.fromkeys(SEVERITY_ORDER, 0)
        self._orgs.clear()
        self.endResetModel()

    def counts(self) -> dict[str, int]:
        """Rows per severity name (for the dock's summary line); kept up to date incrementally."""
        return dict(self._counts)




EXPORT_HEADERS = ("Time (UTC)", "Severity", "Organization", "Return", "Document", "Kind", "Message", "Platform",
                  "Platform code", "Platform message", "Resolved by", "Resolved at (UTC)", "Resolution note")


def export_row(item: tuple[Event, Resolution | None]) -> tuple[object, ...]:
    """One CSV row for an event and its resolution; pure, so it runs on the export's worker thread."""
    event, resolved = item
    return (event.occurred_at.isoformat(), event.severity.value, event.org or "", event.rma or "",
            event.document_key or "", event.kind, event.message, platform_name(event.platform, ""),
            event.platform_code or "", event.platform_message or "", resolved.by if resolved else "",
            resolved.at.isoformat() if resolved else "", resolved.note if resolved else "")
