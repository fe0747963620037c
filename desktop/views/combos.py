"""Refilling a choice box without losing the person's choice (organizations, actors, environments).

Filters and forms refill their combo boxes when what they offer changes; the choice the person
made must survive the refill, and the refill itself is not a choice (no change signals). Written
once, here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtWidgets import QComboBox

__all__ = ["refill"]

_CHOSEN = object()


def refill(combo: QComboBox, items: Iterable[tuple[str, Any]], *, keep: Any = _CHOSEN) -> None:
    """Replace ``combo``'s items with ``items`` (text, data) without emitting its change signals,
    then choose the item whose data is ``keep`` (by default, the data chosen before), else the first."""
    wanted = combo.currentData() if keep is _CHOSEN else keep
    combo.blockSignals(True)
    try:
        combo.clear()
        for text, data in items:
            combo.addItem(text, data)
        combo.setCurrentIndex(max(0, combo.findData(wanted)))
    finally:
        combo.blockSignals(False)
