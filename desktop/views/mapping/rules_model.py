"""The rules table: conditions, priority and targets of every rule, editable in place.

Rows are the service's frozen :class:`~desktop.services.mapping.model.Rule` values; cells are
formatted when the view asks. Rows arrive in batches (``canFetchMore``/``fetchMore``), so a set of
100,000 rules opens as fast as one of ten. An edit never changes the model directly: ``setData``
builds the new rule and hands it to :attr:`RulesModel.edit_handler` — the editor turns it into an
undo command, which calls :meth:`RulesModel.set_rules` (so undo and typing go through one door).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QApplication

from desktop.services.core.domain import Component, Problem
from desktop.services.mapping.model import COMPONENT_LABELS, Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.views.mapping.code_model import STATE_COLOURS, state_icon
from desktop.views.mapping.editing import rule_target_kind, target_label
from desktop.views.models.batched import BatchedTableModel
from desktop.views.models.columns import HeadedColumn

Index = QModelIndex | QPersistentModelIndex
RULE_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
BATCH = 500


class Column(HeadedColumn):
    CHECK = "Check"
    COMPONENT = "Component"
    REASON = "Reason"
    DISPOSITION = "Disposition"
    CHANNEL = "Channel"
    WAREHOUSE = "Warehouse"
    CURRENCY = "Currency"
    JURISDICTION = "Tax jurisdiction"
    PRIORITY = "Priority"
    ACCOUNT = "Account"
    TAX_CODE = "Tax code"
    ITEM = "Item"
    TRACKING = "Tracking"
    NOTE = "Note"


#: Column → the Rule field it edits in place (targets change by drag and drop).
FIELDS = {Column.COMPONENT: "component", Column.REASON: "reason_code", Column.DISPOSITION: "disposition",
          Column.CHANNEL: "channel", Column.WAREHOUSE: "warehouse", Column.CURRENCY: "currency",
          Column.JURISDICTION: "tax_jurisdiction", Column.PRIORITY: "priority", Column.NOTE: "note"}
CONDITION_COLUMNS = (Column.REASON, Column.DISPOSITION, Column.CHANNEL, Column.WAREHOUSE, Column.CURRENCY,
                     Column.JURISDICTION)
ANY = "any"
EditHandler = Callable[[int, Rule], None]


def problems_by_row(problems: Sequence[Problem]) -> dict[int, list[Problem]]:
    """``rules[3].account`` → row 3; problems without a rule field are not any row's."""
    out: dict[int, list[Problem]] = {}
    for p in problems:
        if p.field and p.field.startswith("rules["):
            try:
                row = int(p.field[6:p.field.index("]")])
            except ValueError:
                continue
            out.setdefault(row, []).append(p)
    return out


class RulesModel(BatchedTableModel):
    """A rule list (fetched lazily into the view) with per-row validation problems."""

    batch = BATCH
    column_count = len(Column)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rules: tuple[Rule, ...] = ()
        self._problems: dict[int, list[Problem]] = {}
        self.snapshot: ReferenceSnapshot | None = None
        self.edit_handler: EditHandler | None = None
        self.editable = True

    # -- reading ---------------------------------------------------------------------------------
    def held(self) -> int:
        return len(self._rules)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """All rules, fetched into the view or not."""
        return self._rules

    def rule_at(self, row: int) -> Rule:
        return self._rules[row]

    def problems_at(self, row: int) -> list[Problem]:
        return self._problems.get(row, [])

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return Column(section).header
        if role == Qt.ItemDataRole.ToolTipRole and Column(section) is Column.PRIORITY:
            return "The most specific rule wins; among equally specific rules, the higher priority wins."
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.editable and Column(index.column()) in FIELDS:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._loaded:
            return None
        rule, column = self._rules[index.row()], Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(index.row(), rule, column)
        if role == Qt.ItemDataRole.EditRole:
            value = getattr(rule, FIELDS[column]) if column in FIELDS else self._display(index.row(), rule, column)
            if column is Column.COMPONENT:
                return rule.component.value
            return value if column is Column.PRIORITY else (value or "")
        if role == SORT_ROLE:
            return rule.priority if column is Column.PRIORITY else (self._display(index.row(), rule, column) or "")
        if role == RULE_ROLE:
            return rule
        if role == Qt.ItemDataRole.DecorationRole and column is Column.CHECK:
            return state_icon("unmapped" if self._problems.get(index.row()) else "mapped")
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(index.row(), rule, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(index.row(), rule, column)
        if role == Qt.ItemDataRole.FontRole and column in CONDITION_COLUMNS and getattr(rule, FIELDS[column]) is None:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.PRIORITY:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: int, rule: Rule, column: Column) -> str:
        if column is Column.CHECK:
            n = len(self._problems.get(row, []))
            return f"{n} problem{'s' if n != 1 else ''}" if n else "OK"
        if column is Column.COMPONENT:
            return COMPONENT_LABELS[rule.component]
        if column in CONDITION_COLUMNS:
            return getattr(rule, FIELDS[column]) or ANY
        if column is Column.PRIORITY:
            return str(rule.priority)
        if column is Column.ACCOUNT:
            return target_label(self.snapshot, rule_target_kind(rule.component), rule.account_id)
        if column is Column.TAX_CODE:
            return target_label(self.snapshot, "tax_code", rule.tax_code)
        if column is Column.ITEM:
            return target_label(self.snapshot, "item", rule.item_id)
        if column is Column.TRACKING:
            return ", ".join(t.name or t.option_id for t in rule.tracking)
        return rule.note or ""

    def _tooltip(self, row: int, rule: Rule, column: Column) -> str | None:
        problems = self._problems.get(row, [])
        if column is Column.CHECK or (problems and column in (Column.ACCOUNT, Column.TAX_CODE, Column.ITEM)):
            return "\n".join(f"• {p.message}" for p in problems) if problems else "No problems with this rule"
        if column in CONDITION_COLUMNS and getattr(rule, FIELDS[column]) is None:
            return f"Matches any {column.header.lower()}; double-click to pin one"
        return None

    def _foreground(self, row: int, rule: Rule, column: Column) -> QColor | None:
        if column is Column.CHECK and self._problems.get(row):
            return QColor(STATE_COLOURS["unmapped"])
        if column in CONDITION_COLUMNS and getattr(rule, FIELDS[column]) is None:
            return QApplication.palette().placeholderText().color()
        return None

    # -- editing -----------------------------------------------------------------------------------
    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or Column(index.column()) not in FIELDS:
            return False
        rule = self._rules[index.row()]
        name = FIELDS[Column(index.column())]
        try:
            new = self._edited(rule, name, value)
        except ValueError:
            return False
        if new == rule and new.note == rule.note:
            return False
        if self.edit_handler is not None:
            self.edit_handler(index.row(), new)
        else:
            self.set_rules((*self._rules[:index.row()], new, *self._rules[index.row() + 1:]))
        return True

    @staticmethod
    def _edited(rule: Rule, name: str, value: Any) -> Rule:
        if name == "priority":
            return replace(rule, priority=int(value))
        if name == "component":
            return replace(rule, component=Component(str(value)))
        text = str(value or "").strip()
        if name != "note" and text.casefold() == ANY:
            text = ""
        changes: dict[str, Any] = {name: text or None}
        return replace(rule, **changes)

    def set_rules(self, rules: Sequence[Rule]) -> None:
        """Show ``rules``, telling the view only what changed (one row edited, added or removed)."""
        old, new = self._rules, tuple(rules)
        if len(new) == len(old):
            self._rules = new
            changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True))
                       if a != b or a.note != b.note or a.rule_id != b.rule_id]
            if changed and changed[0] < self._loaded:
                last = min(changed[-1], self._loaded - 1)
                self.dataChanged.emit(self.index(changed[0], 0), self.index(last, len(Column) - 1))
            return
        first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
        if len(new) == len(old) + 1 and new[first + 1:] == old[first:] and first <= self._loaded:
            self.beginInsertRows(QModelIndex(), first, first)
            self._rules, self._loaded = new, self._loaded + 1
            self.endInsertRows()
        elif len(new) == len(old) - 1 and new[first:] == old[first + 1:] and first < self._loaded:
            self.beginRemoveRows(QModelIndex(), first, first)
            self._rules, self._loaded = new, self._loaded - 1
            self.endRemoveRows()
        else:
            self.beginResetModel()
            self._rules, self._loaded = new, min(len(new), BATCH)
            self.endResetModel()

    def set_problems(self, problems: Mapping[int, list[Problem]]) -> None:
        self._problems = dict(problems)
        if self._loaded:
            self.dataChanged.emit(self.index(0, 0), self.index(self._loaded - 1, len(Column) - 1))


class RulesFilter(QSortFilterProxyModel):
    """Text filter over every column; sorts by each column's natural order (priority as a number)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        self.setSortRole(SORT_ROLE)
        self.problems_only = False

    def set_problems_only(self, on: bool) -> None:
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            self.problems_only = on
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - Qt < 6.10
            self.problems_only = on
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if self.problems_only and isinstance(model, RulesModel) and not model.problems_at(source_row):
            return False
        return super().filterAcceptsRow(source_row, source_parent)
