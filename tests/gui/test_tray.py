"""The tray: few notifications for many failures, close-to-tray keeps the app alive, Quit quits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop.services.core.events import Event, EventBus, EventKind, Severity
from desktop.views.main_window import MainWindow
from desktop.views.resources import app_icon
from desktop.views.tray import CLOSE_TO_TRAY_KEY, TrayController, summarize

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def failed(i: int, org: str = "ACME") -> Event:
    return Event(kind=EventKind.DOCUMENT_FAILED, severity=Severity.WARNING, message="did not post", occurred_at=T0,
                 org=org, document_key=f"K-{i}")


def _tray(qtbot: QtBot, bus: EventBus, settings: QSettings, **kw: Any) -> TrayController:
    host = QWidget()
    qtbot.addWidget(host)
    return TrayController(host, bus, settings, app_icon(), tray_available=False, **kw)


def test_five_hundred_failures_from_a_worker_make_one_notification(
        qtbot: QtBot, bus: EventBus, settings: QSettings) -> None:
    ticks = [1000.0]  # the tray's monotonic clock, moved by hand: the quiet interval never depends on load
    tray = _tray(qtbot, bus, settings, gather_ms=50, min_interval_ms=400, clock=lambda: ticks[0])
    orgs = ("ACME", "BIRCH", "CEDAR", "DUNE", "ELM")
    worker = threading.Thread(target=lambda: [bus.publish(failed(i, orgs[i % 5])) for i in range(500)])
    with qtbot.waitSignal(tray.notified, timeout=5000) as first:
        worker.start()
        worker.join()
        for i in range(10_000):  # noise the tray does not listen to never reaches it
            bus.emit(EventKind.DOCUMENT_POSTED, Severity.INFO, f"posted {i}")
    note = first.args[0]
    assert note.title == "500 documents did not post"
    assert note.message == "ACME, BIRCH, CEDAR and 2 more. Open the error log to retry."
    assert note.target == "error_log"
    # All 500 are in that one message, the noise was never buffered: nothing is left to show.
    assert tray.shown == [note] and tray.pending() == 0 and tray.bridge is not None and tray.bridge.pending() == 0
    ticks[0] += 0.25  # 250 ms of the 400 ms quiet interval have passed
    with qtbot.waitSignal(tray.notified) as second:
        bus.publish(failed(501))
        assert tray.pending() == 0  # still on its way through the bridge
    assert tray.scheduled_wait_ms == 150  # held for the rest of the quiet interval, not the 50 ms gathering
    assert second.args[0].title == "1 document did not post"
    assert len(tray.shown) == 2
    ticks[0] += 0.5  # after a whole quiet interval the next message only waits for its gathering window
    with qtbot.waitSignal(tray.notified):
        bus.publish(failed(502))
    assert tray.scheduled_wait_ms == 50
    assert len(tray.shown) == 3
    tray.close()
    bus.publish(failed(503))
    assert bus.subscriber_count == 0


def test_reconnect_and_sync_failures_are_summarised_separately() -> None:
    events = [Event(kind=EventKind.CONNECTION_NEEDS_RECONNECT, severity=Severity.ERROR, message="sign in",
                    occurred_at=T0, org="KIWI"),
              Event(kind=EventKind.SYNC_FAILED, severity=Severity.ERROR, message="crashed", occurred_at=T0, org="ACME"),
              Event(kind=EventKind.DOCUMENT_QUARANTINED, severity=Severity.ERROR, message="held", occurred_at=T0,
                    org="ACME"), failed(1)]
    notes = summarize(events)
    assert [(n.title, n.target) for n in notes] == [
        ("1 ledger connection needs signing in again", "connections"),
        ("2 documents did not post", "error_log"),
        ("1 sync run failed", "error_log")]
    assert notes[0].message == "KIWI: open Connections and choose Reconnect."
    assert notes[1].message == "ACME (1 needs a person). Open the error log to retry."


def test_closing_hides_to_the_tray_and_quit_really_quits(qtbot: QtBot, window: MainWindow) -> None:
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    window.tray.available = True  # offscreen has no tray; pretend, to exercise the decision
    assert window.tray.close_to_tray
    window.close()
    assert window.isHidden() and closed == []  # hidden, still running
    window.tray.show_requested.emit("error_log")
    assert window.isVisible() and window.log_dock.isVisible()
    window.tray.quit_action.trigger()
    assert closed == [True]


def test_without_a_tray_or_with_the_setting_off_closing_quits(
        qtbot: QtBot, window: MainWindow, settings: QSettings) -> None:
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    window.tray.available = True
    window.tray.close_to_tray_action.setChecked(False)
    assert settings.value(CLOSE_TO_TRAY_KEY) == "false"
    window.close()
    assert closed == [True]
