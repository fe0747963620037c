"""The Returns page's queries on real databases (SQLite file and PostgreSQL), at 100,000 returns.

Rows are inserted in bulk with the store's own models; every assertion is against what the
database holds, computed independently in the test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from desktop.services.core.money import Money
from desktop.services.queries.returns import ATTENTION, ReturnFilter, ReturnsQuery
from desktop.services.store.db import Database
from desktop.services.store.models import (
    EventLog,
    OutboxDocument,
    OutboxStatus,
    Platform,
    Return,
    ReturnSyncStatus,
)
from tests.helpers.returns import GRID_STATUSES, GRID_T0, seed_grid


@pytest.mark.slow
def test_windows_count_and_search_are_right_at_100k_returns(db: Database) -> None:
    """Correct at scale; how fast is measured by ``bench/bench_returns_query.py``, not here."""
    n = 100_000
    seed_grid(db, n)
    q = ReturnsQuery(db)
    visible = n - n // len(GRID_STATUSES)  # superseded revisions are hidden by default

    total = q.count(ReturnFilter())
    first = q.window(ReturnFilter(), 0, 200)
    deep = q.window(ReturnFilter(), visible - 150, 200)

    assert total == visible
    assert len(first) == 200 and len(deep) == 150
    newest = max(i for i in range(n) if GRID_STATUSES[i % 5] is not ReturnSyncStatus.SUPERSEDED)
    assert first[0].rma == f"RMA-{newest:06d}" and first[0].updated_at == GRID_T0 + timedelta(seconds=newest)
    assert deep[-1].rma == "RMA-000000"

    hits = q.window(ReturnFilter(text="grace"), 0, 500)
    assert {r.customer for r in hits} == {"Grace Hopper"}
    assert len(hits) == q.count(ReturnFilter(text="grace")) == len(
        [i for i in range(7, n, 1000) if GRID_STATUSES[i % 5] is not ReturnSyncStatus.SUPERSEDED])


def test_filters_sorting_and_paging_never_overlap(db: Database) -> None:
    seed_grid(db, 500)
    q = ReturnsQuery(db)
    acme = ReturnFilter(org="ACME-US")
    pages = [r.id for off in range(0, 300, 37) for r in q.window(acme, off, 37, "refund", descending=False)]
    assert len(pages) == len(set(pages)) == q.count(acme) == 200
    refunds = [r.refund for off in range(0, 300, 37) for r in q.window(acme, off, 37, "refund", descending=False)]
    assert refunds == sorted(refunds, key=lambda m: m.amount if m else 0)
    assert refunds[0] == Money.from_minor_units(1000, "USD")
    quarantined = q.window(ReturnFilter(status="quarantined"), 0, 1000)
    assert quarantined and {r.status for r in quarantined} == {"quarantined"}
    assert q.count(ReturnFilter(status="superseded")) == 100
    assert q.count(ReturnFilter(include_superseded=True)) == 500
    assert q.organizations() == ["ACME-US", "KIWI-NZ"]


def test_attention_detail_history_and_export(db: Database) -> None:
    seed_grid(db, 20)
    q = ReturnsQuery(db)
    with db.write_session() as s:
        ret = s.scalar(sa.select(Return).where(Return.rma_number == "RMA-000001"))
        assert ret is not None
        ret_id = ret.id
        for n, status in enumerate((OutboxStatus.POSTED, OutboxStatus.FAILED)):
            s.add(OutboxDocument(organization_id=ret.organization_id, idempotency_key=f"rls-key{n}", return_id=ret_id,
                                 role="credit_note", platform=Platform.XERO, doc_type="CreditNote", total_minor=1001,
                                 currency="NZD", payload={}, status=status, attempts=1, created_at=GRID_T0,
                                 updated_at=GRID_T0,
                                 remote_id="abc" if n == 0 else None, remote_number="CN-0042" if n == 0 else None,
                                 last_error={"message": "Xero refused the document", "platform_code": "ValidationError",
                                             "platform_message": "Account code 999 is not valid"} if n else None))
        s.add(EventLog(event_id="e1", kind="document.failed", severity="warning", level=30, message="did not post",
                       occurred_at=GRID_T0, org="KIWI-NZ", rma=None, document_key="rls-key1", details={}))
    attention = q.window(ReturnFilter(status=ATTENTION), 0, 100)
    assert "RMA-000001" in {r.rma for r in attention}
    row = next(r for r in attention if r.rma == "RMA-000001")
    assert (row.documents, row.posted, row.trouble, row.numbers) == (2, 1, 1, ("CN-0042",))

    detail = q.detail(ret_id)
    assert detail is not None
    assert [d.status for d in detail.documents] == ["posted", "failed"]
    assert detail.documents[0].remote_id == "abc"
    assert "Account code 999 is not valid" in (detail.documents[1].message or "")
    assert [h["message"] for h in detail.history] == ["did not post"]

    text, count = q.export_csv(ReturnFilter(org="KIWI-NZ"))
    lines = text.strip().split("\r\n")
    assert count == len(lines) - 1 == q.count(ReturnFilter(org="KIWI-NZ"))
    assert lines[0].startswith("Organization,RMA,RMS id") and "10.01" in text
