"""The three headline metrics, defined once: pinned on a constructed history, the same in the
Dashboard's query, ``returns-ledger metrics --json``, the metrics CSV export and the README.

The history (organization ACME-US, clock on 20 November 2026; the headline is the last 30 days,
22 October – 20 November; the trend has October and November):

- ten returns with one credit memo each: nine posted, one failed; two more returns held by
  pre-flight with no document (owed to the ledger, so due) → 12 due;
- one reconciliation of 1–20 November finishing at ``F``; it flags one posted document (still
  open) and one it later accepted → 8 verified → accuracy 8 ÷ 12 = 66.67 %;
- the eight verified documents' RMS events were 1…8 hours before ``F`` → median 4.5 h, p95 8 h;
- problems stopped: on held return A "no_account" (three syncs) and "no_tax", and the same
  "no_account" refused three times on the manual-entry form (one problem); on held return B
  "no_account"; a manual entry refused twice for an amount mismatch; a manual entry refused
  twice as already posted (a duplicate); one document adopted after an uncertain post (both
  events name the same document: one duplicate); "no_tax" on return E first stopped on
  28 October (in the window and in October, not again in November) → the window: 5 pre-flight
  refusals + 2 duplicates = 7; November: 4 + 2 = 6; October: 1.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from desktop.services.admin import audit
from desktop.services.core.clock import ManualClock
from desktop.services.core.enums import ReturnSyncStatus
from desktop.services.manual.model import AUDIT_REFUSED
from desktop.services.queries.dashboard import DashboardService
from desktop.services.queries.metrics import DEFINITIONS, MANUAL_REFUSED, metrics_report
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    EventLog,
    OutboxDocument,
    OutboxStatus,
    Platform,
    QuarantineReason,
    ReconciliationRun,
    ReconciliationStatus,
    Variance,
    VarianceStatus,
)
from desktop.services.store.testing import make_org, make_return
from tests.helpers.cli import run_cli_here

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
F = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # the reconciliation finishes


def _seed(db: Database) -> None:
    clock = ManualClock(NOW)
    with db.write_session() as s:
        org = make_org(s, code="ACME-US", platform=Platform.QBO)
        docs = []
        for i in range(10):
            event = F - (timedelta(hours=i) if i else timedelta(minutes=30))
            ret = make_return(s, org, rms_id=f"R{i}", at=event)
            failed = i == 9
            doc = OutboxDocument(
                organization_id=org.id, idempotency_key=f"rls-{i:026d}", return_id=ret.id, role="refund",
                platform=Platform.QBO, doc_type="CreditMemo", txn_date=date(2026, 11, 2 + i), total_minor=3998,
                currency="USD", payload={}, status=OutboxStatus.FAILED if failed else OutboxStatus.POSTED,
                created_at=event, updated_at=event, posted_at=None if failed else event + timedelta(minutes=5))
            s.add(doc)
            docs.append(doc)
        held = {}
        for name in ("A", "B", "E"):
            ret = make_return(s, org, rms_id=f"HELD-{name}", at=datetime(2026, 11, 3, 9, tzinfo=UTC))
            ret.sync_status = ReturnSyncStatus.QUARANTINED
            held[name] = ret
        held["E"].sync_status = ReturnSyncStatus.POSTED  # E was fixed and posted (by hand, outside this history)
        s.flush()
        run = ReconciliationRun(organization_id=org.id, period_start=date(2026, 11, 1), period_end=date(2026, 11, 20),
                                started_at=F - timedelta(minutes=2), finished_at=F,
                                status=ReconciliationStatus.COMPLETED, summary={})
        s.add(run)
        s.flush()
        # the most recent RMS event's document is still wrong in the ledger; the next one's was accepted
        s.add(Variance(run_id=run.id, variance_class="amount_mismatch", outbox_document_id=docs[0].id, fields={},
                       status=VarianceStatus.OPEN))
        s.add(Variance(run_id=run.id, variance_class="rounding", outbox_document_id=docs[1].id, fields={},
                       status=VarianceStatus.ACCEPTED))

        def reason(ret: Any, code: str, at: datetime) -> None:
            s.add(QuarantineReason(return_id=ret.id, code=code, message=code, details={}, created_at=at))

        for day in (3, 4, 5):  # three syncs held A for the same reason
            reason(held["A"], "no_account", datetime(2026, 11, day, 9, tzinfo=UTC))
        reason(held["A"], "no_tax", datetime(2026, 11, 3, 9, tzinfo=UTC))
        reason(held["B"], "no_account", datetime(2026, 11, 6, 9, tzinfo=UTC))
        reason(held["E"], "no_tax", datetime(2026, 10, 28, 9, tzinfo=UTC))
        reason(held["E"], "no_tax", datetime(2026, 11, 7, 9, tzinfo=UTC))
        for rma, codes, clicks in ((held["A"].rma_number, ["no_account"], 3), ("RMA-TYPO", ["amount_mismatch"], 2),
                                   ("RMA-DONE", ["already_posted"], 2)):
            for n in range(clicks):
                clock.set(datetime(2026, 11, 10, 9, n, tzinfo=UTC))
                audit.append(s, clock, actor="ada", action=MANUAL_REFUSED, target=rma, organization_id=org.id,
                             details={"prevented": len(codes), "codes": codes, "path": "queued"})
        at = datetime(2026, 11, 11, 9, tzinfo=UTC)
        for n, (kind, details) in enumerate((("document.uncertain_resolved", {"resolution": "adopted"}),
                                             ("document.duplicate_prevented", {}),
                                             ("document.uncertain_resolved", {"resolution": "resent"}))):
            s.add(EventLog(event_id=f"dup-{n}", kind=kind, severity="info", level=20, message="m", occurred_at=at,
                           org="ACME-US", document_key="rls-adopted" if n < 2 else "rls-resent", details=details))


@pytest.fixture
def db(db_url: str) -> Any:
    upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.mark.db
def test_nothing_is_counted_before_anything_happened(db: Database) -> None:
    with db.write_session() as s:
        make_org(s, code="ACME-US", platform=Platform.QBO)
    report = DashboardService(db, None, None, ManualClock(NOW)).snapshot("ACME-US").metrics
    assert report is not None and [m.period for m in report.months] == ["2026-11"]
    h = report.headline
    assert (h.due, h.verified, h.accuracy_pct, h.reconcile_median_s, h.errors_prevented) == (0, 0, None, None, 0)


@pytest.mark.db
def test_the_three_figures_on_a_constructed_history(db: Database) -> None:
    _seed(db)
    report = metrics_report(db, "ACME-US", end=NOW.date())
    h = report.headline
    assert (report.start, report.end, h.label) == (date(2026, 10, 22), date(2026, 11, 20), "22 Oct – 20 Nov 2026")
    assert (h.due, h.posted, h.verified, h.held) == (12, 9, 8, 2)
    assert h.accuracy_pct == "66.67"
    assert (h.reconcile_median_s, h.reconcile_p95_s) == (int(4.5 * 3600), 8 * 3600)
    assert (h.preflight_refusals, h.duplicate_refusals, h.errors_prevented) == (5, 2, 7)
    october, november = report.months
    assert (october.period, october.due, october.preflight_refusals, october.errors_prevented) == ("2026-10", 0, 1, 1)
    assert (november.period, november.due, november.verified, november.accuracy_pct) == ("2026-11", 12, 8, "66.67")
    assert (november.preflight_refusals, november.duplicate_refusals) == (4, 2)
    assert MANUAL_REFUSED == AUDIT_REFUSED  # the action the manual-entry service writes


@pytest.mark.db
@pytest.mark.slow
def test_the_cli_the_dashboard_and_the_export_give_the_same_figures(db: Database, db_url: str,
                                                                     tmp_path: Path) -> None:
    _seed(db)
    dashboard = DashboardService(db, None, None, ManualClock(NOW)).snapshot("ACME-US").metrics
    assert dashboard is not None
    csv_path = tmp_path / "metrics.csv"
    period = ["--from", "2026-10-22", "--to", "2026-11-20"]
    # the CLI's own main() in this process: the process boundary is not what is tested
    done = run_cli_here("metrics", "--org", "ACME-US", *period, "--csv", str(csv_path), "--json",
                        "--db", db_url, "--data-dir", str(tmp_path / "app"))
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout, parse_float=Decimal)
    assert cli == dashboard.to_json()
    assert cli["headline"]["accuracy_pct"] == "66.67" and cli["headline"]["errors_prevented"] == 7
    assert csv_path.read_bytes().decode("utf-8") == dashboard.csv_text()
    assert "22 Oct – 20 Nov 2026,12,9,8,2,66.67%,4.5 h,8.0 h,16200,28800,5,2,7" in dashboard.csv_text()
    shown = run_cli_here("metrics", "--org", "ACME-US", "--to", "2026-11-20", "--db", db_url,
                         "--data-dir", str(tmp_path / "app"))
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "Metrics for ACME-US, 22 Oct – 20 Nov 2026" in text and "66.67%" in text and "4.5 h" in text


def test_the_readme_states_the_definitions_the_tooltips_show() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for text in DEFINITIONS.values():
        assert text in readme
