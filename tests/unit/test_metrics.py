"""Monthly metrics from a real (SQLite) database: accuracy, time to reconcile, errors prevented."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from desktop.services.queries.metrics import monthly_metrics
from desktop.services.store.db import Database
from desktop.services.store.models import (
    EventLog,
    Organization,
    OutboxDocument,
    OutboxStatus,
    QuarantineReason,
    ReconciliationRun,
    ReconciliationStatus,
    RefundMethod,
    Return,
    ReturnSyncStatus,
    Variance,
    VarianceStatus,
)
from tests.helpers.db import migrated

T0 = datetime(2026, 10, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with migrated(f"sqlite:///{tmp_path / 'metrics.sqlite3'}") as database:
        yield database


def _seed(db: Database) -> None:
    with db.write_session() as s:
        org = Organization(code="ACME-US", name="Acme", platform="qbo", timezone="UTC", home_currency="USD",
                           settings={}, is_active=True, created_at=T0, updated_at=T0)
        s.add(org)
        s.flush()
        rets = []
        for i in range(5):
            r = Return(organization_id=org.id, rms_id=f"R{i}", revision=1, rma_number=f"RMA-{i}", currency="USD",
                       refund_method=RefundMethod.ORIGINAL_PAYMENT, rms_status="refunded",
                       sync_status=ReturnSyncStatus.QUARANTINED if i == 4 else ReturnSyncStatus.POSTED,
                       refund_total_minor=1000, rms_created_at=T0, rms_updated_at=T0, ingested_at=T0, updated_at=T0,
                       raw_payload={})
            s.add(r)
            rets.append(r)
        s.flush()
        docs = []
        for i in range(4):  # 3 posted in October, 1 still failing
            d = OutboxDocument(organization_id=org.id, idempotency_key=f"rls-{i:026d}", return_id=rets[i].id,
                               role="credit_memo", platform="qbo", doc_type="CreditMemo", txn_date=date(2026, 10, 10),
                               total_minor=1000, currency="USD", payload={},
                               status=OutboxStatus.FAILED if i == 3 else OutboxStatus.POSTED, attempts=1,
                               remote_id=str(i), created_at=T0, updated_at=T0,
                               posted_at=None if i == 3 else T0 + timedelta(minutes=5))
            s.add(d)
            docs.append(d)
        s.flush()
        run = ReconciliationRun(organization_id=org.id, period_start=date(2026, 10, 1), period_end=date(2026, 10, 31),
                                started_at=T0 + timedelta(minutes=14), finished_at=T0 + timedelta(minutes=15),
                                status=ReconciliationStatus.COMPLETED, summary={})
        s.add(run)
        s.flush()
        # document 2 is still wrong in the ledger; document 1 was flagged then accepted
        s.add(Variance(run_id=run.id, variance_class="amount_mismatch", outbox_document_id=docs[2].id, fields={},
                       status=VarianceStatus.OPEN))
        s.add(Variance(run_id=run.id, variance_class="rounding", outbox_document_id=docs[1].id, fields={},
                       status=VarianceStatus.ACCEPTED))
        s.add(QuarantineReason(return_id=rets[4].id, code="no_account", message="no account", details={},
                               created_at=datetime(2026, 11, 2, tzinfo=UTC)))
        s.add(QuarantineReason(return_id=rets[4].id, code="no_tax", message="no tax", details={},
                               created_at=datetime(2026, 11, 3, tzinfo=UTC)))
        for n, (kind, details) in enumerate([("document.duplicate_prevented", {}),
                                             ("document.uncertain_resolved", {"resolution": "adopted"}),
                                             ("document.uncertain_resolved", {"resolution": "resent"})]):
            s.add(EventLog(event_id=f"e{n}", kind=kind, severity="info", level=20, message="m",
                           occurred_at=datetime(2026, 11, 4, tzinfo=UTC), org="ACME-US", details=details))


def test_accuracy_time_to_reconcile_and_errors_prevented_per_month(db: Database) -> None:
    _seed(db)
    october, november = monthly_metrics(db)
    # 4 documents + the quarantined return with none (owed to the ledger, so due)
    assert (october.period, october.due, october.posted, october.verified, october.held) == ("2026-10", 5, 3, 2, 1)
    assert october.accuracy_pct == "40.00"
    assert october.reconcile_median_s == 15 * 60  # RMS event at T0, verified by the run that finished at T0+15m
    # two problems (no account, no tax) on the held return; a duplicate refused and an adoption
    assert (november.period, november.due, november.preflight_refusals, november.duplicate_refusals) == (
        "2026-11", 0, 2, 2)
    assert november.errors_prevented == 4 and november.accuracy_pct is None
    assert monthly_metrics(db, "ACME-US") == [october, november]
    assert monthly_metrics(db, "NOPE") == []


def test_a_run_that_finished_before_the_post_does_not_verify_it(db: Database) -> None:
    _seed(db)
    with db.write_session() as s:
        for run in s.query(ReconciliationRun):
            run.finished_at = T0 + timedelta(minutes=1)  # before the posts at T0+5m
    [october, _] = monthly_metrics(db)
    assert october.verified == 0 and october.reconcile_median_s is None and october.accuracy_pct == "0.00"
