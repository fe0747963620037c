"""The Dashboard says when documents are held for a used-up metered allowance, and when the ledger
read-back's change feed was incomplete: what waits, until when, and what to do (issue 14).

The organization is the dashboard tests' seed; its connection's allowance is marked used up by the
one owner of that state (``connections/allowance.py``, as a refused read would), one pending
document is held by the outbox's own ``hold``, and one ledger read-back ended incomplete.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from desktop.services.core.clock import ManualClock
from desktop.services.pipeline import outbox
from desktop.services.platforms.http import AllowanceUsedUp
from desktop.services.platforms.registry import platform_for
from desktop.services.store.models import SyncRun, SyncRunStatus
from desktop.views.pages.dashboard import DashboardPage
from tests.helpers.dashboard import ADMIN, NOW, seed
from tests.helpers.gui import page_context, visible_text
from tests.helpers.worlds import NoSteps, World

INCOMPLETE = "the QuickBooks change feed could not hand over every change since the last pull"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with World(f"sqlite:///{tmp_path / 'held.sqlite3'}", tmp_path, clock=ManualClock(NOW)) as w:
        w.new_scheduler(NoSteps(), worker_id="held-gui", actor=ADMIN)
        connection_id = seed(w.db)
        used = w.connections.allowance.mark(connection_id, platform_for("qbo"))
        [row] = outbox.claim(w.db, "held-gui", connection_id, 1, 60, now=NOW)
        with w.db.write_session() as s:
            live = s.get(type(row), row.id)
            assert live is not None
            outbox.hold(live, AllowanceUsedUp(used.text), used.until, now=NOW, reason=used.held_reason())
            s.add(SyncRun(organization_id=live.organization_id, kind="ledger_pull", trigger="scheduled",
                          started_at=NOW - timedelta(minutes=1), finished_at=NOW, status=SyncRunStatus.PARTIAL,
                          counts={"changes": 0, "feed_incomplete": 1, "incomplete": INCOMPLETE}))
        yield w


def test_the_dashboard_shows_the_held_documents_the_reset_and_an_incomplete_read_back(  # type: ignore[no-untyped-def]
        qtbot, world: World, settings: QSettings) -> None:
    page = DashboardPage(page_context(world, settings, actor=ADMIN, user="alice"))
    qtbot.addWidget(page)
    page.resize(1280, 900)
    page.show()
    qtbot.waitUntil(lambda: page.data is not None and not page.loading, timeout=5000)
    assert page.data is not None and page.data.held == 1
    # Labels added to a shown layout appear on the next turn of the event loop: wait for them.
    qtbot.waitUntil(lambda: "Held until reset" in visible_text(page).splitlines(), timeout=5000)
    text = visible_text(page)
    assert "1 document(s) held, not failed." in text
    assert "allowance of metered reads for this month is used up until 01 Dec 2026 00:00 UTC" in text
    assert "they post by themselves on the first sync after it resets" in text
    assert f"Incomplete: {INCOMPLETE}" in text
