"""Manual entry: post a return's documents by hand when sync is down, without double-posting.

The form (left) is checked by pre-flight as the person types — debounced, in the background —
and the verdict with the debit/credit preview shows beside it (right). Recording goes through
:class:`~desktop.services.manual.ManualEntryService` (permission-checked, audited); a refusal
counts its problems as errors prevented. Below, the recent entries, "look for entered documents"
(adoption by number) and the export of pending documents in the ledger's own import CSV.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableView,
)

from desktop.services.core.progress import write_file
from desktop.services.manual import Prepared, SubmitResult
from desktop.views.manual.entries import SORT_ROLE, Column, EntriesModel
from desktop.views.manual.form import BAD_COLOUR, OK_COLOUR, CheckPanel, ManualEntryForm
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Card, Page, label, search_field, status_label, toolbar
from desktop.views.pages.info import PAGE_INFO
from desktop.views.returns.services import ReturnServices, services_for
from desktop.views.timers import single_shot_timer

CHECK_DELAY_MS = 400


class ManualEntryPage(Page):
    """The manual fallback, guarded by the same pre-flight checks and idempotency keys as sync."""

    info = PAGE_INFO["manual_entry"]

    def build(self) -> None:
        self.services: ReturnServices | None = services_for(self.context)
        self.last_check: Prepared | None = None
        self.last_result: SubmitResult | None = None
        if self.services is None:
            self.add_empty_state(
                "Ready when you need it",
                "Pick an organization and a return to prepare its documents. You will see a balanced "
                "debit/credit preview before anything is posted.",
                action="Choose a return", target="returns")
            return
        self.form = ManualEntryForm()
        self.check = CheckPanel()
        row = self.add_row(self.form, self.check)
        row.setStretch(0, 5)
        row.setStretch(1, 6)
        self._build_entries()
        self._check_timer = single_shot_timer(self, CHECK_DELAY_MS, self.run_check)
        self._generation = 0
        self.form.changed.connect(self._on_form_changed)
        self.form.check_button.clicked.connect(self.run_check)
        self.form.submit_requested.connect(self.submit)
        for keys, slot in (("Ctrl+Return", self.submit), ("Ctrl+Enter", self.submit), ("Ctrl+E", self.export),
                           ("F5", self.reload)):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    def showEvent(self, event: QShowEvent) -> None:
        """Organizations and entries are read when the page is shown (they change while hidden)."""
        super().showEvent(event)
        if self.services is not None:
            self.reload()

    def _build_entries(self) -> None:
        card = Card()
        top = QHBoxLayout()
        top.addWidget(label("Recorded by hand", "SectionTitle"))
        top.addStretch(1)
        self.filter_edit = search_field("Filter entries", min_width=150, max_width=240)
        top.addWidget(self.filter_edit)
        card.layout_.addLayout(top)
        card.layout_.addSpacing(6)
        self.adopt_button = QPushButton("Look for entered documents")
        self.adopt_button.setToolTip("Find documents entered directly in the ledger by their number and adopt them")
        self.export_button = QPushButton("Export for import…")
        self.export_button.setToolTip("Pending documents of the selected organization in its ledger's own import "
                                      "CSV (Ctrl+E)")
        self.grid_export_button = QPushButton("Export CSV…")
        self.grid_export_button.setToolTip("This list, as shown, to a CSV file")
        self.prevented = label("", "Badge")
        self.prevented.setToolTip("Problems pre-flight stopped in hand-made entries, so they never reached a ledger")
        card.layout_.addLayout(toolbar((self.adopt_button, self.export_button, self.grid_export_button),
                                       (self.prevented,)))
        self.status = status_label(wrap=True)
        card.layout_.addWidget(self.status)
        self.entries = EntriesModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.entries)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.WHEN, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.setMinimumHeight(180)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        card.layout_.addWidget(self.table)
        self.body.addWidget(card)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.adopt_button.clicked.connect(self.adopt_all)
        self.export_button.clicked.connect(self.export)
        self.grid_export_button.clicked.connect(self.export_grid)

    # --- loading -----------------------------------------------------------------------------
    def reload(self) -> None:
        assert self.services is not None
        s = self.services

        def work(_p: Any) -> tuple[list[tuple[str, str]], list[dict[str, Any]], int]:
            return s.query.org_platforms(), s.manual.entries(), s.manual.prevented_count()

        run_in_background(self, work, on_success=self._on_loaded, on_failure=self._on_failure, label="read entries")

    def _on_loaded(self, data: tuple[list[tuple[str, str]], list[dict[str, Any]], int]) -> None:
        orgs, rows, prevented = data
        had_org = self.form.org.currentData() is not None
        self.form.set_organizations(orgs)
        if not had_org and self.form.form() is not None:
            self._check_timer.start()  # typed before the organizations arrived
        self.entries.set_rows(rows)
        self.prevented.setText(f"{prevented:,} manual entry error{'s' if prevented != 1 else ''} prevented")

    def _on_failure(self, exc: BaseException) -> None:
        text = exc.user_message() if hasattr(exc, "user_message") else str(exc)
        self.status.setText(f"<span style='color:{BAD_COLOUR}'>{text}</span>")

    # --- checking and recording ----------------------------------------------------------------
    def _on_form_changed(self) -> None:
        self.form.record_button.setEnabled(False)
        self._check_timer.start()

    def run_check(self) -> None:
        """Pre-flight on the form, in the background; only the newest answer is shown."""
        assert self.services is not None
        self._check_timer.stop()
        form = self.form.form()
        self._generation += 1
        generation = self._generation
        if form is None:
            self.last_check = None
            self.check.show_result(None)
            return
        manual = self.services.manual
        self.check.show_result(None, busy=True)
        run_in_background(self, lambda _p: manual.validate(form),
                          on_success=lambda p: self._on_checked(generation, p), on_failure=self._on_failure,
                          label="check the entry")

    def _on_checked(self, generation: int, prepared: Prepared) -> None:
        if generation != self._generation:
            return
        self.last_check = prepared
        self.check.show_result(prepared)
        self.form.record_button.setEnabled(prepared.return_id is not None)

    def submit(self) -> None:
        """Record (the service validates again and refuses, counting, whatever pre-flight stops)."""
        assert self.services is not None
        form = self.form.form()
        if form is None:
            self.form.rma.setFocus()
            return
        s = self.services
        self.form.record_button.setEnabled(False)
        self.status.setText("Recording…")
        run_in_background(self, lambda _p: s.manual.submit(s.actor, form), on_success=self._on_submitted,
                          on_failure=self._on_failure, label="record the entry")

    def _on_submitted(self, result: SubmitResult) -> None:
        self.last_result = result
        self.check.show_result(result.prepared)
        if result.awaiting_approval:
            self.status.setText(f"{result.prepared.rma} waits for a second person's approval (request "
                                f"{result.approval_id}, Dashboard → Approvals); nothing is queued until then.")
            self.form.clear()
        elif result.ok:
            p = result.prepared
            self.status.setText(f"<span style='color:{OK_COLOUR}'>✓ {p.rma} recorded "
                                f"({len(result.entry_ids)} entr{'y' if len(result.entry_ids) == 1 else 'ies'}).</span>")
            self.form.clear()
        else:
            self.status.setText(f"<span style='color:{BAD_COLOUR}'>Not recorded: {result.prevented} problem(s) "
                                "stopped it — counted as errors prevented.</span>")
        self.reload()

    # --- adoption and export -------------------------------------------------------------------
    def adopt_all(self) -> None:
        assert self.services is not None
        manual = self.services.manual
        self.status.setText("Looking in the ledgers…")
        run_in_background(self, lambda _p: manual.adopt_all(), on_success=self._on_adopted,
                          on_failure=self._on_failure, label="look for entered documents")

    def _on_adopted(self, result: Any) -> None:
        self.status.setText(f"{result.matched} adopted · {result.waiting} not found yet · {result.mismatched} with "
                            "a different amount" + (f" — {result.messages[0]}" if result.messages else ""))
        self.reload()

    def export(self) -> None:
        data = self.form.org.currentData()
        if self.services is None or not data:
            return
        dialog = QFileDialog(self, "Export pending documents", f"{data[0]}-{data[1]}-import.csv", "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.export_to(data[0], path))
        self.export_dialog = dialog
        dialog.open()

    def export_to(self, org: str, path: str) -> None:
        assert self.services is not None
        manual = self.services.manual

        def work(_p: Any) -> Any:
            out = manual.export_csv(org)
            chosen = Path(path)
            for name, text in {"": out.text, **out.files}.items():  # e.g. Xero's invoices beside the credit notes
                target = chosen.with_name(f"{chosen.stem}-{name}{chosen.suffix}") if name else chosen
                write_file(target, text, what="manual-entry export")
            return out

        run_in_background(self, work, on_success=lambda out: self.status.setText(
            f"Exported {out.documents} document(s), {out.rows} row(s) to {path}"
            + (f" (and its {', '.join(out.files)} file(s) beside it)" if out.files else "")
            + (f"; not in this format: {', '.join(out.skipped)}" if out.skipped else "")),
            on_failure=self._on_failure, label="export for import")

    def export_grid(self) -> None:
        """The entries list as shown (filter, sort) to a CSV file, written in the background."""
        from desktop.views.csv_export import choose_and_export, export_csv

        self.grid_dialog = choose_and_export(
            self, "Export manual entries", "manual-entries.csv",
            lambda path: export_csv(self, path, self.proxy, view=self.table,
                                    on_done=lambda p, n: self.status.setText(f"Exported {n} entries to {p}")))
