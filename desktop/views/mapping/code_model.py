"""The RMS's codes grouped by kind, as a drag source; unmapped codes stand out.

A two-column tree (code | where it goes): group rows are headings with a count of unmapped codes,
code rows drag as :mod:`~desktop.views.mapping.mime` payloads. Statuses are recomputed by the
editor after every change (:meth:`CodeTreeModel.set_statuses`) — the list is a few dozen rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QMimeData, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QStandardItem, QStandardItemModel

from desktop.views.mapping import mime
from desktop.views.mapping.editing import CODE_KINDS, CodeRef, CodeStatus, code_label
from desktop.views.models.columns import dot_icon

CODE_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2
#: Status → dot colour. Mid-tone hues that read on light and dark bases alike.
STATE_COLOURS = {"mapped": "#1f9d55", "partial": "#d97706", "unmapped": "#e5484d"}
STATE_WORDS = {"mapped": "Mapped", "partial": "Partly mapped", "unmapped": "Unmapped"}

_dots: dict[str, QIcon] = {}


def state_icon(state: str) -> QIcon:
    """A filled dot in the state's colour (drawn once, after QApplication exists)."""
    return dot_icon(_dots, state, STATE_COLOURS.get(state, "#8a94a3"), size=24, radius=6)


class CodeTreeModel(QStandardItemModel):
    """Headings (one per code kind) with their codes; codes drag, headings do not."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["RMS code", "Maps to"])
        self._rows: dict[CodeRef, QStandardItem] = {}
        self._groups: dict[str, QStandardItem] = {}

    def set_codes(self, codes: Sequence[CodeRef]) -> None:
        self.beginResetModel()
        self.blockSignals(True)
        try:
            self.removeRows(0, self.rowCount())
            self._rows.clear()
            self._groups.clear()
            for kind, heading in CODE_KINDS.items():
                group = QStandardItem(heading)
                group.setFlags(Qt.ItemFlag.ItemIsEnabled)
                bold = QFont()
                bold.setBold(True)
                group.setFont(bold)
                filler = QStandardItem("")
                filler.setFlags(Qt.ItemFlag.ItemIsEnabled)
                for code in (c for c in codes if c.kind == kind):
                    item = QStandardItem(code_label(code))
                    item.setData(code, CODE_ROLE)
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                                  | Qt.ItemFlag.ItemIsDragEnabled)
                    if code.kind in ("component", "fee_type"):
                        item.setToolTip(f"{code.value}")
                    target = QStandardItem("")
                    target.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                                    | Qt.ItemFlag.ItemIsDragEnabled)
                    target.setData(code, CODE_ROLE)
                    group.appendRow([item, target])
                    self._rows[code] = item
                self._groups[kind] = group
                self.appendRow([group, filler])
        finally:
            self.blockSignals(False)
            self.endResetModel()

    def set_statuses(self, statuses: Mapping[CodeRef, CodeStatus]) -> None:
        """Colour every code by how well it is mapped and count the unmapped ones per heading."""
        bold = QFont()
        bold.setBold(True)
        for code, item in self._rows.items():
            status = statuses.get(code, CodeStatus("unmapped", "No rule"))
            parent = item.parent()
            sibling = parent.child(item.row(), 1) if parent is not None else None
            item.setData(status.state, STATE_ROLE)
            item.setIcon(state_icon(status.state))
            item.setFont(bold if status.state == "unmapped" else QFont())
            tip = f"{STATE_WORDS[status.state]}: {status.text}"
            item.setToolTip(tip)
            if sibling is not None:
                sibling.setText(status.text.removeprefix("→ ") if status.mapped else STATE_WORDS[status.state])
                sibling.setToolTip(tip)
                sibling.setData(status.state, STATE_ROLE)
                sibling.setData(QColor(STATE_COLOURS["unmapped"]) if status.state == "unmapped" else None,
                                Qt.ItemDataRole.ForegroundRole)
        for kind, group in self._groups.items():
            bad = sum(1 for c in self._rows if c.kind == kind and statuses.get(c) is not None
                      and statuses[c].state == "unmapped")
            filler = self.item(group.row(), 1)
            if filler is not None:
                filler.setText(f"{bad} unmapped" if bad else "")
                filler.setData(QColor(STATE_COLOURS["unmapped"]) if bad else None, Qt.ItemDataRole.ForegroundRole)

    def index_of(self, code: CodeRef) -> QModelIndex:
        item = self._rows.get(code)
        return item.index() if item is not None else QModelIndex()

    def unmapped(self) -> list[CodeRef]:
        return [c for c, item in self._rows.items() if item.data(STATE_ROLE) == "unmapped"]

    # --- drag ----------------------------------------------------------------------------------
    def mimeTypes(self) -> list[str]:
        return [mime.MIME_TYPE]

    def mimeData(self, indexes: Sequence[QModelIndex | QPersistentModelIndex]) -> QMimeData | None:  # type: ignore[override]
        code = next((i.data(CODE_ROLE) for i in indexes if isinstance(i.data(CODE_ROLE), CodeRef)), None)
        return mime.encode(code) if code is not None else None

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction
