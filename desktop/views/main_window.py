"""The main window: sidebar navigation over the pages, the error-log dock, and the status bar.

It only arranges things. Pages do their own work (through ``views.ops``), the dock owns the log
model, and the window's job is navigation, shortcuts (Ctrl+1…Ctrl+8, Ctrl+L, Ctrl+Shift+L), and remembering its
geometry in QSettings — which never holds secrets. The menu bar is :mod:`desktop.views.menus`'s; the
set-up assistant is opened through :class:`~desktop.views.setup.launcher.SetupLauncher`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME, __version__
from desktop.views.bridge import EventBridge
from desktop.views.context import ShellContext
from desktop.views.event_log.dock import ErrorLogDock
from desktop.views.menus import install_menu_bar
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Page
from desktop.views.pages.catalog import PAGE_CLASSES
from desktop.views.resources import app_icon, render_svg, tinted_icon
from desktop.views.setup import SETUP_KEY
from desktop.views.setup.launcher import SetupLauncher
from desktop.views.sync_status import SyncFreshness, load_freshness, status_text
from desktop.views.tray import TrayController

DEFAULT_SIZE = QSize(1280, 800)
log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """Sidebar + stacked pages + "Error log" dock + status bar."""

    closed = Signal()

    def __init__(self, context: ShellContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.history_state = "none"  # none | loading | loaded | failed
        self.setWindowTitle(f"{APP_NAME}{' — demo' if context.demo else ''}")
        self.setWindowIcon(app_icon())
        self.setObjectName("MainWindow")
        self.resize(DEFAULT_SIZE)

        self.pages: list[Page] = [cls(context) for cls in PAGE_CLASSES]
        self.stack = QStackedWidget()
        self.stack.setObjectName("Pages")
        for page in self.pages:
            self.stack.addWidget(page)
            page.navigate_requested.connect(self.show_page_by_key)

        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self._build_sidebar())
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.bridge = EventBridge(context.bus, self) if context.bus is not None else None
        self.log_dock = ErrorLogDock(self, bridge=self.bridge)
        if self.bridge is not None:
            self.bridge.events_arrived.connect(self._on_bridge_events_arrived)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.resizeDocks([self.log_dock], [200], Qt.Orientation.Vertical)
        self.log_dock.set_services(context.services.errors_queue, context.actor)
        self.log_dock.open_return_requested.connect(self._on_log_dock_open_return_requested)
        self.tray = TrayController(self, context.bus, context.settings, app_icon())
        self.tray.show_requested.connect(self._on_tray_show_requested)
        self.tray.quit_requested.connect(self.close)
        self._build_actions()
        self.setup = SetupLauncher(self, context, self.show_page_by_key, lambda: self.current_page.activated())
        self.help_actions = install_menu_bar(self, context, page_actions=self.page_actions,
                                             log_action=self.toggle_log_action, open_assistant=self.setup.open,
                                             quit_app=self.tray.quit_action.trigger)
        self.menu_actions: dict[str, QAction] = self.help_actions.actions
        self._build_status_bar()
        self.refresh_last_sync()
        self._restore_geometry()
        self.nav.setCurrentRow(0)

    # -- construction --------------------------------------------------------------------------
    def _build_sidebar(self) -> QFrame:
        sidebar = QFrame()
        sidebar.setObjectName("Sidebar")
        sidebar.setFixedWidth(248)
        col = QVBoxLayout(sidebar)
        col.setContentsMargins(14, 18, 14, 14)
        col.setSpacing(0)
        brand = QHBoxLayout()
        brand.setSpacing(10)
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(QSize(34, 34)))
        brand.addWidget(logo)
        names = QVBoxLayout()
        names.setSpacing(0)
        title = QLabel(APP_NAME)
        title.setObjectName("BrandName")
        tagline = QLabel("Returns ⟷ general ledger")
        tagline.setObjectName("BrandTagline")
        names.addWidget(title)
        names.addWidget(tagline)
        brand.addLayout(names, 1)
        col.addLayout(brand)
        col.addSpacing(22)

        self.nav = QListWidget()
        self.nav.setObjectName("Nav")
        self.nav.setIconSize(QSize(18, 18))
        self.nav.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.nav.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for number, page in enumerate(self.pages, start=1):
            item = QListWidgetItem(page.info.title)
            item.setToolTip(f"{page.info.title}  (Ctrl+{number})")
            item.setSizeHint(QSize(0, 38))
            self.nav.addItem(item)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.currentRowChanged.connect(self._on_nav_current_row_changed)
        self._tint_nav_icons()
        col.addWidget(self.nav, 1)

        footer = QLabel(f"Version {__version__}{'  ·  Demo data' if self.context.demo else ''}")
        footer.setObjectName("SidebarFooter")
        col.addWidget(footer)
        return sidebar

    def _tint_nav_icons(self) -> None:
        pal = self.palette()
        normal = pal.color(QPalette.ColorRole.WindowText)
        selected = pal.color(QPalette.ColorRole.HighlightedText)
        for row, page in enumerate(self.pages):
            item = self.nav.item(row)
            if item is not None:
                item.setIcon(tinted_icon(page.info.icon, normal, selected, 18))

    def _build_actions(self) -> None:
        self.page_actions: list[QAction] = []
        for number, page in enumerate(self.pages, start=1):
            action = QAction(page.info.title, self)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(lambda _checked=False, row=number - 1: self.show_page(row))
            self.addAction(action)
            self.page_actions.append(action)
        toggle = self.log_dock.toggleViewAction()
        toggle.setText("Error log")
        toggle.setShortcut(QKeySequence("Ctrl+L"))
        toggle.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.addAction(toggle)
        self.toggle_log_action = toggle
        find = QAction("Filter the error log", self)
        find.setShortcut(QKeySequence("Ctrl+Shift+L"))  # Ctrl+F is each page's own search
        find.triggered.connect(self._on_find_triggered)
        self.addAction(find)

    def _on_find_triggered(self) -> None:
        self.log_dock.show()
        self.log_dock.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.log_dock.filter_edit.selectAll()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        self.user_label = self._status_label("user", f"{self.context.user} · {self.context.role}",
                                             "Signed-in user and role")
        self.database_label = self._status_label("database", self.context.database_label, "Database")
        self.last_sync_label = self._status_label("sync", "Last sync: never", "Most recent completed sync")
        for widget in (self.user_label, self.database_label, self.last_sync_label):
            bar.addPermanentWidget(widget)

    def _status_label(self, icon: str, text: str, tooltip: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(8, 2, 8, 2)
        row.setSpacing(6)
        glyph = QLabel()
        glyph.setPixmap(render_svg(icon, self.palette().color(QPalette.ColorRole.PlaceholderText), 14, 2.0))
        glyph.setObjectName(f"status-{icon}-icon")
        text_label = QLabel(text)
        text_label.setObjectName(f"status-{icon}")
        row.addWidget(glyph)
        row.addWidget(text_label)
        box.setToolTip(tooltip)
        return box

    # -- navigation ------------------------------------------------------------------------------
    def _on_nav_current_row_changed(self, index: int) -> None:
        if 0 <= index < len(self.pages):
            self.pages[index].activated()

    def _on_bridge_events_arrived(self, events: list[object]) -> None:
        """A sync step finished: read "Last sync" again (from where the Dashboard reads it)."""
        if any(getattr(e, "kind", "") == "sync.finished" for e in events):
            self.refresh_last_sync()

    def refresh_last_sync(self) -> None:
        """The status bar's "Last sync" is the Dashboard's, per organization (:mod:`desktop.views.sync_status`)."""
        dashboard, clock = self.context.services.dashboard, self.context.services.clock
        if dashboard is None:
            return

        def show(freshness: SyncFreshness) -> None:
            text, shown = self.last_sync_label.findChild(QLabel, "status-sync"), status_text(freshness, clock.now())
            if shown is not None and text is not None:
                text.setText(shown[0])
                self.last_sync_label.setToolTip(shown[1])

        run_in_background(self, lambda _p: load_freshness(dashboard), on_success=show,
                          on_failure=lambda exc: log.warning("could not read the last sync: %s", exc),
                          label="read the last sync")

    def show_page(self, index: int) -> None:
        self.nav.setCurrentRow(index)

    def show_page_by_key(self, key: str) -> None:
        if key == SETUP_KEY:  # "Set-up assistant…" buttons on pages
            self.setup.open()
            return
        for index, page in enumerate(self.pages):
            if page.info.key == key:
                self.show_page(index)
                return

    @property
    def current_page(self) -> Page:
        page = self.stack.currentWidget()
        assert isinstance(page, Page)
        return page

    def _on_log_dock_open_return_requested(self, org: str, rma: str) -> None:
        """The Returns page shows the return if it knows how (``show_return(org, rma)``)."""
        self.show_page_by_key("returns")
        show = getattr(self.current_page, "show_return", None)
        if callable(show):
            show(org, rma)

    def _on_tray_show_requested(self, target: str) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()
        if target == "error_log":
            self.log_dock.show()
        elif target:
            self.show_page_by_key(target)

    # -- history -------------------------------------------------------------------------------
    def load_history(self, loader: Callable[[], Any]) -> None:
        """Fill the log pane with earlier events from the database, off the GUI thread."""
        self.history_state = "loading"

        def loaded(events: Any) -> None:
            if isinstance(events, tuple):  # ErrorsQueue.history(): (events, resolutions)
                self.log_dock.load_history(*events)
            else:
                self.log_dock.load_history(events)
            self.log_dock.table.scrollToBottom()
            self.history_state = "loaded"

        def failed(exc: BaseException) -> None:
            self.history_state = "failed"
            log.warning("could not load earlier events: %s", exc)

        run_in_background(self, lambda _progress: loader(), on_success=loaded, on_failure=failed,
                          label="load the event history")

    # -- state -----------------------------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self.context.settings.value("window/geometry")
        state = self.context.settings.value("window/state")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        self.log_dock.fold.restore(self.context.settings)  # folded or not, and its unfolded height

    def save_state(self) -> None:
        self.context.settings.setValue("window/geometry", self.saveGeometry())
        self.context.settings.setValue("window/state", self.saveState())
        self.log_dock.fold.save(self.context.settings)
        self.context.settings.sync()

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) \
                and hasattr(self, "nav"):
            self._tint_nav_icons()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.tray.should_hide_instead_of_close():  # the sync keeps running; "Quit" really quits
            self.save_state()
            self.hide()
            event.ignore()
            return
        self.save_state()
        self.tray.close()
        if self.bridge is not None:
            self.bridge.close()
        super().closeEvent(event)
        self.closed.emit()
