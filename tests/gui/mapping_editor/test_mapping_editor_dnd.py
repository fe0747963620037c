"""The whole drag and drop with a mouse: QAbstractItemView.startDrag → QDrag.exec → drop, on an X server.

The offscreen platform has no drag loop, so this test re-runs itself under ``xvfb-run`` with the
xcb platform, where Qt's own drag loop (QSimpleDrag/QXcbDrag) follows the synthesised mouse.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from desktop.services.core.domain import Component
from desktop.services.mapping.model import Rule
from desktop.views.mapping.editing import CodeRef
from desktop.views.theme import ThemeManager
from tests.helpers.mapping_drag import mouse_drag_code_onto, rerun_under_xvfb
from tests.helpers.mapping_world import account, open_page
from tests.helpers.worlds import World


@pytest.mark.slow
def test_a_mouse_drag_through_qdrag_creates_a_rule(qtbot: QtBot, world: World, settings: QSettings,
                                                   theme: ThemeManager) -> None:
    if rerun_under_xvfb(f"{__file__}::test_a_mouse_drag_through_qdrag_creates_a_rule"):
        return
    page = open_page(qtbot, world, settings, theme)
    editor = page.editor
    assert editor is not None
    income = account(world, "ACME-US", "Income")
    steps = mouse_drag_code_onto(editor, CodeRef("reason_code", "DAMAGED"), "account", income)
    qtbot.waitUntil(lambda: bool(editor.rules), timeout=5000)
    assert steps == ["in drag"]
    assert editor.rules == (Rule(Component.MERCHANDISE, reason_code="DAMAGED", account_id=income),)
