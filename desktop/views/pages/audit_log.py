"""Audit log: the append-only, sealed record of who did what — filter, verify, export.

The grid is a lazy model over :class:`~desktop.services.admin.audit_trail.AuditTrail`: it asks for
windows of 500 entries as the view scrolls (``canFetchMore``/``fetchMore``, loaded in the
background), sorts in the database when a header is clicked, and reloads when a filter changes
(text, kind, person, organization, return). "Verify trail" checks every seal and the checkpoint off
the GUI thread and says, in words, whether anything was changed — and if so, shows the first entry
that does not hold. Export writes every matching entry (not only the loaded ones) and ends with the
checkpoint line.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.services.admin.audit_trail import CATEGORIES, AuditEntry, AuditFilter
from desktop.views.audit.model import PAGE_SIZE, AuditLogModel, action_text
from desktop.views.combos import refill
from desktop.views.csv_export import choose_and_export
from desktop.views.models.selection import current_row
from desktop.views.ops import Progress, run_in_background
from desktop.views.pages.base import Card, Page, activity_row, house_style, label, search_field
from desktop.views.pages.info import PAGE_INFO
from desktop.views.progress_dialog import OperationDialog, failure_words
from desktop.views.theme import DISABLED_BUTTONS
from desktop.views.timers import single_shot_timer

if TYPE_CHECKING:
    from desktop.services.admin.audit import ChainReport
    from desktop.services.admin.audit_trail import AuditExport, AuditTrail
OK_COLOUR, BAD_COLOUR = "#2f9e62", "#e5484d"


def verdict(report: ChainReport, when: datetime) -> str:
    """The verification's outcome in a person's words (the reason names the first bad entry)."""
    if report.intact:
        if not report.entries:
            return "✓ Nothing recorded yet, so nothing to check"
        return f"✓ Nothing was changed: all {report.entries:,} entries check out · {when:%H:%M}"
    reason = report.reason[:1].upper() + report.reason[1:]
    return f"✗ {reason}"


def describe_entry(e: AuditEntry) -> str:
    """One entry for the details card: what, about what, and how it is sealed."""
    sealed = (f"sealed with key {e.key_id} (HMAC-SHA256)" + (f"; sealing began here (#{e.keyed_from})"
                                                            if e.keyed_from else "")
              if e.key_id else "older entry from before sealing (plain SHA-256 link)")
    about = "  ".join(x for x in (e.target or "", f"org {e.organization}" if e.organization else "",
                                  f"return {e.rma}" if e.rma else "") if x)
    return (f"#{e.seq}  {e.occurred_at.isoformat()}  {e.actor}  {e.action}  {about}\n"
            f"{json.dumps(e.details, indent=2, ensure_ascii=False, sort_keys=True)}\n"
            f"{sealed}\nprevious seal {e.prev_hash}\nseal          {e.hash}")


class AuditLogPage(Page):
    """Audit trail viewer with chain verification."""

    info = PAGE_INFO["audit_log"]

    def build(self) -> None:
        self.trail: AuditTrail | None = self.context.services.audit_trail
        self.actor = self.context.actor
        self.last_report: ChainReport | None = None
        self.last_export: Path | None = None
        self._generation = 0
        self.setStyleSheet(DISABLED_BUTTONS)
        self.model = AuditLogModel(self)
        self.model.more_wanted.connect(self._load_more)
        self._build_toolbar()
        self._build_status()
        self._build_grid()
        self.empty_state = self.add_empty_state(
            "No audit entries yet" if self.trail is not None else "The audit log is not available in this window",
            "Entries are added as people connect ledgers, edit mappings, retry or resolve errors, post by hand "
            "or change users. They can be filtered, exported to CSV and verified.")
        self.empty_state.setVisible(False)
        self._refilter = single_shot_timer(self, 250, self.reload)
        self._build_actions()
        self.model.sort_changed.connect(self.reload)  # after the header set its initial order
        self.reload()

    # -- construction ------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        """Row 1: what to show (text, kind, person, organization, return)."""
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.filter_edit = search_field("Filter by who, action, target or organization", min_width=180)
        self.filter_edit.textChanged.connect(lambda _t: self._refilter.start())
        self.category_combo = QComboBox()
        self.category_combo.addItem("Everything", None)
        for name in CATEGORIES:
            self.category_combo.addItem(name, name)
        self.category_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.actor_combo = QComboBox()
        self.actor_combo.addItem("Anyone", None)
        self.actor_combo.setMinimumWidth(110)
        self.actor_combo.setToolTip("Only what this person (or the sync, 'system') did")
        self.actor_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.org_combo = QComboBox()
        self.org_combo.addItem("All organizations", None)
        self.org_combo.setMinimumWidth(140)
        self.org_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.rma_edit = search_field("Return (RMA)", min_width=120, max_width=180)
        self.rma_edit.setToolTip("Only entries about this return: its documents, manual entries, re-plans")
        self.rma_edit.textChanged.connect(lambda _t: self._refilter.start())
        bar.addWidget(self.filter_edit, 1)
        for widget in (self.category_combo, self.actor_combo, self.org_combo, self.rma_edit):
            bar.addWidget(widget)
        self.body.addLayout(bar)
        self.body.addSpacing(8)

    def _build_status(self) -> None:
        """Row 2: the verdict and the two actions; row 3: progress and outcome messages."""
        row = QHBoxLayout()
        row.setSpacing(10)
        self.chain_label = QLabel("Not verified yet in this session")
        self.chain_label.setObjectName("Badge")
        self.chain_label.setWordWrap(True)
        self.verify_button = QPushButton("Verify trail")
        self.verify_button.setObjectName("PrimaryButton")
        self.export_button = QPushButton("Export CSV…")
        row.addWidget(self.chain_label, 1)
        row.addWidget(self.verify_button)
        row.addWidget(self.export_button)
        self.body.addLayout(row)
        self.body.addSpacing(6)
        activity, self.progress, self.status, self.count_label = activity_row()
        self.body.addWidget(activity)
        self.body.addSpacing(8)

    def _build_grid(self) -> None:
        self.grid = QWidget()
        col = QVBoxLayout(self.grid)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(12)
        self.table = QTableView()
        self.table.setObjectName("AuditTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        self.table.setMinimumHeight(380)
        header = house_style(self.table, 30)
        for column, width in enumerate((56, 150, 110, 190, 190, 110)):
            header.resizeSection(column, width)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        card = Card()
        card.layout_.addWidget(label("Entry", "SectionTitle"))
        self.entry_text = QPlainTextEdit()
        self.entry_text.setReadOnly(True)
        self.entry_text.setPlaceholderText("Select an entry to see its details and seals.")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(8.0, QFont().pointSizeF() - 1))
        self.entry_text.setFont(mono)
        self.entry_text.setFixedHeight(150)
        card.layout_.addWidget(self.entry_text)
        col.addWidget(self.table)
        col.addWidget(card)
        self.body.addWidget(self.grid)

    def _build_actions(self) -> None:
        def make(text: str, keys: QKeySequence | str, slot: Any, button: QPushButton | None) -> QAction:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _checked=False: slot())
            self.addAction(action)
            if button is not None:
                button.clicked.connect(action.trigger)
            return action

        self.verify_action = make("&Verify trail", "Ctrl+Shift+V", self.verify, self.verify_button)
        self.export_action = make("&Export CSV…", "Ctrl+E", self.choose_export, self.export_button)
        self.reload_action = make("Re&load", QKeySequence(QKeySequence.StandardKey.Refresh), self.reload, None)
        self.find_action = make("Filter", "Ctrl+Shift+F", self.filter_edit.setFocus, None)
        self.verify_button.setToolTip("Check every entry's seal, that none is missing, and that the end matches the "
                                      "last checkpoint — proof that nothing was changed (Ctrl+Shift+V)")
        self.export_button.setToolTip("Save every matching entry as a CSV file, ending with the checkpoint (Ctrl+E)")
        available = self.trail is not None and self.actor is not None
        for action, button in ((self.verify_action, self.verify_button), (self.export_action, self.export_button)):
            action.setEnabled(available)
            button.setEnabled(available)
            if not available:
                button.setToolTip("The audit log is not available in this window")

    # -- loading -------------------------------------------------------------------------------------
    def current_filter(self) -> AuditFilter:
        return AuditFilter(text=self.filter_edit.text(), category=self.category_combo.currentData(),
                           actor=self.actor_combo.currentData(), organization=self.org_combo.currentData(),
                           rma=self.rma_edit.text().strip() or None, sort=self.model.sort_key,
                           descending=self.model.descending)

    def activated(self) -> None:
        self.reload()

    def reload(self) -> None:
        trail, actor = self.trail, self.actor
        if trail is None or actor is None:
            self.grid.setVisible(False)
            self.empty_state.setVisible(True)
            return
        self._generation += 1
        generation, flt = self._generation, self.current_filter()
        self.set_busy("Loading entries…")

        def load(_p: Progress) -> tuple[int, list[AuditEntry], list[str], list[str]]:
            return (trail.count(actor, flt), trail.page(actor, flt, 0, PAGE_SIZE), trail.actors(actor),
                    trail.organizations(actor))

        def loaded(result: tuple[int, list[AuditEntry], list[str], list[str]]) -> None:
            if generation != self._generation:
                return
            total, first, actors, orgs = result
            self.model.reset(total, first)
            refill(self.actor_combo, [("Anyone", None), *((name, name) for name in actors)])
            refill(self.org_combo, [("All organizations", None), *((name, name) for name in orgs)])
            unfiltered = not (flt.text or flt.category or flt.actor or flt.organization or flt.rma)
            self.empty_state.setVisible(total == 0 and unfiltered)
            self.grid.setVisible(not (total == 0 and unfiltered))
            self.count_label.setText(f"{total:,} entr{'ies' if total != 1 else 'y'}"
                                     f"{'' if unfiltered else ' match'}")
            self.set_busy(None)

        run_in_background(self, load, on_success=loaded, on_failure=self._on_failed, label="Loading the audit log")

    def _load_more(self, offset: int) -> None:
        trail, actor, flt, generation = self.trail, self.actor, self.current_filter(), self._generation
        if trail is None or actor is None:
            return

        def loaded(entries: list[AuditEntry]) -> None:
            if generation == self._generation:
                self.model.append_page(offset, entries)

        run_in_background(self, lambda _p: trail.page(actor, flt, offset, PAGE_SIZE), on_success=loaded,
                          on_failure=self._on_failed, label="Loading more audit entries")

    # -- verify, export ------------------------------------------------------------------------------
    def verify(self) -> None:
        trail, actor = self.trail, self.actor
        if trail is None or actor is None:
            return
        self.set_busy("Checking every entry of the audit trail…")
        self.verify_action.setEnabled(False)
        self.verify_button.setEnabled(False)

        def check(_p: Progress) -> tuple[ChainReport, AuditEntry | None]:
            report = trail.verify(actor)
            seq = report.first_broken_seq
            bad = trail.entry(actor, seq, or_next=True) if seq is not None else None
            return report, bad

        def done(result: tuple[ChainReport, AuditEntry | None]) -> None:
            report, bad = result
            self.last_report = report
            self.verify_action.setEnabled(True)
            self.verify_button.setEnabled(True)
            self.set_busy(None)
            colour = OK_COLOUR if report.intact else BAD_COLOUR
            self.chain_label.setText(verdict(report, self.context.services.clock.now().astimezone()))
            self.chain_label.setToolTip(f"Checkpoint: {report.checkpoint}" if report.checkpoint else "")
            self.chain_label.setStyleSheet(f"color: {colour}; border-color: {colour}; font-weight: 600;")
            self.status.setText(f"Checkpoint: {report.checkpoint}" if report.checkpoint else "")
            if not report.intact:
                self._show_bad(report, bad)

        run_in_background(self, check, on_success=done, on_failure=self._on_failed,
                          label="Verifying the audit trail")

    def _show_bad(self, report: ChainReport, bad: AuditEntry | None) -> None:
        """Point at the first entry that does not hold: in the verdict, in the grid if loaded, in the card."""
        if bad is None:
            self.entry_text.setPlainText(f"First problem: {report.reason}")
            return
        missing = bad.seq != report.first_broken_seq  # the named entry is gone: show the one after the gap
        title = "The entry after the gap" if missing else "First bad entry"
        self.chain_label.setText(f"{self.chain_label.text()}\n{title}: #{bad.seq} · "
                                 f"{bad.occurred_at.astimezone():%Y-%m-%d %H:%M} · {bad.actor} · "
                                 f"{action_text(bad.action)} · {bad.target or ''}".rstrip(" ·"))
        row = self.model.row_of(bad.seq)
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, 0))
        heading = (f"Entry #{report.first_broken_seq} is missing. The entry after the gap:" if missing else
                   "First entry that does not hold:")
        self.entry_text.setPlainText(f"{heading}\n{describe_entry(bad)}")

    def choose_export(self) -> None:
        choose_and_export(self, "Export the audit log", "audit-log.csv", self.export_to)

    def export_to(self, path: Path) -> None:
        trail, actor, flt = self.trail, self.actor, self.current_filter()
        if trail is None or actor is None:
            return
        self.set_busy(f"Exporting to {path.name}…")

        def write(progress: Progress) -> AuditExport:
            return trail.export_csv(actor, flt, path, progress=progress)

        def done(result: AuditExport) -> str:
            self.last_export = path
            self.set_busy(None)
            where = (f"; checkpoint at entry #{result.checkpoint.head_seq}" if result.checkpoint and
                     result.report.intact else "")
            text = f"Exported {result.entries:,} entries to {path}{where}."
            warning = "" if result.report.intact else f" The trail does not verify: {result.report.reason}."
            self.status.setText(text + (f" <span style='color:{BAD_COLOUR}'>{warning}</span>" if warning else ""))
            return text + warning

        def failed(exc: BaseException) -> str:
            self._on_failed(exc)
            return failure_words(exc)

        self.export_dialog = OperationDialog(self, "Export", f"Exporting the audit log to {path.name}…",
                                             stopping=f"Stopping the export; {path.name} will not be written…",
                                             cancel_tip="Stop the export; no partial file is left behind")
        self.export_dialog.run(write, on_done=done, on_failed=failed, label="Exporting the audit log")

    # -- state -----------------------------------------------------------------------------------------
    def _show_selected(self) -> None:
        row = current_row(self.table)
        if row is None:
            self.entry_text.setPlainText("")
            return
        self.entry_text.setPlainText(describe_entry(self.model.entry_at(row)))

    def set_busy(self, message: str | None) -> None:
        self.progress.setVisible(message is not None)
        if message is not None:
            self.status.setText(message)
        elif self.status.text().endswith("…"):
            self.status.setText("")

    def _on_failed(self, exc: BaseException) -> None:
        from desktop.services.core.errors import AppError
        self.set_busy(None)
        self.model.loading = False
        self.verify_action.setEnabled(self.trail is not None)
        self.verify_button.setEnabled(self.trail is not None)
        text = exc.user_message() if isinstance(exc, AppError) else f"Something went wrong: {exc}"
        self.status.setText(f"<span style='color:{BAD_COLOUR}'>{text}</span>")
