"""RMS ingest on a real database: the demo organizations' ledgers, a ticking clock, the stored rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus
from desktop.services.rms.ingest import IngestService
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, Platform, Return

#: The demo organizations and their ledgers (the RMS does not say which ledger an organization keeps).
PLATFORMS = {"ACME-US": Platform.QBO, "MAPLE-CA": Platform.QBO, "KIWI-NZ": Platform.XERO,
             "TEA-UK": Platform.XERO}
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def ingest_bus() -> EventBus:
    """A bus on a clock that moves a millisecond per reading (strictly ordered times, no sleeping)."""
    return EventBus(ManualClock(T0, tick=timedelta(milliseconds=1)))


def ingest_service(db: Database, bus: EventBus, client: Any) -> IngestService:
    """The ingest service with the demo organizations (and their RMS profiles) in place."""
    service = IngestService(db, bus, bus.clock)
    service.ensure_organizations(client, platforms=PLATFORMS)
    return service


def rows(db: Database, org: str) -> list[Return]:
    """``org``'s stored returns with their lines, fees, tax lines and quarantine reasons, in order."""
    with db.session() as session:
        return list(session.scalars(
            sa.select(Return).join(Organization).where(Organization.code == org)
            .options(selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines),
                     selectinload(Return.quarantine_reasons))
            .order_by(Return.id)))
