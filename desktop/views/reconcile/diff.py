"""Side-by-side document diff: each compared field, the RMS (expected) value and the ledger's,
with the fields that differ highlighted in a theme-aware tint so the eye lands on them first."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from desktop.views.pages.base import tint

__all__ = ["DIFF_COLOUR", "DiffView", "diff_rows"]

#: Highlight hue; drawn as a translucent tint so it reads on light and dark bases alike.
DIFF_COLOUR = QColor("#e8a33d")


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def diff_rows(fields: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """``(field, rms, ledger, differs)`` per compared field; ``_``-prefixed bookkeeping is skipped."""
    out: list[tuple[str, str, str, bool]] = []
    for name, pair in sorted(fields.items()):
        if name.startswith("_"):
            continue
        if isinstance(pair, dict):
            rms, ledger = pair.get("rms", pair.get("local")), pair.get("ledger")
        else:
            rms, ledger = pair, None
        out.append((name.replace("_", " ").capitalize(), _text(rms), _text(ledger), _text(rms) != _text(ledger)))
    return out


class DiffView(QTableWidget):
    """Three columns — Field | RMS / expected | Ledger; differing rows tinted and bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setObjectName("DocumentDiff")
        self.setHorizontalHeaderLabels(["Field", "RMS / expected", "Ledger"])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setShowGrid(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(30)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.differing: list[str] = []

    def show_fields(self, fields: dict[str, Any] | None) -> None:
        rows = diff_rows(fields or {})
        self.setRowCount(len(rows))
        self.differing = [name for name, _, _, differs in rows if differs]
        fill = tint(DIFF_COLOUR, 0.28)
        for r, (name, rms, ledger, differs) in enumerate(rows):
            for c, text in enumerate((name, rms, ledger)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if differs:
                    item.setBackground(fill)
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(r, c, item)
