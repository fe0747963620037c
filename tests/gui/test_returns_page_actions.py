"""The Returns page's actions from the detail panel, against the sandbox ledgers over real HTTP.

Void is destructive: it asks first, and Cancel changes nothing in the ledger. Re-post rebuilds a
return after its mapping was fixed and the sync then posts it exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.views.pages.returns import ReturnsPage
from desktop.views.returns.model import ROW_ROLE
from tests.helpers.gui import page_context
from tests.helpers.returns import REALM, ReturnsWorld
from tests.helpers.sandbox import SandboxHandle

ADMIN = Actor("alice", Role.ADMIN)


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[ReturnsWorld]:
    with ReturnsWorld(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        yield w


def _page(qtbot, tmp_path: Path, world: ReturnsWorld, rma: str) -> ReturnsPage:  # type: ignore[no-untyped-def]
    ctx = page_context(world, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), actor=ADMIN)
    page = ReturnsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1200, 1000)
    page.show()
    qtbot.keyClicks(page.search, rma)
    qtbot.waitUntil(lambda: page.model.filter.text == rma and page.model.rowCount() == 1
                    and page.model.loaded_rows() == 1, timeout=5000)
    page.table.setCurrentIndex(page.model.index(0, 0))
    qtbot.waitUntil(lambda: page.detail_panel.detail is not None and page.detail_panel.detail.row.rma == rma,
                    timeout=5000)
    return page


def test_void_asks_first_and_cancel_changes_nothing(qtbot, tmp_path: Path, world: ReturnsWorld) -> None:  # type: ignore[no-untyped-def]
    cid, org = world.ready(Platform.QBO)
    rma = world.clean_return(org, single=True)
    world.manual.replan(ADMIN, org, rma)
    assert world.poster().post_pending(cid, worker_id="w1").posted == 1
    [row] = world.outbox_rows(rma)
    page = _page(qtbot, tmp_path, world, rma)
    assert page.detail_panel.documents.rowCount() == 1
    assert page.detail_panel.documents.item(0, 2).text() == "Posted"
    void = page.detail_panel.buttons["void"]
    assert void.isEnabled() and not page.detail_panel.buttons["retry"].isEnabled()

    qtbot.mouseClick(void, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.void_box.isVisible(), timeout=2000)
    qtbot.mouseClick(page.void_box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    [doc] = [d for d in world.ledger("qbo", REALM) if d["id"] == row.remote_id]
    assert doc["status"] != "voided"

    qtbot.mouseClick(void, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.void_box.isVisible(), timeout=2000)
    confirm = next(b for b in page.void_box.buttons() if b.text() == "Void")
    qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.status.text().endswith("voided in the ledger."), timeout=10_000)
    [doc] = [d for d in world.ledger("qbo", REALM) if d["id"] == row.remote_id]
    assert doc["status"] == "voided"
    qtbot.waitUntil(lambda: "Voided in the ledger" in (page.detail_panel.documents.item(0, 7).text()
                                                        if page.detail_panel.documents.item(0, 7) else ""),
                    timeout=5000)


def test_repost_from_the_page_queues_the_return_and_the_sync_posts_it_once(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                           world: ReturnsWorld) -> None:
    cid, org = world.ready(Platform.QBO)
    rma = world.clean_return(org, single=False)
    before = world.ledger_count("qbo")
    page = _page(qtbot, tmp_path, world, rma)
    assert page.model.data(page.model.index(0, 0), ROW_ROLE).status == "new"
    qtbot.waitUntil(lambda: page.detail_panel.preview.rowCount() > 0, timeout=5000)
    replan = page.detail_panel.buttons["replan"]
    assert replan.isEnabled()

    qtbot.keyClick(page.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "rebuilt and queued" in page.status.text(), timeout=10_000)
    n = len(world.outbox_rows(rma))
    assert n >= 1
    qtbot.waitUntil(lambda: page.detail_panel.documents.rowCount() == n, timeout=5000)
    assert world.poster().post_pending(cid, worker_id="w1").posted == n
    assert world.poster().post_pending(cid, worker_id="w2").posted == 0
    assert world.ledger_count("qbo") == before + n
