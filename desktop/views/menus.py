"""The main window's menu bar: File (Quit), View (the pages, the error log) and Help.

Help opens the user guide (``docs/guide/index.md``, found through :mod:`desktop.views.resources`,
in the reader the desktop chooses for Markdown), the keyboard shortcuts read from the window's own
actions (:mod:`desktop.views.shortcuts`), the set-up assistant, and About (the version from the
package metadata, the licence, where the data and the database are).
"""

from __future__ import annotations

from importlib import metadata
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenuBar, QMessageBox, QWidget

from desktop import APP_ID, APP_NAME, __version__
from desktop.views.resources import guide_path
from desktop.views.shortcuts import ShortcutsDialog

if TYPE_CHECKING:
    from collections.abc import Callable

    from desktop.views.context import ShellContext

__all__ = ["app_version", "install_menu_bar", "open_url"]

#: How a URL is opened (tests replace it, so no browser starts).
open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
#: Shown when the package metadata names no licence (pyproject.toml declares none yet).
LICENCE = "not stated in this build's package metadata"


def app_version() -> str:
    """The installed package's version (what ``--version`` and the bundle say); the source tree's otherwise."""
    try:
        return metadata.version(APP_ID)
    except metadata.PackageNotFoundError:
        return __version__


def _licence() -> str:
    try:
        found = metadata.metadata(APP_ID)
        text = str(found["License"]) if "License" in found else ""
    except metadata.PackageNotFoundError:
        text = ""
    return text.strip() or LICENCE


class HelpActions:
    """What Help's entries do, kept on the window as ``window.help_actions``."""

    def __init__(self, window: QMainWindow, context: ShellContext, open_assistant: Callable[[], None]) -> None:
        self.window = window
        self.context = context
        self.open_assistant = open_assistant
        self.actions: dict[str, QAction] = {}
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self.about_box: QMessageBox | None = None
        self.guide_box: QMessageBox | None = None

    def open_guide(self) -> bool:
        try:
            path = guide_path()
        except FileNotFoundError as exc:
            self.guide_box = QMessageBox(QMessageBox.Icon.Warning, "User guide", f"The user guide is missing: {exc}. "
                                         "Reinstall the app, or read docs/guide/ in its source.",
                                         QMessageBox.StandardButton.Ok, self.window)
            self.guide_box.open()
            return False
        return bool(open_url(QUrl.fromLocalFile(str(path))))

    def show_shortcuts(self) -> None:
        self.shortcuts_dialog = ShortcutsDialog(self.window)
        self.shortcuts_dialog.open()

    def about_text(self) -> str:
        context = self.context
        return (f"<p><b>{APP_NAME}</b> {app_version()}</p>"
                "<p>Keeps a returns management system and QuickBooks Online / Xero in step, both ways.</p>"
                f"<p>Licence: {_licence()}</p>"
                f"<p>Data directory: {context.data_dir or '—'}<br>Database: {context.database_label}</p>")

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, f"About {APP_NAME}", self.about_text(),
                          QMessageBox.StandardButton.Ok, self.window)
        box.setObjectName("AboutBox")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.about_box = box
        box.open()


def _action(parent: QWidget, text: str, keys: QKeySequence | str | None, slot: Callable[[], object]) -> QAction:
    action = QAction(text, parent)
    if keys is not None:
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.triggered.connect(lambda _checked=False: slot())
    return action


def install_menu_bar(window: QMainWindow, context: ShellContext, *, page_actions: list[QAction],
                     log_action: QAction, open_assistant: Callable[[], None],
                     quit_app: Callable[[], None]) -> HelpActions:
    """File, View and Help on ``window``'s menu bar; the page actions are the window's own (Ctrl+1…).

    ``quit_app`` really quits (the tray's "Quit": closing may only hide the window).
    """
    bar: QMenuBar = window.menuBar()
    bar.setObjectName("MenuBar")
    helps = HelpActions(window, context, open_assistant)

    file_menu = bar.addMenu("&File")
    quit_action = _action(window, "&Quit", "Ctrl+Q", quit_app)
    quit_action.setMenuRole(QAction.MenuRole.QuitRole)
    file_menu.addAction(quit_action)

    view_menu = bar.addMenu("&View")
    for action in page_actions:
        view_menu.addAction(action)
    view_menu.addSeparator()
    view_menu.addAction(log_action)

    help_menu = bar.addMenu("&Help")
    guide = _action(window, "&User guide", QKeySequence(QKeySequence.StandardKey.HelpContents), helps.open_guide)
    shortcuts = _action(window, "&Keyboard shortcuts", "Ctrl+/", helps.show_shortcuts)
    assistant = _action(window, "&Set-up assistant…", None, open_assistant)
    about = _action(window, f"&About {APP_NAME}", None, helps.show_about)
    about.setMenuRole(QAction.MenuRole.AboutRole)
    for entry in (guide, shortcuts, None, assistant, None, about):
        if entry is None:
            help_menu.addSeparator()
        else:
            help_menu.addAction(entry)
    for action in (quit_action, guide, shortcuts, assistant, about):
        window.addAction(action)  # live even while the menu bar is hidden (some desktops)
    helps.actions = {"quit": quit_action, "guide": guide, "shortcuts": shortcuts, "assistant": assistant,
                     "about": about}
    return helps
