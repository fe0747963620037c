"""Settings: this workstation, users and roles, and the registered ledger (OAuth) apps.

- **This workstation**: appearance, whether closing the window keeps the sync running in the tray.
- **Users and roles** (:class:`~desktop.services.admin.users.UserService`): add a user, change a role,
  deactivate or reactivate. Only admins may; for anyone else the buttons are disabled and say why —
  and the service refuses anyway.
- **Ledger apps** (:class:`~desktop.services.connections.apps.OAuthApps`): the client id and
  redirect URI of each platform/environment. The client secret is typed into a password field and
  goes straight to the OS keyring; the page only ever learns *whether* one is stored.
- **Exchange rates** (:mod:`desktop.views.settings.fx_rates`): the rates an admin enters per
  organization, which Xero's API does not publish.
- **Posting choices** (:mod:`desktop.views.settings.posting_choices`): per organization, its posting
  mode, how fees withheld post, what happens to a document dated in a closed period, and where store
  credit sits.

Every service call runs through ``run_in_background``; nothing waits on the GUI thread.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
)

from desktop.services.admin.users import UserInfo
from desktop.services.auth.platforms import Environment, Platform, environment_label, platform_label
from desktop.services.auth.roles import Action, Role
from desktop.services.core.errors import AppError, ConfigurationError
from desktop.views.confirm import ask
from desktop.views.csv_export import choose_and_export, export_csv
from desktop.views.models.selection import current_row
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Card, Page, label, plain_table
from desktop.views.pages.info import PAGE_INFO
from desktop.views.settings.dialogs import AppDialog, UserDialog
from desktop.views.settings.fx_rates import FxRatesSection
from desktop.views.settings.posting_choices import PostingChoicesCard
from desktop.views.settings.tables import ROLE_NAMES, AppRow, AppsModel, UsersModel, fit_rows
from desktop.views.settings.workstation import WorkstationCard
from desktop.views.theme import DISABLED_BUTTONS

if TYPE_CHECKING:
    from desktop.services.admin.users import UserService
    from desktop.services.connections.apps import OAuthApps
ERROR_COLOUR = "#e5484d"


class SettingsPage(Page):
    """Workstation settings, users and roles, ledger apps."""

    info = PAGE_INFO["settings"]

    def build(self) -> None:
        services = self.context.services
        self.users: UserService | None = services.users
        self.apps: OAuthApps | None = services.oauth_apps
        self.actor = self.context.actor
        self.dialog: QDialog | None = None
        self.setStyleSheet(DISABLED_BUTTONS)
        self.confirm_box: QMessageBox | None = None
        self.last_export: Path | None = None
        self.workstation = WorkstationCard(self.context)
        self.appearance, self.close_to_tray = self.workstation.appearance, self.workstation.close_to_tray
        self.body.addWidget(self.workstation)
        self.body.addSpacing(20)
        self._build_users()
        self.body.addSpacing(20)
        self._build_apps()
        self.body.addSpacing(20)
        self.fx_rates = FxRatesSection(self.context)  # Exchange rates: its own module, loads itself
        self.body.addWidget(self.fx_rates)
        self.body.addSpacing(20)
        self.posting_choices = PostingChoicesCard(self.context)  # Posting choices: per organization, loads itself
        self.body.addWidget(self.posting_choices)
        self.update_actions()
        self.reload_users()
        self.reload_apps()

    # -- construction ----------------------------------------------------------------------------
    def _section(self, title: str, hint: str) -> tuple[Card, QHBoxLayout, QLabel]:
        card = Card()
        card.layout_.setSpacing(8)
        card.layout_.addWidget(label(title, "SectionTitle"))
        card.layout_.addWidget(label(hint, "CardHint", wrap=True))
        card.layout_.addSpacing(4)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        card.layout_.addLayout(bar)
        status = QLabel("")
        status.setObjectName("CardHint")
        status.setWordWrap(True)
        return card, bar, status

    def _button(self, text: str, keys: str, slot: Any, bar: QHBoxLayout, primary: bool = False
                ) -> tuple[QAction, QPushButton]:
        action = QAction(text.replace("&", ""), self)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        self.addAction(action)
        button = QPushButton(text.replace("&", ""))
        if primary:
            button.setObjectName("PrimaryButton")
        button.clicked.connect(action.trigger)
        bar.addWidget(button)
        return action, button

    def _build_users(self) -> None:
        card, bar, self.users_status = self._section(
            "Users and roles",
            "Admins manage connections, mappings, users and settings. Operators run and repair the sync — post, "
            "retry, resolve errors, enter by hand. Viewers and auditors read everything and change nothing.")
        self.add_user_action, self.add_user_button = self._button("Add user…", "Ctrl+Shift+N", self.begin_add_user,
                                                                  bar, primary=True)
        self.role_action, self.role_button = self._button("Change role…", "Ctrl+Shift+O", self.begin_change_role, bar)
        self.active_action, self.active_button = self._button("Deactivate…", "Ctrl+Shift+Del",
                                                              self.confirm_toggle_active, bar)
        bar.addStretch(1)
        self.users_export_action, self.users_export_button = self._button(
            "Export CSV…", "Ctrl+Shift+E", self.choose_users_export, bar)
        self.users_model = UsersModel(self)
        self.users_table = plain_table(self.users_model, (150, 220, 150, 120), "UsersTable")
        self.users_table.selectionModel().currentRowChanged.connect(lambda *_: self.update_actions())
        self.users_table.doubleClicked.connect(lambda _i: self.role_action.trigger())
        self.users_table.setSortingEnabled(False)
        card.layout_.addWidget(self.users_table)
        card.layout_.addWidget(self.users_status)
        self.body.addWidget(card)

    def _build_apps(self) -> None:
        card, bar, self.apps_status = self._section(
            "Ledger apps",
            "The apps this installation signs in to QuickBooks Online and Xero with, one per environment. Client "
            "secrets live in the operating system's keyring and are never shown.")
        self.edit_app_action, self.edit_app_button = self._button("Edit…", "Ctrl+Shift+A", self.begin_edit_app, bar)
        self.new_app_action, self.new_app_button = self._button("Add app…", "Ctrl+Alt+A", self.begin_add_app, bar)
        bar.addStretch(1)
        self.apps_model = AppsModel(self)
        self.apps_table = plain_table(self.apps_model, (150, 140, 200, 300), "AppsTable")
        self.apps_table.selectionModel().currentRowChanged.connect(lambda *_: self.update_actions())
        self.apps_table.doubleClicked.connect(lambda _i: self.edit_app_action.trigger())
        card.layout_.addWidget(self.apps_table)
        card.layout_.addWidget(self.apps_status)
        self.body.addWidget(card)

    # -- permissions -------------------------------------------------------------------------------
    def _why_not(self, service: object, action: Action, what: str) -> str | None:
        if service is None:
            return f"{what.capitalize()} are not available in this window"
        if self.actor is None or not self.actor.can(action):
            who = (f"{self.actor.username} is {'an' if self.actor.role.value[0] in 'aeiou' else 'a'} "
                   f"{self.actor.role.value}" if self.actor else "Nobody is signed in")
            return f"{who}: only an admin can change {what}"
        return None

    def selected_user(self) -> UserInfo | None:
        row = current_row(self.users_table)
        return None if row is None else self.users_model.row_at(row)

    def selected_app(self) -> AppRow | None:
        row = current_row(self.apps_table)
        return None if row is None else self.apps_model.row_at(row)

    def update_actions(self) -> None:
        """Enable what the actor may do on the selection; disabled buttons say why in their tooltip."""
        users = self._why_not(self.users, Action.MANAGE_USERS, "users")
        apps = self._why_not(self.apps, Action.MANAGE_CONNECTIONS, "ledger apps")
        user = self.selected_user()
        app = self.selected_app()
        self.active_button.setText("Reactivate…" if user is not None and not user.is_active else "Deactivate…")
        plans = [
            (self.add_user_action, self.add_user_button, users, "Add a person and choose their role (Ctrl+Shift+N)"),
            (self.role_action, self.role_button, users or (None if user else "Select a user first"),
             "Change the selected user's role (Ctrl+Shift+O)"),
            (self.active_action, self.active_button, users or (None if user else "Select a user first"),
             "Take away or give back the selected user's access (Ctrl+Shift+Del)"),
            (self.users_export_action, self.users_export_button,
             None if self.users_model.rowCount() else "Nothing to export", "Save the users as CSV (Ctrl+Shift+E)"),
            (self.edit_app_action, self.edit_app_button, apps or (None if app else "Select an app first"),
             "Change the selected app's client id, redirect URI or secret (Ctrl+Shift+A)"),
            (self.new_app_action, self.new_app_button, apps, "Register an app for another environment (Ctrl+Alt+A)"),
        ]
        for action, button, reason, tip in plans:
            action.setEnabled(reason is None)
            button.setEnabled(reason is None)
            button.setToolTip(reason or tip)
            action.setToolTip(reason or tip)
        if users and self.users is not None:
            self.users_status.setText(f"Only admins can add users or change roles — {users.split(':')[0]}.")

    # -- users -----------------------------------------------------------------------------------------
    def reload_users(self) -> None:
        service = self.users
        if service is None:
            self.users_status.setText("User management is not available in this window.")
            fit_rows(self.users_table, 0)
            return
        run_in_background(self, lambda _p: service.list_users(), on_success=self._show_users,
                          on_failure=lambda exc: self._say(self.users_status, exc), label="Loading users")

    def _show_users(self, rows: list[UserInfo]) -> None:
        keep = self.selected_user()
        self.users_model.set_rows(rows)
        fit_rows(self.users_table, len(rows))
        names = [r.username for r in rows]
        if keep is not None and keep.username in names:
            self.users_table.selectRow(names.index(keep.username))
        self.update_actions()

    def begin_add_user(self) -> None:
        self._open_user_dialog(None)

    def begin_change_role(self) -> None:
        user = self.selected_user()
        if user is not None:
            self._open_user_dialog(user)

    def _open_user_dialog(self, user: UserInfo | None) -> None:
        dialog = UserDialog(self, user)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.save_user(dialog.username.text().strip(),
                                                       dialog.display_name.text().strip(), dialog.chosen_role(),
                                                       adding=user is None))
        self.dialog = dialog
        dialog.open()

    def save_user(self, username: str, display_name: str, role: Role, *, adding: bool) -> None:
        service, actor = self.users, self.actor
        if service is None or actor is None:
            return

        def work(_p: object) -> UserInfo:
            if adding:
                return service.add(actor, username, display_name, role)
            return service.change_role(actor, username, role)

        def done(info: UserInfo) -> None:
            verb = "Added" if adding else "Saved"
            self.users_status.setText(f"{verb} {info.username} as {ROLE_NAMES[info.role].lower()}.")
            self.reload_users()

        run_in_background(self, work, on_success=done, on_failure=lambda exc: self._say(self.users_status, exc),
                          label="Saving the user")

    def confirm_toggle_active(self) -> None:
        user = self.selected_user()
        if user is None:
            return
        if not user.is_active:
            self.set_active(user.username, True)
            return
        self.confirm_box = ask(
            self, QMessageBox.Icon.Question, "Deactivate user",
            f"Deactivate {user.username}? They will only be able to look, not change anything. "
            "Their past actions stay in the audit log.", "Deactivate",
            lambda: self.set_active(user.username, False))

    def set_active(self, username: str, active: bool) -> None:
        service, actor = self.users, self.actor
        if service is None or actor is None:
            return

        def work(_p: object) -> UserInfo:
            return service.reactivate(actor, username) if active else service.deactivate(actor, username)

        def done(info: UserInfo) -> None:
            self.users_status.setText(f"{info.username} is {'active' if info.is_active else 'deactivated'}.")
            self.reload_users()

        run_in_background(self, work, on_success=done, on_failure=lambda exc: self._say(self.users_status, exc),
                          label="Changing the user")

    def choose_users_export(self) -> None:
        choose_and_export(self, "Export users", "users.csv", self.export_users)

    def export_users(self, path: Path) -> None:
        def done(written: Path, count: int) -> None:
            self.last_export = written
            self.users_status.setText(f"Exported {count} users to {written}.")

        export_csv(self, path, self.users_model, view=self.users_table, on_done=done,
                   on_failure=lambda exc: self._say(self.users_status, exc))

    # -- ledger apps -------------------------------------------------------------------------------------
    def reload_apps(self) -> None:
        apps = self.apps
        if apps is None:
            self.apps_status.setText("Ledger apps are not available in this window.")
            fit_rows(self.apps_table, 0)
            return

        def load(_p: object) -> list[AppRow]:
            rows: list[AppRow] = []
            for platform in Platform:
                for environment in Environment:
                    try:
                        app = apps.get(platform, environment)
                    except ConfigurationError:
                        continue
                    # Only whether a secret exists crosses to the GUI thread, never the secret.
                    rows.append(AppRow(platform, environment, app.client_id, app.redirect_uri,
                                       bool(app.client_secret)))
            return rows

        def loaded(rows: list[AppRow]) -> None:
            self.apps_model.set_rows(rows)
            fit_rows(self.apps_table, len(rows))
            if not rows:
                self.apps_status.setText("No ledger app is registered yet: add one to connect a ledger.")
            self.update_actions()

        run_in_background(self, load, on_success=loaded, on_failure=lambda exc: self._say(self.apps_status, exc),
                          label="Loading ledger apps")

    def begin_edit_app(self) -> None:
        row = self.selected_app()
        if row is not None:
            self._open_app_dialog(row)

    def begin_add_app(self) -> None:
        self._open_app_dialog(None)

    def _open_app_dialog(self, row: AppRow | None) -> None:
        dialog = AppDialog(self, row)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def accepted() -> None:
            self.save_app(Platform(dialog.platform.currentData()), Environment(dialog.environment.currentData()),
                          dialog.client_id.text().strip(), dialog.redirect_uri.text().strip(), dialog.secret.text())
            dialog.secret.clear()

        dialog.accepted.connect(accepted)
        self.dialog = dialog
        dialog.open()

    def save_app(self, platform: Platform, environment: Environment, client_id: str, redirect_uri: str,
                 secret: str) -> None:
        apps, actor = self.apps, self.actor
        if apps is None or actor is None:
            return

        def work(_p: object) -> None:
            if not client_id or not redirect_uri:
                raise ConfigurationError("An app needs its client id and redirect URI",
                                         action="copy both from the developer portal")
            previous = None
            with contextlib.suppress(ConfigurationError):  # a new app: nothing to carry over
                previous = apps.get(platform, environment)
            apps.configure(actor, platform, environment, client_id=client_id, redirect_uri=redirect_uri,
                           client_secret=secret or None,
                           sandbox_url=previous.sandbox_url if previous else None,
                           loopback_redirect_uri=previous.loopback_redirect_uri if previous else None)

        def done(_result: None) -> None:
            self.apps_status.setText(f"Saved the {platform_label(platform)} app for {environment_label(environment)}.")
            self.reload_apps()

        run_in_background(self, work, on_success=done, on_failure=lambda exc: self._say(self.apps_status, exc),
                          label="Saving the ledger app")

    # -- shared ------------------------------------------------------------------------------------------
    def _say(self, where: QLabel, exc: BaseException) -> None:
        text = exc.user_message() if isinstance(exc, AppError) else f"Something went wrong: {exc}"
        where.setText(f"<span style='color:{ERROR_COLOUR}'>{text}</span>")
