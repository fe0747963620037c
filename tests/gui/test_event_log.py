"""The error-log model, its filter proxy, and the thread-safe bridge from the EventBus."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QModelIndex, Qt, QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.services.events import Event, EventBus, Severity
from desktop.views.bridge import EventBridge
from desktop.views.main_window import MainWindow
from desktop.views.models.event_log_model import Column, EventFilterProxy, EventLogModel

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def make_event(i: int, severity: Severity = Severity.INFO, *, message: str | None = None,
               org: str = "Acme Outdoor", platform: str | None = None, platform_code: str | None = None,
               platform_message: str | None = None) -> Event:
    return Event(kind="document.posted", severity=severity, message=message or f"Posted credit memo {i}",
                 occurred_at=T0 + timedelta(seconds=i), org=org, rma=f"RMA-{1000 + i}",
                 document_key=f"CM-{i}", platform=platform, platform_code=platform_code,
                 platform_message=platform_message)


def test_model_passes_qtmodeltester(qtmodeltester, qapp: QApplication) -> None:  # type: ignore[no-untyped-def]
    model = EventLogModel(max_rows=50)
    model.append_events([make_event(i, Severity.ERROR if i % 3 else Severity.INFO) for i in range(30)])
    qtmodeltester.check(model, force_py=True)
    model.append_events([make_event(i) for i in range(30, 70)])  # trims to 50
    qtmodeltester.check(model, force_py=True)
    proxy = EventFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_text("RMA-105")
    qtmodeltester.check(proxy, force_py=True)


def test_cells_show_local_time_severity_org_document_and_platform_words(qapp: QApplication) -> None:
    model = EventLogModel()
    event = make_event(5, Severity.ERROR, platform="qbo", platform_code="6140",
                       platform_message="Duplicate Document Number Error", message="Credit memo rejected")
    model.append_events([event])
    cell = lambda c: model.data(model.index(0, c))  # noqa: E731
    assert cell(Column.TIME) == event.occurred_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert cell(Column.SEVERITY) == "Error"
    assert cell(Column.ORGANIZATION) == "Acme Outdoor"
    assert cell(Column.DOCUMENT) == "RMA-1005 · CM-5"
    assert cell(Column.MESSAGE) == ("Credit memo rejected (QuickBooks Online 6140: "
                                    "Duplicate Document Number Error)")
    icon = model.data(model.index(0, Column.SEVERITY), Qt.ItemDataRole.DecorationRole)
    assert not icon.isNull()
    assert model.headerData(Column.DOCUMENT, Qt.Orientation.Horizontal) == "Return / document"


def test_model_keeps_at_most_max_rows_newest_last(qapp: QApplication) -> None:
    model = EventLogModel(max_rows=100)
    model.append_events([make_event(i) for i in range(250)])
    assert model.rowCount() == 100
    assert model.event_at(0).document_key == "CM-150"
    assert model.event_at(99).document_key == "CM-249"
    assert model.counts()["info"] == 100
    model.clear()
    assert model.rowCount() == 0 and model.counts()["info"] == 0


def test_filter_by_text_and_severity_floor(qapp: QApplication) -> None:
    model = EventLogModel()
    model.append_events([make_event(1, Severity.INFO, org="Acme Outdoor"),
                         make_event(2, Severity.WARNING, org="Birch & Co"),
                         make_event(3, Severity.ERROR, org="Birch & Co"),
                         make_event(4, Severity.CRITICAL, org="Acme Outdoor")])
    proxy = EventFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_text("birch")
    assert proxy.rowCount() == 2
    proxy.set_min_severity("error")
    assert proxy.rowCount() == 1
    proxy.set_text("")
    shown = [proxy.data(proxy.index(r, Column.SEVERITY)) for r in range(proxy.rowCount())]
    assert shown == ["Error", "Critical"]
    proxy.set_min_severity("debug")
    assert proxy.rowCount() == 4


def test_events_from_a_worker_thread_reach_the_model_on_the_gui_thread(
        qtbot: QtBot, qapp: QApplication, bus: EventBus) -> None:
    model = EventLogModel()
    bridge = EventBridge(bus, batch_interval_ms=20)
    batches: list[int] = []
    threads_seen: set[bool] = set()

    def on_arrived(events: list[Event]) -> None:
        threads_seen.add(QThread.currentThread() is qapp.thread())
        batches.append(len(events))
        model.append_events(events)

    bridge.events_arrived.connect(on_arrived)
    worker = threading.Thread(target=lambda: [bus.publish(make_event(i)) for i in range(2000)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: model.rowCount() == 2000, timeout=5000)
    assert threads_seen == {True}
    assert len(batches) < 100, "events must arrive in batches, not one queued call each"
    assert [model.event_at(i).document_key for i in (0, 1999)] == ["CM-0", "CM-1999"]
    bridge.close()
    bus.publish(make_event(9999))
    assert bus.subscriber_count == 0 and bridge.pending() == 0


def test_fifty_thousand_events_do_not_freeze_the_window(qtbot: QtBot, window: MainWindow,
                                                        bus: EventBus) -> None:
    events = [make_event(i, Severity.WARNING if i % 10 == 0 else Severity.INFO) for i in range(50_000)]
    started = time.perf_counter()
    publisher = threading.Thread(target=lambda: [bus.publish(e) for e in events])
    publisher.start()
    publisher.join()
    qtbot.waitUntil(lambda: window.log_dock.model.rowCount() == 50_000, timeout=10_000)
    elapsed = time.perf_counter() - started
    assert elapsed < 8, f"50k events took {elapsed:.1f}s"
    assert window.log_dock.summary.text() == "50,000 events · 5,000 warnings"
    window.log_dock.filter_edit.setText("RMA-4999")  # 4999, 49990..49999 → 11 rows
    assert window.log_dock.proxy.rowCount() == 11
    assert window.log_dock.proxy.index(0, 0, QModelIndex()).isValid()


def test_history_is_prepended_once_and_live_events_stay_last(qapp: QApplication) -> None:
    model = EventLogModel(max_rows=10)
    live = [make_event(i) for i in (8, 9)]
    model.append_events(live)
    history = [make_event(i) for i in range(8)] + [live[0]]  # live[0] was already written to the DB
    assert model.prepend_events(history) == 8
    assert [model.event_at(r).document_key for r in range(model.rowCount())] == [f"CM-{i}" for i in range(10)]
    assert model.prepend_events([make_event(100)]) == 0  # full: history never pushes out live rows


def test_window_loads_history_in_the_background(qtbot: QtBot, window: MainWindow, qapp: QApplication) -> None:
    threads: list[bool] = []

    def loader() -> list[object]:
        threads.append(QThread.currentThread() is qapp.thread())
        return [make_event(i, Severity.WARNING) for i in range(3)]

    window.load_history(loader)
    assert window.history_state == "loading"
    qtbot.waitUntil(lambda: window.history_state == "loaded", timeout=5000)
    assert threads == [False]
    assert window.log_dock.model.rowCount() == 3
    assert window.log_dock.summary.text() == "3 events · 3 warnings"
