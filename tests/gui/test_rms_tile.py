"""The Connections page's RMS tile shows the real state and lets an admin edit the address and key.

Real keyring, the sandbox's RMS over HTTP; the test call runs in the background (ops) and the
test waits for its outcome on screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from desktop.services.auth.roles import Actor
from desktop.views.connections.rms import RmsDialog
from desktop.views.ops import running_operations
from desktop.views.pages.connections import ConnectionsPage
from desktop.views.theme import ThemeManager
from tests.helpers.gui import page_context
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import ADMIN, VIEWER, World


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[World]:
    with World(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        yield w


def _page(qtbot: QtBot, world: World, settings: QSettings, theme: ThemeManager, actor: Actor) -> ConnectionsPage:
    page = ConnectionsPage(page_context(world, settings, actor=actor, theme=theme))
    qtbot.addWidget(page)
    page.resize(1100, 900)
    page.show()
    qtbot.waitUntil(lambda: page.tiles["rms"].state_label.text() == "Not connected", timeout=10000)
    return page


def test_an_admin_connects_the_rms_from_its_tile(qtbot: QtBot, world: World, sandbox: SandboxHandle,
                                                 settings: QSettings, theme: ThemeManager) -> None:
    rms = sandbox.info["rms"]
    page = _page(qtbot, world, settings, theme, ADMIN)
    assert page.rms_tile.edit_button.isEnabled() and page.rms_tile.edit_button.text() == "Connect…"
    page.rms_tile.edit_button.click()
    dialog = page.rms_tile.dialog
    assert isinstance(dialog, RmsDialog)
    form = dialog.form
    assert form.key_edit.echoMode() is QLineEdit.EchoMode.Password
    assert not dialog.save_button.isEnabled()  # nothing typed yet

    form.url_edit.setText(rms["base_url"])
    form.key_edit.setText("not-the-key")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "Nothing was saved" in form.result_label.text(), timeout=15000)
    assert "API key was refused" in form.result_label.text() and dialog.isVisible()

    form.key_edit.setText(rms["api_key"])
    form.test_button.click()
    qtbot.waitUntil(lambda: "sees 4 organizations" in form.result_label.text(), timeout=15000)
    assert "ACME-US — Acme Outdoor Supply Inc. (USD)" in form.result_label.text()
    assert world.connections is not None
    assert page.context.services.rms is not None and page.context.services.rms.status().base_url is None

    with qtbot.waitSignal(dialog.accepted, timeout=15000):
        dialog.save_button.click()
    qtbot.waitUntil(lambda: page.tiles["rms"].state_label.text() == "Connected", timeout=10000)
    assert page.rms_tile.address_label.text().startswith("At 127.0.0.1:")
    assert rms["api_key"] not in page.tiles["rms"].state_label.toolTip()
    assert page.rms_tile.edit_button.text() == "Edit…"

    # Editing again: the address comes back, the key never does (blank keeps the stored one).
    page.rms_tile.edit_button.click()
    again = page.rms_tile.dialog
    assert again is not None and again is not dialog
    qtbot.waitUntil(lambda: again.form.url_edit.text() == rms["base_url"], timeout=10000)
    assert again.form.key_edit.text() == "" and "keep the stored key" in again.form.key_edit.placeholderText()
    assert again.save_button.isEnabled()
    again.reject()
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=15000)


def test_a_viewer_sees_the_state_but_cannot_edit(qtbot: QtBot, world: World, sandbox: SandboxHandle,
                                                  settings: QSettings, theme: ThemeManager) -> None:
    page = _page(qtbot, world, settings, theme, VIEWER)
    assert not page.rms_tile.edit_button.isEnabled()
    assert "Only an admin" in page.rms_tile.edit_button.toolTip()
    page.rms_tile.edit()
    assert page.rms_tile.dialog is None
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=15000)
