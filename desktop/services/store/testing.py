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

from desktop.services.core.money import Money
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

__all__ = ["T0", "make_connection", "make_org", "make_return", "seed_returns_grid"]

#: The default instant for builders' timestamps.
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_org(
    session: Session,
    *,
    code: str = "ACME",
    platform: Platform = Platform.QBO,  # a default, as data
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


def seed_returns_grid(db: Any, n: int, t0: datetime, statuses: list[Any]) -> None:
    """``n`` returns over two organizations (ACME-US on QBO, KIWI-NZ on Xero) inserted in bulk, for
    the Returns grid's tests and benchmark: return ``i`` is updated at ``t0 + i`` seconds, has
    status ``statuses[i % len(statuses)]``, and every thousandth (from 7) belongs to Grace Hopper."""
    from datetime import timedelta

    import sqlalchemy as sa

    with db.write_session() as s:
        for code, platform, home in (("ACME-US", Platform.QBO, "USD"), ("KIWI-NZ", Platform.XERO, "NZD")):
            s.add(Organization(code=code, name=code, platform=platform, timezone="UTC", home_currency=home, settings={},
                               created_at=t0, updated_at=t0))
        s.flush()
        orgs = {code: oid for code, oid in s.execute(sa.select(Organization.code, Organization.id))}
    rows = [{"organization_id": orgs["ACME-US" if i % 2 == 0 else "KIWI-NZ"], "rms_id": f"R{i:06d}", "revision": 1,
             "rma_number": f"RMA-{i:06d}", "customer_name": "Grace Hopper" if i % 1000 == 7 else f"Customer {i % 97}",
             "customer_email": None, "channel": "web", "warehouse": None,
             "currency": "USD" if i % 2 == 0 else "NZD", "refund_method": RefundMethod.STORE_CREDIT,
             "rms_status": "received", "sync_status": statuses[i % len(statuses)], "refund_total_minor": 1000 + i,
             "rms_created_at": t0, "rms_updated_at": t0 + timedelta(seconds=i), "ingested_at": t0,
             "updated_at": t0, "raw_payload": {}} for i in range(n)]
    with db.write_session() as s:
        for start in range(0, n, 10_000):
            s.execute(sa.insert(Return), rows[start:start + 10_000])
