"""The error-log model, its filter proxy, and the thread-safe bridge from the EventBus."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QModelIndex, Qt, QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.services.core.events import Event, EventBus, Severity
from desktop.views.bridge import EventBridge
from desktop.views.event_log.filter import EventFilterProxy
from desktop.views.event_log.model import Column, EventLogModel
from desktop.views.main_window import MainWindow

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
    publisher = threading.Thread(target=lambda: [bus.publish(e) for e in events])
    publisher.start()
    publisher.join()
    # The window keeps up (how quickly: bench/bench_log_latency.py measures the event-loop delay).
    qtbot.waitUntil(lambda: window.log_dock.model.rowCount() == 50_000, timeout=60_000)
    assert window.log_dock.summary.text() == "50,000 events · 5,000 warnings"
    window.log_dock.show_all()  # the log opens on warnings and errors
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


# --- resolutions, organization filter, details, actions, export -----------------------------------

import csv  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from pytestqt.modeltest import ModelTester  # noqa: E402

from desktop.services.auth.roles import Actor, Role  # noqa: E402
from desktop.services.core.events import EventKind  # noqa: E402
from desktop.services.queries.errors import ErrorsQueue, Resolution  # noqa: E402
from desktop.services.store.db import Database  # noqa: E402
from desktop.services.store.event_sink import EventLogSink  # noqa: E402
from desktop.services.store.migrate import upgrade  # noqa: E402
from desktop.services.store.models import AuditLog, Organization, OutboxDocument, OutboxStatus, Platform  # noqa: E402
from desktop.views.context import ShellContext  # noqa: E402
from desktop.views.event_log.dock import ErrorLogDock  # noqa: E402


def test_resolutions_org_filter_and_hide_resolved(qtmodeltester: ModelTester, qapp: QApplication) -> None:
    model = EventLogModel()
    events = [make_event(i, Severity.ERROR, org=("ACME" if i % 2 else "BIRCH")) for i in range(10)]
    model.append_events(events)
    assert model.organizations() == ["ACME", "BIRCH"]
    model.set_resolutions({events[1].event_id: Resolution(events[1].event_id, "olivia", T0, "fixed the tax code")})
    assert model.data(model.index(1, Column.SEVERITY)) == "Resolved"
    assert "Resolved by olivia: fixed the tax code" in model.data(model.index(1, Column.MESSAGE),
                                                                  Qt.ItemDataRole.ToolTipRole)
    proxy = EventFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_organization("ACME")
    assert proxy.rowCount() == 5
    proxy.set_hide_resolved(True)
    assert proxy.rowCount() == 4
    qtmodeltester.check(proxy, force_py=True)
    proxy.set_organization(None)
    assert proxy.rowCount() == 9
    qtmodeltester.check(model, force_py=True)


class Desk:
    """A dock wired to a real ErrorsQueue over a real SQLite database, events flowing through the bus."""

    def __init__(self, tmp_path: Path, bus: EventBus, actor: Actor) -> None:
        url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
        upgrade(url)
        self.db = Database(url)
        self.sink = EventLogSink(self.db)
        self.sink.attach(bus)
        self.queue = ErrorsQueue(self.db, bus.clock, bus)
        with self.db.write_session() as s:
            org = Organization(code="ACME", name="Acme", platform=Platform.QBO, timezone="UTC", home_currency="USD",
                               settings={}, is_active=True, created_at=T0, updated_at=T0)
            s.add(org)
            s.flush()
            s.add(OutboxDocument(organization_id=org.id, idempotency_key="K-1", role="refund", platform=Platform.QBO,
                                 doc_type="CreditMemo", status=OutboxStatus.QUARANTINED, attempts=2, created_at=T0,
                                 updated_at=T0, payload={"DocNumber": "R-1", "refresh_token": "rt-very-secret-1"},
                                 last_error={"platform_code": "6000", "message": "Business validation error"}))
        self.bridge = EventBridge(bus, batch_interval_ms=10)
        self.dock = ErrorLogDock(bridge=self.bridge)
        self.dock.set_services(self.queue, actor)
        self.event = bus.emit(EventKind.DOCUMENT_QUARANTINED, Severity.ERROR, "=Credit memo needs a person", org="ACME",
                              rma="RMA-7", document_key="K-1", platform="qbo", platform_code="6000",
                              platform_message="Business Validation Error")
        assert self.sink.flush()

    def status(self) -> str:
        with self.db.session() as s:
            return str(s.scalar(sa.select(OutboxDocument.status)))

    def audit(self) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(sa.select(AuditLog.action)))

    def close(self) -> None:
        self.bridge.close()
        self.sink.close()
        self.dock.deleteLater()
        self.db.dispose()


@pytest.fixture
def operator_desk(qtbot: QtBot, tmp_path: Path, bus: EventBus) -> Iterator[Desk]:
    desk = Desk(tmp_path, bus, Actor("olivia", Role.OPERATOR))
    qtbot.addWidget(desk.dock)
    desk.dock.show()
    qtbot.waitUntil(lambda: desk.dock.model.rowCount() == 1, timeout=5000)
    desk.dock.select_row(0)
    yield desk
    desk.close()


def test_details_show_the_redacted_document_and_retry_posts_it_again(qtbot: QtBot, operator_desk: Desk) -> None:
    dock = operator_desk.dock
    qtbot.waitUntil(lambda: dock.retry_action.isEnabled(), timeout=5000)  # document context loaded
    raw = dock.details.raw.toPlainText()
    assert '"platform_code": "6000"' in raw and '"refresh_token": "***"' in raw and "rt-very-secret" not in raw
    assert "quarantined · 2 attempts" in dock.details.facts.text()
    dock.details.retry_button.click()
    qtbot.waitUntil(lambda: operator_desk.status() == "pending", timeout=5000)
    qtbot.waitUntil(lambda: "Queued K-1" in dock.details.status.text(), timeout=5000)
    assert operator_desk.audit() == ["document.retried"]
    # Pending now: nothing to retry (once the reloaded document says so).
    qtbot.waitUntil(lambda: "only failed or quarantined" in dock.retry_action.toolTip(), timeout=5000)
    assert not dock.retry_action.isEnabled() and not dock.details.retry_button.isEnabled()


def test_resolve_with_a_note_marks_the_row_and_is_audited(qtbot: QtBot, operator_desk: Desk) -> None:
    dock = operator_desk.dock
    dialog = dock.begin_resolve()
    assert dialog is not None
    assert not dialog.buttons.buttons()[0].isEnabled() or dialog.note.toPlainText() == ""
    dialog.note.setPlainText("Added the GST rate to the mapping")
    dialog.accept()
    qtbot.waitUntil(lambda: dock.model.resolution(operator_desk.event.event_id) is not None, timeout=5000)
    assert dock.model.data(dock.model.index(0, Column.SEVERITY)) == "Resolved"
    assert operator_desk.audit() == ["error.resolved"]
    assert not dock.resolve_action.isEnabled() and dock.resolve_action.toolTip() == "Already resolved"
    dock.hide_resolved.setChecked(True)
    assert dock.proxy.rowCount() == 0


def test_a_viewer_sees_why_and_the_service_refuses_even_if_asked_directly(
        qtbot: QtBot, tmp_path: Path, bus: EventBus) -> None:
    desk = Desk(tmp_path, bus, Actor("victor", Role.VIEWER))
    qtbot.addWidget(desk.dock)
    try:
        qtbot.waitUntil(lambda: desk.dock.model.rowCount() == 1, timeout=5000)
        desk.dock.select_row(0)
        dock = desk.dock
        for action in (dock.retry_action, dock.resolve_action):
            assert not action.isEnabled()
            assert action.toolTip() == "victor is a viewer: only an operator or admin can retry or resolve"
        assert dock.open_action.isEnabled()  # looking is allowed
        dock.resolve([desk.event.event_id], "I am only looking")  # the button is off; call the action anyway
        qtbot.waitUntil(lambda: "may not resolve errors" in dock.details.status.text(), timeout=5000)
        dock.retry_selected()
        qtbot.waitUntil(lambda: dock.busy is None, timeout=5000)
        assert "may not resolve errors" in dock.details.status.text()
        assert desk.status() == "quarantined" and desk.audit() == []
        assert dock.model.resolution(desk.event.event_id) is None
    finally:
        desk.close()


def test_export_writes_the_filtered_rows_defused_off_the_gui_thread(
        qtbot: QtBot, operator_desk: Desk, bus: EventBus, tmp_path: Path) -> None:
    dock = operator_desk.dock
    for i in range(30):
        bus.publish(make_event(i, org="BIRCH"))
    qtbot.waitUntil(lambda: dock.model.rowCount() == 31, timeout=5000)
    dock.org_combo.setCurrentIndex(dock.org_combo.findData("ACME"))
    assert dock.proxy.rowCount() == 1
    target = tmp_path / "log.csv"
    dock.export_to(target)
    qtbot.waitUntil(lambda: dock.last_export == target, timeout=5000)
    with target.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Time (UTC)", "Severity", "Organization"]
    assert len(rows) == 2 and rows[1][2] == "ACME" and rows[1][6] == "'=Credit memo needs a person"
    assert rows[1][8] == "6000"


def test_open_return_goes_to_the_returns_page(qtbot: QtBot, shell_context: ShellContext, bus: EventBus) -> None:
    window = MainWindow(shell_context)
    qtbot.addWidget(window)
    bus.emit(EventKind.DOCUMENT_FAILED, Severity.WARNING, "did not post", org="ACME", rma="RMA-42")
    qtbot.waitUntil(lambda: window.log_dock.model.rowCount() == 1, timeout=5000)
    window.log_dock.select_row(0)
    with qtbot.waitSignal(window.log_dock.open_return_requested) as signal:
        window.log_dock.open_action.trigger()
    assert signal.args == ["ACME", "RMA-42"]
    assert window.current_page.info.key == "returns"
    window.tray.quitting = True


def test_filter_proxy_follows_trimming_and_keeps_the_selection(
        qtmodeltester: ModelTester, qtbot: QtBot, qapp: QApplication) -> None:
    from PySide6.QtWidgets import QTableView

    model = EventLogModel(max_rows=100)
    proxy = EventFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_min_severity("warning")
    model.append_events([make_event(i, Severity.WARNING if i % 4 == 0 else Severity.INFO) for i in range(250)])
    shown = [model.event_at(proxy.source_row(r)).document_key for r in range(proxy.rowCount())]
    assert shown == [f"CM-{i}" for i in range(152, 250, 4)]  # only the newest 100 are kept
    qtmodeltester.check(proxy, force_py=True)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    # Select through the selection model: QTableView.selectRow() consults the application's
    # current keyboard modifiers (a Shift or Ctrl left over from an earlier test would extend it).
    from PySide6.QtCore import QItemSelectionModel
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    view.selectionModel().select(proxy.index(3, 0), flags)  # CM-164
    proxy.set_text("cm-16")  # CM-160, CM-164, CM-168
    selected = [proxy.mapToSource(i).row() for i in view.selectionModel().selectedRows()]
    assert [model.event_at(r).document_key for r in selected] == ["CM-164"]
    assert proxy.rowCount() == 3
    proxy.set_text("cm-2")
    assert view.selectionModel().selectedRows() == []  # the selected row is filtered out: nothing selected
    model.prepend_events([])  # no-op keeps the mapping
    model.clear()
    assert proxy.rowCount() == 0


def test_refiltering_a_hundred_thousand_rows(qapp: QApplication) -> None:
    model = EventLogModel()
    proxy = EventFilterProxy()
    proxy.setSourceModel(model)
    model.append_events([make_event(i, Severity.ERROR if i % 10 == 0 else Severity.INFO,
                                    org=f"ORG{i % 12}") for i in range(100_000)])
    proxy.set_min_severity("error")
    assert proxy.rowCount() == 10_000
    proxy.set_organization("ORG4")
    proxy.set_organization(None)
    proxy.set_min_severity("debug")
    assert proxy.rowCount() == 100_000
    proxy.set_text("rma-1099")  # RMA-1099 and RMA-10990..10999 (i = 99, 9990..9999)
    assert proxy.rowCount() == 11
