"""The Audit log page over a real database: lazy windows, filters, database-side sorting, verify, export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.services.admin import audit
from desktop.services.admin.audit_trail import AuditTrail
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.views.audit.model import PAGE_SIZE, AuditLogModel
from desktop.views.context import ShellContext
from desktop.views.pages.audit_log import AuditLogPage
from desktop.views.services import ViewServices

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
AUDITOR = Actor("dmitri", Role.VIEWER)
ACTIONS = ("user.added", "mapping.changed", "document.retried", "error.resolved", "connection.established")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    upgrade(url)
    db = Database(url)
    clock = ManualClock(T0)
    with db.write_session() as s:
        for i in range(1200):
            audit.append(s, clock, actor=("alice", "ben", "carla")[i % 3], action=ACTIONS[i % 5],
                         target=f"=target-{i}" if i == 7 else f"target-{i}", details={"n": i})
    yield db
    db.dispose()


def _page(qtbot: QtBot, shell_context: ShellContext, db: Database, actor: Actor | None = AUDITOR) -> AuditLogPage:
    shell_context.actor = actor
    shell_context.services = ViewServices(audit_trail=AuditTrail(db))
    page = AuditLogPage(shell_context)
    qtbot.addWidget(page)
    page.resize(1200, 900)
    page.show()
    qtbot.waitUntil(lambda: page.model.total == 1200 and page.progress.isHidden(), timeout=5000)
    return page


def test_model_passes_qtmodeltester_and_loads_windows_lazily(
        qtbot: QtBot, qtmodeltester: ModelTester, shell_context: ShellContext, database: Database) -> None:
    page = _page(qtbot, shell_context, database)
    model = page.model
    assert model.rowCount() == PAGE_SIZE and model.entry_at(0).seq == 1200  # newest first
    assert model.canFetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert not model.canFetchMore(QModelIndex())  # one window at a time
    qtbot.waitUntil(lambda: model.rowCount() == 2 * PAGE_SIZE, timeout=5000)
    assert [model.entry_at(r).seq for r in (PAGE_SIZE - 1, PAGE_SIZE)] == [701, 700]
    model.fetchMore(QModelIndex())
    qtbot.waitUntil(lambda: model.rowCount() == 1200, timeout=5000)
    assert not model.canFetchMore(QModelIndex()) and model.entry_at(1199).seq == 1
    qtmodeltester.check(model, force_py=True)  # everything loaded: the tester's own fetchMore is a no-op
    assert page.count_label.text() == "1,200 entries"
    assert model.data(model.index(0, 3)) == "Connection · established"


def test_filters_and_sorting_run_in_the_database(qtbot: QtBot, shell_context: ShellContext,
                                                  database: Database) -> None:
    page = _page(qtbot, shell_context, database)
    page.category_combo.setCurrentIndex(page.category_combo.findData("Users and permissions"))
    qtbot.waitUntil(lambda: page.model.total == 240, timeout=5000)
    assert {page.model.entry_at(r).action for r in range(page.model.rowCount())} == {"user.added"}
    page.actor_combo.setCurrentIndex(page.actor_combo.findData("ben"))
    qtbot.waitUntil(lambda: page.model.total == 80, timeout=5000)
    page.filter_edit.setText("target-1")
    qtbot.waitUntil(lambda: page.model.total < 80, timeout=5000)
    assert all("target-1" in (page.model.entry_at(r).target or "") for r in range(page.model.rowCount()))
    page.filter_edit.clear()
    page.category_combo.setCurrentIndex(0)
    page.actor_combo.setCurrentIndex(0)
    qtbot.waitUntil(lambda: page.model.total == 1200, timeout=5000)
    page.table.sortByColumn(2, Qt.SortOrder.AscendingOrder)  # "Who", ascending
    qtbot.waitUntil(lambda: page.model.rowCount() > 0 and page.model.entry_at(0).actor == "alice"
                    and page.model.entry_at(0).seq == 1, timeout=5000)
    assert [page.model.entry_at(r).actor for r in (399, 400)] == ["alice", "ben"]  # 400 each


def test_verify_chain_says_intact_then_finds_the_tampered_entry(
        qtbot: QtBot, shell_context: ShellContext, database: Database) -> None:
    page = _page(qtbot, shell_context, database)
    page.verify_button.click()
    qtbot.waitUntil(lambda: page.last_report is not None, timeout=10_000)
    assert page.chain_label.text().startswith("✓ Nothing was changed: all 1,200 entries check out")
    with database.engine.begin() as conn:  # an intruder with the file: drop the guard, edit history
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE seq = 600"))
    page.last_report = None
    page.verify_action.trigger()
    qtbot.waitUntil(lambda: page.last_report is not None, timeout=10_000)
    verdict, first_bad = page.chain_label.text().split("\n")
    assert verdict == "✗ Entry #600 was changed, moved or forged after it was written: its seal does not match"
    assert first_bad.startswith("First bad entry: #600 · ") and " · mallory · " in first_bad


def test_export_writes_every_matching_entry_not_only_the_loaded_window(
        qtbot: QtBot, shell_context: ShellContext, database: Database, tmp_path: Path) -> None:
    page = _page(qtbot, shell_context, database)
    target = tmp_path / "audit.csv"
    page.export_to(target)
    qtbot.waitUntil(lambda: page.last_export == target, timeout=10_000)
    with target.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 1202 and rows[0][:4] == ["Sequence", "Time (UTC)", "Who", "Action"]
    assert rows[-1][:2] == ["# checkpoint", "chain=intact"]
    by_seq = {r[0]: r for r in rows[1:]}
    assert by_seq["8"][4] == "'=target-7"  # a formula-looking target is defused
    assert len(by_seq["1"][8]) == 64  # the hash travels with the export, so it can be re-verified
    assert page.status.text() == f"Exported 1,200 entries to {target}; checkpoint at entry #1200."


def test_without_the_service_the_page_says_so(qtbot: QtBot, shell_context: ShellContext) -> None:
    page = AuditLogPage(shell_context)
    qtbot.addWidget(page)
    page.show()
    assert page.empty_state.isVisible() and not page.grid.isVisible()
    assert page.empty_state.headline.text() == "The audit log is not available in this window"
    assert not page.verify_button.isEnabled()


def test_model_reset_and_stale_pages(qtmodeltester: ModelTester) -> None:
    model = AuditLogModel()
    model.reset(0, [])
    qtmodeltester.check(model, force_py=True)
    assert not model.canFetchMore(QModelIndex())
    model.append_page(500, [])  # a page for an older filter: ignored
    assert model.rowCount() == 0 and not model.loading
