"""The per-return audit pack over a real database: RMS record → mapping version → payload sent →
ledger response → reconciliation status, with exact amounts and no float anywhere."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from desktop.services.core.errors import NeedsPersonError
from desktop.services.reconcile import audit_pack
from desktop.services.store.db import Database
from desktop.services.store.models import (
    EventLog,
    MappingSet,
    Organization,
    OutboxDocument,
    OutboxStatus,
    Platform,
    ReconciliationRun,
    ReconciliationStatus,
    RefundMethod,
    Return,
    ReturnSyncStatus,
    Variance,
    VarianceStatus,
)

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KEY = "ACME-US:R1:1:refund"


def _seed(db: Database) -> None:
    with db.write_session() as s:
        o = Organization(code="ACME-US", name="Acme", platform=Platform.QBO, timezone="UTC", home_currency="USD",
                         settings={}, created_at=T0, updated_at=T0)
        s.add(o)
        s.flush()
        for v, at in ((1, T0 - timedelta(days=3)), (2, T0 - timedelta(hours=1)), (3, T0 + timedelta(days=1))):
            s.add(MappingSet(organization_id=o.id, version=v, created_by="maria", created_at=at, is_active=v == 3))
        ret = Return(organization_id=o.id, rms_id="R1", revision=1, rma_number="RMA-1001", customer_name="Grace",
                     currency="USD", refund_method=RefundMethod.STORE_CREDIT, rms_status="received",
                     sync_status=next(iter(ReturnSyncStatus)), refund_total_minor=4000, rms_created_at=T0,
                     rms_updated_at=T0, ingested_at=T0, updated_at=T0, raw_payload={"id": "R1"})
        s.add(ret)
        s.flush()
        s.add(OutboxDocument(organization_id=o.id, idempotency_key=KEY, return_id=ret.id, role="refund",
                             platform=Platform.QBO, doc_type="CreditMemo", txn_date=date(2026, 11, 2),
                             total_minor=4000, currency="USD",
                             payload={"TotalAmt": Decimal("40.00"), "Line": [{"Amount": Decimal("40.00")}]},
                             status=OutboxStatus.POSTED, attempts=1, remote_id="177", remote_number="1001",
                             sync_token="0", created_at=T0, updated_at=T0, posted_at=T0))
        s.add(EventLog(event_id="e1", kind="document.posted", severity="info", level=20, message="posted 1001",
                       occurred_at=T0, org="ACME-US", rma="RMA-1001", document_key=KEY, details={}))
        run = ReconciliationRun(organization_id=o.id, period_start=date(2026, 11, 1), period_end=date(2026, 11, 30),
                                started_at=T0, status=ReconciliationStatus.COMPLETED, summary={})
        s.add(run)
        s.flush()
        s.add(Variance(run_id=run.id, variance_class="amount_mismatch", rma="RMA-1001", return_id=ret.id,
                       ledger_id="177", difference_minor=-500, currency="USD", status=VarianceStatus.OPEN,
                       fields={"total": {"rms": "40.00", "ledger": "35.00"}, "_doc": {"key": KEY}}))


def test_the_pack_follows_a_return_from_rms_to_reconciliation(db: Database, tmp_path: Path) -> None:
    _seed(db)
    pack = audit_pack.build(db, "ACME-US", "RMA-1001")
    assert pack["rms_record"][0]["refund_total"] == "40.00 USD"
    doc = pack["documents"][0]
    assert doc["mapping"]["version"] == 2  # the set active when it was queued, not the newer one
    assert doc["ledger_response"]["remote_id"] == "177" and doc["ledger_response"]["status"] == "posted"
    assert [e["message"] for e in doc["events"]] == ["posted 1001"]
    assert pack["reconciliation"][0]["difference"] == "-5.00 USD"
    assert pack["reconciliation"][0]["fields"] == {"total": {"rms": "40.00", "ledger": "35.00"}}
    assert pack["status"] == "open variances"

    out = audit_pack.write(pack, tmp_path / "pack.json")
    text = out.read_text(encoding="utf-8")
    loaded = json.loads(text, parse_float=Decimal)
    assert loaded["documents"][0]["payload_sent"]["TotalAmt"] == Decimal("40.00")
    assert '"TotalAmt":40.00' in text  # an exact number, not a string and not a float


def test_an_unknown_return_needs_a_person(db: Database) -> None:
    _seed(db)
    with pytest.raises(NeedsPersonError):
        audit_pack.build(db, "ACME-US", "RMA-404")
