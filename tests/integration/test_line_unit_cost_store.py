"""Issue 16, item 1 (store side): a line's unit cost through ingest into ``return_lines.unit_cost_minor``
(migration 0008) and back into the record, on SQLite and PostgreSQL — known, unknown (absent or
null: NULL), in a zero-decimal currency, and a bad one quarantined with its code; the bulk path and
the ORM path (a later revision replacing the first) write the same column, which the Returns page's
detail shows."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus
from desktop.services.core.money import Money
from desktop.services.queries.returns import ReturnsQuery
from desktop.services.rms.context import PROFILE_KEY
from desktop.services.rms.ingest import Incoming, IngestService
from desktop.services.rms.parse import FILE_FIX
from desktop.services.rms.records import from_row
from desktop.services.store.models import Organization, Platform, QuarantineReason, Return, ReturnLine
from tests.helpers.db import migrated

pytestmark = pytest.mark.db

ORG = "COST-US"
PROFILE = {"code": ORG, "name": "Cost Inc.", "country": "US", "home_currency": "USD", "currencies": ["USD", "JPY"],
           "timezone": "America/New_York", "tax_jurisdictions": []}
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _doc(n: int, costs: list[object], *, currency: str = "USD", price: str = "20.00") -> dict[str, Any]:
    lines = []
    for i, cost in enumerate(costs):
        line: dict[str, Any] = {"line_id": f"ln_{i}", "sku": f"SKU-{i}", "description": "Thing", "quantity": 1,
                                "unit_price": price, "reason_code": "CHANGED_MIND", "disposition": "RESTOCK",
                                "tax": []}
        if cost != "absent":
            line["unit_cost"] = cost
        lines.append(line)
    return {"id": f"ret_{n}", "rma_number": f"RMA-{n}", "revision": 1, "organization": ORG,
            "customer": {"id": "cus_1", "name": "Olivia Johnson", "email": "olivia@example.com"},
            "channel": "web", "warehouse": "WH-1", "currency": currency,
            "created_at": "2026-11-20T10:15:00.123Z", "updated_at": "2026-11-21T08:00:00.000Z",
            "refund_method": "original_payment", "status": "received", "lines": lines, "fees": [],
            "refund_total": str(Decimal(price) * len(costs))}


def test_unit_costs_are_stored_exactly_and_read_back(db_url: str) -> None:
    second = _doc(1, ["7.00", "absent"])
    second["revision"] = 2
    docs = [_doc(1, ["8.15", "absent", None]), _doc(2, ["900"], currency="JPY", price="2500"),
            _doc(3, ["8.155"]), second]
    with migrated(db_url) as db:
        with db.write_session() as s:
            s.add(Organization(code=ORG, name="Cost Inc.", platform=Platform.QBO, timezone="America/New_York",
                               home_currency="USD", settings={PROFILE_KEY: PROFILE}, created_at=T0, updated_at=T0))
        bus = EventBus(ManualClock(T0))
        service = IngestService(db, bus, bus.clock)
        for batch in (docs[:3], docs[3:]):  # a bulk batch, then a revision replacing one of it
            service.ingest(ORG, [Incoming(raw=copy.deepcopy(d)) for d in batch], ctx=service.context_for(ORG),
                           fix=FILE_FIX, source="file:costs.json", batch_size=10)
        with db.session() as s:
            rows = {(r.rms_id, r.revision): r for r in s.scalars(sa.select(Return))}
            got = {key: [ln.unit_cost for ln in from_row(r).lines] for key, r in rows.items()
                   if key != ("ret_3", 1)}
            columns = sorted((ln.sku, ln.unit_cost_minor) for ln in s.scalars(sa.select(ReturnLine)))
            reasons = [(q.code, "unit cost" in q.message) for q in s.scalars(sa.select(QuarantineReason))]
            first = rows[("ret_1", 1)].id
        detail = ReturnsQuery(db).detail(first)  # what the Returns page's detail shows
    assert got == {
        ("ret_1", 1): [Money(Decimal("8.15"), "USD"), None, None],
        ("ret_1", 2): [Money(Decimal("7.00"), "USD"), None],
        ("ret_2", 1): [Money(Decimal("900"), "JPY")],
    }
    assert columns == [("SKU-0", 700), ("SKU-0", 815), ("SKU-0", 900), ("SKU-1", None), ("SKU-1", None),
                       ("SKU-2", None)]
    assert reasons == [("too_many_decimals", True)]
    assert detail is not None
    assert [ln["unit_cost"] for ln in detail.lines] == [Money(Decimal("8.15"), "USD"), None, None]
