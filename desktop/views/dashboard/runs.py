"""The dashboard's "Sync runs" card: the runs, what the selected one posted, and "Undo run…".

Everything goes through ``ViewServices.runs`` (:class:`~desktop.services.pipeline.undo.UndoService`)
on worker threads (``run_in_background``): the list, a run's documents, the dry run shown in the
confirmation (:class:`UndoDialog`) and the undo itself, after which the list is read again. The
service decides who may undo (operator or admin); its refusal is shown like any background
failure, and a maker-checker request is said so in the card's status line.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desktop.views.dashboard.undo_dialog import UndoDialog, doc_title
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Card, label

if TYPE_CHECKING:
    from desktop.services.auth.roles import Actor
    from desktop.services.pipeline.runs import RunDocument, RunSummary
    from desktop.services.pipeline.undo import UndoReport, UndoService

RUN_COLUMNS = ("Run", "Organization", "Started (UTC)", "Finished (UTC)", "Posted")
DOC_COLUMNS = ("RMA", "Document", "Total", "State")
#: What an undo counts (``UndoReport.counts``), as the status line says it.
DONE_WORDS = {"voided": "voided", "deleted": "deleted", "already_voided": "already voided",
              "already_deleted": "already deleted", "kept": "kept (edited in the ledger)",
              "failed": "not taken back (run the undo again)", "written_back": "returns told to the RMS",
              "writeback_failed": "returns not yet told to the RMS"}
WIDE = 1200  # from this width of the card on, the details pane sits beside the list
STATES = {"posted": "In the ledger", "void_pending": "Being taken back", "voided": "Taken back"}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "—"


def posted_text(run: RunSummary) -> str:
    """``12`` · ``12 · 3 taken back`` · ``undo of run 5``."""
    if run.kind == "undo":
        return f"undo of run {run.of_run}" if run.of_run else "undo"
    return f"{run.posted}" + (f" · {run.undone} taken back" if run.undone else "")


def outcome_text(report: UndoReport) -> str:
    """The status line after an undo, in plain words."""
    run, counts = report.run.id, report.counts
    done = ", ".join(f"{counts[k]} {words}" for k, words in DONE_WORDS.items() if counts.get(k))
    return {
        "awaiting_approval": f"Undoing run {run} waits for a second person's approval (request {report.approval}): "
                             "they approve it under \u201cWaiting for approval\u201d or with "
                             f"`returns-ledger approvals approve {report.approval}`.",
        "refused": f"Run {run} was not undone: {len(report.edited)} document(s) were edited in the ledger since "
                   "they were posted. Nothing was voided; tick the box to take them back too.",
        "nothing_to_do": f"Run {run} has nothing left to undo.",
        "partial": f"Run {run} was partly undone ({done}); use Undo run\u2026 again to finish.",
    }.get(report.outcome, f"Run {run} undone" + (f": {done}." if done else "."))


def _table(columns: tuple[str, ...], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setAccessibleName(name)
    table.verticalHeader().setVisible(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.setMinimumHeight(180)
    return table


def _fill(table: QTableWidget, rows: list[tuple[str, ...]], right: tuple[int, ...] = ()) -> None:
    table.setRowCount(len(rows))
    for r, cells in enumerate(rows):
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            if c in right:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(r, c, item)


class RunsCard(Card):
    """Sync runs of one organization (hidden when there is no runs service)."""

    def __init__(self, service: UndoService | None, actor: Actor | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service, self.actor = service, actor
        self.org: str | None = None
        self.runs: list[RunSummary] = []
        self.documents: list[RunDocument] = []
        self.shown_run: int | None = None  # the run whose documents the details pane shows
        self.dialog: UndoDialog | None = None
        self.last_report: UndoReport | None = None  # the last undo's, as the status line says it
        self.busy = False  # a preview or an undo is under way
        self._loading = False
        self._again = False
        head = QHBoxLayout()
        self.title = label("Sync runs", "CardTitle")
        head.addWidget(self.title, 1)
        self.undo_button = QPushButton("Undo run\u2026")
        self.undo_button.setToolTip("Take back every document the selected run posted, after a dry run "
                                    "shows what that does (operator or admin)")
        head.addWidget(self.undo_button)
        self.layout_.addLayout(head)
        self.status = label("", "CardHint", wrap=True)
        self.status.setVisible(False)
        self.layout_.addWidget(self.status)
        self.table = _table(RUN_COLUMNS, "Sync runs, newest first")
        header = self.table.horizontalHeader()
        for column in range(len(RUN_COLUMNS) - 1):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(RUN_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.details = _table(DOC_COLUMNS, "What the selected run posted")
        header = self.details.horizontalHeader()
        for column in range(len(DOC_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.table)
        self.split.addWidget(self.details)
        self.split.setStretchFactor(0, 2)
        self.split.setStretchFactor(1, 3)
        self.layout_.addWidget(self.split)
        self.split.setMinimumHeight(2 * 180)
        self.table.itemSelectionChanged.connect(self._selected_changed)
        self.undo_button.clicked.connect(self.ask_undo)
        self.setVisible(service is not None)
        self._update_buttons()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """The details pane beside the list in a wide window, below it in a narrow one."""
        super().resizeEvent(event)
        wide = self.width() >= WIDE
        self.split.setOrientation(Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical)
        self.split.setMinimumHeight(180 if wide else 2 * 180)

    # --- the list --------------------------------------------------------------------------------
    def reload(self, org: str | None = None) -> None:
        """Read ``org``'s runs again (None: the organization shown last) on a worker."""
        service, actor = self.service, self.actor
        if org is not None:
            self.org = org
        if service is None or actor is None:
            return
        if self._loading:
            self._again = True
            return
        self._loading = True
        wanted = self.org
        run_in_background(self, lambda _p: service.runs(actor, wanted), on_success=self.show_runs,
                          on_failure=self._load_failed, label="Loading sync runs")

    def _load_failed(self, exc: BaseException) -> None:
        self._loading = False
        self._say(f"Could not load the sync runs: {exc}")

    def show_runs(self, runs: list[RunSummary]) -> None:
        self._loading = False
        keep = self.selected()
        self.runs = runs
        self.title.setText(f"Sync runs ({len(runs)})" if runs else "Sync runs")
        if not runs and not self.status.text():
            self._say("No sync has posted anything yet.")
        self.table.blockSignals(True)
        _fill(self.table, [(str(r.id), r.org or "—", when(r.started), when(r.finished), posted_text(r))
                           for r in runs])
        ids = [r.id for r in runs]
        row = ids.index(keep.id) if keep is not None and keep.id in ids else (0 if runs else -1)
        if row >= 0:
            self.table.selectRow(row)
        self.table.blockSignals(False)
        self._selected_changed()
        if self._again:
            self._again = False
            self.reload()

    def selected(self) -> RunSummary | None:
        picked = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self.runs[picked[0].row()] if picked and picked[0].row() < len(self.runs) else None

    # --- the details pane ------------------------------------------------------------------------
    def _selected_changed(self) -> None:
        self._update_buttons()
        run, service, actor = self.selected(), self.service, self.actor
        if run is None or service is None or actor is None:
            self.shown_run, self.documents = None, []
            _fill(self.details, [])
            return
        run_id = run.id
        run_in_background(self, lambda _p: service.show(actor, run_id)[1],
                          on_success=lambda docs: self._show_documents(run_id, docs),
                          on_failure=self._load_failed, label="Loading a sync run")

    def _show_documents(self, run_id: int, docs: list[RunDocument]) -> None:
        current = self.selected()
        if current is None or current.id != run_id:
            return  # an older selection's answer
        self.shown_run, self.documents = run_id, docs
        _fill(self.details, [(d.rma or "—", doc_title(d),
                              f"{d.total.amount:,} {d.total.currency}" if d.total is not None else "—",
                              STATES.get(d.state, d.state.replace("_", " "))) for d in docs], right=(2,))

    def _update_buttons(self) -> None:
        run = self.selected()
        ok = run is not None and run.kind == "push" and not self.busy and self.actor is not None
        self.undo_button.setEnabled(ok)
        if run is not None and run.kind != "push":
            self.undo_button.setToolTip("This run is an undo; only a run that posted can be undone")

    # --- undoing ---------------------------------------------------------------------------------
    def ask_undo(self) -> None:
        """Read the dry run on a worker, then show it in the confirmation dialog."""
        run, service, actor = self.selected(), self.service, self.actor
        if run is None or service is None or actor is None or self.busy:
            return
        run_id = run.id
        self._busy(True, f"Reading run {run_id}'s documents from the ledger\u2026")
        run_in_background(self, lambda _p: service.preview(actor, run_id), on_success=self._confirm,
                          on_failure=self._undo_failed, label="Undo run (dry run)")

    def _confirm(self, report: UndoReport) -> None:
        self._busy(False, "")
        dialog = UndoDialog(report, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        run_id = report.run.id
        dialog.confirmed.connect(lambda force: self.undo(run_id, force=force))
        self.dialog = dialog
        dialog.open()

    def undo(self, run_id: int, *, force: bool = False) -> None:
        service, actor = self.service, self.actor
        if service is None or actor is None:
            return
        self._busy(True, f"Undoing run {run_id}\u2026")

        def work(_p: Any) -> UndoReport:
            return service.undo(actor, run_id, force=force)

        run_in_background(self, work, on_success=self._undone, on_failure=self._undo_failed, label="Undo run")

    def _undone(self, report: UndoReport) -> None:
        self.last_report = report
        self._busy(False, outcome_text(report))
        self.reload()

    def _undo_failed(self, exc: BaseException) -> None:
        from desktop.views.ops import show_failure
        message = exc.user_message() if hasattr(exc, "user_message") else str(exc)
        self._busy(False, f"Not undone: {message}")
        show_failure(self, "Undo run", exc)

    def _busy(self, on: bool, message: str) -> None:
        self.busy = on
        self._say(message)
        self._update_buttons()

    def _say(self, message: str) -> None:
        self.status.setText(message)
        self.status.setVisible(bool(message))
