"""Side-by-side document diff: each compared field, the RMS (expected) value and the ledger's,
with the fields that differ highlighted in a theme-aware tint so the eye lands on them first."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from desktop.views.models.status import status_label
from desktop.views.pages.base import tint

__all__ = ["DIFF_COLOUR", "DiffView", "diff_rows", "field_difference"]

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

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


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def field_difference(rms: str, ledger: str, currency: str | None) -> str:
    """Ledger − RMS for an amount field, with the currency (none for a quantity: ``currency`` None;
    ``""`` when not two numbers)."""
    a, b = _amount(rms), _amount(ledger)
    if a is None or b is None or a == b:
        return ""
    return f"{b - a:+,f} {currency or ''}".strip()


def _status_text(value: Any) -> str:
    return "—" if value is None else status_label(str(value))


def _label(name: str, pair: Any) -> str:
    """A field's name for people: ``Quantity of <item>`` for a tracked item's quantity (the item's
    code as the ledger writes it, never re-cased), else the name with its first letter raised."""
    if isinstance(pair, dict) and pair.get("item"):
        return f"Quantity of {pair['item']}"
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def diff_rows(fields: dict[str, Any]) -> list[tuple[str, str, str, bool, bool]]:
    """``(field, rms, ledger, differs, money)`` per compared field; ``_``-prefixed bookkeeping is
    skipped; a status field's values are shown in words (the app's one status map), never the stored
    value; ``money`` is False for a quantity (its difference carries no currency)."""
    out: list[tuple[str, str, str, bool, bool]] = []
    for name, pair in sorted(fields.items()):
        if name.startswith("_"):
            continue
        if isinstance(pair, dict):
            rms, ledger = pair.get("rms", pair.get("local")), pair.get("ledger")
        else:
            rms, ledger = pair, None
        show = _status_text if name.endswith("status") else _text
        money = not (isinstance(pair, dict) and pair.get("item"))
        out.append((_label(name, pair), show(rms), show(ledger), _text(rms) != _text(ledger), money))
    return out


class DiffView(QTableWidget):
    """Four columns — Field | Expected (the RMS's) | Ledger | Difference (ledger − RMS, with the
    currency); amounts right-aligned; differing rows tinted and bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 4, parent)
        self.setObjectName("DocumentDiff")
        self.setHorizontalHeaderLabels(["Field", "Expected", "Ledger", "Difference"])
        expected = self.horizontalHeaderItem(1)
        if expected is not None:
            expected.setToolTip("What the RMS record implies the ledger should hold")
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setShowGrid(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(30)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        self.differing: list[str] = []

    def show_fields(self, fields: dict[str, Any] | None, currency: str | None = None,
                    difference: str | None = None) -> None:
        """The compared fields; ``difference`` (the variance's own, with its currency) is shown as
        the last row, so the diff always states what the variance adds to the headline."""
        rows = diff_rows(fields or {})
        extra = [("Variance difference", "", "", difference)] if difference else []
        self.setRowCount(len(rows) + len(extra))
        self.differing = [name for name, _, _, differs, _ in rows if differs]
        fill = tint(DIFF_COLOUR, 0.28)
        cells = [(name, rms, ledger, field_difference(rms, ledger, currency if money else None), differs)
                 for name, rms, ledger, differs, money in rows]
        cells += [(name, a, b, d, False) for name, a, b, d in extra]
        for r, (name, rms, ledger, delta, differs) in enumerate(cells):
            for c, text in enumerate((name, rms, ledger, delta)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if c and (c == 3 or _amount(text) is not None):
                    item.setTextAlignment(_RIGHT)
                if differs:
                    item.setBackground(fill)
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                self.setItem(r, c, item)
