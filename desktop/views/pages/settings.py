"""Settings: this workstation, users and roles, and the registered ledger (OAuth) apps.

- **This workstation**: appearance, whether closing the window keeps the sync running in the tray.
- **Users and roles** (:class:`~desktop.services.users.UserService`): add a user, change a role,
  deactivate or reactivate. Only admins may; for anyone else the buttons are disabled and say why —
  and the service refuses anyway.
- **Ledger apps** (:class:`~desktop.services.connections.apps.OAuthApps`): the client id and
  redirect URI of each platform/environment. The client secret is typed into a password field and
  goes straight to the OS keyring; the page only ever learns *whether* one is stored.
- **Exchange rates** (:mod:`desktop.views.pages.fx_rates`): the rates an admin enters per
  organization, which Xero's API does not publish.

Every service call runs through ``run_in_background``; nothing waits on the GUI thread.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QWidget,
)

from desktop.services.auth.platforms import Environment, Platform, environment_label, platform_label
from desktop.services.auth.roles import Action, Role
from desktop.services.errors import AppError, ConfigurationError
from desktop.services.users import ROLE_DESCRIPTIONS, UserInfo
from desktop.views.csv_export import choose_and_export, export_csv
from desktop.views.ops import run_in_background
from desktop.views.pages.base import Card, Page, PageInfo, label, plain_table
from desktop.views.pages.fx_rates import FxRatesSection
from desktop.views.theme import DISABLED_BUTTONS, ThemeMode
from desktop.views.tray import CLOSE_TO_TRAY_KEY

if TYPE_CHECKING:
    from desktop.services.connections.apps import OAuthApps
    from desktop.services.users import UserService

Index = QModelIndex | QPersistentModelIndex
_MODES = [("Follow the system", ThemeMode.SYSTEM), ("Light", ThemeMode.LIGHT), ("Dark", ThemeMode.DARK)]
_ROLE_NAMES = {Role.ADMIN: "Admin", Role.OPERATOR: "Operator", Role.VIEWER: "Viewer / auditor"}
ERROR_COLOUR = "#e5484d"


@dataclass(frozen=True)
class AppRow:
    """A registered OAuth app as the page may see it: never the secret, only whether there is one."""

    platform: Platform
    environment: Environment
    client_id: str
    redirect_uri: str
    has_secret: bool


class _TableModel(QAbstractTableModel):
    """A small read-only table of immutable rows (users, apps): replaced whole on reload."""

    headers: tuple[str, ...] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.headers):
            return self.headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(row, index.column())
        return None

    def cell(self, row: Any, column: int) -> str:
        raise NotImplementedError

    def tooltip(self, row: Any, column: int) -> str | None:
        return None

    def row_at(self, row: int) -> Any:
        return self._rows[row]

    def set_rows(self, rows: list[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()


class UsersModel(_TableModel):
    headers = ("User", "Name", "Role", "Status", "Since")

    def cell(self, row: UserInfo, column: int) -> str:
        return (row.username, row.display_name, _ROLE_NAMES[row.role], "Active" if row.is_active else "Deactivated",
                f"{row.created_at.astimezone():%Y-%m-%d}")[column]

    def tooltip(self, row: UserInfo, column: int) -> str | None:
        return ROLE_DESCRIPTIONS[row.role] if column == 2 else None


class AppsModel(_TableModel):
    headers = ("Ledger", "Environment", "Client ID", "Redirect URI", "Client secret")

    def cell(self, row: AppRow, column: int) -> str:
        if column == 4:
            secret = "Stored in the keyring" if row.has_secret else (
                "None (PKCE app)" if row.platform is Platform.XERO else "Missing")
        else:
            secret = ""
        return (platform_label(row.platform), environment_label(row.environment), row.client_id, row.redirect_uri,
                secret)[column]


class UserDialog(QDialog):
    """Add a user, or change one's role (username fixed then)."""

    def __init__(self, parent: QWidget, user: UserInfo | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Change role" if user else "Add user")
        self.setMinimumWidth(460)
        form = QFormLayout(self)
        form.setVerticalSpacing(10)
        self.username = QLineEdit(user.username if user else "")
        self.username.setPlaceholderText("Their login name on this computer or domain")
        self.username.setReadOnly(user is not None)
        self.display_name = QLineEdit(user.display_name if user else "")
        self.display_name.setReadOnly(user is not None)
        self.role = QComboBox()
        for role in Role:
            self.role.addItem(_ROLE_NAMES[role], role.value)
        self.role.setCurrentIndex(self.role.findData((user.role if user else Role.VIEWER).value))
        self.role_hint = QLabel()
        self.role_hint.setObjectName("CardHint")
        self.role_hint.setWordWrap(True)
        self.role.currentIndexChanged.connect(self._on_role_current_index_changed)
        self._on_role_current_index_changed(self.role.currentIndex())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Save" if user else "Add user")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow("User name", self.username)
        form.addRow("Full name", self.display_name)
        form.addRow("Role", self.role)
        form.addRow("", self.role_hint)
        form.addRow(self.buttons)

    def chosen_role(self) -> Role:
        return Role(self.role.currentData())

    def _on_role_current_index_changed(self, _index: int) -> None:
        self.role_hint.setText(ROLE_DESCRIPTIONS[self.chosen_role()])


class AppDialog(QDialog):
    """Edit one registered OAuth app. The secret field is write-only: blank keeps the stored one."""

    def __init__(self, parent: QWidget, row: AppRow | None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Ledger app")
        self.setMinimumWidth(520)
        form = QFormLayout(self)
        form.setVerticalSpacing(10)
        self.platform = QComboBox()
        for p in Platform:
            self.platform.addItem(platform_label(p), p.value)
        self.environment = QComboBox()
        for e in Environment:
            self.environment.addItem(environment_label(e), e.value)
        self.client_id = QLineEdit(row.client_id if row else "")
        self.redirect_uri = QLineEdit(row.redirect_uri if row else "")
        self.redirect_uri.setPlaceholderText("Exactly as registered in the developer portal")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("Leave blank to keep the stored secret" if row and row.has_secret
                                       else "From the developer portal (Xero PKCE apps have none)")
        if row is not None:
            self.platform.setCurrentIndex(self.platform.findData(row.platform.value))
            self.environment.setCurrentIndex(self.environment.findData(row.environment.value))
            self.platform.setEnabled(False)
            self.environment.setEnabled(False)
        hint = QLabel("The secret goes to the operating system's keyring, never to a file or the database.")
        hint.setObjectName("CardHint")
        hint.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow("Ledger", self.platform)
        form.addRow("Environment", self.environment)
        form.addRow("Client ID", self.client_id)
        form.addRow("Redirect URI", self.redirect_uri)
        form.addRow("Client secret", self.secret)
        form.addRow("", hint)
        form.addRow(self.buttons)


def _fit(table: QTableView, rows: int, most: int = 8) -> None:
    """Show every row (up to ``most``) without an inner scroll bar; the page scrolls instead."""
    visible = max(1, min(rows, most))
    table.setFixedHeight(table.horizontalHeader().sizeHint().height()
                         + visible * table.verticalHeader().defaultSectionSize() + 2 * table.frameWidth())


class SettingsPage(Page):
    """Workstation settings, users and roles, ledger apps."""

    info = PageInfo(
        key="settings", title="Settings", icon="settings",
        description=(
            "Who may do what (users and roles), the ledger apps this installation signs in with, the exchange "
            "rates Xero needs, and this workstation's appearance. Changes to users and rates are recorded in the "
            "audit log."
        ),
    )

    def build(self) -> None:
        services = self.context.services
        self.users: UserService | None = services.users
        self.apps: OAuthApps | None = services.oauth_apps
        self.actor = self.context.actor
        self.dialog: QDialog | None = None
        self.setStyleSheet(DISABLED_BUTTONS)
        self.confirm_box: QMessageBox | None = None
        self.last_export: Path | None = None
        self._build_workstation()
        self.body.addSpacing(20)
        self._build_users()
        self.body.addSpacing(20)
        self._build_apps()
        self.body.addSpacing(20)
        self.fx_rates = FxRatesSection(self.context)  # Exchange rates: its own module, loads itself
        self.body.addWidget(self.fx_rates)
        self.update_actions()
        self.reload_users()
        self.reload_apps()

    # -- construction ----------------------------------------------------------------------------
    def _build_workstation(self) -> None:
        card = Card()
        card.layout_.addWidget(label("This workstation", "SectionTitle"))
        card.layout_.addSpacing(8)
        form = QFormLayout()
        form.setHorizontalSpacing(28)
        form.setVerticalSpacing(12)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.appearance = QComboBox()
        self.appearance.setMinimumWidth(240)
        for text, mode in _MODES:
            self.appearance.addItem(text, mode.value)
        theme = self.context.theme
        if theme is not None:
            self.appearance.setCurrentIndex([m for _, m in _MODES].index(theme.mode))
        self.appearance.currentIndexChanged.connect(self._on_appearance_current_index_changed)
        self.appearance.setEnabled(theme is not None)
        self.close_to_tray = QCheckBox("Keep syncing in the system tray when the window is closed")
        self.close_to_tray.setChecked(
            str(self.context.settings.value(CLOSE_TO_TRAY_KEY, "true")).lower() in ("true", "1"))
        self.close_to_tray.toggled.connect(
            lambda on: self.context.settings.setValue(CLOSE_TO_TRAY_KEY, "true" if on else "false"))
        who = self.actor.role.value if self.actor else self.context.role
        rows: list[tuple[str, QWidget]] = [
            ("Appearance", self.appearance),
            ("When closed", self.close_to_tray),
            ("Database", QLabel(self.context.database_label)),
            ("Data folder", QLabel(str(self.context.data_dir) if self.context.data_dir else "—")),
            ("Signed in as", QLabel(f"{self.context.user} ({who})")),
        ]
        for text, field in rows:
            if isinstance(field, QLabel):
                field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label(text, "FieldLabel"), field)
        card.layout_.addLayout(form)
        self.body.addWidget(card)

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
        index = self.users_table.selectionModel().currentIndex()
        return self.users_model.row_at(index.row()) if index.isValid() else None

    def selected_app(self) -> AppRow | None:
        index = self.apps_table.selectionModel().currentIndex()
        return self.apps_model.row_at(index.row()) if index.isValid() else None

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
            _fit(self.users_table, 0)
            return
        run_in_background(self, lambda _p: service.list_users(), on_success=self._show_users,
                          on_failure=lambda exc: self._say(self.users_status, exc), label="Loading users")

    def _show_users(self, rows: list[UserInfo]) -> None:
        keep = self.selected_user()
        self.users_model.set_rows(rows)
        _fit(self.users_table, len(rows))
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
            self.users_status.setText(f"{verb} {info.username} as {_ROLE_NAMES[info.role].lower()}.")
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
        box = QMessageBox(QMessageBox.Icon.Question, "Deactivate user",
                          f"Deactivate {user.username}? They will only be able to look, not change anything. "
                          "Their past actions stay in the audit log.",
                          QMessageBox.StandardButton.Cancel, self)
        confirm = box.addButton("Deactivate", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.buttonClicked.connect(lambda b: self.set_active(user.username, False) if b is confirm else None)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.confirm_box = box
        box.open()

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
            _fit(self.apps_table, 0)
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
            _fit(self.apps_table, len(rows))
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

    def _on_appearance_current_index_changed(self, index: int) -> None:
        mode = ThemeMode(self.appearance.itemData(index))
        if self.context.theme is not None:
            self.context.theme.set_mode(mode)
        self.context.settings.setValue("appearance/mode", mode.value)
