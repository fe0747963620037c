"""The system-tray icon: the app keeps syncing with its window closed, and says when a person is needed.

It listens (through its own, filtered :class:`EventBridge`) for three kinds of trouble — a document
that did not post, a sync run that failed, a connection that needs signing in again — and turns
them into **few** notifications: the first event opens a short gathering window, everything that
arrives in it becomes one message ("500 documents did not post — ACME, BIRCH"), and after a message
the next one waits at least ``min_interval_ms``. A burst of 500 failures is one notification.

Closing the window hides it to the tray while "Close to tray" is on (a QSettings flag; default on)
and a tray exists; "Quit" in the tray menu really quits. Without a system tray (offscreen, some
desktops) closing quits as usual, so the app can never become unreachable.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal, Slot
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from desktop import APP_NAME
from desktop.services.core.events import EventKind
from desktop.views.bridge import EventBridge
from desktop.views.timers import single_shot_timer

if TYPE_CHECKING:
    from desktop.services.core.events import Event, EventBus
WATCHED = (EventKind.DOCUMENT_FAILED, EventKind.DOCUMENT_QUARANTINED, EventKind.SYNC_FAILED,
           EventKind.CONNECTION_NEEDS_RECONNECT)
CLOSE_TO_TRAY_KEY = "tray/close_to_tray"


@dataclass(frozen=True)
class Notification:
    title: str
    message: str
    target: str  # where a click goes: "error_log" or "connections"


def summarize(events: list[Event]) -> list[Notification]:
    """At most one notification per kind of trouble, however many events there were."""
    docs = [e for e in events if e.kind in (EventKind.DOCUMENT_FAILED, EventKind.DOCUMENT_QUARANTINED)]
    syncs = [e for e in events if e.kind == EventKind.SYNC_FAILED]
    reconnect = [e for e in events if e.kind == EventKind.CONNECTION_NEEDS_RECONNECT]
    out: list[Notification] = []
    if reconnect:
        orgs = _orgs(reconnect)
        noun = "connection needs" if len(orgs) <= 1 else "connections need"
        out.append(Notification(f"{max(1, len(orgs))} ledger {noun} signing in again",
                                f"{_list(orgs) or 'A ledger'}: open Connections and choose Reconnect.", "connections"))
    if docs:
        held = sum(1 for e in docs if e.kind == EventKind.DOCUMENT_QUARANTINED)
        title = f"{len(docs):,} document{'s' if len(docs) != 1 else ''} did not post"
        detail = f" ({held:,} need{'s' if held == 1 else ''} a person)" if held else ""
        out.append(Notification(title, f"{_list(_orgs(docs)) or 'Sync'}{detail}. Open the error log to retry.",
                                "error_log"))
    if syncs:
        title = f"{len(syncs):,} sync run{'s' if len(syncs) != 1 else ''} failed"
        out.append(Notification(title, f"{_list(_orgs(syncs)) or 'Sync'}: see the error log.", "error_log"))
    return out


def _orgs(events: list[Event]) -> list[str]:
    return [org for org, _ in Counter(e.org for e in events if e.org).most_common()]


def _list(orgs: list[str], most: int = 3) -> str:
    if len(orgs) <= most:
        return ", ".join(orgs)
    return f"{', '.join(orgs[:most])} and {len(orgs) - most} more"


class TrayController(QObject):
    """Tray icon, its menu, throttled notifications, and the close-to-tray decision.

    Signals:
        notified(Notification): every notification, shown or not (no tray offscreen) — for tests.
        show_requested(str): the user wants the window, at a target ("", "error_log", "connections").
        quit_requested(): "Quit" was chosen.
    """

    notified = Signal(object)
    show_requested = Signal(str)
    quit_requested = Signal()

    def __init__(self, window: QWidget, bus: EventBus | None, settings: QSettings, icon: QIcon, *,
                 gather_ms: int = 1500, min_interval_ms: int = 60_000, tray_available: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``clock`` (seconds, monotonic) measures the quiet interval; tests pass one they move by hand."""
        super().__init__(window)
        self._clock = clock
        self._window = window
        self._settings = settings
        self._pending: list[Event] = []
        self._last_shown: float | None = None
        self._last_target = ""
        self.min_interval_ms = min_interval_ms
        self._gather_ms = gather_ms
        self.quitting = False
        self.shown: list[Notification] = []
        self.available = QSystemTrayIcon.isSystemTrayAvailable() if tray_available is None else tray_available
        self._timer = single_shot_timer(self, gather_ms, self._flush)

        self.menu = QMenu(window)
        self.show_action = QAction(f"Show {APP_NAME}", self)
        self.show_action.triggered.connect(lambda: self.show_requested.emit(""))
        self.log_action = QAction("Error log", self)
        self.log_action.triggered.connect(lambda: self.show_requested.emit("error_log"))
        self.close_to_tray_action = QAction("Keep syncing when the window is closed", self)
        self.close_to_tray_action.setCheckable(True)
        self.close_to_tray_action.setChecked(self.close_to_tray)
        self.close_to_tray_action.toggled.connect(self.set_close_to_tray)
        self.quit_action = QAction("Quit", self)
        self.quit_action.triggered.connect(self._on_quit_action_triggered)
        for action in (self.show_action, self.log_action, None, self.close_to_tray_action, None, self.quit_action):
            if action is None:
                self.menu.addSeparator()
            else:
                self.menu.addAction(action)
        self.icon = QSystemTrayIcon(icon, self)
        self.icon.setToolTip(APP_NAME)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_icon_activated)
        self.icon.messageClicked.connect(lambda: self.show_requested.emit(self._last_target))
        if self.available:
            self.icon.show()
        self.bridge = EventBridge(bus, self, kinds=[str(k) for k in WATCHED]) if bus is not None else None
        if self.bridge is not None:
            self.bridge.events_arrived.connect(self._on_bridge_events_arrived)

    # -- close to tray ---------------------------------------------------------------------------
    @property
    def close_to_tray(self) -> bool:
        return str(self._settings.value(CLOSE_TO_TRAY_KEY, "true")).lower() in ("true", "1")

    def set_close_to_tray(self, enabled: bool) -> None:
        self._settings.setValue(CLOSE_TO_TRAY_KEY, "true" if enabled else "false")
        if self.close_to_tray_action.isChecked() != enabled:
            self.close_to_tray_action.setChecked(enabled)

    def should_hide_instead_of_close(self) -> bool:
        """True when a window close should only hide the window (the sync keeps running)."""
        return self.available and self.close_to_tray and not self.quitting

    # -- notifications ---------------------------------------------------------------------------
    @Slot(list)
    def _on_bridge_events_arrived(self, events: list[Event]) -> None:
        self._pending.extend(events)
        if self._timer.isActive():
            return
        wait = self._gather_ms  # not the timer's interval: a held message's wait must not stick
        if self._last_shown is not None:
            since = (self._clock() - self._last_shown) * 1000
            wait = max(wait, int(self.min_interval_ms - since))
        self._timer.start(wait)

    def _flush(self) -> None:
        events, self._pending = self._pending, []
        if not events:
            return
        self._last_shown = self._clock()
        for note in summarize(events):
            self._last_target = note.target
            self.shown.append(note)
            if self.available:
                icon = QSystemTrayIcon.MessageIcon.Warning
                self.icon.showMessage(note.title, note.message, icon, 10_000)
            self.notified.emit(note)

    def pending(self) -> int:
        return len(self._pending)

    @property
    def scheduled_wait_ms(self) -> int:
        """The wait the latest events were given before their message: the gathering window, or
        what was left of the quiet interval after the previous message."""
        return self._timer.interval()

    # -- menu ------------------------------------------------------------------------------------
    def _on_icon_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_requested.emit("")

    def _on_quit_action_triggered(self) -> None:
        self.quitting = True
        self.quit_requested.emit()

    def close(self) -> None:
        """Unsubscribe and remove the icon (on quit)."""
        self._timer.stop()
        if self.bridge is not None:
            self.bridge.close()
        self.icon.hide()
