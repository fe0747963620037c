"""The metered-use warning (80 % of the tier's allowance) reaches people as an alert, once per period."""

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

START = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with migrated(f"sqlite:///{tmp_path / 'alerts.sqlite3'}") as database:
        yield database


def test_high_metered_use_raises_one_alert_per_period(db: Database) -> None:
    clock = ManualClock(START)
    bus = EventBus(clock)
    seen: list[Event] = []
    bus.subscribe(seen.append, kinds=[ALERT_RAISED])
    alerts = AlertService(db, bus, clock, settings=AlertSettings())
    alerts.attach()
    figure = {"period": "month", "since": "2026-11-01", "used": 400_100, "allowance": 500_000}
    try:
        for _ in range(2):  # the same period twice: one alert
            bus.emit(EventKind.CONNECTION_USAGE_HIGH, Severity.WARNING,
                     "ACME-US: QuickBooks reads this month: 400,100 of 500,000 (80 %)", org="ACME-US",
                     platform="qbo", details=figure)
        bus.emit(EventKind.CONNECTION_USAGE_HIGH, Severity.WARNING, "KIWI-NZ: Xero calls today: 801 of 1,000 (80 %)",
                 org="KIWI-NZ", platform="xero",
                 details={"period": "day", "since": "2026-11-27", "used": 801, "allowance": 1000})
        assert alerts.flush(10)
    finally:
        alerts.close()
    assert [(e.details["rule"], e.org) for e in seen] == [("metered_use_high", "ACME-US"),
                                                          ("metered_use_high", "KIWI-NZ")]
    assert "before this month runs out" in seen[0].details["body"]
    assert "before today runs out" in seen[1].details["body"]
