"""Small, deterministic row builders for tests (here, and for other packages' tests).

Each builder adds one valid row with sensible defaults, flushes so its id is known, and returns
it. Times default to a fixed instant rather than "now": tests that care about time pass their
own (from a ``ManualClock``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from desktop.services.ledgers.registry import DEFAULT_PLATFORM
from desktop.services.money import Money
from desktop.services.store.models import (
    ConnectionStatus,
    LedgerConnection,
    LedgerEnvironment,
    Organization,
    Platform,
    RefundMethod,
    Return,
    ReturnLine,
)

__all__ = ["T0", "make_connection", "make_org", "make_return"]

#: The default instant for builders' timestamps.
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_org(
    session: Session,
    *,
    code: str = "ACME",
    platform: Platform = DEFAULT_PLATFORM,
    home_currency: str = "USD",
    timezone: str = "America/New_York",
    created_at: datetime = T0,
) -> Organization:
    org = Organization(code=code, name=f"{code} Inc.", platform=platform, timezone=timezone,
                       home_currency=home_currency, created_at=created_at, updated_at=created_at)
    session.add(org)
    session.flush()
    return org


def make_connection(
    session: Session, org: Organization, *, remote_id: str = "9130350000000001"
) -> LedgerConnection:
    conn = LedgerConnection(
        organization_id=org.id, platform=org.platform, environment=LedgerEnvironment.LOCAL,
        remote_id=remote_id, company_name=org.name, status=ConnectionStatus.CONNECTED,
        credential_ref=f"test-{org.code}-{remote_id}", created_at=T0, updated_at=T0,
    )
    session.add(conn)
    session.flush()
    return conn


def make_return(
    session: Session,
    org: Organization,
    *,
    rms_id: str = "R-1001",
    revision: int = 1,
    currency: str = "USD",
    unit_price: str = "19.99",
    quantity: str = "2",
    at: datetime = T0,
) -> Return:
    """A one-line return whose raw payload mirrors its columns (numbers as Decimal)."""
    raw: dict[str, Any] = {
        "id": rms_id, "revision": revision, "rma": f"RMA-{rms_id}", "currency": currency,
        "lines": [{"sku": "SKU-1", "qty": Decimal(quantity), "unit_price": Decimal(unit_price)}],
    }
    ret = Return(
        organization_id=org.id, rms_id=rms_id, revision=revision, rma_number=f"RMA-{rms_id}",
        currency=currency, refund_method=RefundMethod.ORIGINAL_PAYMENT, rms_status="approved",
        rms_created_at=at, rms_updated_at=at, ingested_at=at, updated_at=at, raw_payload=raw,
    )
    line = ReturnLine(line_no=1, sku="SKU-1", description="Widget", quantity=Decimal(quantity),
                      currency=currency, reason_code="DAMAGED", disposition="RESTOCK")
    line.unit_price = Money(Decimal(unit_price), currency)
    ret.lines.append(line)
    session.add(ret)
    session.flush()
    return ret
