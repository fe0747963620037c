"""Settings → Users and roles over a real database: admins change users, nobody else can, and it shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.services.admin.users import UserService
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import AuditLog
from desktop.views.context import ShellContext
from desktop.views.pages.settings import SettingsPage
from desktop.views.services import ViewServices
from desktop.views.settings.tables import UsersModel
from desktop.views.tray import CLOSE_TO_TRAY_KEY

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def users(tmp_path: Path, bus: EventBus) -> Iterator[UserService]:
    url = f"sqlite:///{tmp_path / 'users.sqlite3'}"
    upgrade(url)
    db = Database(url)
    service = UserService(db, ManualClock(T0), bus)
    admin = service.current_actor("alice", "Alice Admin")
    service.add(admin, "victor", "Victor Viewer", Role.VIEWER)
    yield service
    db.dispose()


def _page(qtbot: QtBot, shell_context: ShellContext, users: UserService, actor: Actor) -> SettingsPage:
    shell_context.actor = actor
    shell_context.services = ViewServices(users=users)
    page = SettingsPage(shell_context)
    qtbot.addWidget(page)
    page.resize(1200, 1000)
    page.show()
    qtbot.waitUntil(lambda: page.users_model.rowCount() >= 2, timeout=5000)
    return page


def _audit(users: UserService) -> list[tuple[str, str | None]]:
    db: Database = users._db
    with db.session() as s:
        return [(a.action, a.target) for a in s.scalars(sa.select(AuditLog).order_by(AuditLog.seq))]


def test_admin_adds_a_user_and_changes_a_role_through_the_dialogs(
        qtbot: QtBot, qtmodeltester: ModelTester, shell_context: ShellContext, users: UserService) -> None:
    page = _page(qtbot, shell_context, users, Actor("alice", Role.ADMIN))
    qtmodeltester.check(page.users_model, force_py=True)
    assert page.add_user_button.isEnabled() and not page.role_button.isEnabled()
    assert page.role_button.toolTip() == "Select a user first"
    page.add_user_button.click()
    dialog = page.dialog
    assert dialog is not None
    dialog.username.setText("olivia")  # type: ignore[attr-defined]
    dialog.display_name.setText("Olivia Operator")  # type: ignore[attr-defined]
    dialog.role.setCurrentIndex(dialog.role.findData("operator"))  # type: ignore[attr-defined]
    assert "Runs and repairs the sync" in dialog.role_hint.text()  # type: ignore[attr-defined]
    dialog.accept()
    qtbot.waitUntil(lambda: page.users_model.rowCount() == 3, timeout=5000)
    assert page.users_status.text() == "Added olivia as operator."
    names = [page.users_model.data(page.users_model.index(r, 0)) for r in range(3)]
    page.users_table.selectRow(names.index("victor"))
    page.role_button.click()
    page.dialog.role.setCurrentIndex(page.dialog.role.findData("admin"))  # type: ignore[union-attr]
    page.dialog.accept()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: users.get("victor").role is Role.ADMIN, timeout=5000)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: page.users_status.text() == "Saved victor as admin.", timeout=5000)
    assert _audit(users)[-2:] == [("user.added", "olivia"), ("user.role_changed", "victor")]


def test_deactivation_asks_first_and_the_last_admin_is_protected(
        qtbot: QtBot, shell_context: ShellContext, users: UserService) -> None:
    page = _page(qtbot, shell_context, users, Actor("alice", Role.ADMIN))
    page.users_table.selectRow(0)  # alice, the only admin
    page.active_button.click()
    box = page.confirm_box
    assert box is not None and "Deactivate alice?" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert users.get("alice").is_active  # type: ignore[union-attr]
    page.active_button.click()
    deactivate = next(b for b in page.confirm_box.buttons() if b.text() == "Deactivate")  # type: ignore[union-attr]
    deactivate.click()
    qtbot.waitUntil(lambda: "only active admin" in page.users_status.text(), timeout=5000)
    assert "make another user an admin first" in page.users_status.text()
    assert users.get("alice").is_active  # type: ignore[union-attr]
    page.users_table.selectRow(1)  # victor
    page.active_button.click()
    next(b for b in page.confirm_box.buttons() if b.text() == "Deactivate").click()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: page.users_status.text() == "victor is deactivated.", timeout=5000)
    qtbot.waitUntil(lambda: page.active_button.text() == "Reactivate…", timeout=5000)


def test_a_viewer_sees_why_and_the_service_refuses_anyway(
        qtbot: QtBot, shell_context: ShellContext, users: UserService) -> None:
    page = _page(qtbot, shell_context, users, Actor("victor", Role.VIEWER))
    page.users_table.selectRow(0)
    for button in (page.add_user_button, page.role_button, page.active_button):
        assert not button.isEnabled()
        assert button.toolTip() == "victor is a viewer: only an admin can change users"
    assert page.users_export_button.isEnabled()  # reading and exporting are fine
    page.save_user("mallory", "Mallory", Role.ADMIN, adding=True)  # as if the button had been enabled
    qtbot.waitUntil(lambda: "may not manage users" in page.users_status.text(), timeout=5000)
    assert users.get("mallory") is None and ("user.added", "mallory") not in _audit(users)


def test_users_export_and_the_close_to_tray_setting(
        qtbot: QtBot, shell_context: ShellContext, users: UserService, tmp_path: Path) -> None:
    page = _page(qtbot, shell_context, users, Actor("alice", Role.ADMIN))
    target = tmp_path / "users.csv"
    page.export_users(target)
    qtbot.waitUntil(lambda: page.last_export == target, timeout=5000)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "User,Name,Role,Status,Since"
    assert lines[1].startswith("alice,Alice Admin,Admin,Active,")
    assert page.close_to_tray.isChecked()
    page.close_to_tray.setChecked(False)
    assert shell_context.settings.value(CLOSE_TO_TRAY_KEY) == "false"


def test_without_services_the_sections_explain(qtbot: QtBot, shell_context: ShellContext) -> None:
    page = SettingsPage(shell_context)
    qtbot.addWidget(page)
    assert page.users_status.text() == "User management is not available in this window."
    assert page.apps_status.text() == "Ledger apps are not available in this window."
    assert not page.add_user_button.isEnabled() and not page.edit_app_button.isEnabled()
    assert UsersModel().rowCount() == 0
