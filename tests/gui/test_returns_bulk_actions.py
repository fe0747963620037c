"""Bulk actions on the Returns grid, against the sandbox ledger over real HTTP.

Several returns are selected; Re-post asks ONCE, stating the count, then sends each through the
same ``manual.replan`` the single Re-post uses, and sums up "N queued, M refused: …" — the counts
matching what the database then holds. Export selected writes exactly the selected rows.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt

from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.views.pages.returns import ReturnsPage
from desktop.views.returns.model import ROW_ROLE
from tests.helpers.gui import page_context
from tests.helpers.returns import ReturnsWorld
from tests.helpers.sandbox import SandboxHandle

ADMIN = Actor("alice", Role.ADMIN)


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[ReturnsWorld]:
    with ReturnsWorld(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        yield w


def _page(qtbot, tmp_path: Path, world: ReturnsWorld, actor: Actor) -> ReturnsPage:  # type: ignore[no-untyped-def]
    page = ReturnsPage(page_context(world, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat),
                                    actor=actor))
    qtbot.addWidget(page)
    page.resize(1200, 1000)
    page.show()
    qtbot.waitUntil(lambda: _settled(page), timeout=10_000)
    return page


def _settled(page: ReturnsPage) -> bool:
    """The count and the first page are in (after a load or an action's reload)."""
    return (not page.model.counting and page.model.rowCount() > 0
            and page.model.loaded_rows() >= min(page.model.rowCount(), 200))


def _select(page: ReturnsPage, rmas: list[str]) -> None:
    sel = page.table.selectionModel()
    sel.clearSelection()
    for r in range(page.model.loaded_rows()):
        row = page.model.data(page.model.index(r, 0), ROW_ROLE)
        if row is not None and row.rma in rmas:
            sel.select(page.model.index(r, 0), QItemSelectionModel.SelectionFlag.Select
                       | QItemSelectionModel.SelectionFlag.Rows)
    assert sorted(r.rma for r in page.selected_rows()) == sorted(rmas)


def test_bulk_repost_confirms_once_with_the_count_and_sums_up(qtbot, tmp_path: Path, world: ReturnsWorld) -> None:  # type: ignore[no-untyped-def]
    cid, org = world.ready(Platform.QBO)
    posted = world.clean_return(org, single=True)
    world.manual.replan(ADMIN, org, posted)
    assert world.poster().post_pending(cid, worker_id="w1").posted == 1
    page = _page(qtbot, tmp_path, world, ADMIN)
    new = [r.rma for r in (page.model.data(page.model.index(i, 0), ROW_ROLE) for i in range(page.model.loaded_rows()))
           if r is not None and r.status == "new" and r.org == org][:5]
    assert len(new) == 5
    clean = {rma for rma in new if world.manual.prepare(org, rma).ok}
    chosen = [posted, *new]
    _select(page, chosen)
    assert page.selection_label.text() == "6 selected:"
    button = page.bulk_buttons["repost"]
    assert button.isEnabled()

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.bulk_box.isVisible(), timeout=2000)
    assert "Re-post 6 returns?" in page.bulk_box.text()
    confirm = next(b for b in page.bulk_box.buttons() if b.text() == "Re-post 6 returns")
    qtbot.mouseClick(confirm, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "queued" in page.status.text(), timeout=20_000)

    refused = 6 - len(clean)
    text = page.status.text()
    assert text.startswith(f"{len(clean)} queued, {refused} refused: {posted}: Posted: nothing to re-post"), text
    for rma in new:
        assert bool(world.outbox_rows(rma)) == (rma in clean), rma  # the summary is what the database holds
    assert len(world.outbox_rows(posted)) == 1  # the posted one was not touched

    # Retry: none of them has a failed or stopped document, and the summary says so for each
    qtbot.waitUntil(lambda: _settled(page), timeout=10_000)
    _select(page, new[:2])
    page.bulk_retry()
    qtbot.waitUntil(lambda: page.bulk_box.isVisible(), timeout=2000)
    next(b for b in page.bulk_box.buttons() if b.text() == "Retry 2 returns").click()
    qtbot.waitUntil(lambda: page.status.text().startswith("0 queued, 2 refused"), timeout=10_000)
    assert "no failed or stopped document to retry" in page.status.text()

    # Export selected: exactly the selected rows, through the grid's own export
    qtbot.waitUntil(lambda: _settled(page), timeout=10_000)
    _select(page, chosen)
    target = tmp_path / "selected.csv"
    page.export_selected_to(str(target), page.selected_rows())
    qtbot.waitUntil(lambda: page.status.text().startswith("Exported 6 selected"), timeout=5000)
    with target.open(encoding="utf-8", newline="") as fh:
        assert sorted(row["RMA"] for row in csv.DictReader(fh)) == sorted(chosen)


def test_cancel_does_nothing_and_a_viewer_gets_no_bulk_actions(qtbot, tmp_path: Path, world: ReturnsWorld) -> None:  # type: ignore[no-untyped-def]
    world.ready(Platform.QBO)
    page = _page(qtbot, tmp_path, world, ADMIN)
    rmas = [page.model.data(page.model.index(i, 0), ROW_ROLE).rma for i in range(3)]
    _select(page, rmas)
    page.bulk_repost()
    qtbot.waitUntil(lambda: page.bulk_box.isVisible(), timeout=2000)
    page.bulk_box.reject()
    assert all(not world.outbox_rows(rma) for rma in rmas)

    viewer = _page(qtbot, tmp_path, world, Actor("vic", Role.VIEWER))
    _select(viewer, rmas)
    assert not viewer.bulk_buttons["repost"].isEnabled() and not viewer.bulk_buttons["retry"].isEnabled()
    assert viewer.bulk_buttons["export"].isEnabled()
