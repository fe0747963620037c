"""Issue 16 — a supplier mapped with the mouse: the Supplier (goods returned to vendor) code dragged
through ``QAbstractItemView.startDrag`` → ``QDrag.exec`` onto a vendor under Suppliers, on an X server
(the offscreen platform has no drag loop, so the test re-runs itself under ``xvfb-run``)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from desktop.services.core.domain import Component
from desktop.services.mapping.model import Rule
from desktop.views.mapping.editing import CodeRef
from desktop.views.theme import ThemeManager
from tests.helpers.mapping_drag import mouse_drag_code_onto, rerun_under_xvfb
from tests.helpers.mapping_world import open_page
from tests.helpers.worlds import World


@pytest.mark.slow
def test_a_mouse_drag_of_the_supplier_onto_a_vendor_makes_the_supplier_rule(
        qtbot: QtBot, world: World, settings: QSettings, theme: ThemeManager) -> None:
    if rerun_under_xvfb(f"{__file__}::test_a_mouse_drag_of_the_supplier_onto_a_vendor_makes_the_supplier_rule"):
        return
    page = open_page(qtbot, world, settings, theme)
    editor = page.editor
    assert editor is not None and editor.rules == ()
    snap = world.mapping.snapshot("ACME-US")
    assert snap is not None
    supplier = snap.suppliers()[-1]
    steps = mouse_drag_code_onto(editor, CodeRef("component", Component.RETURN_TO_VENDOR.value), "vendor",
                                 supplier.remote_id)
    qtbot.waitUntil(lambda: bool(editor.rules), timeout=5000)
    assert steps == ["in drag"]
    assert editor.rules == (Rule(Component.RETURN_TO_VENDOR, account_id=supplier.remote_id),)
