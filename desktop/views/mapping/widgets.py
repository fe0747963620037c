"""Small widget helpers of the mapping editor: its trees, the rules grid's column widths, shortcuts."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QHeaderView, QTreeView

from desktop.views.mapping.rules_model import Column

__all__ = ["RULE_WIDTHS", "fit_tree", "plain_tree", "unique_keys"]

RULE_WIDTHS = {Column.CHECK: 84, Column.COMPONENT: 168, Column.REASON: 104, Column.DISPOSITION: 92, Column.CHANNEL: 76,
           Column.WAREHOUSE: 84, Column.CURRENCY: 70, Column.JURISDICTION: 110, Column.PRIORITY: 60,
           Column.ACCOUNT: 220, Column.TAX_CODE: 150, Column.ITEM: 150, Column.TRACKING: 130, Column.NOTE: 160}


def plain_tree(name: str) -> QTreeView:
    """A tree for the code or ledger side: uniform rows, alternating colours, no animation."""
    tree = QTreeView()
    tree.setObjectName(name)
    tree.setUniformRowHeights(True)
    tree.setAlternatingRowColors(True)
    tree.setAnimated(False)
    return tree


def unique_keys(first: QKeySequence, standard: QKeySequence.StandardKey) -> list[QKeySequence]:
    """``first`` plus the platform's own keys for ``standard``, without duplicates (a duplicate
    shortcut is ambiguous, and Qt then triggers neither)."""
    out = [first]
    for key in QKeySequence.keyBindings(standard):
        if key not in out:
            out.append(key)
    return out


def fit_tree(tree: QTreeView, detail: int) -> None:
    """Name column takes the room, detail column a fixed share (set after every model reset)."""
    header = tree.header()
    header.setStretchLastSection(False)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
    header.resizeSection(1, detail)
