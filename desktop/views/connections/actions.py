"""What the Connections page's buttons and menu do: every call to the service runs in the background.

One :class:`ConnectionActions` per page owns the ``QAction``s (shared by the toolbar, the context
menu and the keyboard shortcuts), decides which are enabled for the selected row and the actor's
role — saying why in the tooltip when not — and drives the dialogs: connect, reconnect (the
embedded sign-in), and the confirmation before a disconnect. The service enforces permissions
again; disabled buttons are a courtesy, not the lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton, QWidget

from desktop.services.auth.platforms import Environment, Platform, platform_label
from desktop.services.auth.roles import Action
from desktop.services.connections.apps import OAuthApp
from desktop.services.connections.details import details_for
from desktop.services.core.csv_safe import SafeWriter
from desktop.services.core.errors import AppError, ConfigurationError
from desktop.services.core.progress import replace_when_done
from desktop.services.platforms.registry import DEFAULT_PLATFORM, platform_for
from desktop.views.bridge import EventBridge
from desktop.views.connections.details import DetailsPanel
from desktop.views.connections.dialog import ConnectDialog, ConnectRequest
from desktop.views.connections.model import Column, ConnectionsFilter, ConnectionsModel
from desktop.views.context import ShellContext
from desktop.views.login_dialog import LoginDialog
from desktop.views.ops import Progress, ProgressUpdate, run_in_background
from desktop.views.timers import single_shot_timer

if TYPE_CHECKING:
    from desktop.services.auth.roles import Actor
    from desktop.services.auth.signin import SignIn
    from desktop.services.connections.service import ConnectionService, ConnectionSummary
log = logging.getLogger(__name__)


def lookup_app(service: ConnectionService, platform: Platform, environment: Environment) -> OAuthApp | None:
    """The registered OAuth app for ``platform`` and ``environment``, or None (the dialog then asks for one)."""
    try:
        return service.apps.get(platform, environment)
    except ConfigurationError:
        return None


def prepare_sign_in(service: ConnectionService, actor: Actor, request: ConnectRequest,
                    tenant_id: str | None = None) -> SignIn[ConnectionSummary]:
    """Background work before the embedded sign-in: register the app the request carries, begin the sign-in."""
    if request.app is not None:
        app = request.app
        service.apps.configure(actor, request.platform, request.environment, client_id=app.client_id,
                               client_secret=app.client_secret, redirect_uri=app.redirect_uri,
                               sandbox_url=app.sandbox_url, loopback_redirect_uri=app.loopback_redirect_uri)
    return service.begin_sign_in(actor, request.org_code, request.platform, request.environment, tenant_id=tenant_id)


class ConnectionsView(Protocol):
    """What the actions use of the Connections page, named here so this module never imports it.

    The page builds the actions before its grid; it calls :meth:`ConnectionActions.update` only
    once every member below exists, so nothing here needs probing.
    """

    context: ShellContext
    model: ConnectionsModel
    proxy: ConnectionsFilter
    details: DetailsPanel
    buttons: dict[str, QPushButton]
    export_button: QPushButton

    def selected(self) -> ConnectionSummary | None: ...
    def select_connection(self, connection_id: int) -> None: ...
    def show_rows(self, rows: list[ConnectionSummary]) -> None: ...
    def set_busy(self, message: str | None) -> None: ...
    def say(self, message: str, *, error: bool = False) -> None: ...


class ConnectionActions(QObject):
    """The page's actions and the background work behind them.

    ``view`` is the page as the actions see it; ``widget`` is the same page as a Qt parent (for
    the actions, dialogs and background operations).
    """

    def __init__(self, view: ConnectionsView, widget: QWidget) -> None:
        super().__init__(widget)
        self.page = view
        self.widget = widget
        services = view.context.services
        self.service = services.connections
        self.actor = view.context.actor
        self.clock = services.clock
        self.running: str | None = None
        self.connect_dialog: ConnectDialog | None = None
        self.login_dialog: LoginDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self.last_export: Path | None = None

        def make(text: str, keys: QKeySequence | str, slot: Callable[[], None]) -> QAction:
            action = QAction(text, widget)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(lambda _checked=False: slot())  # not the checked flag as an argument
            widget.addAction(action)
            return action

        self.connect_action = make("&Connect…", "Ctrl+N", self.begin_connect)
        self.reconnect_action = make("&Reconnect…", "Ctrl+Shift+R", self.begin_reconnect)
        self.test_action = make("&Test connection", "Ctrl+T", self.test_selected)
        self.refresh_action = make("Re&fresh reference data", "Ctrl+R", self.refresh_reference)
        self.disconnect_action = make("&Disconnect…", QKeySequence(QKeySequence.StandardKey.Delete),
                                      self.confirm_disconnect)
        self.reload_action = make("Re&load list", QKeySequence(QKeySequence.StandardKey.Refresh), self.reload)
        self.export_action = make("&Export CSV…", "Ctrl+E", self.choose_export)
        self._reload_soon = single_shot_timer(self, 250, self.reload)
        self.bridge: EventBridge | None = None
        if view.context.bus is not None:
            self.bridge = EventBridge(view.context.bus, self)
            self.bridge.events_arrived.connect(self._on_bridge_events_arrived)

    # --- what may be done now ---------------------------------------------------------------
    def _why_not_manage(self) -> str | None:
        if self.service is None:
            return "Connections are not available in this window"
        if self.actor is None or not self.actor.can(Action.MANAGE_CONNECTIONS):
            who = f"{self.actor.username} is a {self.actor.role.value}" if self.actor else "Nobody is signed in"
            return f"{who}: only an admin can connect, reconnect or disconnect ledgers"
        return None

    def _why_not_use(self, row: ConnectionSummary | None) -> str | None:
        if self.service is None:
            return "Connections are not available in this window"
        if self.actor is None or not self.actor.can(Action.VIEW):
            return "You may not use connections"
        if row is None:
            return "Select a connection first"
        if row.state == "disconnected":
            return "This connection is disconnected: reconnect it first"
        return None

    def update(self) -> None:
        """Enable each action for the selected row and the actor; the tooltip says why not."""
        page = self.page
        row = page.selected()
        busy = f"Wait for “{self.running}” to finish" if self.running else None
        manage = self._why_not_manage()
        use = self._why_not_use(row)
        has_rows = page.model.rowCount() > 0
        plans: list[tuple[QAction, str | None, str]] = [
            (self.connect_action, manage or busy, "Connect an organization to QuickBooks Online or Xero (Ctrl+N)"),
            (self.reconnect_action, manage or (None if row else "Select a connection first") or busy,
             "Sign in again for the selected connection (Ctrl+Shift+R)"),
            (self.test_action, use or busy, "Check that the ledger answers with these tokens (Ctrl+T)"),
            (self.refresh_action, use or busy,
             "Read accounts, tax codes, items, customers and tracking again (Ctrl+R)"),
            (self.disconnect_action, manage or (use if row is None or row.state == "disconnected" else None) or busy,
             "Revoke access at the ledger and delete the sign-in from the keyring (Delete)"),
            (self.export_action, None if has_rows else "Nothing to export yet",
             "Save the grid as a CSV file (Ctrl+E)"),
        ]
        buttons = page.buttons
        by_action = {self.connect_action: "connect", self.reconnect_action: "reconnect",
                     self.test_action: "test", self.refresh_action: "refresh",
                     self.disconnect_action: "disconnect"}
        for action, reason, tip in plans:
            action.setEnabled(reason is None)
            action.setToolTip(reason or tip)
            button = buttons.get(by_action.get(action, ""))
            if button is not None:
                button.setEnabled(reason is None)
                button.setToolTip(reason or tip)
        page.export_button.setEnabled(self.export_action.isEnabled())
        page.export_button.setToolTip(self.export_action.toolTip())

    # --- loading ----------------------------------------------------------------------------
    def reload(self) -> None:
        if self.service is None:
            self.page.show_rows([])
            return
        service = self.service
        run_in_background(self.widget, lambda _p: service.summaries(), on_success=self.page.show_rows,
                          on_failure=self._on_failed, label="Loading connections")

    def load_details(self, connection_id: int) -> None:
        if self.service is None:
            return
        service = self.service
        run_in_background(self.widget, lambda _p: details_for(service, connection_id),
                          on_success=self.page.details.show_details, on_failure=self._on_failed,
                          label="Reading connection details")

    def _on_bridge_events_arrived(self, events: list[Any]) -> None:
        if any(str(getattr(e, "kind", "")).startswith("connection.") for e in events):
            self._reload_soon.start()

    # --- background work with progress -------------------------------------------------------
    def _run(self, message: str, fn: Callable[[Progress], Any], done: Callable[[Any], None]) -> None:
        self.running = message.rstrip("…")
        self.page.set_busy(message)
        self.update()

        def succeeded(result: Any) -> None:
            self.running = None
            done(result)
            self.update()

        def progressed(update: ProgressUpdate) -> None:
            if update.message:
                self.page.set_busy(update.message)

        run_in_background(self.widget, fn, on_success=succeeded, on_failure=self._on_failed,
                          on_progress=progressed, label=self.running)

    def _on_failed(self, exc: BaseException) -> None:
        self.running = None
        if isinstance(exc, AppError):
            log.info("connections: %s", exc.user_message())
            self.page.say(exc.user_message(), error=True)
        else:
            log.error("connections: unexpected failure", exc_info=(type(exc), exc, exc.__traceback__))
            self.page.say("Something went wrong; the details are in the log file.", error=True)
        self.update()
        self._reload_soon.start()  # the service may have marked the row (needs reconnect)

    # --- connect / reconnect -------------------------------------------------------------------
    def _lookup(self, platform: Platform, environment: Environment) -> OAuthApp | None:
        assert self.service is not None
        return lookup_app(self.service, platform, environment)

    def begin_connect(self, fixed: ConnectRequest | None = None, tenant_id: str | None = None) -> None:
        if self._why_not_manage() is not None:
            return
        orgs = [s.org_code for s in self.page.model.summaries()]
        dialog = ConnectDialog(self._lookup, orgs=orgs, fixed=fixed, parent=self.widget)
        if fixed is None and self.page.context.demo:
            dialog.select(DEFAULT_PLATFORM, Environment.LOCAL)
        dialog.accepted.connect(lambda: self.open_sign_in(dialog.request(), tenant_id))
        self.connect_dialog = dialog
        dialog.open()

    def begin_reconnect(self) -> None:
        row = self.page.selected()
        if row is None:
            return
        self.begin_connect(ConnectRequest(row.org_code, row.platform, row.environment),
                     tenant_id=row.company_id if platform_for(row.platform).picks_tenant_after_sign_in else None)

    def open_sign_in(self, request: ConnectRequest, tenant_id: str | None = None) -> None:
        """Register the app if the request carries one, then open the embedded sign-in for it."""
        service, actor = self.service, self.actor
        assert service is not None and actor is not None
        self._run("Opening the sign-in page…", lambda _p: prepare_sign_in(service, actor, request, tenant_id),
                  lambda s: self._open_login(request, s))

    def _open_login(self, request: ConnectRequest, sign_in: SignIn[ConnectionSummary]) -> None:
        self.page.say(f"Sign in to {platform_label(request.platform)} in the window that opened.")
        dialog = LoginDialog(sign_in, title=f"Connect {request.org_code} to {platform_label(request.platform)}",
                             parent=self.widget)
        dialog.finished_ok.connect(self._on_login_finished_ok)
        dialog.rejected.connect(lambda: self.page.say("Not connected: the sign-in was closed."))
        self.login_dialog = dialog
        dialog.open()

    def _on_login_finished_ok(self, summary: ConnectionSummary) -> None:
        self.page.model.replace_row(summary)
        self.page.show_rows(self.page.model.summaries())
        self.page.select_connection(summary.id)
        self.page.say(f"Connected {summary.org_code} to {platform_label(summary.platform)} company "
                      f"“{summary.company_name}”; its reference data is cached.")
        self.reload()

    # --- test / refresh / disconnect -----------------------------------------------------------
    def _run_on_connection(self, message: str, fn: Callable[[Progress], ConnectionSummary],
                           outcome: Callable[[ConnectionSummary], str]) -> None:
        """:meth:`_run` work that answers the connection's new summary: show it, then say ``outcome``."""
        def done(summary: ConnectionSummary) -> None:
            self.page.model.replace_row(summary)
            self.page.show_rows(self.page.model.summaries())
            self.load_details(summary.id)
            self.page.say(outcome(summary))

        self._run(message, fn, done)

    def test_selected(self) -> None:
        row, service, actor = self.page.selected(), self.service, self.actor
        if row is None or service is None or actor is None or self._why_not_use(row):
            return

        self._run_on_connection(
            f"Testing {row.org_code}…", lambda _p: service.test(actor, row.id),
            lambda summary: f"{platform_label(summary.platform)} answers: company “{summary.company_name}” "
                            f"({summary.company_id}) is reachable with the stored sign-in.")

    def refresh_reference(self) -> None:
        row, service, actor = self.page.selected(), self.service, self.actor
        if row is None or service is None or actor is None or self._why_not_use(row):
            return

        def work(p: Progress) -> dict[str, int]:
            return service.refresh_reference_data(actor, row.id, lambda m: p.report(0, None, m))

        def done(counts: dict[str, int]) -> None:
            self.page.say("Reference data refreshed: " + ", ".join(
                f"{n} {k.replace('_', ' ')}{'' if k.endswith('s') else 's'}" for k, n in counts.items()) + ".")
            self.reload()
            self.load_details(row.id)

        self._run(f"Reading {row.org_code}'s reference data…", work, done)

    def confirm_disconnect(self) -> None:
        row = self.page.selected()
        if row is None or self._why_not_manage() or row.state == "disconnected":
            return
        ledger = platform_label(row.platform)
        box = QMessageBox(QMessageBox.Icon.Warning, "Disconnect this ledger?",
                          f"Disconnect {row.org_code} from {ledger} company “{row.company_name}”?",
                          QMessageBox.StandardButton.Cancel, self.widget)
        box.setInformativeText(
            f"The app will revoke its access at {ledger} and delete the sign-in from this computer's keyring. "
            f"Syncing for {row.org_code} stops until someone connects it again. Nothing in the ledger or "
            "the returns system is deleted, and mappings are kept.")
        self.disconnect_button = box.addButton("Disconnect", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _r: self._on_confirm_finished(box, row))
        self.confirm_box = box
        box.open()

    def _on_confirm_finished(self, box: QMessageBox, row: ConnectionSummary) -> None:
        if box.clickedButton() is not self.disconnect_button:
            self.page.say("Nothing was disconnected.")
            return
        service, actor = self.service, self.actor
        assert service is not None and actor is not None

        self._run_on_connection(
            f"Disconnecting {row.org_code}…", lambda _p: service.disconnect(actor, row.id),
            lambda summary: f"Disconnected {summary.org_code}: access revoked at "
                            f"{platform_label(summary.platform)} and the sign-in removed from the keyring.")

    # --- export ---------------------------------------------------------------------------------
    def choose_export(self) -> None:
        dialog = QFileDialog(self.widget, "Export connections", "connections.csv", "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(lambda path: self.export_csv(Path(path)))
        dialog.open()

    def export_csv(self, path: Path) -> None:
        """Write the grid as shown (filter and sort applied) to ``path``, off the GUI thread."""
        proxy, model = self.page.proxy, self.page.model
        rows = [list(Column.headers())]
        for r in range(proxy.rowCount()):
            summary = model.summary_at(proxy.mapToSource(proxy.index(r, 0)).row())
            rows.append([model.display(summary, c, full=True) for c in Column])

        def write(_p: Progress) -> int:
            with replace_when_done(path, what="connections export") as f:
                SafeWriter(f).writerows(rows)  # company names are typed by strangers
            return len(rows) - 1

        def done(count: int) -> None:
            self.last_export = path
            self.page.say(f"Exported {count} connection{'s' if count != 1 else ''} to {path}.")

        run_in_background(self.widget, write, on_success=done, on_failure=self._on_failed, label="Exporting")
