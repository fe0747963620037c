"""When the set-up assistant opens: by itself on an empty installation, or when asked.

It offers itself once the window is up, if nothing is configured yet (no returns system and no
ledger — read off the GUI thread), the person may change connections, this is not the demo, and
they have not closed it before on this computer (then Help → Set-up assistant… and the Connections
page still open it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.services.auth.roles import Action
from desktop.views.ops import run_in_background
from desktop.views.setup import SETUP_KEY

if TYPE_CHECKING:
    from desktop.views.context import ShellContext
    from desktop.views.setup.assistant import SetupAssistant

log = logging.getLogger(__name__)
__all__ = ["DISMISSED", "SETUP_KEY", "SetupLauncher"]
DISMISSED = "setup/dismissed"


class SetupLauncher(QObject):
    """Opens the assistant over ``window``; ``show_page(key)`` and ``refresh()`` are the window's
    (navigate; reload the page in front once the assistant closes)."""

    def __init__(self, window: QWidget, context: ShellContext, show_page: Callable[[str], None],
                 refresh: Callable[[], None]) -> None:
        super().__init__(window)
        self.window = window
        self.context = context
        self._show_page = show_page
        self._refresh = refresh
        self.assistant: SetupAssistant | None = None
        self.box: QMessageBox | None = None

    def open(self) -> None:
        context = self.context
        if context.services.setup is None:
            self.box = QMessageBox(QMessageBox.Icon.Information, "Set-up assistant",
                                   "The set-up assistant is not available in this window.",
                                   QMessageBox.StandardButton.Ok, self.window)
            self.box.open()
            return
        if self.assistant is not None and self.assistant.isVisible():
            self.assistant.raise_()
            return
        from desktop.views.setup.assistant import SetupAssistant

        self.assistant = SetupAssistant(context, self.window)
        self.assistant.navigate_requested.connect(self._show_page)
        self.assistant.finished.connect(self._on_finished)
        self.assistant.open()

    def _on_finished(self, _result: int) -> None:
        if self.assistant is not None:
            self.assistant.deleteLater()  # a fresh one next time (it reads the installation again)
            self.assistant = None
        self.context.settings.setValue(DISMISSED, True)
        self._refresh()  # show what the assistant connected

    def should_offer(self) -> bool:
        context = self.context
        actor = context.actor
        return (not context.demo and context.services.setup is not None and actor is not None
                and actor.can(Action.MANAGE_CONNECTIONS)
                and str(context.settings.value(DISMISSED, "false")).lower() != "true")

    def offer_if_empty(self) -> None:
        """Open the assistant if the installation is empty (checked in the background)."""
        setup = self.context.services.setup
        if not self.should_offer() or setup is None:
            return

        def checked(state: Any) -> None:
            if state.empty and self.should_offer():
                self.open()

        run_in_background(self, lambda _p: setup.state(), on_success=checked,
                          on_failure=lambda exc: log.warning("could not check the installation: %s", exc),
                          label="Checking the installation")
