""""Connect a ledger": which organization, which ledger, which environment — and the app, if new.

The dialog only gathers answers; the page does the work. Whether an OAuth app is registered for
the chosen ledger and environment is looked up in the background (it reads the database and the
keyring); when none is, the app's fields appear so the admin can enter them right here instead
of hunting through Settings first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.services.auth.platforms import Environment, Platform, auth_facts, environment_label, platform_label
from desktop.services.connections.apps import OAuthApp
from desktop.services.platforms.registry import PROFILES
from desktop.views.combos import refill
from desktop.views.ops import run_in_background

#: Looks up the registered app for a ledger and environment (None when there is none); runs on a worker.
AppLookup = Callable[[Platform, Environment], OAuthApp | None]
ORG_CODE = QRegularExpression(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


@dataclass(frozen=True)
class ConnectRequest:
    org_code: str
    platform: Platform
    environment: Environment
    app: OAuthApp | None = None  # an app to register before signing in (the secret goes to the keyring)


class ConnectDialog(QDialog):
    """Ask what to connect. ``request()`` holds the answer once the dialog is accepted."""

    def __init__(self, lookup: AppLookup, *, orgs: Sequence[str] = (), fixed: ConnectRequest | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lookup = lookup
        self._app: OAuthApp | None = None
        self._checked: tuple[Platform, Environment] | None = None
        self.setWindowTitle("Reconnect a ledger" if fixed else "Connect a ledger")
        self.setMinimumWidth(480)

        intro = QLabel("Choose the organization and its ledger. Next, the ledger's own sign-in page opens: "
                       "sign in and pick the company to connect. Tokens are kept in your system keyring.")
        intro.setWordWrap(True)
        intro.setObjectName("PageDescription")
        self.org_edit = QLineEdit()
        self.org_edit.setPlaceholderText("e.g. ACME-US (the organization's code in the returns system)")
        self.org_edit.setValidator(QRegularExpressionValidator(ORG_CODE, self.org_edit))
        if orgs:
            completer = QCompleter(sorted(set(orgs)), self.org_edit)
            completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            self.org_edit.setCompleter(completer)
        self.platform_combo = QComboBox()
        for key in PROFILES:
            self.platform_combo.addItem(platform_label(Platform(key)), Platform(key))
        self.environment_combo = QComboBox()
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("&Organization", self.org_edit)
        form.addRow("&Ledger", self.platform_combo)
        form.addRow("&Environment", self.environment_combo)

        self.app_box = QGroupBox("Ledger app")
        self.client_id_edit = QLineEdit()
        self.client_secret_edit = QLineEdit()
        self.client_secret_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.redirect_edit = QLineEdit()
        self.redirect_edit.setPlaceholderText("https://returns.example.com/oauth/callback")
        self.redirect_edit.setToolTip("The redirect URI registered with the app. The embedded browser stops at it "
                                      "and reads the answer, so it is never loaded.")
        self.loopback_edit = QLineEdit()
        self.loopback_edit.setPlaceholderText("optional: http://localhost:8765/callback")
        self.loopback_edit.setToolTip("For “Use my system browser”: a registered localhost redirect URI with a "
                                      "fixed port (QuickBooks and Xero accept only registered URIs).")
        self.sandbox_edit = QLineEdit()
        self.sandbox_edit.setPlaceholderText("http://127.0.0.1:PORT (printed by `returns-ledger sandbox serve`)")
        app_form = QFormLayout(self.app_box)
        app_form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        app_form.addRow("Client &ID", self.client_id_edit)
        app_form.addRow("Client &secret", self.client_secret_edit)
        app_form.addRow("&Redirect URI", self.redirect_edit)
        app_form.addRow("&Loopback URI", self.loopback_edit)
        app_form.addRow("Sandbox &address", self.sandbox_edit)
        self._app_form = app_form
        self.app_box.setVisible(False)

        self.app_status = QLabel("")
        self.app_status.setObjectName("CardHint")
        self.app_status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Sign in…")
        self.ok_button.setObjectName("PrimaryButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.app_box)
        layout.addWidget(self.app_status)
        layout.addWidget(self.buttons)

        self.platform_combo.currentIndexChanged.connect(self._on_platform_changed)
        self.environment_combo.currentIndexChanged.connect(self._on_choice_changed)
        for edit in (self.org_edit, self.client_id_edit, self.client_secret_edit, self.redirect_edit,
                     self.loopback_edit, self.sandbox_edit):
            edit.textChanged.connect(self._update_ok)
        self._fill_environments()
        if fixed is not None:
            self.org_edit.setText(fixed.org_code)
            self.platform_combo.setCurrentIndex(self.platform_combo.findData(fixed.platform))
            self.environment_combo.setCurrentIndex(self.environment_combo.findData(fixed.environment))
            for widget in (self.org_edit, self.platform_combo, self.environment_combo):
                widget.setEnabled(False)
        self._on_choice_changed()

    # --- choices ---------------------------------------------------------------------------
    @property
    def platform(self) -> Platform:
        return Platform(self.platform_combo.currentData())

    @property
    def environment(self) -> Environment:
        return Environment(self.environment_combo.currentData())

    def select(self, platform: Platform, environment: Environment) -> None:
        self.platform_combo.setCurrentIndex(self.platform_combo.findData(platform))
        self.environment_combo.setCurrentIndex(self.environment_combo.findData(environment))

    def _fill_environments(self) -> None:
        envs = [Environment.PRODUCTION, Environment.LOCAL]
        if auth_facts(self.platform).has_development:  # Xero has no separate development environment
            envs.insert(1, Environment.DEVELOPMENT)
        refill(self.environment_combo, [(environment_label(env), env) for env in envs])

    def _on_platform_changed(self) -> None:
        self._fill_environments()
        self._on_choice_changed()

    def _on_choice_changed(self) -> None:
        """Look up the registered app for the new choice, off the GUI thread."""
        choice = (self.platform, self.environment)
        self._checked = None
        self._app = None
        self.app_status.setText(f"Checking for a {platform_label(choice[0])} app for "
                                f"{environment_label(choice[1])}…")
        self._update_ok()
        run_in_background(self, lambda _p: self._lookup(*choice),
                          on_success=lambda app: self._on_lookup_done(choice, app),
                          on_failure=lambda exc: self._on_lookup_done(choice, None), label="Checking the app")

    def _on_lookup_done(self, choice: tuple[Platform, Environment], app: OAuthApp | None) -> None:
        if choice != (self.platform, self.environment):
            return  # the choice moved on while we looked; that lookup will answer
        self._checked, self._app = choice, app
        platform, environment = choice
        if app is not None:
            self.app_box.setVisible(False)
            self.app_status.setText(f"Using the registered {platform_label(platform)} app "
                                    f"(client ID {app.client_id[:8]}…).")
        else:
            self.app_box.setVisible(True)
            self._app_form.setRowVisible(self.sandbox_edit, environment is Environment.LOCAL)
            secret_hint = "required" if auth_facts(platform).needs_client_secret else "leave empty for a PKCE app"
            self.client_secret_edit.setPlaceholderText(secret_hint)
            self.app_status.setText(f"No {platform_label(platform)} app is set up for {environment_label(environment)} "
                                    "yet: enter the app's details from the developer portal.")
        self.adjustSize()
        self._update_ok()

    def _update_ok(self) -> None:
        self.ok_button.setEnabled(self._missing() is None)
        self.ok_button.setToolTip(self._missing() or "")

    def _missing(self) -> str | None:
        """Why the dialog cannot go on yet (None when it can)."""
        if not self.org_edit.hasAcceptableInput():
            return "Enter the organization's code"
        if self._checked is None:
            return "Checking for the ledger app…"
        if self._app is None:
            if not self.client_id_edit.text().strip():
                return "Enter the app's client ID"
            if auth_facts(self.platform).needs_client_secret and not self.client_secret_edit.text():
                return f"A {platform_label(self.platform)} app needs its client secret"
            if not self.redirect_edit.text().strip():
                return "Enter the redirect URI registered with the app"
            loopback = self.loopback_edit.text().strip()
            if loopback and not loopback.startswith(("http://localhost:", "http://127.0.0.1:")):
                return "The loopback URI looks like http://localhost:8765/callback"
            if self.environment is Environment.LOCAL and not self.sandbox_edit.text().strip():
                return "Enter the sandbox's address"
        return None

    def request(self) -> ConnectRequest:
        """The answers (call after the dialog was accepted)."""
        app = None
        if self._app is None:
            app = OAuthApp(self.platform, self.environment, self.client_id_edit.text().strip(),
                           self.redirect_edit.text().strip(), self.client_secret_edit.text() or None,
                           self.sandbox_edit.text().strip() or None, self.loopback_edit.text().strip() or None)
        return ConnectRequest(self.org_edit.text().strip(), self.platform, self.environment, app)
