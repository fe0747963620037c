"""Small widget helpers of the mapping editor: its trees, the rules grid's column widths, shortcuts."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QKeySequence, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QHeaderView, QTreeView, QWidget

from desktop.views.mapping.rules_model import Column

__all__ = ["RULE_WIDTHS", "WrapBar", "fit_tree", "plain_tree", "unique_keys"]

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


def fit_tree(tree: QTreeView, detail: int, *, whole_names: bool = False) -> None:
    """Name column takes the room, detail column a fixed width but at most a third of a narrow tree
    (set after every model reset, kept on every resize).

    ``whole_names``: the names are what a person drags and must read whole (the RMS codes), so the
    name column is as wide as its longest name — up to three fifths of the tree — and the detail
    column takes what is left."""
    header = tree.header()
    header.setStretchLastSection(False)
    share = tree.findChild(_ColumnShare)
    if share is None:
        share = _ColumnShare(tree)
        tree.viewport().installEventFilter(share)
    if whole_names:
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        share.column, share.wanted, share.share = 0, max(tree.sizeHintForColumn(0), min(detail, 120)), (3, 5)
    else:
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        share.column, share.wanted, share.share = 1, detail, (1, 3)
    share.fit()


class _ColumnShare(QObject):
    """Keeps one column of a tree at the width it wants, but at most its share of the tree's width
    (the other column stretches), whenever the tree is resized."""

    def __init__(self, tree: QTreeView) -> None:
        super().__init__(tree)
        self.tree, self.column, self.wanted, self.share = tree, 1, 0, (1, 3)

    def fit(self) -> None:
        room = self.tree.viewport().width()
        part, whole = self.share
        self.tree.header().resizeSection(self.column, min(self.wanted, room * part // whole) if room > 0
                                         else self.wanted)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return super().eventFilter(watched, event)


class WrapBar(QWidget):
    """A toolbar of two parts — what it is about (``lead``) and what can be done (``tail``) — on one
    line when the page is wide enough, the actions on a line of their own, right-aligned, when not:
    a narrow window never pushes a button off the page."""

    def __init__(self, spacing: int = 8, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lead, self.tail = QWidget(), QWidget()
        self.lead_row, self.tail_row = QHBoxLayout(self.lead), QHBoxLayout(self.tail)
        for row in (self.lead_row, self.tail_row):
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(spacing)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(spacing)
        self._grid.setVerticalSpacing(spacing)
        self._grid.setColumnStretch(0, 1)
        self.wrapped: bool | None = None
        self._place(False)
        for part in (self.lead, self.tail):  # a part grown (a longer title) may no longer fit
            part.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest and watched in (self.lead, self.tail):
            self.refit()
        return super().eventFilter(watched, event)

    def refit(self) -> None:
        """One line or two, for the width the bar has now and what its parts need."""
        if self.width() > 0:
            self._place(self.width() < self.one_line_width())

    def _place(self, wrapped: bool) -> None:
        if wrapped == self.wrapped:
            return
        self.wrapped = wrapped
        self._grid.removeWidget(self.lead)
        self._grid.removeWidget(self.tail)
        if wrapped:
            self._grid.addWidget(self.lead, 0, 0)
            self._grid.addWidget(self.tail, 1, 0, Qt.AlignmentFlag.AlignRight)
        else:
            self._grid.addWidget(self.lead, 0, 0)
            self._grid.addWidget(self.tail, 0, 1, Qt.AlignmentFlag.AlignRight)

    def one_line_width(self) -> int:
        return self.lead.sizeHint().width() + self._grid.horizontalSpacing() + self.tail.sizeHint().width()

    def minimumSizeHint(self) -> QSize:
        """As narrow as the wider part: the other goes on its own line."""
        hint = super().minimumSizeHint()
        return QSize(max(self.lead.minimumSizeHint().width(), self.tail.minimumSizeHint().width()), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.refit()
