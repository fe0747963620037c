"""The bottom "Error log" dock: live service events, filters, a details panel, and what to do about them.

Events stream in through an :class:`EventBridge` (batched, on the GUI thread). The bar filters by
text, severity floor, organization and resolved-or-not. It opens on warnings and errors: the line
under the grid says how many info messages that hides ("1,500 info messages hidden — Show all"),
and an empty grid says why it is empty ("No errors — everything synced"). The details panel on the
right tells the selected event to a person — what happened, the platform's code and words, what to
do (:func:`~desktop.services.queries.errors.explain`) — with the redacted request and last response
of the document it is about behind a disclosure (loaded in the background from
:class:`~desktop.services.queries.errors.ErrorsQueue`), and the actions (Tab reaches them from the
grid; their shortcuts work anywhere in the pane):

- **Retry** (Ctrl+R) puts a failed or quarantined document back in the outbox;
- **Resolve…** (Ctrl+D) marks the selected events handled, with a note;
- **Open return** (Ctrl+O) asks the window to show the return on the Returns page.

Both changes go through the service, which checks ``Action.RESOLVE_ERRORS``; the buttons are
disabled (tooltip says why) for a viewer, but that is a courtesy, not the lock.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.auth.roles import Action
from desktop.views.bridge import EventBridge
from desktop.views.combos import refill
from desktop.views.csv_export import choose_and_export, export_csv
from desktop.views.event_log.details import DetailsPanel, LogEmptyState, ResolveDialog, html_text
from desktop.views.event_log.filter import EventFilterProxy
from desktop.views.event_log.fold import DockFold
from desktop.views.event_log.model import (
    EXPORT_HEADERS,
    SEVERITY_COLOURS,
    EventLogModel,
    export_row,
)
from desktop.views.event_log.table import event_table
from desktop.views.models.selection import current_row
from desktop.views.ops import run_in_background
from desktop.views.resources import render_svg
from desktop.views.theme import DISABLED_BUTTONS

if TYPE_CHECKING:
    from desktop.services.auth.roles import Actor
    from desktop.services.core.events import Event
    from desktop.services.queries.errors import DocumentContext, ErrorsQueue, Resolution
_FLOORS = [("All severities", "debug"), ("Info and above", "info"),
           ("Warnings and errors", "warning"), ("Errors only", "error")]
#: The log opens on warnings and errors; info is a click away ("Show all").
DEFAULT_FLOOR = "warning"
ALL_ORGS = "All organizations"


class ErrorLogDock(QDockWidget):
    """Owns the model, proxy, view and details; fed by an :class:`EventBridge` when there is a bus.

    ``open_return_requested(org, rma)`` asks the window to show a return (Returns page).
    """

    open_return_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None, *, bridge: EventBridge | None = None) -> None:
        super().__init__("Error log", parent)
        self.setObjectName("ErrorLogDock")
        self.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        self.model = EventLogModel(self)
        self.proxy = EventFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.queue: ErrorsQueue | None = None
        self.actor: Actor | None = None
        self.context: DocumentContext | None = None
        self.busy: str | None = None
        self.last_export: Path | None = None
        self.synced = False  # a sync step has finished (seen in the log)

        body = QWidget()
        body.setStyleSheet(DISABLED_BUTTONS)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 4, 10, 8)
        layout.setSpacing(6)
        layout.addLayout(self._build_bar())
        self.table = event_table(self.proxy)
        self.empty = LogEmptyState()
        self.grid = QStackedWidget()  # the table, or what its emptiness means
        self.grid.addWidget(self.table)
        self.grid.addWidget(self.empty)
        self.footer = QHBoxLayout()
        self.footer.setContentsMargins(2, 0, 2, 0)
        self.footer.addWidget(self.summary, 1)  # cut short first on a narrow window
        self.footer.addWidget(self.hidden_label)
        left = QWidget()
        left_col = QVBoxLayout(left)
        left_col.setContentsMargins(0, 0, 0, 0)
        left_col.setSpacing(4)
        left_col.addWidget(self.grid, 1)
        left_col.addLayout(self.footer)
        self.details = DetailsPanel()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        layout.addWidget(self.splitter)
        self.setWidget(body)
        self.fold = DockFold(self, self.splitter, self.fold_button, self.folded_counts)
        self._build_actions()

        for signal in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset,
                       self.proxy.rowsInserted, self.proxy.rowsRemoved, self.proxy.modelReset,
                       self.proxy.layoutChanged):
            signal.connect(self._update_summary)
        self.hidden_label.linkActivated.connect(lambda _link: self.show_all())
        self.empty.action.clicked.connect(self._on_empty_action_clicked)
        self.setTabOrder(self.table, self.details.retry_button)
        self.setTabOrder(self.details.retry_button, self.details.resolve_button)
        self.setTabOrder(self.details.resolve_button, self.details.open_button)
        self.setTabOrder(self.details.open_button, self.details.disclosure)
        self.table.selectionModel().currentRowChanged.connect(self._on_selection_current_row_changed)
        self._update_summary()
        self.update_actions()
        self.bridge = bridge
        if bridge is not None:
            bridge.events_arrived.connect(self._on_bridge_events_arrived)

    # -- folding (see :mod:`desktop.views.event_log.fold`) --------------------------------------------
    @property
    def collapsed(self) -> bool:
        """Folded to its bar: the grid and details hidden, the filters and counts still there."""
        return self.fold.collapsed

    def set_collapsed(self, collapsed: bool) -> None:
        self.fold.set_collapsed(collapsed)

    # -- construction ----------------------------------------------------------------------------
    def _build_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter by organization, return, document or message")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(120)
        self._search_action = self.filter_edit.addAction(
            render_svg("search", self.palette().color(QPalette.ColorRole.PlaceholderText), 16, 2.0),
            QLineEdit.ActionPosition.LeadingPosition)
        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.severity_combo = QComboBox()
        self.severity_combo.setAccessibleName("Severity")
        for text, floor in _FLOORS:
            self.severity_combo.addItem(text, floor)
        self.severity_combo.setCurrentIndex(self.severity_combo.findData(DEFAULT_FLOOR))
        self.proxy.set_min_severity(DEFAULT_FLOOR)
        self.severity_combo.currentIndexChanged.connect(self._on_severity_combo_current_index_changed)
        self.org_combo = QComboBox()
        self.org_combo.addItem(ALL_ORGS, None)
        for combo, chars in ((self.severity_combo, 13), (self.org_combo, 10)):  # narrow windows: elide
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(chars)
        self.org_combo.currentIndexChanged.connect(self._on_org_combo_current_index_changed)
        self.hide_resolved = QCheckBox("Hide resolved")
        self.hide_resolved.toggled.connect(self.proxy.set_hide_resolved)
        # Under the grid: the counts, and what the severity floor hides (with the way back).
        self.summary = QLabel()
        self.summary.setObjectName("CardHint")
        self.hidden_label = QLabel()
        self.hidden_label.setObjectName("CardHint")
        self.hidden_label.setTextFormat(Qt.TextFormat.RichText)
        self.hidden_label.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                                  | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.hidden_label.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.hidden_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens
        self.summary.setMinimumWidth(0)
        self.export_button = QPushButton("Export CSV…")
        bar.addWidget(self.filter_edit, 2)
        bar.addWidget(self.severity_combo)
        bar.addWidget(self.org_combo)
        bar.addWidget(self.hide_resolved)
        self.folded_counts = QLabel()  # the counts under the grid, in the bar while the dock is folded
        self.folded_counts.setObjectName("CardHint")
        bar.addWidget(self.folded_counts)
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        self.fold_button = QToolButton()
        self.fold_button.setObjectName("LogFoldButton")
        self.fold_button.setAutoRaise(True)
        self.fold_button.clicked.connect(lambda: self.set_collapsed(not self.collapsed))
        bar.addWidget(self.fold_button)
        return bar

    def _build_actions(self) -> None:
        def make(text: str, keys: str, slot: Any) -> QAction:
            action = QAction(text, self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _checked=False: slot())
            self.addAction(action)
            self.table.addAction(action)
            return action

        self.retry_action = make("&Retry", "Ctrl+R", self.retry_selected)
        self.resolve_action = make("Re&solve…", "Ctrl+D", self.begin_resolve)
        self.open_action = make("&Open return", "Ctrl+O", self.open_selected_return)
        self.export_action = make("&Export CSV…", "Ctrl+E", self.choose_export)
        self.clear_action = make("&Clear the view", "Ctrl+Shift+Backspace", self.model.clear)
        self.clear_action.setToolTip("Clear this view (the database keeps every event)")
        self.details.retry_button.clicked.connect(self.retry_action.trigger)
        self.details.resolve_button.clicked.connect(self.resolve_action.trigger)
        self.details.open_button.clicked.connect(self.open_action.trigger)
        self.export_button.clicked.connect(self.export_action.trigger)

    # -- wiring ------------------------------------------------------------------------------------
    def set_services(self, queue: ErrorsQueue | None, actor: Actor | None) -> None:
        """Give the pane its service and the person at the desk (the window does this once)."""
        self.queue = queue
        self.actor = actor
        self.update_actions()
        reason = self._why_not_change()
        if queue is not None and reason:  # say it once, not only in tooltips
            self.details.status.setText(f"{reason}.")

    # -- selection and state -----------------------------------------------------------------------
    def selected_events(self) -> list[Event]:
        rows = sorted({self.proxy.source_row(i.row()) for i in self.table.selectionModel().selectedRows()})
        return [self.model.event_at(r) for r in rows]

    def current_event(self) -> Event | None:
        row = current_row(self.table)
        return None if row is None else self.model.event_at(row)

    def select_row(self, proxy_row: int) -> None:
        index = self.proxy.index(proxy_row, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)

    def _why_not_change(self) -> str | None:
        if self.queue is None:
            return "Retry and resolve are not available in this window"
        if self.actor is None or not self.actor.can(Action.RESOLVE_ERRORS):
            who = (f"{self.actor.username} is {'an' if self.actor.role.value[0] in 'aeiou' else 'a'} "
                   f"{self.actor.role.value}" if self.actor else "Nobody is signed in")
            return f"{who}: only an operator or admin can retry or resolve"
        if self.busy:
            return f"Wait for “{self.busy}” to finish"
        return None

    def update_actions(self) -> None:
        """Enable each action for the selection and the actor; the tooltip says why not."""
        event = self.current_event()
        change = self._why_not_change()
        retry_reason = change or (
            "Select an event about a document" if event is None or not event.document_key else
            "Loading the document…" if self.context is None or self.context.document_key != event.document_key
            else None if self.context.retryable
            else f"The document is {self.context.status.replace('_', ' ')}; only failed or quarantined "
                 "documents can be retried")
        selected = self.selected_events()
        resolve_reason = change or ("Select one or more events" if not selected else
                                    "Already resolved" if all(self.model.resolution(e.event_id) for e in selected)
                                    else None)
        open_reason = None if event is not None and event.rma else "Select an event about a return"
        export_reason = None if self.proxy.rowCount() else "Nothing to export"
        for action, reason, tip, button in (
                (self.retry_action, retry_reason, "Post the document again now (Ctrl+R)", self.details.retry_button),
                (self.resolve_action, resolve_reason, "Mark the selected events handled, with a note (Ctrl+D)",
                 self.details.resolve_button),
                (self.open_action, open_reason, "Show the return on the Returns page (Ctrl+O)",
                 self.details.open_button),
                (self.export_action, export_reason, "Save the rows shown as a CSV file (Ctrl+E)",
                 self.export_button)):
            action.setEnabled(reason is None)
            action.setToolTip(reason or tip)
            button.setEnabled(reason is None)
            button.setToolTip(reason or tip)

    def _show_current(self) -> None:
        event = self.current_event()
        resolution = self.model.resolution(event.event_id) if event else None
        context = self.context if event and self.context and self.context.document_key == event.document_key else None
        self.details.show_event(event, resolution, context, loading=context is None)
        self.update_actions()

    # -- actions -----------------------------------------------------------------------------------
    def retry_selected(self) -> None:
        event = self.current_event()
        if event is None or event.document_key is None or self.queue is None or self.actor is None:
            return
        queue, actor, key = self.queue, self.actor, event.document_key
        self._start("Retry", lambda _p: queue.retry(actor, key),
                    lambda status: self._after_change(f"Queued {key} to post again ({status}).", key))

    def begin_resolve(self) -> ResolveDialog | None:
        events = [e for e in self.selected_events() if self.model.resolution(e.event_id) is None]
        if not events or self._why_not_change():
            return None
        dialog = ResolveDialog(len(events), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.resolve([e.event_id for e in events], dialog.note.toPlainText()))
        self.resolve_dialog = dialog
        dialog.open()
        return dialog

    def resolve(self, event_ids: list[str], note: str) -> None:
        if self.queue is None or self.actor is None:
            return
        queue, actor = self.queue, self.actor

        def done(resolutions: list[Resolution]) -> None:
            self.model.set_resolutions({r.event_id: r for r in resolutions})
            count = len(resolutions)
            self._after_change(f"Resolved {count} event{'s' if count != 1 else ''}.", None)

        self._start("Resolve", lambda _p: queue.resolve(actor, event_ids, note), done)

    def open_selected_return(self) -> None:
        event = self.current_event()
        if event is not None and event.rma:
            self.open_return_requested.emit(event.org or "", event.rma)

    def choose_export(self) -> None:
        if self.proxy.rowCount():
            choose_and_export(self, "Export the error log", "error-log.csv", self.export_to)

    def export_to(self, path: Path) -> None:
        """Write the rows shown (filters applied) to ``path``; formatting happens on the worker."""
        model = self.model
        source_row = self.proxy.source_row
        rows = [(e, model.resolution(e.event_id))
                for e in (model.event_at(source_row(r)) for r in range(self.proxy.rowCount()))]

        def done(written: Path, count: int) -> None:
            self.last_export = written
            self.details.status.setText(f"Exported {count:,} events to {written}.")

        export_csv(self, path, self.proxy, rows=rows, format_row=export_row, headers=EXPORT_HEADERS,
                   on_done=done, on_failure=self._on_failed)

    def _start(self, label: str, fn: Any, on_success: Any) -> None:
        self.busy = label
        self.details.status.setText(f"{label}…")
        self.update_actions()

        def finished(result: Any) -> None:
            self.busy = None
            on_success(result)

        run_in_background(self, fn, on_success=finished, on_failure=self._on_failed, label=label)

    def _after_change(self, message: str, reload_key: str | None) -> None:
        self.details.status.setText(message)
        if reload_key is not None:
            self.context = None
            self._load_context(reload_key)
        self._show_current()

    def _on_failed(self, exc: BaseException) -> None:
        from desktop.services.core.errors import AppError
        self.busy = None
        text = exc.user_message() if isinstance(exc, AppError) else f"Failed: {exc}"
        colour = SEVERITY_COLOURS["error"]
        self.details.status.setText(f"<span style='color:{colour}'>{html_text(text)}</span>")
        self.update_actions()

    def _load_context(self, key: str) -> None:
        if self.queue is None:
            return
        queue = self.queue

        def loaded(context: DocumentContext | None) -> None:
            event = self.current_event()
            if event is not None and event.document_key == key:
                self.context = context
                self._show_current()

        run_in_background(self, lambda _p: queue.document_context(key), on_success=loaded,
                          on_failure=self._on_failed, label="Load the document")

    # -- slots -------------------------------------------------------------------------------------
    @Slot(list)
    def _on_bridge_events_arrived(self, events: list[object]) -> None:
        bar = self.table.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 2
        known = self.org_combo.count() - 1
        self._note_syncs(events)
        self.model.append_events(events)  # type: ignore[arg-type]
        orgs = self.model.organizations()
        if len(orgs) != known:
            self._refresh_orgs(orgs)
        if at_bottom:
            self.table.scrollToBottom()

    def _note_syncs(self, events: list[Any]) -> None:
        """Remember that a sync step has finished: only then may an empty log say "everything synced"."""
        if not self.synced:
            self.synced = any(getattr(e, "kind", "") == "sync.finished" for e in events)

    def _refresh_orgs(self, orgs: list[str]) -> None:
        refill(self.org_combo, [(ALL_ORGS, None), *((org, org) for org in orgs)])

    def load_history(self, events: list[Event], resolutions: dict[str, Resolution] | None = None) -> int:
        """Put earlier events (from the database) before the live ones, with their resolutions."""
        self._note_syncs(events)
        added = self.model.prepend_events(events)
        self.model.set_resolutions(resolutions or {})
        self._refresh_orgs(self.model.organizations())
        return added

    def _on_severity_combo_current_index_changed(self, index: int) -> None:
        self.proxy.set_min_severity(str(self.severity_combo.itemData(index)))
        self.update_actions()

    def _on_org_combo_current_index_changed(self, index: int) -> None:
        self.proxy.set_organization(self.org_combo.itemData(index))
        self.update_actions()

    def _on_selection_current_row_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        event = self.current_event()
        if event is not None and event.document_key and (
                self.context is None or self.context.document_key != event.document_key):
            self.context = None
            self._load_context(event.document_key)
        self._show_current()

    def show_all(self) -> None:
        """Every severity (the "Show all" link and the empty state's button)."""
        self.severity_combo.setCurrentIndex(self.severity_combo.findData("debug"))

    def clear_filters(self) -> None:
        self.filter_edit.clear()
        self.org_combo.setCurrentIndex(0)
        self.hide_resolved.setChecked(False)

    def _on_empty_action_clicked(self) -> None:
        if self.empty.action.property("does") == "clear":
            self.clear_filters()
        else:
            self.show_all()

    def _update_summary(self) -> None:
        counts = self.model.counts()
        errors = counts["error"] + counts["critical"]
        parts = [f"{self.model.rowCount():,} events"]
        if errors:
            parts.append(f"{errors:,} error{'s' if errors != 1 else ''}")
        if counts["warning"]:
            parts.append(f"{counts['warning']:,} warning{'s' if counts['warning'] != 1 else ''}")
        self.summary.setText(" · ".join(parts))
        self.folded_counts.setText(" · ".join(parts[1:]) or "no errors or warnings")
        hidden = self.proxy.hidden_by_severity()
        floor = str(self.severity_combo.currentData())
        what = "info messages" if floor == "warning" else "warnings and info messages" if floor == "error" \
            else "debug messages"
        self.hidden_label.setText(f"{hidden:,} {what} hidden — <a href='show-all'>Show all</a>" if hidden else "")
        self.hidden_label.setToolTip("Show every severity" if hidden else "")
        self._update_empty_state(hidden)

    def _update_empty_state(self, hidden: int) -> None:
        if self.proxy.rowCount():
            self.grid.setCurrentWidget(self.table)
            return
        if self.details.explanation is not None:  # the event shown was filtered away: say nothing about it
            self._show_current()
        floor = str(self.severity_combo.currentData())
        org = self.org_combo.currentData()
        scope = f" in {org}" if org else ""
        open_ = "unresolved " if self.hide_resolved.isChecked() else ""
        # "everything synced" only once something has: before the first sync nothing has gone wrong yet
        done = " — everything synced" if self.synced else " yet"
        if not self.model.rowCount():
            self.empty.say("No events yet", "Sync, connection and reconciliation events appear here as they happen.")
        elif self.filter_edit.text().strip():
            self.empty.say("Nothing matches this filter", "Clear the filter to see every event again.",
                           "Clear the filter", "clear")
        elif floor == "error":
            self.empty.say(f"No {open_}errors{scope}{done}",
                           f"{hidden:,} warnings and info messages are hidden." if hidden else "",
                           "Show all", "show-all")
        elif floor == "warning":
            self.empty.say(f"No {open_}warnings or errors{scope}{done}",
                           f"{hidden:,} info messages are hidden." if hidden else "", "Show all", "show-all")
        else:
            self.empty.say(f"No {open_}events{scope}", "", "Show everything", "clear")
        self.grid.setCurrentWidget(self.empty)
