"""The Connections page with a real ConnectionService, the sandbox over HTTP, QtWebEngine and the keyring."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import keyring
import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop.services.auth.platforms import Environment, Platform
from desktop.services.auth.roles import Actor
from desktop.services.auth.vault import KEYRING_SERVICE
from desktop.services.connections.details import countdown
from desktop.services.connections.service import ConnectionSummary
from desktop.services.core.clock import ManualClock
from desktop.services.store.models import RefAccount
from desktop.views.connections.model import Column, ConnectionsFilter, ConnectionsModel
from desktop.views.ops import running_operations
from desktop.views.pages.connections import ConnectionsPage
from desktop.views.theme import ThemeManager
from tests.helpers.gui import page_context
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import ADMIN, VIEWER, World


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[World]:
    """A real database file, the keyring-backed connections, and the sandbox's apps registered."""
    with World(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        yield w


@pytest.fixture
def open_page(qtbot: QtBot, world: World, settings: QSettings, theme: ThemeManager,
              tmp_path: Path) -> Iterator[Callable[[Actor], ConnectionsPage]]:
    pages: list[ConnectionsPage] = []

    def make(actor: Actor) -> ConnectionsPage:
        context = page_context(world, settings, actor=actor, theme=theme)
        page = ConnectionsPage(context)
        qtbot.addWidget(page)
        page.resize(1100, 900)
        page.show()
        qtbot.waitUntil(lambda: page.freshness.text() != "", timeout=10000)  # the first load arrived
        pages.append(page)
        return page

    yield make
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=30000)  # nothing still reads the database


def _cached_accounts(world: World, connection_id: int) -> int:
    with world.db.session() as s:
        return int(s.execute(sa.select(sa.func.count()).select_from(RefAccount)
                             .where(RefAccount.connection_id == connection_id)).scalar_one())


@pytest.mark.parametrize(("platform", "org", "button", "name"), [
    (Platform.QBO, "ACME-US", "connect", "Acme Outdoor Supply Inc."),
    (Platform.XERO, "KIWI-NZ", "allow", "Kiwi Cycles Ltd"),
], ids=["qbo", "xero"])
def test_connect_through_the_real_consent_page_lands_tokens_rows_and_accounts(
        qtbot: QtBot, world: World, open_page: Callable[[Actor], ConnectionsPage],
        platform: Platform, org: str, button: str, name: str) -> None:
    page = open_page(ADMIN)
    assert page.empty_state.isVisible() and not page.grid_area.isVisible()
    assert page.tiles["qbo"].state_label.text() == "Not connected"

    # Connect… → the dialog: organization, ledger, environment (the sandbox app is registered).
    qtbot.mouseClick(page.buttons["connect"], Qt.MouseButton.LeftButton)
    dialog = page.actions_.connect_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.org_edit, org)
    dialog.select(platform, Environment.LOCAL)
    qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=10000)
    assert "Using the registered" in dialog.app_status.text() and dialog.app_box.isHidden()
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    # The real consent page loads in QtWebEngine; the test presses its button as a person would.
    qtbot.waitUntil(lambda: page.actions_.login_dialog is not None, timeout=10000)
    login = page.actions_.login_dialog
    assert login is not None
    qtbot.waitUntil(lambda: login.status.text() == "", timeout=30000)
    with qtbot.waitCallback(timeout=10000) as text_cb:
        login.page.runJavaScript("document.title + ' | ' + document.body.innerText", 0, text_cb)
    assert name in text_cb.args[0]
    if platform is Platform.XERO:
        login.page.runJavaScript(
            "document.querySelectorAll('input[name=tenant]').forEach((b, i) => b.checked = i === 0)")
    with qtbot.waitSignal(login.finished_ok, timeout=60000) as done:
        login.page.runJavaScript(f"document.getElementById('{button}').click()")
    summary: ConnectionSummary = done.args[0]
    assert summary.state == "connected" and summary.company_name == name

    # The page shows it connected; tokens are in the Secret Service; the chart of accounts is cached.
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10000)
    row = page.model.summary_at(0)
    assert (row.org_code, row.platform, row.state) == (org, platform, "connected")
    assert page.model.data(page.model.index(0, Column.STATUS)) == "Connected"
    assert page.grid_area.isVisible() and not page.empty_state.isVisible()
    assert page.tiles[platform.value].state_label.text() == "1 connected"
    ref = world.credential_ref(row.id)
    assert keyring.get_password(KEYRING_SERVICE, f"grant:{ref}") is not None
    assert world.vault.load_grant(ref) is not None
    assert _cached_accounts(world, row.id) >= 10
    qtbot.waitUntil(lambda: "accounts" in page.details.values["Cached"].text(), timeout=10000)
    assert page.details.values["Company"].text().startswith(name)
    assert "Connected" in page.status.text() and name in page.status.text()


def test_a_viewer_sees_connect_and_disconnect_disabled_with_the_reason(
        qtbot: QtBot, world: World, open_page: Callable[[Actor], ConnectionsPage]) -> None:
    world.connect(Platform.QBO)
    page = open_page(VIEWER)
    qtbot.waitUntil(lambda: page.model.rowCount() == 1, timeout=10000)
    qtbot.waitUntil(lambda: page.selected() is not None, timeout=5000)
    for key in ("connect", "reconnect", "disconnect"):
        button = page.buttons[key]
        assert not button.isEnabled(), key
        assert "victor is a viewer" in button.toolTip() and "only an admin" in button.toolTip()
    assert not page.actions_.disconnect_action.isEnabled()
    # Reading is allowed: testing the connection works for a viewer.
    assert page.buttons["test"].isEnabled()
    qtbot.mouseClick(page.buttons["test"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "answers" in page.status.text(), timeout=20000)
    # The shortcut for connecting does nothing either (the action is disabled).
    page.actions_.connect_action.trigger()
    assert page.actions_.connect_dialog is None


def test_disconnect_asks_first_then_revokes_and_shows_disconnected(
        qtbot: QtBot, world: World, open_page: Callable[[Actor], ConnectionsPage]) -> None:
    summary = world.connect(Platform.XERO)
    ref = world.credential_ref(summary.id)
    page = open_page(ADMIN)
    qtbot.waitUntil(lambda: page.selected() is not None, timeout=10000)

    # Cancel: nothing happens.
    qtbot.mouseClick(page.buttons["disconnect"], Qt.MouseButton.LeftButton)
    box = page.actions_.confirm_box
    assert box is not None and box.isVisible()
    assert "KIWI-NZ" in box.text() and "Kiwi Cycles Ltd" in box.text()
    assert "revoke" in box.informativeText() and "keyring" in box.informativeText()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: "Nothing was disconnected" in page.status.text(), timeout=5000)
    assert world.connections.summary(summary.id).state == "connected"

    # Confirm: revoked at the platform, keyring entry gone, the row says disconnected.
    qtbot.mouseClick(page.buttons["disconnect"], Qt.MouseButton.LeftButton)
    box = page.actions_.confirm_box
    assert box is not None
    page.actions_.disconnect_button.click()
    qtbot.waitUntil(lambda: page.model.rowCount() == 1 and page.model.summary_at(0).state == "disconnected",
                    timeout=20000)
    assert page.model.data(page.model.index(0, Column.STATUS)) == "Disconnected"
    assert page.model.data(page.model.index(0, Column.ACCESS)) == "—"
    assert keyring.get_password(KEYRING_SERVICE, f"grant:{ref}") is None
    assert "access revoked" in page.status.text()
    assert page.tiles["xero"].state_label.text() == "1 disconnected"
    qtbot.waitUntil(lambda: not page.buttons["disconnect"].isEnabled(), timeout=5000)
    assert "disconnected: reconnect it first" in page.buttons["test"].toolTip()


def test_refresh_reference_data_reports_progress_and_updates_the_details(
        qtbot: QtBot, world: World, open_page: Callable[[Actor], ConnectionsPage]) -> None:
    world.connect(Platform.QBO)
    page = open_page(ADMIN)
    qtbot.waitUntil(lambda: "accounts" in page.details.values["Cached"].text(), timeout=10000)
    qtbot.mouseClick(page.buttons["refresh"], Qt.MouseButton.LeftButton)
    assert page.progress.isVisible() and "reference data" in page.status.text()
    assert not page.buttons["refresh"].isEnabled() and "Wait for" in page.buttons["refresh"].toolTip()
    qtbot.waitUntil(lambda: "Reference data refreshed" in page.status.text(), timeout=30000)
    assert "accounts" in page.status.text() and not page.progress.isVisible()
    assert page.buttons["refresh"].isEnabled()


def test_model_passes_qtmodeltester_and_sorts_filters_and_exports(
        qtbot: QtBot, qtmodeltester: Any, world: World, open_page: Callable[[Actor], ConnectionsPage],
        tmp_path: Path) -> None:
    world.connect(Platform.QBO)
    world.connect(Platform.XERO)
    page = open_page(ADMIN)
    qtbot.waitUntil(lambda: page.model.rowCount() == 2, timeout=10000)
    qtmodeltester.check(page.model, force_py=True)
    qtmodeltester.check(page.proxy, force_py=True)
    assert page.tiles["qbo"].state_label.text() == "1 connected"

    page.filter_edit.setText("kiwi")
    assert page.proxy.rowCount() == 1
    assert page.proxy.data(page.proxy.index(0, Column.ORGANIZATION)) == "KIWI-NZ"
    page.filter_edit.clear()
    page.table.sortByColumn(Column.ORGANIZATION, Qt.SortOrder.DescendingOrder)
    assert [page.proxy.data(page.proxy.index(r, 0)) for r in range(2)] == ["KIWI-NZ", "ACME-US"]

    target = tmp_path / "connections.csv"
    page.actions_.export_csv(target)
    qtbot.waitUntil(lambda: page.actions_.last_export == target, timeout=10000)
    with target.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["Organization", "Ledger", "Environment"]
    assert [r[0] for r in rows[1:]] == ["KIWI-NZ", "ACME-US"]
    assert {r[1] for r in rows[1:]} == {"QuickBooks Online", "Xero"}
    assert all(r[Column.STATUS] == "Connected" for r in rows[1:])


def _summary(now: datetime, **overrides: Any) -> ConnectionSummary:
    values: dict[str, Any] = dict(
        id=1, org_code="ACME-US", org_name="Acme", platform=Platform.QBO, environment=Environment.PRODUCTION,
        company_id="9130", company_name="Acme Outdoor Supply Inc.", state="connected", state_text="Connected",
        last_refresh_at=now, access_expires_at=now + timedelta(minutes=42),
        refresh_expires_at=now + timedelta(days=97, hours=1), hard_expires_at=now + timedelta(days=5 * 365),
        reference_fetched_at=now)
    values.update(overrides)
    return ConnectionSummary(**values)


def test_countdowns_format_and_tick_without_a_service_call(qtbot: QtBot, qtmodeltester: Any) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert countdown(None, now) == "—"
    assert countdown(now - timedelta(seconds=1), now) == "expired"
    assert countdown(now + timedelta(seconds=20), now) == "1 min"
    assert countdown(now + timedelta(minutes=42, seconds=30), now) == "42 min"
    assert countdown(now + timedelta(hours=5, minutes=59), now) == "5 h"
    assert countdown(now + timedelta(days=97, hours=3), now) == "97 days"
    assert countdown(now + timedelta(days=5 * 365), now) == "5 years"

    clock = ManualClock(now)
    model = ConnectionsModel(clock.now)
    soon = now + timedelta(days=3)
    model.set_rows([_summary(now), _summary(now, id=2, org_code="TEA-UK", platform=Platform.XERO,
                                            refresh_expires_at=soon, hard_expires_at=None,
                                            state="token_expiring", state_text="Sign-in expires in 3 days")])
    qtmodeltester.check(model, force_py=True)
    cell = lambda r, c: model.data(model.index(r, c))  # noqa: E731
    assert (cell(0, Column.ACCESS), cell(0, Column.SIGN_IN)) == ("42 min", "97 days")
    assert cell(1, Column.SIGN_IN) == "3 days" and cell(1, Column.STATUS) == "Token expiring"
    assert model.data(model.index(1, Column.SIGN_IN), Qt.ItemDataRole.ForegroundRole) is not None
    assert "5-year" in model.data(model.index(0, Column.SIGN_IN), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(1, Column.STATUS), Qt.ItemDataRole.ToolTipRole) == "Sign-in expires in 3 days"
    clock.advance(timedelta(minutes=30))
    with qtbot.waitSignal(model.dataChanged, timeout=1000) as changed:
        model.tick()
    assert changed.args[0].column() == Column.ACCESS and changed.args[1].column() == Column.SIGN_IN
    assert cell(0, Column.ACCESS) == "12 min"
    clock.advance(timedelta(minutes=13))
    model.tick()
    assert cell(0, Column.ACCESS) == "expired"

    proxy = ConnectionsFilter()
    proxy.setSourceModel(model)
    proxy.sort(Column.STATUS)
    assert proxy.data(proxy.index(0, Column.ORGANIZATION)) == "TEA-UK", "the state that needs attention sorts first"
    proxy.sort(Column.SIGN_IN)
    assert proxy.data(proxy.index(0, Column.ORGANIZATION)) == "TEA-UK"


def test_reconnect_and_shortcuts_and_a_new_app_asks_for_its_details(
        qtbot: QtBot, world: World, open_page: Callable[[Actor], ConnectionsPage]) -> None:
    world.connect(Platform.XERO)
    page = open_page(ADMIN)
    qtbot.waitUntil(lambda: page.selected() is not None, timeout=10000)

    # Ctrl+T tests the selected connection.
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "answers" in page.status.text(), timeout=20000)

    # Reconnect: the same organization, ledger and environment, fixed.
    qtbot.mouseClick(page.buttons["reconnect"], Qt.MouseButton.LeftButton)
    dialog = page.actions_.connect_dialog
    assert dialog is not None and dialog.windowTitle() == "Reconnect a ledger"
    assert dialog.org_edit.text() == "KIWI-NZ" and not dialog.org_edit.isEnabled()
    assert dialog.platform is Platform.XERO and dialog.environment is Environment.LOCAL
    qtbot.waitUntil(dialog.ok_button.isEnabled, timeout=10000)
    dialog.reject()

    # Ctrl+N: a QuickBooks Production app is not registered yet, so its fields appear.
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow, timeout=5000)
    page.table.setFocus()
    qtbot.keyClick(page.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = page.actions_.connect_dialog
    assert dialog is not None and dialog.windowTitle() == "Connect a ledger"
    qtbot.keyClicks(dialog.org_edit, "NEW-ORG")
    dialog.select(Platform.QBO, Environment.PRODUCTION)
    qtbot.waitUntil(lambda: dialog.app_box.isVisibleTo(dialog), timeout=10000)
    assert "No QuickBooks Online app is set up for Production" in dialog.app_status.text()
    assert not dialog.ok_button.isEnabled() and "client ID" in dialog.ok_button.toolTip()
    qtbot.keyClicks(dialog.client_id_edit, "ABcd1234")
    assert "client secret" in dialog.ok_button.toolTip()
    qtbot.keyClicks(dialog.client_secret_edit, "s3cret")
    assert "redirect URI" in dialog.ok_button.toolTip()
    qtbot.keyClicks(dialog.redirect_edit, "https://returns.example.com/oauth/callback")
    assert dialog.ok_button.isEnabled()
    qtbot.keyClicks(dialog.loopback_edit, "https://nope")
    assert not dialog.ok_button.isEnabled() and "localhost" in dialog.ok_button.toolTip()
    dialog.loopback_edit.setText("http://localhost:8765/callback")
    assert dialog.ok_button.isEnabled()
    request = dialog.request()
    assert request.app is not None and request.app.client_secret == "s3cret" and request.app.sandbox_url is None
    assert request.app.loopback_redirect_uri == "http://localhost:8765/callback"
    # Xero has no development environment to offer.
    dialog.select(Platform.XERO, Environment.PRODUCTION)
    envs = [dialog.environment_combo.itemData(i) for i in range(dialog.environment_combo.count())]
    assert Environment.DEVELOPMENT not in envs
    dialog.reject()


def test_last_error_reads_with_the_platform_code() -> None:
    from desktop.views.connections.details import error_text

    assert error_text(None) == "None"
    text = error_text({"message": "Xero needs you to sign in again", "platform": "xero",
                       "platform_code": "invalid_grant", "platform_message": "refresh token revoked",
                       "action": "reconnect on the Connections page"})
    assert text == ("Xero needs you to sign in again (xero invalid_grant: refresh token revoked) "
                    "— reconnect on the Connections page")
