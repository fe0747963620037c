"""The Settings page's dialogs: add or change a user, register or edit a ledger app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from desktop.services.admin.users import ROLE_DESCRIPTIONS, UserInfo
from desktop.services.auth.platforms import Environment, Platform, environment_label, platform_label
from desktop.services.auth.roles import Role

if TYPE_CHECKING:
    pass


from desktop.views.settings.tables import ROLE_NAMES, AppRow

__all__ = ["AppDialog", "UserDialog"]


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
            self.role.addItem(ROLE_NAMES[role], role.value)
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
