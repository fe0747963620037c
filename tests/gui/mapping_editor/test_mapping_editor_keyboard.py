"""The mapping editor without a mouse: select a code and a ledger record, press Ctrl+M."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from desktop.services.core.domain import Component
from desktop.services.mapping.model import Rule
from desktop.views.mapping.editing import CodeRef
from desktop.views.ops import running_operations
from desktop.views.theme import ThemeManager
from tests.helpers.mapping_world import account, open_page
from tests.helpers.worlds import World


def test_ctrl_m_maps_the_selected_code_to_the_selected_record(qtbot: QtBot, world: World, settings: QSettings,
                                                              theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme)
    editor = page.editor
    assert editor is not None and editor.rules == ()
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    editor.code_view.setFocus()
    qtbot.keyClick(editor.code_view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)  # nothing selected yet
    assert editor.rules == () and "Select a return code" in editor.message.text()

    income = account(world, "ACME-US", "Income")
    editor.code_view.setCurrentIndex(editor.code_model.index_of(CodeRef("reason_code", "DAMAGED")))
    editor.ledger_view.setCurrentIndex(editor.ledger_filter.mapFromSource(editor.ledger_model.find("account", income)))
    editor.ledger_view.setFocus()
    qtbot.keyClick(editor.ledger_view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert editor.rules == (Rule(Component.MERCHANDISE, reason_code="DAMAGED", account_id=income),)
    assert "New rule" in editor.message.text()
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=15000)
