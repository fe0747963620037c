"""Dashboard: the product's three promised metrics and sync health, per organization.

Thin by design: :class:`DashboardService` gathers one :class:`DashboardData` on a worker thread
(``run_in_background``) and the page draws it. It refreshes when it is shown, every 30 seconds,
and (debounced) when sync, document or connection events arrive on the bus. Sync now, Pause and
Resume go through the service, which checks ``RUN_SYNC``; the buttons are disabled with a
tooltip for people who may not use them.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.services.core.progress import write_file
from desktop.services.pipeline.scheduler import describe_sync
from desktop.services.queries.dashboard import DashboardData, DashboardService
from desktop.services.queries.metrics import DEFINITIONS, MetricsReport, format_duration, format_pct
from desktop.views.bridge import EventBridge
from desktop.views.connections.model import STATES
from desktop.views.csv_export import choose_and_export, export_csv
from desktop.views.dashboard.approvals import ApprovalsCard
from desktop.views.dashboard.runs import RunsCard
from desktop.views.dashboard.widgets import QueueModel, TrendChart, format_when
from desktop.views.ops import BackgroundOperation, Progress, run_in_background
from desktop.views.pages.base import Card, MetricCard, Page, label, search_field
from desktop.views.pages.info import PAGE_INFO
from desktop.views.progress_dialog import OperationDialog, failure_words
from desktop.views.sources import source_name
from desktop.views.timers import single_shot_timer

REFRESH_MS = 30_000
DEBOUNCE_MS = 1_000
NO_PERMISSION = "Only an operator or admin can run or pause sync"


class DashboardPage(Page):
    """Headline metrics, health, queue and trends of one organization; sync controls."""

    info = PAGE_INFO["dashboard"]

    def build(self) -> None:
        ctx = self.context
        self.service: DashboardService | None = ctx.services.dashboard
        self.data: DashboardData | None = None
        self._op: BackgroundOperation[Any] | None = None
        self._again = False
        self._message = ""  # the last action's outcome, kept across refreshes

        # --- toolbar: organization, status, controls ---------------------------------------------
        self.toolbar = QWidget()
        bar = QHBoxLayout(self.toolbar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(8)
        self.org_combo = QComboBox()
        self.org_combo.setMinimumWidth(220)
        self.org_combo.setAccessibleName("Organization")
        self.status = label("", "CardHint")
        self.sync_button = QPushButton("Sync now")
        self.sync_button.setObjectName("PrimaryButton")
        self.pause_button = QPushButton("Pause")
        self.metrics_export_button = QPushButton("Export metrics…")
        self.metrics_export_button.setToolTip("The monthly figures as CSV — the same as `returns-ledger metrics --csv`")
        bar.addWidget(label("Organization", "CardTitle"))
        bar.addWidget(self.org_combo)
        bar.addSpacing(12)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.metrics_export_button)
        bar.addWidget(self.pause_button)
        bar.addWidget(self.sync_button)
        self.content = QWidget()  # everything but the empty state, shown and hidden as one
        content = QVBoxLayout(self.content)
        content.setContentsMargins(0, 0, 0, 0)
        content.setSpacing(16)
        content.addWidget(self.toolbar)

        # --- headline metrics ----------------------------------------------------------------------
        self.metrics = [
            MetricCard("Sync accuracy", "Posted and verified in the books"),
            MetricCard("Time to reconcile", "Median from RMS event to verified in the books"),
            MetricCard("Errors prevented", "Problems stopped before the ledger"),
        ]
        for card, key in zip(self.metrics, DEFINITIONS, strict=True):
            card.setToolTip(DEFINITIONS[key])
            card.setAccessibleDescription(DEFINITIONS[key])
        self.metrics_row = QWidget()
        row = QHBoxLayout(self.metrics_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(16)
        for card in self.metrics:
            row.addWidget(card)
        self.period_label = label("", "CardHint")  # the headline period, said once for the three cards
        content.addWidget(self.period_label)
        content.addSpacing(-8)
        content.addWidget(self.metrics_row)

        # --- health and queue ------------------------------------------------------------------------
        self.health_card = Card()
        self.health_card.layout_.addWidget(label("Sync health", "CardTitle"))
        self.health_card.layout_.addSpacing(6)
        self.health_grid = QGridLayout()
        self.health_grid.setHorizontalSpacing(16)
        self.health_grid.setVerticalSpacing(6)
        self.health_card.layout_.addLayout(self.health_grid)
        self.health_card.layout_.addStretch(1)
        self.queue_card = Card()
        head = QHBoxLayout()
        head.addWidget(label("Sync queue", "CardTitle"), 1)
        self.queue_filter = search_field("Filter…", max_width=180)
        self.export_button = QPushButton("Export CSV…")
        self.export_button.setToolTip("The queue as CSV (Ctrl+E)")
        head.addWidget(self.queue_filter)
        head.addWidget(self.export_button)
        self.queue_card.layout_.addLayout(head)
        self.queue_model = QueueModel(self)
        self.queue_proxy = QSortFilterProxyModel(self)
        self.queue_proxy.setSourceModel(self.queue_model)
        self.queue_proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.queue_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.queue_proxy.setFilterKeyColumn(-1)
        self.queue_view = QTableView()
        self.queue_view.setModel(self.queue_proxy)
        self.queue_view.setSortingEnabled(True)
        self.queue_view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.queue_view.verticalHeader().setVisible(False)
        self.queue_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.queue_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.queue_view.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.queue_view.setColumnWidth(0, 120)
        self.queue_view.setMinimumHeight(200)
        self.queue_card.layout_.addWidget(self.queue_view)
        self.middle = QWidget()
        mid = QHBoxLayout(self.middle)
        mid.setContentsMargins(0, 0, 0, 0)
        mid.setSpacing(16)
        mid.addWidget(self.health_card, 2)
        mid.addWidget(self.queue_card, 3)
        content.addWidget(self.middle)
        self.approvals_card = ApprovalsCard(ctx.services.approvals, ctx.actor)  # maker-checker's queue
        content.addWidget(self.approvals_card)
        self.runs_card = RunsCard(ctx.services.runs, ctx.actor)  # what each sync run posted; "Undo run…"
        content.addWidget(self.runs_card)

        # --- trends --------------------------------------------------------------------------------
        self.accuracy_chart = TrendChart("Sync accuracy by month (%)")
        self.reconcile_chart = TrendChart("Time to reconcile: median and p95")
        self.prevented_chart = TrendChart("Errors prevented by month")
        for chart, key in zip((self.accuracy_chart, self.reconcile_chart, self.prevented_chart), DEFINITIONS,
                              strict=True):
            chart.setToolTip(DEFINITIONS[key])
        self.charts = QWidget()
        grid = QGridLayout(self.charts)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(16)
        grid.addWidget(self.accuracy_chart, 0, 0, 1, 2)
        grid.addWidget(self.reconcile_chart, 1, 0)
        grid.addWidget(self.prevented_chart, 1, 1)
        content.addWidget(self.charts)
        self.body.addWidget(self.content)

        self.empty = self.add_empty_state(
            "Nothing has synced yet",
            "Connect a QuickBooks Online or Xero ledger and your returns system. After the first sync "
            "this page shows sync accuracy, time to reconcile and errors prevented, and charts them over time.",
            action="Connect a ledger", target="connections",
        )
        self._show_content(False)

        # --- behaviour -------------------------------------------------------------------------------
        self.org_combo.activated.connect(lambda _i: self.reload())
        self.sync_button.clicked.connect(self.sync_now)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.queue_filter.textChanged.connect(self.queue_proxy.setFilterFixedString)
        self.export_button.clicked.connect(self.export)
        self.metrics_export_button.clicked.connect(self.export_metrics)
        for keys, slot in (("F5", self.reload), ("Ctrl+R", self.sync_now), ("Ctrl+E", self.export)):
            action = QAction(self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            self.addAction(action)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.reload)
        self.debounce = single_shot_timer(self, DEBOUNCE_MS, self.reload)
        self._bridge: EventBridge | None = None
        if self.service is not None:
            self.timer.start()
            if ctx.bus is not None:
                self._bridge = EventBridge(ctx.bus, self, batch_interval_ms=250, kinds=[
                    "sync.*", "document.*", "connection.*", "reconciliation.*", "return.*", "approval.*", "run.*"])
                self._bridge.events_arrived.connect(lambda _events: self.debounce.start())
                self.destroyed.connect(self._bridge.close)
        self._update_controls()

    # --- loading ---------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.service is not None:
            self.reload()

    @property
    def loading(self) -> bool:
        return self._op is not None

    def activated(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read the selected organization's dashboard in the background (one read at a time)."""
        service = self.service
        if service is None:
            return
        if self._op is not None:
            self._again = True
            return
        wanted = self.org_combo.currentData()

        def load(_progress: Any) -> tuple[list[tuple[str, str]], DashboardData | None]:
            orgs = service.organizations()
            codes = [c for c, _n in orgs]
            org = wanted if wanted in codes else (codes[0] if codes else None)
            return orgs, service.snapshot(org) if org is not None else None

        self.approvals_card.reload()
        self._op = run_in_background(self, load, on_success=self._loaded, on_failure=self._failed,
                                     label="Loading the dashboard")

    def _loaded(self, result: tuple[list[tuple[str, str]], DashboardData | None]) -> None:
        self._op = None
        orgs, data = result
        self.org_combo.blockSignals(True)
        self.org_combo.clear()
        for code, name in orgs:
            self.org_combo.addItem(f"{name} ({code})", code)
        if data is not None and data.org is not None:
            self.org_combo.setCurrentIndex(self.org_combo.findData(data.org))
        self.org_combo.blockSignals(False)
        self.show_data(data)
        if data is not None and data.org is not None:
            self.runs_card.reload(data.org)
        if self._again:
            self._again = False
            self.reload()

    def _failed(self, exc: BaseException) -> None:
        self._op = None
        self._again = False
        self._say(f"Could not load the dashboard: {exc}")

    # --- drawing ---------------------------------------------------------------------------------
    def _show_content(self, on: bool) -> None:
        self.content.setVisible(on)
        self.empty.setVisible(not on)

    def show_data(self, data: DashboardData | None) -> None:
        """Draw ``data`` (None or no organization: the empty state)."""
        self.data = data
        if data is None or data.org is None:
            self._show_content(False)
            self._update_controls()
            return
        self._show_content(True)
        if data.metrics is not None:
            self._draw_metrics(data.metrics)
        self.queue_model.set_counts(data.queue)
        self._draw_health(data)
        self._update_controls()

    def _draw_metrics(self, report: MetricsReport) -> None:
        """The three cards (the headline month) and the three charts (the trend), as ``metrics`` prints them."""
        h = report.headline
        self.period_label.setText(f"Last {(report.end - report.start).days + 1} days · {h.label}")
        self.metrics[0].value_label.setText(format_pct(h.accuracy_pct))
        held = f" · {h.held:,} held by pre-flight" if h.held else ""
        self.metrics[0].hint_label.setText(f"{h.verified:,} of {h.due:,} documents due verified{held}"
                                           if h.due else "Nothing due in these days")
        self.metrics[1].value_label.setText(format_duration(h.reconcile_median_s))
        self.metrics[1].hint_label.setText(
            f"Median, RMS event → verified · p95 {format_duration(h.reconcile_p95_s)}"
            if h.reconcile_median_s is not None else "Nothing verified by a reconciliation in these days")
        self.metrics[2].value_label.setText(f"{h.errors_prevented:,}")
        self.metrics[2].hint_label.setText(
            f"{h.preflight_refusals:,} pre-flight refusal{'s' if h.preflight_refusals != 1 else ''}, "
            f"{h.duplicate_refusals:,} duplicate{'s' if h.duplicate_refusals != 1 else ''} refused")
        months = [m.period for m in report.months]
        self.accuracy_chart.show_line(report.months)
        longest = max((m.reconcile_p95_s or 0 for m in report.months), default=0)
        unit, per = ("days", 86400) if longest >= 2 * 86400 else ("hours", 3600)
        self.reconcile_chart.chart().setTitle(f"Time to reconcile ({unit}): median and p95")
        self.reconcile_chart.show_bars(months, [
            ("Median", [(m.reconcile_median_s or 0) / per for m in report.months]),
            ("95th percentile", [(m.reconcile_p95_s or 0) / per for m in report.months])], "%.0f", stacked=False)
        self.prevented_chart.show_bars(months, [
            ("Pre-flight refusals", [float(m.preflight_refusals) for m in report.months]),
            ("Duplicates refused", [float(m.duplicate_refusals) for m in report.months])], "%d")

    def _draw_health(self, data: DashboardData) -> None:
        while self.health_grid.count():
            item = self.health_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        now = self.context.services.clock.now()
        rows: list[tuple[str, str]] = []
        for c in data.connections:
            colour = STATES.get(c.state, ("", "#7b8594"))[1]
            platform = source_name(c.platform)
            rows.append(("", f"<b>{escape(platform)} · {escape(c.company_name)}</b>"))
            rows.append(("Connection", f"<span style='color:{colour}'>●</span> {escape(c.state_text)}"))
            budget = " · ".join(p for p in (
                f"{c.minute_remaining:,} left this minute" if c.minute_remaining is not None else "",
                f"{c.day_remaining:,} left today" if c.day_remaining is not None else "") if p)
            rows.append(("API calls", budget or "Not known until the next call"))
            for u in (u for u in data.usage if u.connection_id == c.connection_id):
                amber = STATES["token_expiring"][1]
                mark = f"<span style='color:{amber}'>▲ {u.alert}</span> · " if u.alert else ""
                rows.append(("Metered use", f"{mark}{escape(u.text)}"))
        if data.held_text:  # a used-up allowance: what waits, until when, and what to do
            red = STATES["needs_reconnect"][1]
            rows.append(("Held until reset", f"<span style='color:{red}'>■</span> {escape(data.held_text)}"))
        if data.pull_warning:
            amber = STATES["token_expiring"][1]
            rows.append(("Ledger read-back", f"<span style='color:{amber}'>▲</span> {escape(data.pull_warning)}"))
        if not data.connections:
            rows.append(("Ledger", "Not connected"))
        last = data.last_sync
        rows.append(("Last sync", "Never" if last is None else
                     f"{escape(last.text)} · {format_when(last.finished_at, now)}"))
        rows.append(("Next sync", "Paused" if data.paused else format_when(data.next_sync, now)))
        for r, (name, value) in enumerate(rows):
            val = QLabel(value)
            val.setTextFormat(Qt.TextFormat.RichText)
            val.setWordWrap(True)
            if not name:  # a connection's heading spans both columns
                self.health_grid.addWidget(val, r, 0, 1, 2)
                continue
            self.health_grid.addWidget(label(name, "CardHint"), r, 0, Qt.AlignmentFlag.AlignTop)
            self.health_grid.addWidget(val, r, 1)
        self.health_grid.setColumnStretch(1, 1)
        self.status.setText("Scheduled sync is paused" if data.paused else self._message)

    def _update_controls(self) -> None:
        service, data = self.service, self.data
        allowed = service is not None and service.can_control(self.context.actor)
        ready = allowed and data is not None and data.org is not None
        paused = bool(data and data.paused)
        self.metrics_export_button.setEnabled(data is not None and data.metrics is not None)
        self.pause_button.setText("Resume" if paused else "Pause")
        for button, tip in ((self.sync_button, "Ingest, post and pull now (Ctrl+R)"),
                            (self.pause_button, "Resume scheduled sync" if paused else "Stop scheduled sync")):
            button.setEnabled(ready)
            button.setToolTip(tip if allowed else NO_PERMISSION if self.context.services.scheduler is not None
                              else "Sync is not running in this window")

    def _say(self, message: str) -> None:
        self._message = message
        self.status.setText(message)

    # --- actions ---------------------------------------------------------------------------------
    def sync_now(self) -> None:
        service, data, actor = self.service, self.data, self.context.actor
        if service is None or data is None or data.org is None or actor is None or not self.sync_button.isEnabled():
            return
        org = data.org
        self.sync_button.setEnabled(False)
        self._say(f"Syncing {org}…")

        def run(progress: Progress) -> dict[str, Any]:
            return service.sync_now(actor, org, progress).result()

        def synced(result: dict[str, Any]) -> str:
            text = describe_sync(org, result)
            self._say(text)
            self._update_controls()
            self.reload()
            return text

        def failed(exc: BaseException) -> str:
            self._sync_failed(exc)
            return f"Sync of {org} could not run: {failure_words(exc)}"

        self.sync_dialog = OperationDialog(self, "Sync now", f"Syncing {org}: ingest, post, pull…",
                                           stopping=f"Stopping the sync of {org} after the batch being posted…",
                                           cancel_tip="Stop after the batch being posted; what is posted stays posted")
        self.sync_dialog.run(run, on_done=synced, on_failed=failed, label="Sync now")

    def _sync_failed(self, exc: BaseException) -> None:
        self._say(f"Sync could not run: {exc}")
        self._update_controls()

    def toggle_pause(self) -> None:
        service, data, actor = self.service, self.data, self.context.actor
        if service is None or data is None or data.org is None or actor is None or not self.pause_button.isEnabled():
            return
        org, paused = data.org, data.paused
        self.pause_button.setEnabled(False)

        def run(_progress: Any) -> None:
            (service.resume if paused else service.pause)(actor, org)

        run_in_background(self, run, on_success=lambda _r: self.reload(), on_failure=self._sync_failed,
                          label="Resume sync" if paused else "Pause sync")

    def export_metrics(self) -> None:
        """The monthly figures as CSV, written by the report itself (the CLI's ``--csv`` writes the same)."""
        report = self.data.metrics if self.data is not None else None
        if report is None:
            return

        def write(path: Path) -> None:
            run_in_background(self, lambda _p: write_file(path, report.csv_text(), what="metrics export"),
                              on_success=lambda _n: self._say(f"Exported the metrics to {path}"),
                              on_failure=lambda exc: self._say(f"Could not export the metrics: {exc}"),
                              label="Export the metrics")

        self.export_dialog = choose_and_export(self, "Export the metrics", f"metrics-{report.org or 'all'}-"
                                               f"{report.end.isoformat()}.csv", write)

    def export(self) -> None:
        org = self.data.org if self.data is not None else None
        self.export_dialog = choose_and_export(
            self, "Export the sync queue", f"sync-queue-{org or 'none'}.csv",
            lambda path: export_csv(self, path, self.queue_proxy, view=self.queue_view))
