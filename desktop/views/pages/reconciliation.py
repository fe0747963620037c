"""Reconciliation: where RMS totals and ledger totals disagree, and why.

Thin view over ``ReconcileService`` (``context.services.reconcile``): every read, run and review
goes through ``run_in_background``; permissions and audit live in the service. The organization
picker reads ``context.services.organizations``; the page never opens a database session.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QWidget,
)

from desktop.services.auth.roles import Action
from desktop.services.core.domain import VarianceStatus
from desktop.services.reconcile.model import doc_words
from desktop.views.csv_export import choose_and_export, export_in_dialog
from desktop.views.models.status import status_label as status_words
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Card, MetricCard, Page, label, toolbar
from desktop.views.pages.info import PAGE_INFO
from desktop.views.progress_dialog import OperationDialog, failure_words
from desktop.views.reconcile.actions import VarianceActions
from desktop.views.reconcile.diff import DiffView
from desktop.views.reconcile.model import (
    CLASS_LABELS,
    ROW_ROLE,
    Column,
    VarianceModel,
    difference_text,
    grouped,
)
from desktop.views.reconcile.report import bridge_html, currency_totals, report_html, write_csv, write_pdf

if TYPE_CHECKING:
    from desktop.services.queries.organizations import OrganizationDirectory
    from desktop.services.reconcile.service import ReconcileService
class ReconciliationPage(Page):
    """Variance review: RMS ⟷ local record ⟷ ledger, per organization, day and currency."""

    info = PAGE_INFO["reconciliation"]

    def build(self) -> None:
        services = self.context.services
        service = services.reconcile
        self.directory: OrganizationDirectory | None = services.organizations
        if service is None or self.directory is None:
            self.add_empty_state(
                "Nothing to reconcile yet",
                "Reconciliation runs after each sync. When the books and the returns system agree, this "
                "page says so; when they don't, it shows exactly where.",
                action="View returns", target="returns",
            )
            return
        self.service: ReconcileService = service
        self.totals: dict[str, Any] | None = None
        self._build_controls()
        self._build_cards()
        self._build_grid()
        self._build_shortcuts()
        directory = self.directory
        run_in_background(self, lambda _p: directory.active_codes(), on_success=self._on_orgs,
                          label="Load organizations")

    # --- layout -----------------------------------------------------------------------------------
    def _build_controls(self) -> None:
        self.org_box = QComboBox()
        self.org_box.setMinimumWidth(120)
        today = QDate.currentDate()
        self.from_edit, self.to_edit = QDateEdit(QDate(today.year(), today.month(), 1)), QDateEdit(today)
        for edit in (self.from_edit, self.to_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.run_button = QPushButton("Reconcile now")
        self.run_button.setObjectName("PrimaryButton")
        self.run_button.setToolTip("Compare RMS and ledger for this period (Ctrl+R)")
        self.csv_button, self.pdf_button = QPushButton("Export CSV…"), QPushButton("Export PDF…")
        self.status_label = label("", "CardHint")
        labelled: list[QWidget] = []
        for text, w in (("Organization", self.org_box), ("From", self.from_edit), ("To", self.to_edit)):
            labelled += [QLabel(text), w]
        # The exports sit at the end of the status line, so the bar fits a 1024-pixel window.
        self.body.addLayout(toolbar((*labelled, self.run_button), spacing=10))
        self.status_label.setWordWrap(True)
        status_row = QHBoxLayout()
        status_row.setSpacing(10)
        status_row.addWidget(self.status_label, 1)
        status_row.addWidget(self.csv_button)
        status_row.addWidget(self.pdf_button)
        self.body.addLayout(status_row)
        self.body.addSpacing(4)
        self.run_button.clicked.connect(self.run_reconciliation)
        self.org_box.currentTextChanged.connect(lambda _t: self.reload())
        self.csv_button.clicked.connect(self._export_csv)
        self.pdf_button.clicked.connect(self._export_pdf)

    def _build_cards(self) -> None:
        self.rms_card = MetricCard("RMS refunds", "Refunds the returns system recorded")
        self.ledger_card = MetricCard("Ledger", "What the books hold for our documents")
        self.diff_card = MetricCard("Difference", "Ledger − expected ledger effect; always the sum of the "
                                    "variances listed")
        self.open_card = MetricCard("Open variances", "Waiting for a person to review")
        self.cards = self.add_cards(self.rms_card, self.ledger_card, self.diff_card, self.open_card)
        self.bridge_card = Card()
        self.bridge_card.layout_.addWidget(label("Bridge: RMS → expected ledger effect → ledger", "CardTitle"))
        self.bridge_label = label("Run a reconciliation to see how the refunds become what the ledger holds.",
                                  "CardHint", wrap=True)
        self.bridge_label.setTextFormat(Qt.TextFormat.RichText)
        self.bridge_card.layout_.addWidget(self.bridge_label)
        self.body.addWidget(self.bridge_card)

    def _build_grid(self) -> None:
        self.model = VarianceModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Several at once (Shift/Ctrl+click, Shift+arrows, Ctrl+A): Accept / Resolve then act on all selected.
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(30)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.table.horizontalHeader().setMinimumSectionSize(60)
        self.table.setColumnHidden(Column.CURRENCY, True)  # the Difference cell names its currency
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by RMA, class, ledger number… (Ctrl+F)")
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.status_box = QComboBox()
        for value in ("open", "accepted", "resolved"):
            self.status_box.addItem(status_words(value), value)
        self.status_box.addItem("All", None)
        self.status_box.currentIndexChanged.connect(lambda _i: self.reload())
        self.class_summary = label("", "CardHint", wrap=True)
        left = Card()
        filters = QHBoxLayout()
        filters.addWidget(self.search, 1)
        filters.addWidget(QLabel("Status"))
        filters.addWidget(self.status_box)
        left.layout_.addLayout(filters)
        left.layout_.addWidget(self.class_summary)
        left.layout_.addWidget(self.table, 1)
        right = Card()
        right.layout_.addWidget(label("Document diff", "CardTitle"))
        self.diff_hint = label("Select a variance to compare the RMS record with the ledger document.",
                               "CardHint", wrap=True)
        right.layout_.addWidget(self.diff_hint)
        self.diff = DiffView()
        right.layout_.addWidget(self.diff, 1)
        self.accept_button = QPushButton("Accept with note…")
        self.resolve_button = QPushButton("Mark resolved…")
        self.repost_button = QPushButton("Re-post")
        self.adopt_button = QPushButton("Adopt ledger document…")
        self.void_button = QPushButton("Void duplicate…")
        self.adjust_button = QPushButton("Adjusting entry…")
        self.pack_button = QPushButton("Audit pack…")
        buttons = (self.accept_button, self.resolve_button, self.adjust_button, self.repost_button,
                   self.adopt_button, self.void_button, self.pack_button)
        actions = QGridLayout()  # two columns: the diff pane stays narrow enough for the grid beside it
        actions.setSpacing(8)
        for i, b in enumerate(buttons):
            actions.addWidget(b, i // 2, i % 2)
        right.layout_.addLayout(actions)
        self.actions_ = VarianceActions(self, self, self.service)
        a = self.actions_
        self.accept_button.clicked.connect(lambda: a.ask_note("accept"))
        self.resolve_button.clicked.connect(lambda: a.ask_note("resolve"))
        self.repost_button.clicked.connect(a.repost)
        self.adopt_button.clicked.connect(a.adopt)
        self.void_button.clicked.connect(a.void)
        self.adjust_button.clicked.connect(a.adjust)
        self.pack_button.clicked.connect(a.audit_pack)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setMinimumHeight(540)
        splitter.setSizes([860, 520])
        self.splitter = splitter
        self.body.addWidget(splitter, 1)
        self.table.selectionModel().currentRowChanged.connect(self._on_current)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_current(QModelIndex(), QModelIndex()))
        self._on_current(QModelIndex(), QModelIndex())

    def _build_shortcuts(self) -> None:
        for keys, slot, what in (("Ctrl+R", self.run_reconciliation, "Run the reconciliation"),
                                 ("Ctrl+F", self.search.setFocus, "Search the variances"),
                                 ("Ctrl+E", self._export_csv, "Export CSV"), ("Ctrl+P", self._export_pdf, "Export PDF"),
                                 ("Ctrl+Shift+A", self.accept_button.click,
                                  "Accept the selected variance(s) with a note"),
                                 ("Ctrl+Shift+M", self.resolve_button.click,
                                  "Mark the selected variance(s) resolved with a note")):
            shortcut = QShortcut(QKeySequence(keys), self, slot)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)  # not while the error log has focus
            shortcut.setWhatsThis(what)  # Help → Keyboard shortcuts lists it

    #: Below this width the variance list and the document diff sit one above the other.
    STACK_BELOW = 1180

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if not hasattr(self, "splitter"):
            return
        stacked = event.size().width() < self.STACK_BELOW
        orientation = Qt.Orientation.Vertical if stacked else Qt.Orientation.Horizontal
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            self.splitter.setMinimumHeight(900 if stacked else 540)
            self.splitter.setSizes([460, 440] if stacked else [860, 520])

    # --- data -------------------------------------------------------------------------------------
    def activated(self) -> None:
        """Organizations connected since the page was built appear in the picker; the queue and the
        newest reconciliation (a scheduled one may have run meanwhile) are read again."""
        directory = self.directory
        if hasattr(self, "org_box") and directory is not None:
            run_in_background(self, lambda _p: directory.active_codes(), on_success=self._on_orgs,
                              label="Load organizations")
        self.reload()

    def _load_latest(self) -> None:
        """Show the newest finished reconciliation of this organization (its period and bridge)."""
        if not self.org or not hasattr(self.service, "latest"):
            return
        org, service = self.org, self.service
        run_in_background(self, lambda _p: (org, service.latest(org)), on_success=self._on_latest,
                          label="Load the last reconciliation")

    def _on_latest(self, found: tuple[str, dict[str, Any] | None]) -> None:
        org, latest = found
        if org != self.org or not self.run_button.isEnabled():  # another organization now, or a run under way
            return
        if latest is None:
            self.totals = None
            self.show_totals(None)
            return
        self.totals = latest["totals"]
        period = latest["period"]
        self.from_edit.setDate(QDate(period.start.year, period.start.month, period.start.day))
        self.to_edit.setDate(QDate(period.end.year, period.end.month, period.end.day))
        self.show_totals(latest["totals"])
        finished = latest["finished_at"]
        when = f" at {finished:%d %b %H:%M} UTC" if finished is not None else ""
        self.status_label.setText(f"Last reconciled {period.start} … {period.end}{when}: "
                                  f"{sum(latest['counts'].values()):,} variance(s), {latest['matched']:,} matched.")

    def _on_orgs(self, codes: list[str]) -> None:
        current = self.org_box.currentText()
        known = [self.org_box.itemText(i) for i in range(self.org_box.count())]
        if codes != known:
            self.org_box.blockSignals(True)
            self.org_box.clear()
            self.org_box.addItems(codes)
            if current in codes:
                self.org_box.setCurrentText(current)
            self.org_box.blockSignals(False)
            if self.org_box.currentText() != current:
                self.reload()
        if not codes:
            self.status_label.setText("No organizations yet — connect one on the Connections page.")
        elif self.status_label.text().startswith("No organizations yet"):
            self.status_label.setText("")

    @property
    def org(self) -> str:
        """The chosen organization; empty on the page's empty state (no reconciliation service)."""
        return self.org_box.currentText() if hasattr(self, "org_box") else ""

    def reload(self) -> None:
        if not self.org:
            return
        self.reload_queue()
        self._load_latest()

    def reload_queue(self) -> None:
        """Read the variance list again (not the last reconciliation, whose line would replace the status)."""
        if not self.org:
            return
        value = self.status_box.currentData()
        status = None if value is None else VarianceStatus(value)
        org, service = self.org, self.service
        run_in_background(self, lambda _p: grouped(service.queue(org, status)), on_success=self._on_queue,
                          label="Load variances")

    def _on_queue(self, rows: list[dict[str, Any]]) -> None:
        self.model.set_rows(rows)
        self.table.resizeColumnsToContents()
        counts: dict[str, int] = {}
        for r in rows:
            counts[r["class"]] = counts.get(r["class"], 0) + 1
        self.class_summary.setText("  ·  ".join(f"{CLASS_LABELS.get(k, k)}: {n}" for k, n in sorted(counts.items()))
                                   or "No variances with this status.")
        opened = sum(1 for r in rows if r.get("status") == "open")
        self.open_card.value_label.setText(f"{opened:,}" if self.status_box.currentData() in ("open", None)
                                           else "—")
        self._on_current(self.table.currentIndex(), QModelIndex())

    def run_reconciliation(self) -> None:
        if not self.org:
            return
        from desktop.services.reconcile.model import Period
        period = Period(self._date(self.from_edit), self._date(self.to_edit))
        org, service, actor = self.org, self.service, self.actions_.actor()
        self.run_button.setEnabled(False)
        self.status_label.setText(f"Reconciling {org} {period.start} … {period.end}…")
        self.run_dialog = OperationDialog(self, "Reconcile", f"Reconciling {org} {period.start} … {period.end}…",
                                          stopping=f"Stopping the reconciliation of {org}; nothing will be recorded…",
                                          cancel_tip="Stop; nothing is recorded and the review queue stays as it was")
        self.run_dialog.run(lambda progress: service.run(org, period, actor=actor, progress=progress),
                            on_done=self._on_report, on_failed=self._on_run_failed, label="Reconcile")

    @staticmethod
    def _date(edit: QDateEdit) -> date:
        d = edit.date()
        return date(d.year(), d.month(), d.day())

    def _on_report(self, report: Any) -> str:
        self.run_button.setEnabled(True)
        self.totals = report.totals
        self.show_totals(report.totals)
        self.status_label.setText(f"Reconciled {report.period.start} … {report.period.end}: "
                                  f"{len(report.variances)} variance(s), {report.matched} matched.")
        self.reload()
        return self.status_label.text()

    def _on_run_failed(self, exc: BaseException) -> str:
        self.run_button.setEnabled(True)
        self.status_label.setText("The reconciliation did not finish.")
        return failure_words(exc)

    def show_totals(self, totals: dict[str, Any] | None) -> None:
        rows = currency_totals(totals)
        # One figure per currency: several lines read smaller, so four cards still fit a small window.
        for card in (self.rms_card, self.ledger_card, self.diff_card):
            card.value_label.setObjectName("MetricValueList" if len(rows) > 1 else "MetricValue")
            card.value_label.style().unpolish(card.value_label)
            card.value_label.style().polish(card.value_label)
        self.rms_card.value_label.setText("\n".join(f"{c} {r:,.2f}" for c, r, _, _ in rows) or "—")
        self.ledger_card.value_label.setText("\n".join(f"{c} {lg:,.2f}" for c, _, lg, _ in rows) or "—")
        dark = self.context.theme is not None and str(self.context.theme.scheme) == "dark"
        warn = "#f0a34a" if dark else "#b45309"  # AA contrast on the card in either scheme
        # Each currency's difference in its own colour: a USD gap does not paint a CAD line that ties out.
        self.diff_card.value_label.setText("<br>".join(
            f'<span style="color: {warn};">{c} {d:+,.2f}</span>' if d else f"{c} {d:+,.2f}"
            for c, _, _, d in rows) or "—")
        for card in (self.rms_card, self.ledger_card, self.diff_card):  # one line per currency, never clipped
            card.value_label.setMinimumHeight(_text_height(card.value_label, max(1, len(rows))))
            card.updateGeometry()
        html = bridge_html(totals)
        self.bridge_label.setText(html or "—")

    # --- selection and actions ----------------------------------------------------------------
    def current_row(self) -> dict[str, Any] | None:
        index = self.table.currentIndex()
        row = self.proxy.data(index, ROW_ROLE) if index.isValid() else None
        return row if isinstance(row, dict) else None

    def selected_rows(self) -> list[dict[str, Any]]:
        """The selected variances, top to bottom as shown."""
        indexes = sorted(self.table.selectionModel().selectedRows(), key=lambda i: i.row())
        rows = (self.proxy.data(i, ROW_ROLE) for i in indexes)
        return [r for r in rows if isinstance(r, dict)]

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.current_row()
        diff = f"{difference_text(row)} {row.get('currency') or ''}".strip() if row and difference_text(row) else None
        self.diff.show_fields(row["fields"] if row else None, row.get("currency") if row else None, diff)
        if row:
            kind = CLASS_LABELS.get(row["class"], row["class"])
            what = doc_words(row.get("doc_type"))
            number = f" {row['ledger_id']}" if row.get("ledger_id") else ""
            self.diff_hint.setText(f"{kind} — {what}{number} for {row.get('rma') or 'no RMA'}"
                                   f"{f', difference {diff}' if diff else ''}; "
                                   f"{len(self.diff.differing)} field(s) differ.")
        is_open = bool(row) and row is not None and row.get("status") == "open"
        many = sum(1 for r in self.selected_rows() if r.get("status") == "open")
        if many > 1:
            self.diff_hint.setText(f"{many} open variances selected: Accept and Resolve act on all {many} "
                                   "with one note. The other actions and the diff are for the current one.")
        actor = self.context.actor
        may = actor is None or actor.can(Action.REVIEW_VARIANCES)  # no actor: the service decides
        for b, verb, keys in ((self.accept_button, "Accept", "Ctrl+Shift+A"),
                              (self.resolve_button, "Mark resolved", "Ctrl+Shift+M")):
            b.setEnabled(may and (is_open or many > 1))
            b.setText(f"{'Accept' if b is self.accept_button else 'Resolve'} {many} with note…" if many > 1 else
                      "Accept with note…" if verb == "Accept" else "Mark resolved…")
            b.setToolTip(f"{verb} the {many} selected open variances, one note for all ({keys})" if many > 1 else
                         f"{verb} this variance with a note for the audit log ({keys}); select several "
                         "(Shift or Ctrl+click, Ctrl+A) to do them at once")
            if not may and actor is not None:
                b.setToolTip(f"{actor.username} is {'an' if actor.role.value[0] in 'aeiou' else 'a'} "
                             f"{actor.role.value}: only an operator or admin can review variances")
        self.repost_button.setEnabled(is_open and bool(row and row.get("rma")))
        self.adopt_button.setEnabled(is_open and bool(row and row.get("key")))
        self.void_button.setEnabled(is_open and bool(row and row["class"] == "duplicate_in_ledger" and row.get("key")))
        self.adjust_button.setEnabled(is_open and bool(row and row.get("difference_minor")))
        self.pack_button.setEnabled(bool(row and row.get("rma")))

    def review(self, what: str, variance_id: int, note: str) -> None:
        """Accept or resolve through the service (permission-checked, audited), then refresh."""
        self.actions_.review(what, variance_id, note)

    def save_audit_pack(self, rma: str, path: Path) -> None:
        """RMS record → mapping version → payload → ledger response → status, as one JSON file."""
        self.actions_.save_audit_pack(rma, path)

    @property
    def adjust_dialog(self) -> Any:
        """The open "Create adjusting entry" dialog, if any."""
        return self.actions_.adjust_dialog

    # --- exports ----------------------------------------------------------------------------------
    def _export_csv(self) -> None:
        choose_and_export(self, "Export variances", f"reconciliation-{self.org}.csv", self.export_csv_to)

    def export_csv_to(self, path: Path) -> None:
        rows = self.model.rows()
        export_in_dialog(self, path, lambda progress: write_csv(path, rows, progress), noun="variance(s)",
                         on_done=lambda _p, n: self.status_label.setText(f"Exported {n} variance(s) to {path.name}."))

    def _export_pdf(self) -> None:
        dialog = QFileDialog(self, "Export report", f"reconciliation-{self.org}.pdf", "PDF files (*.pdf)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("pdf")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda chosen: self.export_pdf_to(Path(chosen)))
        dialog.open()

    def export_pdf_to(self, path: Path) -> None:
        html = report_html(self.org, f"{self._date(self.from_edit)} … {self._date(self.to_edit)}", self.totals,
                           self.model.rows())
        run_in_background(self, lambda _p: write_pdf(path, html), on_success=lambda n: self.status_label.setText(
            f"Exported the report ({n} page(s)) to {path.name}."), label="Export PDF")


__all__ = ["ReconciliationPage"]


def _text_height(value: QLabel, lines: int) -> int:
    """The height ``value``'s text needs: rich text (the coloured differences) lays its lines out
    taller than the font's line spacing says, so measure it as the label will draw it."""
    plain = value.fontMetrics().lineSpacing() * lines + 4
    if value.textFormat() == Qt.TextFormat.PlainText or "<" not in value.text():
        return plain
    doc = QTextDocument()
    doc.setDefaultFont(value.font())
    doc.setDocumentMargin(0)
    doc.setHtml(value.text())
    return max(plain, int(doc.size().height()) + 4)
