"""The error log leads to the fix (issue 15): it opens on warnings and errors and says what it hides,
an empty grid says why, the details speak to a person (codes visible, secrets masked), Retry and
Resolve are reachable by keyboard, and "Open return" opens *that* return on the Returns page.

The window is the real one over a real SQLite database and the services the composition root
builds; events reach the log through the real bus and bridge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.app import view_services
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.enums import ReturnSyncStatus
from desktop.services.core.events import EventBus, EventKind, Severity
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import OutboxDocument, OutboxStatus, Platform
from desktop.services.store.testing import make_org, make_return
from desktop.views.context import ShellContext
from desktop.views.main_window import MainWindow

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
WANTED = "RMA-MAPLE-100051"
INFO_ROWS = 1500


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    upgrade(url)
    database = Database(url)
    with database.write_session() as s:
        org = make_org(s, code="MAPLE-CA", platform=Platform.QBO)
        # RMA-MAPLE-100063 is the newest (first in the grid); 1000510 also contains the wanted text.
        for n, rms_id in enumerate(["MAPLE-100051", "MAPLE-1000510", *[f"MAPLE-1000{i}" for i in range(52, 64)]]):
            ret = make_return(s, org, rms_id=rms_id, at=T0 + timedelta(minutes=n))
            ret.sync_status = ReturnSyncStatus.QUARANTINED if rms_id == "MAPLE-100051" else ReturnSyncStatus.POSTED
        s.flush()
        s.add(OutboxDocument(organization_id=org.id, idempotency_key="K-63", role="refund", platform=Platform.QBO,
                             doc_type="CreditMemo", status=OutboxStatus.FAILED, attempts=3, created_at=T0,
                             updated_at=T0, payload={"DocNumber": "CM-63", "access_token": "at-very-secret-1"},
                             last_error={"platform": "qbo", "platform_code": "6000",
                                         "platform_message": "A business validation error has occurred",
                                         "message": "The ledger refused the credit memo"}))
    yield database
    database.dispose()


@pytest.fixture
def window(qtbot: QtBot, shell_context: ShellContext, db: Database, bus: EventBus) -> Iterator[MainWindow]:
    services = view_services(db, ManualClock(T0), bus)
    context = replace(shell_context, actor=Actor("olivia", Role.OPERATOR), services=services)
    win = MainWindow(context)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    yield win
    win.tray.quitting = True


def _publish(bus: EventBus, count: int = INFO_ROWS) -> None:
    for i in range(count):
        bus.emit(EventKind.DOCUMENT_POSTED, Severity.INFO, f"Posted credit memo {i}", org="MAPLE-CA")
    bus.emit(EventKind.RETURN_QUARANTINED, Severity.WARNING,
             f"Return {WANTED} (revision 1) quarantined: tax jurisdiction 'XX' is unknown — correct it in the RMS; "
             "the return will be re-read when it changes.", org="MAPLE-CA", rma=WANTED,
             details={"problems": [{"code": "unknown_tax_jurisdiction", "field": "lines[0].tax[0].jurisdiction",
                                    "message": "tax jurisdiction 'XX' is unknown — correct it in the RMS; the return "
                                               "will be re-read when it changes."}]})


def test_it_opens_on_warnings_and_errors_and_says_how_many_info_rows_it_hides(
        qtbot: QtBot, window: MainWindow, bus: EventBus) -> None:
    dock = window.log_dock
    _publish(bus)
    qtbot.waitUntil(lambda: dock.model.rowCount() == INFO_ROWS + 1, timeout=10_000)
    assert dock.severity_combo.currentText() == "Warnings and errors"
    assert dock.proxy.rowCount() == 1
    assert dock.hidden_label.text().startswith("1,500 info messages hidden — ")
    assert "Show all" in dock.hidden_label.text()
    dock.hidden_label.linkActivated.emit("show-all")
    assert dock.proxy.rowCount() == INFO_ROWS + 1 and dock.hidden_label.text() == ""


def test_an_empty_grid_says_why(qtbot: QtBot, window: MainWindow, bus: EventBus) -> None:
    dock = window.log_dock
    assert dock.grid.currentWidget() is dock.empty and dock.empty.title.text() == "No events yet"
    _publish(bus, 3)
    qtbot.waitUntil(lambda: dock.model.rowCount() == 4, timeout=5000)
    assert dock.grid.currentWidget() is dock.table
    dock.severity_combo.setCurrentIndex(dock.severity_combo.findData("error"))
    assert dock.proxy.rowCount() == 0 and dock.grid.currentWidget() is dock.empty
    assert dock.empty.title.text() == "No errors yet"  # nothing has synced: nothing to vouch for
    bus.emit(EventKind.SYNC_FINISHED, Severity.INFO, "push finished for MAPLE-CA", org="MAPLE-CA")
    qtbot.waitUntil(lambda: dock.model.rowCount() == 5, timeout=5000)
    assert dock.empty.title.text() == "No errors — everything synced"
    assert dock.empty.hint.text() == "5 warnings and info messages are hidden."
    dock.empty.action.click()  # Show all
    assert dock.proxy.rowCount() == 5 and dock.grid.currentWidget() is dock.table
    dock.filter_edit.setText("nothing like this")
    assert dock.empty.title.text() == "Nothing matches this filter"
    dock.empty.action.click()  # Clear the filter
    assert dock.filter_edit.text() == "" and dock.proxy.rowCount() == 5


def test_details_are_for_people_codes_visible_secrets_masked(qtbot: QtBot, window: MainWindow, bus: EventBus) -> None:
    dock = window.log_dock
    bus.emit(EventKind.DOCUMENT_FAILED, Severity.ERROR, "CreditMemo for RMA-MAPLE-100063 was refused by the ledger",
             org="MAPLE-CA", rma="RMA-MAPLE-100063", document_key="K-63",
             details={"code": "account_currency_mismatch", "refresh_token": "rt-never-shown",
                      "action": "map the refund to a CAD account, then Retry"})
    qtbot.waitUntil(lambda: dock.proxy.rowCount() == 1, timeout=5000)
    dock.select_row(0)
    qtbot.waitUntil(lambda: dock.retry_action.isEnabled(), timeout=5000)  # the document's context loaded
    details = dock.details
    assert details.headline.text() == "CreditMemo for RMA-MAPLE-100063 was refused by the ledger"
    said = details.todo.text()
    assert "QuickBooks Online says" in said and "6000 — A business validation error has occurred" in said
    assert "CreditMemo · failed · 3 attempts" in details.facts.text()
    assert "What to do" in details.todo.text() and "Map the refund to a CAD account, then Retry" in details.todo.text()
    assert not details.raw.isVisible()  # the technical record is behind the disclosure
    details.disclosure.click()
    assert details.raw.isVisible()
    raw = details.raw.toPlainText()
    assert '"code": "account_currency_mismatch"' in raw and '"platform_code": "6000"' in raw
    assert "rt-never-shown" not in raw and "at-very-secret-1" not in raw and '"access_token": "***"' in raw


def test_retry_and_resolve_are_reachable_by_keyboard(qtbot: QtBot, window: MainWindow, bus: EventBus) -> None:
    dock = window.log_dock
    bus.emit(EventKind.DOCUMENT_FAILED, Severity.ERROR, "refused", org="MAPLE-CA", rma="RMA-MAPLE-100063",
             document_key="K-63")
    qtbot.waitUntil(lambda: dock.proxy.rowCount() == 1, timeout=5000)
    dock.select_row(0)
    qtbot.waitUntil(lambda: dock.retry_action.isEnabled(), timeout=5000)
    dock.table.setFocus()
    qtbot.waitUntil(lambda: dock.table.hasFocus(), timeout=5000)
    qtbot.keyClick(dock.table, Qt.Key.Key_Tab)
    assert dock.details.retry_button.hasFocus()
    qtbot.keyClick(dock.details.retry_button, Qt.Key.Key_Tab)
    assert dock.details.resolve_button.hasFocus()
    qtbot.keyClick(dock.details.resolve_button, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: getattr(dock, "resolve_dialog", None) is not None and dock.resolve_dialog.isVisible(),
                    timeout=5000)
    dock.resolve_dialog.reject()
    qtbot.keyClick(dock.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Queued K-63" in dock.details.status.text(), timeout=5000)


def test_open_return_shows_that_returns_detail(qtbot: QtBot, window: MainWindow, bus: EventBus) -> None:
    _publish(bus, 20)
    dock = window.log_dock
    qtbot.waitUntil(lambda: dock.proxy.rowCount() == 1, timeout=5000)
    dock.select_row(0)  # the warning about RMA-MAPLE-100051: pick the error
    assert dock.current_event() is not None and dock.current_event().rma == WANTED  # type: ignore[union-attr]
    dock.table.setFocus()
    qtbot.waitUntil(lambda: dock.table.hasFocus(), timeout=5000)
    qtbot.keyClick(dock.table, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)  # Open return
    page = window.current_page
    assert page.info.key == "returns"

    def shown() -> bool:
        detail = page.detail_panel.detail  # type: ignore[attr-defined]
        return detail is not None and detail.row.rma == WANTED

    qtbot.waitUntil(shown, timeout=10_000)
    assert page.selected_row().rma == WANTED  # type: ignore[attr-defined]
    assert page.search.text() == WANTED and page.org_combo.currentData() == "MAPLE-CA"  # type: ignore[attr-defined]
    assert f"Showing {WANTED}" in page.status.text()  # type: ignore[attr-defined]
