"""Save (what changes, with a note) and "preview on recent returns" dialogs.

Both are opened with ``open()`` — window-modal, no nested event loop — and report through
signals. The save dialog lists the change against the active version and every validation
problem; saving with problems needs a second, explicit click (returns that hit them would be
quarantined by pre-flight rather than posted).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.services.core.domain import Problem
from desktop.services.mapping.diff import RuleDiff
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.views.csv_export import choose_and_export, export_csv
from desktop.views.mapping.editing import target_label
from desktop.views.mapping.impact import ReturnImpact
from desktop.views.models.batched import BatchedTableModel
from desktop.views.models.columns import HeadedColumn

Index = QModelIndex | QPersistentModelIndex


def _target(rule: Rule, snapshot: ReferenceSnapshot | None) -> str:
    parts = [target_label(snapshot, "account", rule.account_id), target_label(snapshot, "item", rule.item_id),
             target_label(snapshot, "tax_code", rule.tax_code), ", ".join(t.name or t.option_id for t in rule.tracking)]
    return " · ".join(p for p in parts if p) or "no target"


def change_lines(diff: RuleDiff, snapshot: ReferenceSnapshot | None) -> list[str]:
    """One sentence per added, removed and changed rule, as people read a diff."""
    lines = [f"+ Added: {r.describe()} → {_target(r, snapshot)}" for r in diff.added]
    lines += [f"− Removed: {r.describe()} (was → {_target(r, snapshot)})" for r in diff.removed]
    for c in diff.changed:
        what = ", ".join(f.replace("_id", "").replace("_", " ") for f in c.fields)
        extra = f"; priority {c.old.priority} → {c.new.priority}" if "priority" in c.fields else ""
        lines.append(f"~ Changed {what}: {c.new.describe()}: {_target(c.old, snapshot)} → "
                     f"{_target(c.new, snapshot)}{extra}")
    return lines


class SaveDialog(QDialog):
    """"Save as version N": the changes, the problems, a note. ``accepted`` → read :attr:`note`."""

    def __init__(self, parent: QWidget, org: str, next_version: int, diff: RuleDiff, problems: Sequence[Problem],
                 snapshot: ReferenceSnapshot | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Save {org} mapping as version {next_version}")
        self.setMinimumWidth(640)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        head = QLabel(f"<b>{org}</b>: version {next_version} — {diff.summary()} against the active version.")
        head.setWordWrap(True)
        layout.addWidget(head)
        self.changes = QListWidget()
        self.changes.setObjectName("SaveChanges")
        self.changes.addItems(change_lines(diff, snapshot) or ["No changes to the rules."])
        layout.addWidget(self.changes, 2)
        self.problems_list = QListWidget()
        self.problems_list.setObjectName("SaveProblems")
        if problems:
            warn = QLabel(f"{len(problems)} problem(s): returns that meet them will be quarantined, not posted.")
            warn.setWordWrap(True)
            warn.setStyleSheet("color: #e5484d; font-weight: 600;")
            layout.addWidget(warn)
            self.problems_list.addItems([p.message for p in problems])
            layout.addWidget(self.problems_list, 1)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("What changed and why (kept in the version history and audit log)")
        layout.addWidget(self.note_edit)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        label = "Save with problems" if problems else f"Save version {next_version}"
        self.save_button = self.buttons.addButton(label, QDialogButtonBox.ButtonRole.AcceptRole)
        self.save_button.setObjectName("PrimaryButton")
        self.save_button.setEnabled(not diff.empty)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    @property
    def note(self) -> str | None:
        return self.note_edit.text().strip() or None


class ImpactColumn(HeadedColumn):
    RMA = "Return"
    STATUS = "Sync status"
    UPDATED = "Updated"
    CURRENCY = "Currency"
    CHANGES = "What would change"




class ImpactModel(BatchedTableModel):
    """The returns a change re-routes; rows fetched in batches like every other grid."""

    column_count = len(ImpactColumn)

    def __init__(self, rows: Sequence[ReturnImpact], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows = list(rows)
        self._loaded = min(len(self._rows), self.batch)

    def held(self) -> int:
        return len(self._rows)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(ImpactColumn):
            return ImpactColumn(section).header
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._loaded:
            return None
        row, column = self._rows[index.row()], ImpactColumn(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column is ImpactColumn.RMA:
                return f"{row.rma} (rev. {row.revision})"
            if column is ImpactColumn.STATUS:
                return row.status.capitalize()
            if column is ImpactColumn.UPDATED:
                return row.updated_at.astimezone().strftime("%d %b %Y %H:%M")
            if column is ImpactColumn.CURRENCY:
                return row.currency
            return ("\n" if role == Qt.ItemDataRole.ToolTipRole else "; ").join(row.changes)
        return None


class PreviewDialog(QDialog):
    """"Preview on recent returns": which returns' documents would change, before saving."""

    def __init__(self, parent: QWidget, org: str, checked: int, rows: Sequence[ReturnImpact]) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{org}: returns this change would re-route")
        self.resize(920, 480)
        layout = QVBoxLayout(self)
        word = "return" if checked == 1 else "returns"
        self.summary = QLabel(f"Checked the {checked} most recent {word} of {org}: "
                              f"{len(rows)} would post differently with the edited rules."
                              if rows else f"Checked the {checked} most recent {word} of {org}: none would "
                              "post differently with the edited rules.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.model = ImpactModel(rows, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        bar = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter returns")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        bar.addWidget(self.filter_edit, 1)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.clicked.connect(self._on_export_button_clicked)
        bar.addWidget(self.export_button)
        layout.addLayout(bar)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setShowGrid(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ImpactColumn.CHANGES, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _on_export_button_clicked(self) -> None:
        choose_and_export(self, "Export the preview", "mapping-preview.csv", self.export_to)

    def export_to(self, path: Path) -> None:
        export_csv(self, path, self.proxy, view=self.table)
