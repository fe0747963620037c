"""The Audit log grid's rows: a lazy window over the audit trail, fetched 500 entries at a time.

Split from :mod:`desktop.views.pages.audit_log` (the page, which does the fetching in the background).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from desktop.services.admin.audit_trail import SORT_KEYS, AuditEntry
from desktop.views.models.list_table import ListTableModel

if TYPE_CHECKING:
    pass


__all__ = ["HEADERS", "PAGE_SIZE", "AuditLogModel", "action_text", "details_text"]

Index = QModelIndex | QPersistentModelIndex
PAGE_SIZE = 500
HEADERS = ("#", "Time", "Who", "Action", "Target", "Organization", "Details")


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def details_text(details: dict[str, Any]) -> str:
    """``key: value · key: value`` — the details on one line, for the grid (lists comma-separated)."""
    return " · ".join(f"{k.replace('_', ' ')}: {_value_text(v)}" for k, v in details.items()
                      if v not in (None, "", [], {}))


def action_text(action: str) -> str:
    """``user.role_changed`` → ``User · role changed``."""
    subject, _, what = action.partition(".")
    return f"{subject.replace('_', ' ').capitalize()} · {what.replace('_', ' ')}" if what else action


class AuditLogModel(ListTableModel):
    """Entries in windows: ``more_wanted(offset)`` asks the page to load the next one."""

    more_wanted = Signal(int)
    sort_changed = Signal()
    headers = HEADERS

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[AuditEntry] = []
        self.total = 0
        self.loading = False
        self.sort_key = "seq"
        self.descending = True

    def entry_at(self, row: int) -> AuditEntry:
        return self._rows[row]

    def row_of(self, seq: int) -> int | None:
        """The loaded row showing entry ``seq``, if it is loaded."""
        return next((i for i, e in enumerate(self._rows) if e.seq == seq), None)

    def row_data(self, entry: AuditEntry, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == 6:
            return json.dumps(entry.details, indent=1, ensure_ascii=False)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def display(entry: AuditEntry, column: int) -> str:
        values = (str(entry.seq), f"{entry.occurred_at.astimezone():%Y-%m-%d %H:%M:%S}", entry.actor,
                  action_text(entry.action), entry.target or "", entry.organization or "",
                  details_text(entry.details))
        return values[column] if 0 <= column < len(values) else ""

    # -- lazy loading ------------------------------------------------------------------------------
    def canFetchMore(self, parent: Index) -> bool:
        return not parent.isValid() and not self.loading and len(self._rows) < self.total

    def fetchMore(self, parent: Index) -> None:
        if self.canFetchMore(parent):
            self.loading = True
            self.more_wanted.emit(len(self._rows))

    def reset(self, total: int, first: list[AuditEntry]) -> None:
        self.beginResetModel()
        self.total = total
        self._rows = list(first)
        self.loading = False
        self.endResetModel()

    def append_page(self, offset: int, entries: list[AuditEntry]) -> None:
        self.loading = False
        if offset != len(self._rows) or not entries:  # a stale page (the filter changed meanwhile)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(entries) - 1)
        self._rows.extend(entries)
        self.endInsertRows()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting happens in the database: remember the order and ask the page to reload."""
        keys = (*SORT_KEYS, "seq")  # one per column; the details column sorts by sequence
        self.sort_key = keys[column] if 0 <= column < len(keys) else "seq"
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.sort_changed.emit()
