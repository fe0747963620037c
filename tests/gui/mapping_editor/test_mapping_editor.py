"""The Mappings page against a real database, real reference data and the real mapping service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from desktop.services.core.domain import Component
from desktop.services.mapping.io import apply_template
from desktop.services.mapping.model import Rule
from desktop.services.mapping.validate import validate
from desktop.views.context import ShellContext
from desktop.views.mapping.code_model import STATE_ROLE
from desktop.views.mapping.dialogs import ImpactModel, PreviewDialog, SaveDialog
from desktop.views.mapping.editing import CodeRef
from desktop.views.mapping.impact import ReturnImpact
from desktop.views.mapping.ledger_model import LedgerTreeModel
from desktop.views.mapping.rules_model import Column, RulesModel
from desktop.views.ops import running_operations
from desktop.views.pages.mappings import MappingsPage
from desktop.views.theme import ThemeManager
from tests.helpers.mapping_drag import drag_code_onto
from tests.helpers.mapping_world import account, open_page
from tests.helpers.worlds import ADMIN, VIEWER, World

drop_on = drag_code_onto


def test_a_drop_creates_a_rule_and_undo_redo_restore_it(qtbot: QtBot, world: World, settings: QSettings,
                                                        theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme)
    editor = page.editor
    assert editor is not None and editor.rules == ()
    income = account(world, "ACME-US", "Income")
    assert drop_on(editor, CodeRef("reason_code", "DAMAGED"), "account", income)
    assert editor.rules == (Rule(Component.MERCHANDISE, reason_code="DAMAGED", account_id=income),)
    assert editor.rules_model.rowCount() == 1 and "New rule" in editor.message.text()
    assert "unsaved changes" in editor.version_label.text()
    # Dropping again onto another income account changes the same rule instead of adding one.
    other = next(a for a in world.mapping.snapshot("ACME-US").accounts.values()  # type: ignore[union-attr]
                 if a.type == "Income" and a.active and a.remote_id != income).remote_id
    assert drop_on(editor, CodeRef("reason_code", "DAMAGED"), "account", other)
    assert [r.account_id for r in editor.rules] == [other]
    page.activateWindow()
    qtbot.waitUntil(page.isActiveWindow)
    editor.table.setFocus()
    qtbot.keyClick(editor.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [r.account_id for r in editor.rules] == [income]
    editor.undo_stack.undo()
    assert editor.rules == () and editor.rules_model.rowCount() == 0 and editor.undo_stack.isClean()
    qtbot.keyClick(editor.table, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert [r.account_id for r in editor.rules] == [income]
    editor.undo_stack.redo()
    assert [r.account_id for r in editor.rules] == [other]


def test_an_invalid_drop_is_refused_with_the_validators_reason(qtbot: QtBot, world: World,
                                                               settings: QSettings, theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme)
    editor = page.editor
    assert editor is not None
    bank = account(world, "ACME-US", "Bank")
    assert not drop_on(editor, CodeRef("fee_type", "restocking_fee"), "account", bank)
    snap = world.mapping.snapshot("ACME-US")
    assert snap is not None
    expected = [p.message for p in validate([Rule(Component.RESTOCKING_FEE, account_id=bank)], snap)
                if p.code == "wrong_account_type"]
    assert expected and editor.last_refusal == expected[0]
    assert "is a Bank account" in editor.message.text() and expected[0] in editor.message.text()
    assert editor.rules == () and not editor.undo_stack.canUndo()
    # A heading is refused too, and says what to drop onto instead.
    heading = editor.ledger_model.index(0, 0)
    assert not editor.ledger_model.dropMimeData(editor.code_model.mimeData([editor.code_index(
        CodeRef("channel", "web"))]), Qt.DropAction.CopyAction, -1, -1, heading)
    assert "only groups other records" in (editor.last_refusal or "")


def test_unmapped_codes_stand_out_and_clear_when_mapped(qtbot: QtBot, world: World, settings: QSettings,
                                                        theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme)
    editor = page.editor
    assert editor is not None
    fee = CodeRef("fee_type", "restocking_fee")
    assert fee in editor.code_model.unmapped()
    assert editor.code_index(fee).data(STATE_ROLE) == "unmapped"
    assert editor.code_index(fee).data(Qt.ItemDataRole.FontRole).bold()
    assert drop_on(editor, fee, "account", account(world, "ACME-US", "Income"))
    assert editor.code_index(fee).data(STATE_ROLE) == "mapped" and fee not in editor.code_model.unmapped()


def test_rules_are_edited_in_place_and_undone(qtbot: QtBot, world: World, settings: QSettings,
                                              theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme)
    editor = page.editor
    assert editor is not None
    assert drop_on(editor, CodeRef("component", "merchandise"), "account", account(world, "ACME-US", "Income"))
    index = editor.rules_filter.index(0, Column.PRIORITY)
    assert editor.rules_filter.setData(index, 5, Qt.ItemDataRole.EditRole)
    assert editor.rules[0].priority == 5
    assert editor.rules_filter.setData(editor.rules_filter.index(0, Column.CHANNEL), "web")
    assert editor.rules[0].channel == "web" and editor.undo_stack.count() == 3
    editor.undo_stack.undo()
    assert editor.rules[0].channel is None and editor.rules[0].priority == 5


def test_save_shows_the_changes_and_writes_a_new_version(qtbot: QtBot, world: World, settings: QSettings,
                                                         theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme)
    editor, actions = page.editor, page.actions_
    assert editor is not None and actions is not None
    income = account(world, "ACME-US", "Income")
    assert drop_on(editor, CodeRef("component", "merchandise"), "account", income)
    actions.save()
    qtbot.waitUntil(lambda: isinstance(actions.dialog, SaveDialog), timeout=5000)
    dialog = actions.dialog
    assert isinstance(dialog, SaveDialog)
    lines = [dialog.changes.item(i).text() for i in range(dialog.changes.count())]
    assert len(lines) == 1 and lines[0].startswith("+ Added: Merchandise refunded")
    dialog.note_edit.setText("first rule")
    with qtbot.waitSignal(actions.saved, timeout=5000) as saved, qtbot.waitSignal(actions.loaded, timeout=5000):
        dialog.save_button.click()
    assert saved.args == [1]
    history = world.mapping.history("ACME-US")
    assert [(h.version, h.note, h.rule_count, h.created_by) for h in history] == [(1, "first rule", 1, "alice")]
    assert editor.undo_stack.isClean() and editor.bundle is not None and editor.bundle.version == 1


def test_viewers_cannot_save(qtbot: QtBot, world: World, settings: QSettings, theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme, actor=VIEWER)
    assert page.editor is not None and not page.editor.buttons["save"].isEnabled()
    assert "Only an admin" in page.editor.buttons["save"].toolTip()


def test_preview_lists_recent_returns_that_would_change(qtbot: QtBot, world: World, settings: QSettings,
                                                        theme: ThemeManager) -> None:
    snap = world.mapping.snapshot("ACME-US")
    assert snap is not None
    rules, problems = apply_template("qbo-us", snap)
    assert problems == []
    world.mapping.save("ACME-US", rules, ADMIN, "template")
    page = open_page(qtbot, world, settings, theme)
    editor, actions = page.editor, page.actions_
    assert editor is not None and actions is not None and len(editor.rules) == len(rules)
    other = next(a.remote_id for a in snap.accounts.values() if a.type == "Income" and a.active
                 and a.remote_id != rules[0].account_id)
    assert drop_on(editor, CodeRef("reason_code", "DAMAGED"), "account", other)
    with qtbot.waitSignal(actions.previewed, timeout=10_000) as done:
        actions.preview()
    impacts: list[ReturnImpact] = done.args[0]
    assert impacts and all(any("reason code DAMAGED" in c for c in i.changes) for i in impacts)
    assert isinstance(actions.dialog, PreviewDialog) and actions.dialog.model.rowCount() == len(impacts)
    actions.dialog.close()


def test_export_then_import_round_trips(qtbot: QtBot, world: World, settings: QSettings,
                                        theme: ThemeManager, tmp_path: Path) -> None:
    page = open_page(qtbot, world, settings, theme, org="KIWI-NZ")
    editor, actions = page.editor, page.actions_
    assert editor is not None and actions is not None
    snap = world.mapping.snapshot("KIWI-NZ")
    assert snap is not None
    sales = next(a.remote_id for a in snap.accounts.values() if a.type in ("REVENUE", "SALES") and a.active)
    assert drop_on(editor, CodeRef("channel", "web"), "account", sales)
    option = next(t for t in snap.tracking.values() if snap.tracking_kind(t) == "option" and t.active)
    assert drop_on(editor, CodeRef("channel", "web"), "tracking", option.remote_id)
    edited = editor.rules
    assert edited[0].tracking[0].option_id == option.remote_id
    path = tmp_path / "kiwi.yaml"
    with qtbot.waitSignal(actions.exported, timeout=5000):
        actions.export_file(path)
    assert "returns-ledger-mapping/1" in path.read_text(encoding="utf-8")
    editor.undo_stack.undo()
    editor.undo_stack.undo()
    assert editor.rules == ()
    with qtbot.waitSignal(actions.imported, timeout=5000):
        actions.import_file(path)
    assert editor.rules == edited
    editor.undo_stack.undo()
    assert editor.rules == ()


def test_without_a_mapping_service_the_page_explains_itself(qtbot: QtBot, shell_context: ShellContext) -> None:
    page = MappingsPage(shell_context)
    qtbot.addWidget(page)
    assert page.editor is None
    texts = [w.text() for w in page.findChildren(type(page.title_label))]
    assert "No mapping set yet" in texts


def test_every_model_passes_qtmodeltester(qtbot: QtBot, qtmodeltester: Any, world: World,
                                          settings: QSettings, theme: ThemeManager) -> None:
    page = open_page(qtbot, world, settings, theme)
    editor = page.editor
    assert editor is not None
    qtmodeltester.check(editor.code_model)
    qtmodeltester.check(editor.ledger_model)
    qtmodeltester.check(editor.ledger_filter)
    qtmodeltester.check(editor.rules_filter)
    big = RulesModel()
    big.set_rules([Rule(Component.MERCHANDISE, reason_code=f"R{i}", account_id="1", priority=i)
                   for i in range(100_000)])
    assert big.rowCount() == 500 and big.canFetchMore(big.index(-1, -1).parent())
    qtmodeltester.check(big)
    impacts = [ReturnImpact(f"RMA-{i}", str(i), 1, "new", world.clock.now(), "USD", ("a → b",)) for i in range(3)]
    qtmodeltester.check(ImpactModel(impacts))
    empty = LedgerTreeModel()
    qtmodeltester.check(empty)


@pytest.fixture(autouse=True)
def _no_work_left(qtbot: QtBot) -> Iterator[None]:
    yield
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=10_000)
    for dialog in QApplication.topLevelWidgets():
        if isinstance(dialog, QDialog):
            dialog.close()



