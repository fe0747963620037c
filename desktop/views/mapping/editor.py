"""The mapping editor: RMS codes on the left, the ledger on the right, the rules below.

Dragging a code onto a ledger record creates or changes a rule (:func:`.editing.apply_drop`) — or,
from the keyboard, selecting both and pressing Ctrl+M;
a refused drop says why in the message line. Every change is an undo command on one
``QUndoStack``; the stack's clean state is "same as the active version", so the title shows
unsaved work and switching organization asks first. Reading and writing go through
``run_in_background`` (:mod:`.actions`); validation of the edited list is pure and quick, so it
runs on each change.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.services.auth.roles import Action, Actor
from desktop.services.core.domain import Problem
from desktop.services.mapping.model import Rule
from desktop.services.mapping.validate import validate
from desktop.views.mapping.code_model import CODE_ROLE, STATE_COLOURS, CodeTreeModel
from desktop.views.mapping.commands import ReplaceRules
from desktop.views.mapping.editing import CodeRef, TargetRef, apply_drop, code_statuses, rule_target_kind
from desktop.views.mapping.impact import OrgBundle
from desktop.views.mapping.ledger_model import TARGET_ROLE, LedgerFilter, LedgerTreeModel
from desktop.views.mapping.rules_model import Column, RulesFilter, RulesModel, problems_by_row
from desktop.views.mapping.widgets import RULE_WIDTHS, WrapBar, fit_tree, plain_tree, unique_keys
from desktop.views.models.selection import current_row
from desktop.views.pages.base import Card, house_style, label

log = logging.getLogger(__name__)
class MappingEditor(QWidget):
    """One organization's rules at a time; ``bundle`` is what was loaded, ``rules`` what is edited."""

    def __init__(self, actor: Actor | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MappingEditor")
        self.actor = actor
        self.bundle: OrgBundle | None = None
        self.problems: list[Problem] = []
        self.last_refusal: str | None = None
        self.undo_stack = QUndoStack(self)
        self.code_model = CodeTreeModel(self)
        self.ledger_model = LedgerTreeModel(self)
        self.ledger_model.drop_handler = self.drop
        self.ledger_filter = LedgerFilter(self)
        self.ledger_filter.setSourceModel(self.ledger_model)
        self.rules_model = RulesModel(self)
        self.rules_model.edit_handler = self._on_rules_model_edited
        self.rules_filter = RulesFilter(self)
        self.rules_filter.setSourceModel(self.rules_model)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(10)
        outer.addWidget(self._build_toolbar())
        self.message = QLabel("")
        self.message.setObjectName("MappingMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        outer.addWidget(self.message)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self._build_sources())
        split.addWidget(self._build_rules())
        split.setSizes([280, 260])
        outer.addWidget(split, 1)
        self.undo_stack.cleanChanged.connect(self._on_undo_stack_clean_changed)
        self._build_shortcuts()
        self.set_enabled_for(None)

    # --- building -------------------------------------------------------------------------------
    def _build_toolbar(self) -> QWidget:
        bar = WrapBar(8)
        row = bar.lead_row
        self.org_combo = QComboBox()
        self.org_combo.setObjectName("MappingOrganization")
        self.org_combo.setToolTip("The organization whose mapping you are editing")
        self.org_combo.setMinimumWidth(170)
        self.org_combo.setMaximumWidth(300)
        row.addWidget(self.org_combo)
        self.version_label = label("", "Badge")
        row.addWidget(self.version_label)
        row.addStretch(1)
        row = bar.tail_row
        self.undo_action = self.undo_stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcuts(unique_keys(QKeySequence("Ctrl+Z"), QKeySequence.StandardKey.Undo))
        self.redo_action = self.undo_stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcuts(unique_keys(QKeySequence("Ctrl+Shift+Z"), QKeySequence.StandardKey.Redo))
        self.buttons: dict[str, QPushButton] = {}
        for key, text, tip in (
                ("undo", "Undo", "Undo the last change (Ctrl+Z)"), ("redo", "Redo", "Redo (Ctrl+Shift+Z)"),
                ("import", "Import…", "Load rules from a YAML/JSON mapping file or template into the editor"),
                ("export", "Export…", "Write the edited rules to a YAML or JSON file"),
                ("preview", "Preview…", "Preview on recent returns: which would post differently (Ctrl+P)"),
                ("save", "Save…", "Save the edited rules as a new version and make it active (Ctrl+S)")):
            button = QPushButton(text)
            button.setObjectName("PrimaryButton" if key == "save" else f"Mapping{key.capitalize()}Button")
            button.setToolTip(tip)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            self.buttons[key] = button
            if key in ("import", "preview"):
                row.addSpacing(4)
            row.addWidget(button)
        self.buttons["undo"].clicked.connect(self.undo_stack.undo)
        self.buttons["redo"].clicked.connect(self.undo_stack.redo)
        self.undo_stack.canUndoChanged.connect(self.buttons["undo"].setEnabled)
        self.undo_stack.canRedoChanged.connect(self.buttons["redo"].setEnabled)
        self.buttons["undo"].setEnabled(False)
        self.buttons["redo"].setEnabled(False)
        return bar

    def _build_sources(self) -> QWidget:
        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        left = Card()
        left.layout_.setContentsMargins(14, 12, 14, 12)
        left.layout_.setSpacing(6)
        left.layout_.addWidget(label("Returns system codes", "SectionTitle"))
        self.codes_hint = label("Drag a code onto an account, tax code, item or tracking option; the Supplier "
                                "component onto a vendor.", "CardHint", wrap=True)
        left.layout_.addWidget(self.codes_hint)
        self.code_view = plain_tree("MappingCodes")
        self.code_view.setModel(self.code_model)
        self.code_view.setDragEnabled(True)
        self.code_view.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.code_view.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.code_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.code_view.selectionModel().currentChanged.connect(self._on_code_current_changed)
        left.layout_.addWidget(self.code_view, 1)
        right = Card()
        right.layout_.setContentsMargins(14, 12, 14, 12)
        right.layout_.setSpacing(6)
        head = WrapBar(8)  # a narrow panel puts the search under the title, not off the page
        self.ledger_title = label("Ledger", "SectionTitle")
        head.lead_row.addWidget(self.ledger_title)
        head.lead_row.addStretch(1)
        self.search_edit = QLineEdit()
        self.search_edit.setObjectName("MappingLedgerSearch")
        self.search_edit.setPlaceholderText("Search the ledger (Ctrl+F)")
        self.search_edit.setToolTip("Search accounts, tax codes, items, tracking and suppliers by name, code or detail")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setMinimumWidth(260)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)
        head.tail_row.addWidget(self.search_edit)
        right.layout_.addWidget(head)
        self.ledger_view = plain_tree("MappingLedger")
        self.ledger_view.setModel(self.ledger_filter)
        self.ledger_view.setAcceptDrops(True)
        self.ledger_view.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.ledger_view.setDragDropOverwriteMode(True)
        self.ledger_view.setDropIndicatorShown(True)
        self.ledger_view.setDefaultDropAction(Qt.DropAction.CopyAction)
        right.layout_.addWidget(self.ledger_view, 1)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([440, 520])
        return split

    def _build_rules(self) -> QWidget:
        card = Card()
        card.layout_.setContentsMargins(14, 12, 14, 12)
        card.layout_.setSpacing(6)
        head = QHBoxLayout()
        head.setSpacing(8)
        self.rules_title = label("Rules", "SectionTitle")
        head.addWidget(self.rules_title)
        self.summary_label = label("", "CardHint", wrap=True)
        head.addWidget(self.summary_label, 1)
        self.problems_only = QCheckBox("Problems only")
        self.problems_only.toggled.connect(self.rules_filter.set_problems_only)
        head.addWidget(self.problems_only)
        self.rules_filter_edit = QLineEdit()
        self.rules_filter_edit.setPlaceholderText("Filter rules")
        self.rules_filter_edit.setClearButtonEnabled(True)
        self.rules_filter_edit.setMaximumWidth(220)
        self.rules_filter_edit.textChanged.connect(self.rules_filter.setFilterFixedString)
        head.addWidget(self.rules_filter_edit)
        self.delete_button = QPushButton("Delete rule")
        self.delete_button.setToolTip("Delete the selected rule (Delete); undo brings it back")
        self.delete_button.clicked.connect(self.delete_selected)
        head.addWidget(self.delete_button)
        self.export_csv_button = QPushButton("Export CSV…")
        head.addWidget(self.export_csv_button)
        card.layout_.addLayout(head)
        self.table = QTableView()
        self.table.setObjectName("MappingRules")
        self.table.setModel(self.rules_filter)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.AnyKeyPressed)
        header = house_style(self.table, 30)
        header.setStretchLastSection(True)
        for column, width in RULE_WIDTHS.items():
            header.resizeSection(column, width)
        card.layout_.addWidget(self.table, 1)
        return card

    def _build_shortcuts(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for action in (self.undo_action, self.redo_action):
            action.setShortcutContext(context)
            self.addAction(action)
        self.delete_action = QAction("Delete rule", self)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.triggered.connect(self.delete_selected)
        self.find_action = QAction("Search the ledger", self)
        self.find_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        self.find_action.triggered.connect(self.search_edit.setFocus)
        self.save_action = QAction("Save version", self)
        self.save_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        self.preview_action = QAction("Preview on recent returns", self)
        self.preview_action.setShortcut(QKeySequence("Ctrl+P"))
        self.assign_action = QAction("Map the selected code to the selected ledger record", self)
        self.assign_action.setShortcut(QKeySequence("Ctrl+M"))  # the keyboard's drag and drop
        self.assign_action.triggered.connect(self.assign_selected)
        for action in (self.delete_action, self.find_action, self.save_action, self.preview_action,
                       self.assign_action):
            action.setShortcutContext(context)
            self.addAction(action)
        self.table.addAction(self.delete_action)

    # --- state ----------------------------------------------------------------------------------
    @property
    def rules(self) -> tuple[Rule, ...]:
        """The edited rule list (what Save would store)."""
        return self.rules_model.rules

    @property
    def may_save(self) -> bool:
        return self.actor is not None and self.actor.can(Action.MANAGE_MAPPINGS)

    def set_enabled_for(self, bundle: OrgBundle | None) -> None:
        ready = bundle is not None and bundle.snapshot is not None and bool(bundle.snapshot.accounts)
        for key in ("import", "export", "preview"):
            self.buttons[key].setEnabled(ready)
        self.buttons["save"].setEnabled(ready and self.may_save)
        if not self.may_save:
            self.buttons["save"].setToolTip("Only an admin may save mapping versions; you can explore and preview")
        self.rules_model.editable = ready

    def show_bundle(self, bundle: OrgBundle) -> None:
        """Put a freshly loaded organization in the editor; its active version is the clean state."""
        self.bundle = bundle
        self.undo_stack.clear()
        self.ledger_model.set_snapshot(bundle.snapshot)
        self.ledger_view.expandToDepth(0)
        self.rules_model.snapshot = bundle.snapshot
        self.rules_model.set_rules(bundle.rules)
        self.code_model.set_codes(bundle.codes)
        self.code_view.expandAll()
        fit_tree(self.code_view, 200, whole_names=True)
        fit_tree(self.ledger_view, 190)
        platform = bundle.snapshot.ledger_name if bundle.snapshot is not None else "Ledger"
        self.ledger_title.setText(platform if bundle.snapshot is None else f"{platform} · chart of accounts")
        self.set_enabled_for(bundle)
        self.refresh()
        self._show_version()

    def _on_undo_stack_clean_changed(self, _clean: bool) -> None:
        self._show_version()

    def _show_version(self) -> None:
        if self.bundle is None:
            self.version_label.setText("")
            return
        base = f"Version {self.bundle.version} active" if self.bundle.version else "No saved version yet"
        unsaved = "" if self.undo_stack.isClean() else " · unsaved changes"
        self.version_label.setText(base + unsaved)

    def refresh(self) -> None:
        """Re-validate the edited rules and recolour codes and rows (pure; a few ms for hundreds of rules)."""
        bundle = self.bundle
        if bundle is None:
            return
        rules = self.rules
        snapshot = bundle.snapshot
        if snapshot is not None and snapshot.accounts:
            self.problems = validate(rules, snapshot, bundle.in_use, bundle.vocabulary)
        else:
            self.problems = []
        self.rules_model.set_problems(problems_by_row(self.problems))
        statuses = code_statuses(bundle.codes, rules, snapshot, bundle.in_use, bundle.jurisdictions)
        self.code_model.set_statuses(statuses)
        unmapped = sum(1 for s in statuses.values() if s.state == "unmapped")
        general = [p for p in self.problems if not (p.field or "").startswith("rules[")]
        parts = [f"{len(rules)} rule{'s' if len(rules) != 1 else ''}",
                 f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}" if self.problems
                 else "no problems", f"{unmapped} unmapped code{'s' if unmapped != 1 else ''}" if unmapped else ""]
        text = " · ".join(p for p in parts if p)
        self.summary_label.setText(text + (" — hover for details" if general else ""))
        self.summary_label.setToolTip("\n".join(f"• {p.message}" for p in self.problems))

    def say(self, text: str, *, error: bool = False) -> None:
        """The message line under the toolbar: what just happened, or why it did not."""
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {STATE_COLOURS['unmapped']}; font-weight: 600;" if error else "")

    # --- changing ---------------------------------------------------------------------------------
    def apply_rules(self, rules: tuple[Rule, ...], row: int) -> None:
        """Where every undo command lands: show ``rules``, select ``row``, re-validate."""
        self.rules_model.set_rules(rules)
        self.refresh()
        if 0 <= row < self.rules_model.rowCount():
            index = self.rules_filter.mapFromSource(self.rules_model.index(row, Column.COMPONENT))
            if index.isValid():
                self.table.selectionModel().setCurrentIndex(
                    index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
                self.table.scrollTo(index)

    def push(self, text: str, after: Sequence[Rule], row: int = -1) -> None:
        self.undo_stack.push(ReplaceRules(text, self.rules, after, self.apply_rules, row))

    def drop(self, code: CodeRef, target: TargetRef) -> bool:
        """A code landed on a ledger record: change or create the rule, or refuse with the reason."""
        bundle = self.bundle
        if bundle is None or bundle.snapshot is None:
            return False
        outcome = apply_drop(self.rules, code, target, bundle.snapshot)
        if not outcome.accepted or outcome.rules is None:
            self.last_refusal = outcome.reason
            self.say(f"Not mapped: {outcome.reason}", error=True)
            log.info("mapping drop refused: %s", outcome.reason)
            return False
        self.last_refusal = None
        if outcome.rules != self.rules:
            self.push(outcome.summary, outcome.rules, outcome.row)
        self.say(outcome.summary)
        return True

    def assign_selected(self) -> bool:
        """Ctrl+M: what dropping the code selected on the left onto the ledger record selected on the right does."""
        code = self.code_view.currentIndex().data(CODE_ROLE)
        target = self.ledger_view.currentIndex().data(TARGET_ROLE)
        if not isinstance(code, CodeRef) or not isinstance(target, TargetRef):
            self.say("Select a return code on the left and a ledger record on the right, then press Ctrl+M.",
                     error=True)
            return False
        return self.drop(code, target)

    def _on_rules_model_edited(self, row: int, rule: Rule) -> None:
        after = (*self.rules[:row], rule, *self.rules[row + 1:])
        self.push(f"Edit {rule.describe()}", after, row)

    def selected_row(self) -> int:
        row = current_row(self.table)
        return -1 if row is None else row

    def delete_selected(self) -> None:
        row = self.selected_row()
        if row < 0 or not self.rules_model.editable:
            return
        rule = self.rules[row]
        self.push(f"Delete {rule.describe()}", (*self.rules[:row], *self.rules[row + 1:]),
                  min(row, len(self.rules) - 2))
        self.say(f"Deleted the rule for {rule.describe()} (Ctrl+Z brings it back)")

    def _on_search_edit_text_changed(self, text: str) -> None:
        self.ledger_filter.setFilterFixedString(text)
        if text:
            self.ledger_view.expandAll()
        else:
            self.ledger_view.collapseAll()
            self.ledger_view.expandToDepth(0)

    def _on_code_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """Picking a code whose rule names a vendor (the Supplier component) brings the Suppliers into view."""
        code = current.data(CODE_ROLE)
        if not isinstance(code, CodeRef) or rule_target_kind(code.base_rule().component) != "vendor":
            return
        heading = self.ledger_filter.mapFromSource(self.ledger_model.find("heading", "vendors"))
        if heading.isValid():
            self.ledger_view.expand(heading)
            self.ledger_view.scrollTo(heading, QAbstractItemView.ScrollHint.PositionAtTop)

    def code_index(self, code: CodeRef) -> QModelIndex:
        return self.code_model.index_of(code)
