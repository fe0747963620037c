"""The ledger pull says when its change feed is incomplete — never silently (issue 14, item 3).

Two ways a feed leaves changes out: the saved cursor is older than QuickBooks' 30-day CDC
look-back (a window missed), or the feed could not hand over every change since the cursor
(more changes at one moment than one answer holds: the connector returns ``complete=False``,
provoked here at the connector's boundary — a thousand changes in one second is not worth
making). Either way: a warning event, the pull's ``incomplete`` words, a run that ends "with
problems", and the Dashboard's "Ledger read-back" line.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.core.events import EventKind
from desktop.services.pipeline.pull import CURSOR_SOURCE, PullService
from desktop.services.store.models import Organization, SyncCursor, SyncRun, SyncRunStatus
from tests.helpers.worlds import QBO_ORG, World

pytestmark = [pytest.mark.db]


def _last_pull(world: World) -> SyncRun:
    with world.db.session() as s:
        return s.execute(sa.select(SyncRun).where(SyncRun.kind == "ledger_pull")
                         .order_by(SyncRun.id.desc()).limit(1)).scalar_one()


def test_a_cursor_older_than_the_change_feed_keeps_is_said(world: World) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    with world.db.write_session() as s:
        org_id = s.execute(sa.select(Organization.id).where(Organization.code == QBO_ORG)).scalar_one()
        s.add(SyncCursor(organization_id=org_id, source=CURSOR_SOURCE, updated_at=world.clock.now(),
                         cursor_value=(world.clock.now() - timedelta(days=40)).isoformat()))

    result = world.pull.pull(QBO_ORG)

    assert result.incomplete is not None and "over 30 days ago" in result.incomplete
    assert result.counts()["feed_incomplete"] == 1
    assert any(e.kind == "sync.pull_gap" for e in world.events)
    pulled = next(e for e in world.events if e.kind == EventKind.CHANGE_PULLED)
    assert "incomplete: the last ledger pull was over 30 days ago" in pulled.message
    assert _last_pull(world).status is SyncRunStatus.PARTIAL
    assert world.dashboard.snapshot(QBO_ORG).pull_warning == f"Incomplete: {result.incomplete}"


class _CappedFeed:
    """The connection service, except that its ledgers' change feed answers ``complete=False``."""

    def __init__(self, connections: Any) -> None:
        self._connections = connections

    def connector(self, connection_id: int) -> Any:
        ledger = self._connections.connector(connection_id)
        real = ledger.changes_since

        def capped(since: Any, now: Any) -> Any:
            return replace(real(since, now), complete=False)

        ledger.changes_since = capped
        return ledger


def test_a_capped_change_feed_is_said(world: World) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    pull = PullService(world.db, world.bus, world.clock, _CappedFeed(world.connections), lambda _org: None)

    result = pull.pull(QBO_ORG)

    assert result.incomplete is not None
    assert result.incomplete.startswith("the QuickBooks change feed could not hand over every change")
    [warned] = [e for e in world.events if e.kind == EventKind.CHANGE_FEED_INCOMPLETE]
    assert warned.message.startswith(f"{QBO_ORG}: the QuickBooks change feed") and "reconciliation" in warned.message
    assert _last_pull(world).counts["incomplete"] == result.incomplete
    assert world.dashboard.snapshot(QBO_ORG).pull_warning.startswith("Incomplete: the QuickBooks change feed")
