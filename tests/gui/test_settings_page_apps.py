"""Settings → Ledger apps with the real keyring: the secret goes to the keyring and never to the page."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.services.auth.platforms import Environment, Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.auth.vault import TokenVault
from desktop.services.connections.apps import OAuthApps
from desktop.services.core.clock import SystemClock
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.views.context import ShellContext
from desktop.views.pages.settings import SettingsPage
from desktop.views.services import ViewServices

SECRET = "qbo-client-secret-" + uuid.uuid4().hex


@pytest.fixture
def apps(tmp_path: Path) -> Iterator[tuple[OAuthApps, str]]:
    url = f"sqlite:///{tmp_path / 'apps.sqlite3'}"
    upgrade(url)
    db = Database(url)
    service = f"rls-test-settings-{uuid.uuid4().hex[:8]}"
    yield OAuthApps(db, TokenVault(SystemClock(), service=service), SystemClock()), service
    for user in ("client:qbo:production:ABC123", "client:qbo:production:XYZ789"):
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password(service, user)
    db.dispose()


def _page(qtbot: QtBot, ctx: ShellContext, apps: OAuthApps, actor: Actor) -> SettingsPage:
    ctx.actor = actor
    ctx.services = ViewServices(oauth_apps=apps)
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1200, 1000)
    page.show()
    return page


def _cells(page: SettingsPage) -> list[list[str]]:
    m = page.apps_model
    return [[str(m.data(m.index(r, c))) for c in range(m.columnCount())] for r in range(m.rowCount())]


def test_admin_registers_an_app_the_secret_lands_in_the_keyring_only(
        qtbot: QtBot, qtmodeltester: ModelTester, shell_context: ShellContext, apps: tuple[OAuthApps, str]) -> None:
    service, keyring_service = apps
    page = _page(qtbot, shell_context, service, Actor("alice", Role.ADMIN))
    qtbot.waitUntil(lambda: "No ledger app is registered yet" in page.apps_status.text(), timeout=5000)
    page.new_app_button.click()
    dialog = page.dialog
    dialog.client_id.setText("ABC123")  # type: ignore[union-attr]
    dialog.redirect_uri.setText("https://returns.example.com/oauth/qbo")  # type: ignore[union-attr]
    dialog.secret.setText(SECRET)  # type: ignore[union-attr]
    dialog.accept()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: page.apps_model.rowCount() == 1, timeout=5000)
    assert keyring.get_password(keyring_service, "client:qbo:production:ABC123") == SECRET
    assert _cells(page) == [["QuickBooks Online", "Production", "ABC123", "https://returns.example.com/oauth/qbo",
                             "Stored in the keyring"]]
    qtmodeltester.check(page.apps_model, force_py=True)
    assert SECRET not in repr(page.apps_model.row_at(0))
    # Editing with the secret left blank keeps the stored one.
    page.apps_table.selectRow(0)
    page.edit_app_button.click()
    assert not page.dialog.platform.isEnabled()  # type: ignore[union-attr]
    page.dialog.redirect_uri.setText("https://returns.example.com/oauth/qbo2")  # type: ignore[union-attr]
    page.dialog.accept()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: _cells(page)[0][3].endswith("qbo2"), timeout=5000)
    assert service.get(Platform.QBO, Environment.PRODUCTION).client_secret == SECRET


def test_a_qbo_app_without_a_secret_is_refused_with_the_reason(
        qtbot: QtBot, shell_context: ShellContext, apps: tuple[OAuthApps, str]) -> None:
    page = _page(qtbot, shell_context, apps[0], Actor("alice", Role.ADMIN))
    qtbot.waitUntil(lambda: "No ledger app is registered yet" in page.apps_status.text(), timeout=5000)
    page.save_app(Platform.QBO, Environment.PRODUCTION, "XYZ789", "https://x.example.com/cb", "")
    qtbot.waitUntil(lambda: "needs its client secret" in page.apps_status.text(), timeout=5000)


def test_viewers_and_operators_cannot_change_apps(
        qtbot: QtBot, shell_context: ShellContext, apps: tuple[OAuthApps, str]) -> None:
    service = apps[0]
    service.configure(Actor("alice", Role.ADMIN), Platform.XERO, Environment.PRODUCTION, client_id="PKCE1",
                      redirect_uri="https://returns.example.com/oauth/xero")
    page = _page(qtbot, shell_context, service, Actor("olivia", Role.OPERATOR))
    qtbot.waitUntil(lambda: page.apps_model.rowCount() == 1, timeout=5000)
    assert _cells(page)[0][4] == "None (PKCE app)"
    page.apps_table.selectRow(0)
    assert not page.edit_app_button.isEnabled()
    assert page.edit_app_button.toolTip() == "olivia is an operator: only an admin can change ledger apps"
    page.save_app(Platform.XERO, Environment.PRODUCTION, "EVIL", "https://evil.example.com", "")
    qtbot.waitUntil(lambda: "may not manage connections" in page.apps_status.text(), timeout=5000)
    assert service.get(Platform.XERO, Environment.PRODUCTION).client_id == "PKCE1"
