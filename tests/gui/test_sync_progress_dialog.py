""""Sync now" shows determinate counts and a working Cancel, and the other pages' reads go on meanwhile.

The scheduler runs a stand-in push that reports like the poster (``n posted, m waiting`` through
:func:`~desktop.services.core.progress.current`) and is held after its first batch on an event —
a known point, no sleeps. While it is held the Returns grid loads its rows and the Manual-entry
pre-flight answers (they used to stay "…" and "Checking…" behind a sync), and the sync occupies the
long-operations pool, not a reader's thread. Then Cancel: the push stops before its next batch and
the dialog says how many documents were posted. ``RLS_PROGRESS_SHOTS=DIR`` saves the dialog over
the dashboard mid-sync.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QPainter

from desktop.services.auth.platforms import Platform
from desktop.views.ops import long_operations_pool
from desktop.views.pages.dashboard import DashboardPage
from desktop.views.pages.manual_entry import ManualEntryPage
from desktop.views.pages.returns import ReturnsPage
from desktop.views.progress_dialog import OperationDialog
from desktop.views.returns.model import Column
from tests.helpers.gui import page_context
from tests.helpers.held_sync import BATCH, DUE, HeldPush
from tests.helpers.returns import ReturnsWorld
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import ADMIN


@pytest.fixture
def world(tmp_path: Path, sandbox: SandboxHandle) -> Iterator[ReturnsWorld]:
    with ReturnsWorld(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path, sandbox=sandbox) as w:
        yield w


def test_sync_now_shows_counts_reads_go_on_and_cancel_stops_it(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                world: ReturnsWorld) -> None:
    _cid, org = world.ready(Platform.QBO)
    rma = world.clean_return(org, single=True)
    steps = HeldPush()
    world.new_scheduler(steps, actor=ADMIN)
    ctx = page_context(world, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), actor=ADMIN)
    dashboard = DashboardPage(ctx)
    qtbot.addWidget(dashboard)
    dashboard.resize(1280, 860)
    dashboard.show()
    qtbot.waitUntil(lambda: dashboard.data is not None and dashboard.data.org == org and not dashboard.loading,
                    timeout=10_000)

    try:
        dashboard.sync_button.click()
        qtbot.waitUntil(steps.held.is_set, timeout=10_000)
        dialog = dashboard.sync_dialog
        assert isinstance(dialog, OperationDialog) and dialog.isVisible() and not dialog.isModal()  # work goes on
        qtbot.waitUntil(lambda: dialog.bar.maximum() == DUE and dialog.bar.value() == BATCH, timeout=5000)
        assert dialog.bar.text() == "10 of 30" and dialog.counts.text() == f"{org}: 10 posted, 20 waiting"
        assert dialog.cancel_button.text() == "Cancel" and dialog.cancel_button.isEnabled()
        assert long_operations_pool().activeThreadCount() == 1  # the sync holds no reader's thread

        # While the sync is held: the Returns grid's rows and the Manual-entry pre-flight load.
        returns = ReturnsPage(ctx)
        qtbot.addWidget(returns)
        returns.show()
        qtbot.waitUntil(lambda: returns.model.rowCount() > 0, timeout=10_000)
        returns.model.row_at(0)
        qtbot.waitUntil(lambda: returns.model.data(returns.model.index(0, Column.RMA)) not in (None, "…"),
                        timeout=10_000)
        manual = ManualEntryPage(ctx)
        qtbot.addWidget(manual)
        manual.show()
        qtbot.waitUntil(lambda: manual.form.org.count() > 0, timeout=10_000)
        manual.form.org.setCurrentIndex(next(i for i in range(manual.form.org.count())
                                             if manual.form.org.itemData(i)[0] == org))
        manual.form.rma.setText(rma)
        manual.run_check()
        qtbot.waitUntil(lambda: manual.last_check is not None and manual.last_check.rma == rma, timeout=10_000)
        assert not steps.go.is_set() and dashboard.sync_dialog.op is not None and not dialog.op.done

        shots = os.environ.get("RLS_PROGRESS_SHOTS")
        if shots:  # the window-modal dialog drawn over the page, where a window manager would put it
            shot, box = dashboard.grab(), dialog.grab()
            painter = QPainter(shot)
            left = (shot.width() - box.width()) // 2
            painter.drawPixmap(left, 160, box)
            painter.drawRect(left - 1, 159, box.width() + 1, box.height() + 1)  # offscreen windows have no frame
            painter.end()
            assert shot.save(str(Path(shots) / "sync-progress.png"))

        dialog.cancel_button.click()
        assert dialog.cancel_button.text() == "Stopping…" and not dialog.cancel_button.isEnabled()
        assert dialog.heading.text() == f"Stopping the sync of {org} after the batch being posted…"
    finally:
        steps.go.set()
    qtbot.waitUntil(lambda: dialog.finished_text is not None, timeout=10_000)
    assert steps.batches == 1  # stopped before the next batch
    assert dialog.finished_text.startswith(f"Sync of {org} stopped on request: 10 documents posted before it "
                                           "stopped (they stay posted)")
    assert dialog.heading.text() == dialog.finished_text and dialog.cancel_button.text() == "Close"
    assert dashboard.status.text() == dialog.finished_text
    dialog.cancel_button.click()
    assert not dialog.isVisible()
