"""Returns: every return pulled from the RMS and the ledger documents it produced.

A windowed grid (:class:`~desktop.views.returns.model.ReturnsModel`: SQL does the sorting,
filtering and paging, so 100,000 returns scroll like 100) over a detail panel with the RMS record,
the documents and their ledger ids, the debit/credit preview and the sync history. Actions —
retry, re-post after a mapping fix, adopt an existing ledger document, void in the ledger — run in
the background through :class:`~desktop.services.manual.ManualEntryService`, which checks
the actor's permissions; the destructive one (void) asks first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QModelIndex, QSize, Qt
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QWidget,
)

from desktop.services.queries.returns import ATTENTION, ReturnDetail, ReturnFilter
from desktop.views.bridge import EventBridge
from desktop.views.combos import refill
from desktop.views.confirm import ask
from desktop.views.csv_export import export_in_dialog
from desktop.views.models.selection import current_row
from desktop.views.models.status import status_label as status_words
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Page, StatusLine, search_field, status_label
from desktop.views.pages.info import PAGE_INFO
from desktop.views.returns import bulk
from desktop.views.returns.detail import DetailPanel
from desktop.views.returns.filters import FilterBar
from desktop.views.returns.import_flow import ImportDialog
from desktop.views.returns.model import ROW_ROLE, ReturnRow, ReturnsModel
from desktop.views.returns.services import ReturnServices, services_for
from desktop.views.returns.table import returns_table
from desktop.views.timers import single_shot_timer

STATUS_CHOICES: tuple[tuple[str, str | None], ...] = (("All statuses", None), *((status_words(v), v) for v in (
    ATTENTION, "new", "ready", "posted", "quarantined", "superseded", "ignored")))
REFRESH_DELAY_MS = 1000


class ReturnsPage(StatusLine, Page):
    """The returns grid and each document's state (pending, posted, quarantined…)."""

    info = PAGE_INFO["returns"]

    def __init__(self, context: Any, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.body.setStretch(self.body.count() - 1, 0)  # the grid, not the page's trailing stretch, grows

    def build(self) -> None:
        self._wanted: tuple[str, str] | None = None  # (org, RMA) asked for by show_return, until shown
        self.services: ReturnServices | None = services_for(self.context)
        self.model = ReturnsModel(self.services.query if self.services else None, self)
        if self.services is None:
            self.add_empty_state(
                "No returns yet",
                "Returns appear here after the first pull from the returns system. Anything pre-flight "
                "holds back is shown with the reason and the fix, ready to retry.",
                action="Connect the returns system", target="connections")
            return
        self._build_toolbar()
        self.detail_panel = DetailPanel()
        self._build_grid()
        self._wire_actions()
        self._search_timer = single_shot_timer(self, 250, self._apply_filter)
        self.model.loaded.connect(self._on_model_loaded)
        self.model.failed.connect(lambda exc: self.say(f"Could not read returns: {exc}", error=True))
        self.model.modelReset.connect(self._on_model_reset)
        self._refresh_timer = single_shot_timer(self, REFRESH_DELAY_MS, self._on_refresh_timer_timeout)
        self._bridge: EventBridge | None = None
        if self.context.bus is not None:
            # New returns, posted documents, finished syncs: refresh what is shown, at most once a second.
            self._bridge = EventBridge(self.context.bus, self, batch_interval_ms=250,
                                       kinds=["return.*", "document.*", "sync.finished", "change.*"])
            self._bridge.events_arrived.connect(self._on_bridge_events_arrived)
            self.destroyed.connect(self._bridge.close)

    def showEvent(self, event: QShowEvent) -> None:
        """Read the returns when the page is shown (they change while it is hidden)."""
        super().showEvent(event)
        if self.services is not None:
            self.reload()

    def _on_bridge_events_arrived(self, events: list[Any]) -> None:
        if self.isVisible():
            self._refresh_timer.start()

    def _on_refresh_timer_timeout(self) -> None:
        self.model.reload()
        if self.detail_panel.detail is not None:
            self.load_detail()

    # --- building ----------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        self.org_combo = QComboBox()
        self.org_combo.addItem("All organizations", None)
        self.org_combo.setMinimumWidth(170)
        self.org_combo.setAccessibleName("Organization")
        self.status_combo = QComboBox()
        for text, value in STATUS_CHOICES:
            self.status_combo.addItem(text, value)
        self.status_combo.setAccessibleName("Status")
        self.search = search_field("Search RMA, RMS id or customer  (Ctrl+F)", min_width=200)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Read the returns again (F5)")
        self.export_button = QPushButton("Export all…")
        self.export_button.setToolTip("Every row the filter shows, as CSV (Ctrl+E)")
        self.import_button = QPushButton("Import file…")
        self.import_button.setToolTip("Import an RMS export (CSV or JSON) into the chosen organization, with "
                                      "progress and Cancel")
        self.import_button.setVisible(self.context.services.returns_import is not None)
        for combo in (self.org_combo, self.status_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
        row = QHBoxLayout()  # three short rows, so the page fits a 1024-pixel window
        row.setSpacing(8)
        for widget in (self.org_combo, self.status_combo):
            row.addWidget(widget)
        row.addWidget(self.search, 1)
        self.body.addLayout(row)
        self.body.addSpacing(8)
        self.filter_bar = FilterBar()
        self.body.addWidget(self.filter_bar)
        self.body.addSpacing(8)
        status_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumSize(QSize(120, 10))
        self.progress.setTextVisible(False)
        self.status = status_label()
        self.freshness = status_label()
        status_row.addWidget(self.progress)
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.freshness)
        self.body.addLayout(status_row)
        self.body.addSpacing(6)
        self.org_combo.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.status_combo.currentIndexChanged.connect(lambda _i: self._apply_filter())
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.filter_bar.changed.connect(self._apply_filter)
        self.refresh_button.clicked.connect(self.reload)
        self.export_button.clicked.connect(self.export)
        self.import_button.clicked.connect(self.choose_import)

    def _build_grid(self) -> None:
        self.table = returns_table(self.model)
        self.table.selectionModel().currentRowChanged.connect(self._on_selection_current_row_changed)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.selection_label = QLabel("")
        self.selection_label.setObjectName("CardHint")
        self.selection_label.setToolTip("Shift- or Ctrl-click rows (Ctrl+A: all shown) to act on several returns")
        self.bulk_buttons = {key: QPushButton(text) for key, text in (
            ("repost", "Re-post"), ("retry", "Retry"), ("export", "Export…"))}
        self.bulk_buttons["repost"].setToolTip("Rebuild the selected returns with the current mapping and queue them")
        self.bulk_buttons["retry"].setToolTip("Retry every failed or stopped document of the selected returns")
        self.bulk_buttons["export"].setToolTip("The selected returns as CSV")
        bar.addWidget(self.selection_label)
        for key, slot in (("repost", self.bulk_repost), ("retry", self.bulk_retry), ("export", self.export_selected)):
            bar.addWidget(self.bulk_buttons[key])
            self.bulk_buttons[key].clicked.connect(slot)
        bar.addStretch(1)
        for button in (self.refresh_button, self.import_button, self.export_button):
            bar.addWidget(button)
        self.body.addLayout(bar)
        self.body.addSpacing(6)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail_panel)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.body.addWidget(self.splitter, 1)
        self._on_selection_changed(QItemSelection(), QItemSelection())

    def _wire_actions(self) -> None:
        d = self.detail_panel
        d.buttons["retry"].clicked.connect(self.retry)
        d.buttons["replan"].clicked.connect(self.replan)
        d.buttons["adopt"].clicked.connect(self.adopt)
        d.buttons["void"].clicked.connect(self.void)
        d.documents.itemSelectionChanged.connect(self._update_buttons)
        for keys, slot in (("Ctrl+F", self.search.setFocus), ("F5", self.reload), ("Ctrl+E", self.export),
                           ("Ctrl+R", self.retry), ("Ctrl+Shift+R", self.replan), ("Ctrl+D", self.adopt)):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)

    # --- loading -----------------------------------------------------------------------------
    def reload(self) -> None:
        """Organizations for the filter, then the count and the first page (all in the background)."""
        assert self.services is not None
        self.set_busy("Reading returns…")
        query = self.services.query
        run_in_background(self, lambda _p: query.organizations(), on_success=self._on_organizations,
                          on_failure=lambda exc: self.say(str(exc), error=True), label="list organizations")
        run_in_background(self, lambda _p: query.currencies(), on_success=self.filter_bar.set_currencies,
                          on_failure=lambda exc: self.say(str(exc), error=True), label="list currencies")
        self.model.reload()

    def _on_organizations(self, orgs: list[str]) -> None:
        refill(self.org_combo, [("All organizations", None), *((code, code) for code in orgs)])

    def _apply_filter(self) -> None:
        wanted, problem = self.filter_bar.apply(ReturnFilter(
            org=self.org_combo.currentData(), status=self.status_combo.currentData(), text=self.search.text()))
        if problem:
            self.say(problem, error=True)
            return
        self.set_busy("Filtering…")
        self.model.set_filter(wanted)

    def _on_model_reset(self) -> None:
        n = self.model.rowCount()
        self.freshness.setText(f"{n:,} return{'s' if n != 1 else ''} · read "
                               f"{self._now().astimezone():%H:%M:%S}")

    def show_return(self, org: str, rma: str) -> None:
        """Show the return ``rma`` of ``org`` and its detail (the error log's "Open return").

        The grid is filtered to that RMA in that organization, any status, and the row whose RMA is
        exactly ``rma`` is selected when it arrives — not merely the first row of the grid.
        """
        if self.services is None or not rma:
            return
        self._wanted = (org, rma)
        self._search_timer.stop()
        for combo, value in ((self.org_combo, org or None), (self.status_combo, None)):
            combo.blockSignals(True)
            if combo.findData(value) < 0:
                combo.addItem(str(value), value)  # the list of organizations may still be loading
            combo.setCurrentIndex(combo.findData(value))
            combo.blockSignals(False)
        self.search.blockSignals(True)
        self.search.setText(rma)
        self.search.blockSignals(False)
        self.filter_bar.clear()
        self.set_busy(f"Opening {rma}…")
        self.model.set_filter(ReturnFilter(org=org or None, text=rma))

    def _select_wanted(self) -> bool:
        """Select the return :meth:`show_return` asked for, once the grid holds it; True if handled."""
        if self._wanted is None or self.model.counting:
            return False
        org, rma = self._wanted
        for r in range(min(self.model.rowCount(), self.model.loaded_rows())):
            row = self.model.row_at(r)
            if row is not None and row.rma == rma and (not org or row.org == org):
                self._wanted = None
                self.set_busy(None)
                self.table.selectRow(r)
                self.table.scrollTo(self.model.index(r, 0))
                self.say(f"Showing {rma}{f' of {org}' if org else ''}.")
                return True
        if self.model.loaded_rows() >= self.model.rowCount():  # everything matching is here: it is not
            self._wanted = None
            self.set_busy(None)
            self.say(f"{rma} is not among {org or 'the'} returns (it may not have been read from the RMS yet).",
                     error=True)
            return True
        return False

    def _on_model_loaded(self) -> None:
        if self._select_wanted():
            return
        was_busy = self.progress.isVisible()
        self.set_busy(None)
        if not self.model.rowCount():
            f = self.model.filter
            self.status.setText("No return matches this filter." if f != ReturnFilter() else
                                "No returns yet: they appear after the first pull from the returns system "
                                "(set it up on the Connections page).")
        elif was_busy:
            self.status.setText("")  # the "Reading…" line; an action's outcome stays readable
        if self.model.rowCount() and not self.table.selectionModel().currentIndex().isValid():
            shown = self.detail_panel.detail
            keep = self.model.row_of(shown.row.id) if shown is not None else -1
            self.table.selectRow(max(keep, 0))  # a refresh keeps the return the person was looking at
        else:
            row, shown = self.selected_row(), self.detail_panel.detail
            if row is not None and (shown is None or shown.row.id != row.id):
                self.load_detail()  # the selected row's page has just arrived

    def _now(self) -> Any:
        return self.context.services.clock.now()

    def _on_selection_current_row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        self.load_detail()

    def selected_row(self) -> Any:
        row = current_row(self.table)
        return None if row is None else self.model.data(self.model.index(row, 0), ROW_ROLE)

    def load_detail(self) -> None:
        row = self.selected_row()
        if row is None or self.services is None:
            self.detail_panel.show_detail(None)
            self._update_buttons()
            return
        query, manual = self.services.query, self.services.manual
        run_in_background(self, lambda _p: query.detail(row.id), on_success=self._on_detail,
                          on_failure=lambda exc: self.say(str(exc), error=True), label="read the return")
        run_in_background(self, lambda _p: manual.prepare(row.org, row.rma),
                          on_success=lambda p: self.detail_panel.show_preview(p.documents, p.problems),
                          on_failure=lambda exc: self.say(str(exc), error=True), label="preview the documents")

    def _on_detail(self, detail: ReturnDetail | None) -> None:
        current = self.selected_row()
        if detail is not None and (current is None or detail.row.id != current.id):
            return  # the person moved on (or the grid changed) while this was loading
        self.detail_panel.show_detail(detail)
        self._update_buttons()

    def _update_buttons(self) -> None:
        from desktop.services.auth.roles import Action
        actor = self.services.actor if self.services else None
        self.detail_panel.update_buttons(bool(actor and actor.can(Action.RESOLVE_ERRORS)),
                                         bool(actor and actor.can(Action.POST_DOCUMENTS)))

    # --- actions -----------------------------------------------------------------------------
    def _act(self, what: str, fn: Any, done: str) -> None:
        self.set_busy(f"{what}…")
        run_in_background(self, lambda _p: fn(), on_success=lambda _r: self._after(done),
                          on_failure=lambda exc: self.say(getattr(exc, "user_message", lambda: str(exc))(),
                                                          error=True), label=what)

    def _after(self, message: str) -> None:
        self.model.reload()
        self.load_detail()
        self.say(message)

    def retry(self) -> None:
        doc = self.detail_panel.selected_document()
        if self.services is None or doc is None or not self.detail_panel.buttons["retry"].isEnabled():
            return
        s = self.services
        self._act("Retrying", lambda: s.manual.retry(s.actor, doc.key), f"{doc.doc_type} is queued to post again.")

    def replan(self) -> None:
        row = self.selected_row()
        if self.services is None or row is None or not self.detail_panel.buttons["replan"].isEnabled():
            return
        s = self.services

        def work() -> Any:
            return s.manual.replan(s.actor, row.org, row.rma)

        self.set_busy("Re-planning with the current mapping…")
        run_in_background(self, lambda _p: work(), on_success=self._on_replanned,
                          on_failure=lambda exc: self.say(str(exc), error=True), label="re-post")

    def _on_replanned(self, prepared: Any) -> None:
        if prepared.problems:
            self._after(f"Still stopped by pre-flight: {prepared.problems[0].message}")
        else:
            self._after(f"{len(prepared.documents)} document(s) rebuilt and queued to post.")

    def adopt(self) -> None:
        doc = self.detail_panel.selected_document()
        if self.services is None or doc is None or not self.detail_panel.buttons["adopt"].isEnabled():
            return
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Adopt a ledger document")
        dialog.setLabelText(f"This {doc.doc_type} is already in the ledger. Its number there "
                            "(the sync will find it, check the amount and never post it again):")
        dialog.setTextValue(doc.number or "")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        s = self.services
        dialog.textValueSelected.connect(lambda number: self._act(
            "Adopting", lambda: s.manual.adopt_document(s.actor, doc.key, number),
            f"Looked for {number} in the ledger."))
        self.adopt_dialog = dialog
        dialog.open()

    def void(self) -> None:
        doc = self.detail_panel.selected_document()
        if self.services is None or doc is None or not self.detail_panel.buttons["void"].isEnabled():
            return
        s = self.services
        self.void_box = ask(
            self, QMessageBox.Icon.Warning, "Void in the ledger?",
            f"Void {doc.doc_type} {doc.number or doc.remote_id} in the ledger? Its amounts become "
            "zero there; this cannot be undone from this app.", "Void",
            lambda: self._act("Voiding", lambda: s.manual.void(s.actor, doc.key),
                              f"{doc.doc_type} voided in the ledger."))

    # --- bulk actions over the selected rows --------------------------------------------------
    def selected_rows(self) -> list[ReturnRow]:
        """The selected returns the grid has read (top to bottom)."""
        rows = (self.model.row_at(i.row()) for i in sorted(self.table.selectionModel().selectedRows(),
                                                             key=lambda i: i.row()))
        return [r for r in rows if r is not None]

    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        from desktop.services.auth.roles import Action
        n = len(self.table.selectionModel().selectedRows())
        self.selection_label.setText(f"{n:,} selected:")
        can = bool(self.services and self.services.actor.can(Action.RESOLVE_ERRORS))
        self.bulk_buttons["export"].setEnabled(n > 0)
        for key in ("repost", "retry"):
            self.bulk_buttons[key].setEnabled(can and n > 0)

    def _bulk(self, title: str, verb: str, explain: str, work: Any) -> None:
        rows = self.selected_rows()
        if self.services is None or not rows:
            return
        s, n = self.services, len(rows)
        noun = f"{n} return{'s' if n != 1 else ''}"
        self.bulk_box = ask(
            self, QMessageBox.Icon.Question, title, f"{verb} {noun}? {explain}", f"{verb} {noun}",
            lambda: self._run_bulk(f"{verb} {noun}", lambda: work(s, rows)),
            role=QMessageBox.ButtonRole.AcceptRole)

    def _run_bulk(self, what: str, fn: Any) -> None:
        self.set_busy(f"{what}…")
        run_in_background(self, lambda _p: fn(), on_success=lambda out: self._after(out.summary()),
                          on_failure=lambda exc: self.say(str(exc), error=True), label=what)

    def bulk_repost(self) -> None:
        self._bulk("Re-post the selected returns?", "Re-post",
                   "Each is rebuilt with the current mapping and queued, as Re-post does for one.", bulk.repost_all)

    def bulk_retry(self) -> None:
        self._bulk("Retry the selected returns?", "Retry",
                   "Their failed or stopped documents are queued to post again.", bulk.retry_all)

    def export_selected(self) -> None:
        rows = self.selected_rows()
        if self.services is None or not rows:
            return
        dialog = QFileDialog(self, "Export the selected returns", "returns-selected.csv", "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.export_selected_to(path, rows))
        self.export_dialog = dialog
        dialog.open()

    def export_selected_to(self, path: str, rows: list[ReturnRow]) -> None:
        assert self.services is not None
        s, f, order = self.services, self.model.filter, self.model.sort_order
        self.set_busy("Exporting…")
        export_in_dialog(self, Path(path), lambda progress: bulk.export_selected(s, f, rows, path, order, progress),
                         noun="selected returns",
                         on_done=lambda _p, n: self.say(f"Exported {n:,} selected returns to {path}"),
                         on_failure=lambda exc: self.say(str(exc), error=True))

    def choose_import(self) -> None:
        """Ask for an RMS export file, then import it into the organization chosen in the filter."""
        org = self.org_combo.currentData()
        if not org:
            self.say("Choose the organization to import into first (the list at the top left).", error=True)
            return
        dialog = QFileDialog(self, f"Import an RMS export into {org}", "", "RMS exports (*.csv *.json);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda chosen: self.start_import(Path(chosen), org))
        self.import_file_dialog = dialog
        dialog.open()

    def start_import(self, path: Path, org: str) -> ImportDialog | None:
        """Import ``path`` into ``org`` off the GUI thread, in a dialog with counts, a bar and Cancel."""
        importer = self.context.services.returns_import
        if importer is None or self.services is None:
            return None
        self.import_dialog = ImportDialog(self, importer, self.services.actor, path, org)
        self.import_dialog.start()
        return self.import_dialog

    def export(self) -> None:
        if self.services is None:
            return
        dialog = QFileDialog(self, "Export returns", "returns.csv", "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_to)
        self.export_dialog = dialog
        dialog.open()

    def export_to(self, path: str) -> None:
        """Write every row the filter shows to ``path`` (in the background, sorted as shown)."""
        assert self.services is not None
        query, f, (key, desc) = self.services.query, self.model.filter, self.model.sort_order

        self.set_busy("Exporting…")
        export_in_dialog(self, Path(path), lambda progress: query.export_to(Path(path), f, key, desc, progress),
                         noun="returns", on_done=lambda _path, n: self.say(f"Exported {n:,} returns to {path}"),
                         on_failure=lambda exc: self.say(str(exc), error=True))



__all__ = ["ReturnsPage"]

