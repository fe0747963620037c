"""The set-up assistant: returns system, ledgers, mapping, schedule — each step skippable.

Every step reuses what the rest of the app uses: the RMS form of the Connections page's RMS tile,
the ledger sign-in (the Connect dialog and the embedded sign-in), the shipped mapping templates
and the scheduler's intervals, through :class:`~desktop.services.queries.setup.SetupService`.
All work runs in the background (:mod:`desktop.views.ops`); "Next" never waits for it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from desktop.services.auth.platforms import Environment, platform_label
from desktop.services.auth.roles import Action
from desktop.services.platforms.registry import DEFAULT_PLATFORM
from desktop.views.connections.actions import lookup_app, prepare_sign_in
from desktop.views.connections.dialog import ConnectDialog
from desktop.views.connections.rms import RmsForm, failure_text
from desktop.views.login_dialog import LoginDialog
from desktop.views.ops import run_in_background

if TYPE_CHECKING:
    from desktop.services.connections.service import ConnectionSummary
    from desktop.services.queries.setup import SetupState
    from desktop.views.context import ShellContext

log = logging.getLogger(__name__)
#: What "How often" offers (seconds); the scheduler's default for posting is 2 minutes.
INTERVALS = ((60, "Every minute"), (120, "Every 2 minutes (default)"), (300, "Every 5 minutes"),
             (900, "Every 15 minutes"), (3600, "Every hour"))
SKIP_HINT = "Not now? Press Next: you can do this later from the Connections page or Help → Set-up assistant…"


def _text(text: str, name: str = "PageDescription") -> QLabel:
    widget = QLabel(text)
    widget.setWordWrap(True)
    widget.setObjectName(name)
    return widget


class _Step(QWizardPage):
    """A page with a status line; ``refresh`` re-reads the installation when the page is shown."""

    def __init__(self, assistant: SetupAssistant, title: str, subtitle: str) -> None:
        super().__init__()
        self.assistant = assistant
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.column = QVBoxLayout(self)
        self.column.setSpacing(12)
        self.status = _text("", "CardHint")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def finish_layout(self) -> None:
        self.column.addWidget(self.status)
        self.column.addStretch(1)
        self.column.addWidget(_text(SKIP_HINT, "CardHint"))

    def say(self, text: str, *, error: bool = False) -> None:
        self.status.setStyleSheet("color: #dc3545;" if error else "")
        self.status.setText(text)

    def initializePage(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Read the installation again (override to show it)."""

    def load_state(self, then: Any) -> None:
        setup = self.assistant.context.services.setup
        if setup is None:
            return
        run_in_background(self, lambda _p: setup.state(), on_success=then,
                          on_failure=lambda exc: self.say(failure_text(exc), error=True), label="Reading the set-up")


class WelcomePage(_Step):
    def __init__(self, assistant: SetupAssistant) -> None:
        super().__init__(assistant, "Welcome to Returns Ledger Sync",
                         "Four short steps connect this computer to your returns system and your ledgers.")
        for line in ("1. Connect the returns system (RMS): its address and an API key.",
                     "2. Connect each organization's ledger: QuickBooks Online or Xero, through their own sign-in.",
                     "3. Review the mapping from return codes to ledger accounts (a shipped template to start).",
                     "4. Choose how often the app syncs.",
                     "Every step can be skipped and done later; nothing is posted to a ledger until you sync."):
            self.column.addWidget(_text(line))
        self.column.addStretch(1)


class RmsPage(_Step):
    def __init__(self, assistant: SetupAssistant) -> None:
        super().__init__(assistant, "Connect the returns system",
                         "The RMS administrator gives you the API's address and an API key. The app checks them by "
                         "asking which organizations the key can see; the key is kept in this computer's keyring.")
        self.form = RmsForm(assistant.context, self)
        self.save_button = QPushButton("Test and &save")
        self.save_button.setObjectName("PrimaryButton")
        self.save_button.clicked.connect(self.form.save)
        self.form.saved.connect(self._on_saved)
        for signal in (self.form.url_edit.textChanged, self.form.key_edit.textChanged):
            signal.connect(self._update)
        self.form.busy_changed.connect(lambda _b: self._update())
        self.column.addWidget(self.form, 1)  # room for the organizations the test call lists
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.save_button)
        self.column.addLayout(row)
        self.finish_layout()
        self._update()

    def _update(self) -> None:
        reason = self.form.why_not()
        self.save_button.setEnabled(reason is None)
        self.save_button.setToolTip(reason or "Test the address and key, then save them")

    def refresh(self) -> None:
        self.form.load()

    def _on_saved(self, orgs: list[Any]) -> None:
        self.assistant.rms_orgs = [o.code for o in orgs]
        self.say("The returns system is connected. Press Next to connect the ledgers.")


class LedgersPage(_Step):
    def __init__(self, assistant: SetupAssistant) -> None:
        super().__init__(assistant, "Connect the ledgers",
                         "Each organization posts to one QuickBooks Online or Xero company. Connect opens the "
                         "ledger's own sign-in page; the app never sees your ledger password.")
        self.list = QListWidget()
        self.list.setObjectName("SetupLedgers")
        self.list.setMinimumHeight(120)
        self.connect_button = QPushButton("&Connect a ledger…")
        self.connect_button.setObjectName("PrimaryButton")
        self.connect_button.clicked.connect(self.begin_connect)
        actor = assistant.context.actor
        allowed = assistant.context.services.connections is not None and actor is not None \
            and actor.can(Action.MANAGE_CONNECTIONS)
        self.connect_button.setEnabled(allowed)
        if not allowed:
            self.connect_button.setToolTip("Only an admin can connect ledgers")
        self.connect_dialog: ConnectDialog | None = None
        self.login_dialog: LoginDialog | None = None
        self.column.addWidget(self.list)
        row = QHBoxLayout()
        row.addWidget(self.connect_button)
        row.addStretch(1)
        self.column.addLayout(row)
        self.finish_layout()

    def refresh(self) -> None:
        self.load_state(self.show_state)

    def show_state(self, state: SetupState) -> None:
        self.list.clear()
        for ledger in state.ledgers:
            self.list.addItem(QListWidgetItem(f"{ledger.org_code} → {ledger.ledger} company “{ledger.company_name}”"
                                              f" · {ledger.state_text}"))
        if not state.ledgers:
            self.list.addItem(QListWidgetItem("No ledger connected yet."))

    def begin_connect(self) -> None:
        service = self.assistant.context.services.connections
        if service is None:
            return
        dialog = ConnectDialog(lambda p, e: lookup_app(service, p, e), orgs=self.assistant.rms_orgs, parent=self)
        if self.assistant.context.demo:
            dialog.select(DEFAULT_PLATFORM, Environment.LOCAL)
        dialog.accepted.connect(lambda: self._open_sign_in(dialog))
        self.connect_dialog = dialog
        dialog.open()

    def _open_sign_in(self, dialog: ConnectDialog) -> None:
        service, actor = self.assistant.context.services.connections, self.assistant.context.actor
        if service is None or actor is None:
            return
        request = dialog.request()
        self.say("Opening the sign-in page…")

        def opened(sign_in: Any) -> None:
            self.say(f"Sign in to {platform_label(request.platform)} in the window that opened.")
            login = LoginDialog(sign_in, title=f"Connect {request.org_code} to {platform_label(request.platform)}",
                                parent=self)
            login.finished_ok.connect(self._on_connected)
            login.rejected.connect(lambda: self.say("Not connected: the sign-in was closed."))
            self.login_dialog = login
            login.open()

        run_in_background(self, lambda _p: prepare_sign_in(service, actor, request), on_success=opened,
                          on_failure=lambda exc: self.say(failure_text(exc), error=True), label="Opening the sign-in")

    def _on_connected(self, summary: ConnectionSummary) -> None:
        self.say(f"Connected {summary.org_code} to {platform_label(summary.platform)} company "
                 f"“{summary.company_name}”. Connect another, or press Next.")
        self.refresh()


class MappingPage(_Step):
    def __init__(self, assistant: SetupAssistant) -> None:
        super().__init__(assistant, "Review the mapping",
                         "The mapping says which ledger account, tax code and item each return code posts to. "
                         "Start from the shipped template for the ledger and country, then adjust it on the "
                         "Mappings page (drag and drop, or the keyboard).")
        self.list = QListWidget()
        self.list.setObjectName("SetupMappings")
        self.list.setMinimumHeight(120)
        self.apply_button = QPushButton("&Apply the default template")
        self.apply_button.setObjectName("SetupApplyTemplate")
        self.apply_button.clicked.connect(self.apply_template)
        self.open_button = QPushButton("&Open the Mappings page")
        self.open_button.clicked.connect(lambda: assistant.leave_for("mappings"))
        self.list.currentRowChanged.connect(lambda _r: self._update())
        self.column.addWidget(self.list)
        row = QHBoxLayout()
        row.addWidget(self.apply_button)
        row.addWidget(self.open_button)
        row.addStretch(1)
        self.column.addLayout(row)
        self.finish_layout()
        self.state: SetupState | None = None
        self._update()

    def refresh(self) -> None:
        self.load_state(self.show_state)

    def show_state(self, state: SetupState) -> None:
        self.state = state
        self.list.clear()
        for ledger in state.ledgers:
            mapping = (f"mapping version {ledger.mapping_version}" if ledger.mapping_version
                       else f"no mapping yet — template {ledger.template or 'none'}")
            item = QListWidgetItem(f"{ledger.org_code} ({ledger.ledger}): {mapping}")
            item.setData(Qt.ItemDataRole.UserRole, ledger.connection_id)
            self.list.addItem(item)
        if not state.ledgers:
            self.list.addItem(QListWidgetItem("Connect a ledger first: a mapping is checked against its accounts."))
        else:
            self.list.setCurrentRow(0)
        self._update()

    def _selected(self) -> int | None:
        item = self.list.currentItem()
        value = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return value if isinstance(value, int) else None

    def _update(self) -> None:
        actor = self.assistant.context.actor
        reason = ("Only an admin can change mappings" if actor is None or not actor.can(Action.MANAGE_MAPPINGS)
                  else "Select a connected organization" if self._selected() is None else None)
        self.apply_button.setEnabled(reason is None)
        self.apply_button.setToolTip(reason or "Import the shipped template as the organization's next mapping "
                                               "version (checked against its chart of accounts first)")

    def apply_template(self) -> None:
        setup, actor, connection_id = self.assistant.context.services.setup, self.assistant.context.actor, \
            self._selected()
        if setup is None or actor is None or connection_id is None:
            return
        self.say("Applying the template…")

        def done(result: dict[str, Any]) -> None:
            if result["version"] is None:
                self.say(f"The {result['template']} template needs attention: {'; '.join(result['problems'][:2])}. "
                         "Open the Mappings page to fix it.", error=True)
            else:
                self.say(f"Mapping version {result['version']} saved from the {result['template']} template.")
            self.refresh()

        run_in_background(self, lambda _p: setup.apply_default_template(actor, connection_id), on_success=done,
                          on_failure=lambda exc: self.say(failure_text(exc), error=True), label="Applying a template")


class SchedulePage(_Step):
    def __init__(self, assistant: SetupAssistant) -> None:
        super().__init__(assistant, "Choose the sync schedule",
                         "How often the app reads new returns, posts them and reads the ledger back, for every "
                         "connected organization. You can also press “Sync now” on the Dashboard at any time.")
        self.combo = QComboBox()
        self.combo.setObjectName("SetupInterval")
        for seconds, text in INTERVALS:
            self.combo.addItem(text, seconds)
        self.save_button = QPushButton("&Save the schedule")
        self.save_button.setObjectName("SetupSaveSchedule")
        self.save_button.clicked.connect(self.save)
        actor = assistant.context.actor
        allowed = assistant.context.services.scheduler is not None and actor is not None \
            and actor.can(Action.MANAGE_SETTINGS)
        self.save_button.setEnabled(allowed)
        self.save_button.setToolTip("" if allowed else "Only an admin can change the schedule")
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        row.addWidget(self.save_button)
        self.column.addLayout(row)
        self.finish_layout()
        self.chosen: int | None = None  # the interval the person saved here (a late load never undoes it)

    def refresh(self) -> None:
        self.load_state(self.show_state)

    def show_state(self, state: SetupState) -> None:
        index = self.combo.findData(state.sync_interval_s)
        if index >= 0 and self.chosen is None:
            self.combo.setCurrentIndex(index)
        if not state.ledgers:
            self.say("No organization is connected yet: the schedule applies once one is.")

    def save(self) -> None:
        setup, actor = self.assistant.context.services.setup, self.assistant.context.actor
        if setup is None or actor is None:
            return
        seconds, words = int(self.combo.currentData()), self.combo.currentText().lower()
        self.chosen = seconds

        def done(orgs: list[str]) -> None:  # says what was saved, whatever the combo shows by now
            self.say(f"Saved: {words} for {', '.join(orgs)}." if orgs
                     else "Nothing to schedule yet: connect a ledger first.")

        run_in_background(self, lambda _p: setup.set_sync_interval(actor, seconds), on_success=done,
                          on_failure=lambda exc: self.say(failure_text(exc), error=True), label="Saving the schedule")


class DonePage(_Step):
    def __init__(self, assistant: SetupAssistant) -> None:
        super().__init__(assistant, "All set", "What is connected now:")
        self.summary = _text("")
        self.summary.setObjectName("SetupSummary")
        self.column.addWidget(self.summary)
        self.column.addWidget(_text("Open this assistant again any time from Help → Set-up assistant… or the "
                                    "Connections page. The user guide (Help → User guide, F1) explains each screen."))
        self.column.addWidget(self.status)
        self.column.addStretch(1)

    def refresh(self) -> None:
        self.load_state(self.show_state)

    def show_state(self, state: SetupState) -> None:
        rms = f"Returns system: {state.rms.state_text}" + (f" ({state.rms.base_url})" if state.rms.base_url else "")
        ledgers = "\n".join(f"• {x.org_code} → {x.ledger}" + (f", mapping version {x.mapping_version}"
                                                                 if x.mapping_version else ", no mapping yet")
                            for x in state.ledgers) or "• No ledger connected yet"
        self.summary.setText(f"{rms}\nLedgers:\n{ledgers}")


class SetupAssistant(QWizard):
    """The assistant (see the module docstring); ``navigate_requested(key)`` asks the window for a page."""

    navigate_requested = Signal(str)

    def __init__(self, context: ShellContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.rms_orgs: list[str] = []
        self.setObjectName("SetupAssistant")
        self.setWindowTitle("Set-up assistant")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.CancelButtonOnLeft, True)
        self.setButtonText(QWizard.WizardButton.CancelButton, "Skip set-up")
        self.setMinimumSize(640, 520)
        self.steps: dict[str, _Step] = {
            "welcome": WelcomePage(self), "rms": RmsPage(self), "ledgers": LedgersPage(self),
            "mapping": MappingPage(self), "schedule": SchedulePage(self), "done": DonePage(self)}
        for step in self.steps.values():
            self.addPage(step)

    def leave_for(self, key: str) -> None:
        """Close the assistant and show a page of the window (e.g. Mappings)."""
        self.accept()
        self.navigate_requested.emit(key)
