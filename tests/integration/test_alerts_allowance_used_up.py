"""A used-up metered allowance reaches people as a ``metered_use_high`` alert, once per reset."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from desktop.services.alerts import ALERT_RAISED, AlertService, AlertSettings
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import Event, EventBus, EventKind, Severity
from desktop.services.store.db import Database
from tests.helpers.db import migrated

START = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
TEXT = ("ACME-US: QuickBooks' allowance of metered reads for this month is used up until 01 Jan 2027 00:00 UTC. "
        "Documents whose accounts, items, tax codes and customers are cached keep posting")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with migrated(f"sqlite:///{tmp_path / 'alerts.sqlite3'}") as database:
        yield database


def test_a_used_up_allowance_raises_one_alert_per_reset(db: Database) -> None:
    clock = ManualClock(START)
    bus = EventBus(clock)
    seen: list[Event] = []
    bus.subscribe(seen.append, kinds=[ALERT_RAISED])
    alerts = AlertService(db, bus, clock, settings=AlertSettings())
    alerts.attach()
    try:
        for until in ("2027-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00", "2027-02-01T00:00:00+00:00"):
            bus.emit(EventKind.CONNECTION_ALLOWANCE_USED_UP, Severity.WARNING, TEXT, org="ACME-US", platform="qbo",
                     details={"until": until})
        assert alerts.flush(10)
    finally:
        alerts.close()
    assert [(e.details["rule"], e.org) for e in seen] == [("metered_use_high", "ACME-US")] * 2
    assert seen[0].details["body"] == TEXT
