"""The returns system (RMS) on screen: the address/key form, its dialog, and the Connections tile.

:class:`RmsForm` is shared by the dialog the RMS tile's "Edit…" opens and the set-up assistant's
first step. The test call (the organizations the key can see) and saving run in the background
through :mod:`desktop.views.ops`; the key field is a password field and is never filled back in
(leaving it blank keeps the stored key). The service checks the admin permission again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.services.auth.roles import Action
from desktop.services.core.errors import AppError
from desktop.views.connections.model import STATES
from desktop.views.ops import run_in_background

if TYPE_CHECKING:
    from desktop.services.rms.endpoint import RmsOrganization, RmsStatus
    from desktop.views.context import ShellContext
log = logging.getLogger(__name__)
ERROR_COLOUR = STATES["needs_reconnect"][1]


def failure_text(exc: BaseException) -> str:
    """What a failed test call or save says to the person (ops hands us an AppError or explain()'s words)."""
    if isinstance(exc, AppError):
        return exc.user_message()
    log.error("rms: unexpected failure", exc_info=(type(exc), exc, exc.__traceback__))
    return str(exc) or "Something went wrong; the details are in the log file."


def orgs_text(orgs: list[RmsOrganization]) -> str:
    if not orgs:
        return "The RMS answered but shows this key no organizations: ask the RMS administrator for access."
    return f"The RMS answers and sees {len(orgs)} organization{'' if len(orgs) == 1 else 's'}:\n" + \
        "\n".join(f"• {o.text}" for o in orgs)


class RmsForm(QWidget):
    """Address, API key, "Test" and the organizations the RMS sees; :meth:`save` tests and saves."""

    saved = Signal(object)        # list[RmsOrganization]
    busy_changed = Signal(bool)

    def __init__(self, context: ShellContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.endpoint = context.services.rms
        self.actor = context.actor
        self.status: RmsStatus | None = None
        self.busy = False
        self.url_edit = QLineEdit()
        self.url_edit.setObjectName("RmsUrl")
        self.url_edit.setPlaceholderText("https://rms.example.com/rms")
        self.url_edit.setToolTip("The RMS API's address, as the RMS administrator gives it (https://…)")
        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("RmsKey")
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("the API key the RMS administrator issued")
        self.key_edit.setToolTip("Kept in this computer's keyring, never in the database or the log")
        self.test_button = QPushButton("&Test")
        self.test_button.setObjectName("RmsTest")
        self.test_button.setToolTip("Ask the RMS which organizations this key can see; nothing is saved")
        self.test_button.clicked.connect(self.test)
        key_row = QHBoxLayout()
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.test_button)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("&Address", self.url_edit)
        key_label = QLabel("API &key")
        key_label.setBuddy(self.key_edit)
        form.addRow(key_label, key_row)
        self.result_label = QLabel("")
        self.result_label.setObjectName("RmsResult")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addLayout(form)
        layout.addWidget(self.result_label)
        layout.addStretch(1)
        for edit in (self.url_edit, self.key_edit):
            edit.textChanged.connect(self._update)
        self._update()

    # --- state --------------------------------------------------------------------------------
    def why_not(self) -> str | None:
        if self.endpoint is None or self.actor is None:
            return "The returns system cannot be set up in this window"
        if not self.actor.can(Action.MANAGE_CONNECTIONS):
            return f"{self.actor.username} is a {self.actor.role.value}: only an admin can change the returns system"
        if self.busy:
            return "Wait for the RMS to answer"
        if not self.url_edit.text().strip():
            return "Enter the RMS address first"
        if not self.key_edit.text().strip() and not self._keeps_key():
            return "Enter the API key"
        return None

    def _keeps_key(self) -> bool:
        status = self.status
        return bool(status and status.has_key and status.base_url == self.url_edit.text().strip().rstrip("/"))

    def _update(self) -> None:
        reason = self.why_not()
        self.test_button.setEnabled(reason is None)
        self.test_button.setToolTip(reason or "Ask the RMS which organizations this key can see; nothing is saved")
        self.key_edit.setPlaceholderText("leave blank to keep the stored key" if self._keeps_key()
                                         else "the API key the RMS administrator issued")

    def _set_busy(self, busy: bool, message: str = "") -> None:
        self.busy = busy
        if message:
            self.result_label.setText(message)
        self.url_edit.setEnabled(not busy)
        self.key_edit.setEnabled(not busy)
        self._update()
        self.busy_changed.emit(busy)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.result_label.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")
        self.result_label.setText(text)

    # --- work ---------------------------------------------------------------------------------
    def load(self) -> None:
        """Fill the address from what is stored (the key never comes back to the screen)."""
        endpoint = self.endpoint
        if endpoint is None:
            return

        def loaded(status: RmsStatus) -> None:
            self.status = status
            if status.base_url and not self.url_edit.text():
                self.url_edit.setText(status.base_url)
            self._update()

        run_in_background(self, lambda _p: endpoint.status(), on_success=loaded,
                          on_failure=lambda exc: self._say(failure_text(exc), error=True), label="Reading the RMS")

    def _values(self) -> tuple[str, str | None]:
        return self.url_edit.text().strip(), (self.key_edit.text().strip() or None)

    def test(self) -> None:
        if self.why_not() is not None or self.endpoint is None or self.actor is None:
            return
        endpoint, actor = self.endpoint, self.actor
        url, key = self._values()
        self._set_busy(True, f"Asking {urlsplit(url).netloc or url} which organizations it sees…")

        def done(orgs: list[RmsOrganization]) -> None:
            self._set_busy(False)
            self._say(orgs_text(orgs))

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self._say(failure_text(exc), error=True)

        run_in_background(self, lambda _p: endpoint.check(actor, url, key), on_success=done, on_failure=failed,
                          label="Testing the RMS")

    def save(self) -> None:
        """Test, then save (nothing is saved if the RMS refuses or does not answer); emits ``saved``."""
        reason = self.why_not()
        if reason is not None or self.endpoint is None or self.actor is None:
            if reason:
                self._say(reason, error=True)
            return
        endpoint, actor = self.endpoint, self.actor
        url, key = self._values()
        self._set_busy(True, "Testing and saving…")

        def done(orgs: list[RmsOrganization]) -> None:
            self._set_busy(False)
            self.key_edit.clear()
            self._say(orgs_text(orgs) + "\nSaved: the key is in this computer's keyring.")
            self.saved.emit(orgs)
            self.load()

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            self._say(failure_text(exc) + "\nNothing was saved.", error=True)

        run_in_background(self, lambda _p: endpoint.connect(actor, url, key), on_success=done, on_failure=failed,
                          label="Connecting the RMS")


class RmsDialog(QDialog):
    """Edit the RMS address and key (the RMS tile's "Edit…"); accepted once saved."""

    def __init__(self, context: ShellContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Returns system (RMS)")
        self.setObjectName("RmsDialog")
        self.setMinimumWidth(520)
        intro = QLabel("Where the app reads returns from. The RMS administrator gives you the API's address and "
                       "an API key; the app checks them by asking which organizations the key can see.")
        intro.setWordWrap(True)
        intro.setObjectName("PageDescription")
        self.form = RmsForm(context, self)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText("Test and &save")
        self.save_button.setObjectName("PrimaryButton")
        self.buttons.accepted.connect(self.form.save)
        self.buttons.rejected.connect(self.reject)
        self.form.saved.connect(lambda _orgs: self.accept())
        for signal in (self.form.url_edit.textChanged, self.form.key_edit.textChanged):
            signal.connect(self._update)
        self.form.busy_changed.connect(lambda _b: self._update())
        layout = QVBoxLayout(self)
        layout.setSpacing(12)
        layout.addWidget(intro)
        layout.addWidget(self.form, 1)
        layout.addWidget(self.buttons)
        self._update()
        self.form.load()

    def _update(self) -> None:
        reason = self.form.why_not()
        self.save_button.setEnabled(reason is None)
        self.save_button.setToolTip(reason or "Test the address and key, then save them")


class RmsTile:
    """The Connections page's RMS tile: its real state, and "Edit…" for an admin.

    ``state_label`` is the tile's badge; the button goes under the tile's blurb.
    """

    def __init__(self, context: ShellContext, tile: Any, parent: QWidget) -> None:
        self.context = context
        self.tile = tile
        self.parent = parent
        self.endpoint = context.services.rms
        self.dialog: RmsDialog | None = None
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setObjectName("RmsEdit")
        self.edit_button.clicked.connect(self.edit)
        self.address_label = QLabel("")  # under the blurb, wrapping: a long address never widens the tile
        self.address_label.setObjectName("CardHint")
        self.address_label.setWordWrap(True)
        self.address_label.setVisible(False)
        row = QHBoxLayout()
        row.addWidget(self.edit_button)
        row.addStretch(1)
        tile.layout_.addWidget(self.address_label)
        tile.layout_.addSpacing(8)
        tile.layout_.addLayout(row)
        actor = context.actor
        reason = ("The returns system cannot be set up in this window" if self.endpoint is None else
                  None if actor is not None and actor.can(Action.MANAGE_CONNECTIONS) else
                  "Only an admin can change the returns system's address and key")
        self.edit_button.setEnabled(reason is None)
        self.edit_button.setToolTip(reason or "Change the RMS address or API key and test them")
        if self.endpoint is not None:
            tile.state_label.setText("Checking…")  # until the first status arrives

    def reload(self) -> None:
        endpoint = self.endpoint
        if endpoint is None:
            return
        run_in_background(self.parent, lambda _p: endpoint.status(), on_success=self.show_status,
                          on_failure=lambda exc: log.warning("could not read the RMS status: %s", exc),
                          label="Reading the RMS status")

    def show_status(self, status: RmsStatus) -> None:
        host = urlsplit(status.base_url).netloc if status.base_url else ""
        label = self.tile.state_label
        label.setText(status.state_text if status.state != "key_missing" else "API key missing")
        self.address_label.setText(f"At {host}" if host else "")
        self.address_label.setVisible(bool(host))
        label.setToolTip(f"{status.state_text}: {status.base_url}"
                         + (f" — set by {status.updated_by}" if status.updated_by else "")
                         if status.base_url else "No returns system yet: an admin can connect it with Connect…")
        colour = {"connected": STATES["connected"][1], "key_missing": ERROR_COLOUR}.get(status.state)
        label.setStyleSheet(f"color: {colour}; border-color: {colour}; font-weight: 600;" if colour else "")
        self.edit_button.setText("Edit…" if status.base_url else "Connect…")

    def edit(self) -> None:
        if not self.edit_button.isEnabled():
            return
        self.dialog = RmsDialog(self.context, self.parent)
        self.dialog.accepted.connect(self.reload)
        self.dialog.open()
