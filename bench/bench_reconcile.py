"""Reconciling a month of 100,000 returns with the ledger data cached (target < 30 s).

Seeds a SQLite database (or ``--db URL``) with one organization, ``--returns`` posted returns
spread over a month (each with its credit memo in ``outbox_documents`` and a tax line), and a
cached copy of the ledger's documents for that month — as a ``LedgerSource`` that answers from
memory — with a handful of tampers (edited, voided, deleted, duplicated, orphan). Then times
``ReconcileService.run`` end to end: loading the month from the database, comparing, recording
the run and its variances. Prints the seconds and exits 1 above the target. Run:
``.venv/bin/python bench/bench_reconcile.py [--returns 100000] [--db URL]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from desktop.services.core.clock import FixedClock
from desktop.services.core.events import EventBus
from desktop.services.platforms.interface import DocView
from desktop.services.reconcile.model import Period
from desktop.services.reconcile.service import ReconcileService
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.services.store.models import (
    LedgerConnection,
    Organization,
    OutboxDocument,
    Return,
    ReturnTaxLine,
)

TARGET_S = 30.0
START = date(2026, 10, 1)
NOW = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)


class CachedLedger:
    """The ledger's documents held in memory (what a cache of the period read would answer)."""

    def __init__(self, docs: list[DocView]) -> None:
        self.docs = docs
        self.index = {(d.doc_type, d.remote_id): d for d in docs}

    def period(self, period: Period) -> list[DocView]:
        return [d for d in self.docs if period.contains(d.txn_date)]

    def by_id(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], DocView | None]:
        return {w: self.index.get(w) for w in wanted}


def seed(db: Database, n: int) -> CachedLedger:
    now = NOW
    with db.write_session() as s:
        org = Organization(code="BENCH", name="Bench Co", platform="qbo", timezone="UTC", home_currency="USD",
                           settings={}, is_active=True, created_at=now, updated_at=now)
        s.add(org)
        s.flush()
        s.add(LedgerConnection(organization_id=org.id, platform="qbo", environment="local", remote_id="1",
                               credential_ref="bench-ref", status="connected", created_at=now, updated_at=now,
                               connected_at=now))
        org_id = org.id
    returns, taxes, docs, ledger = [], [], [], []
    for i in range(n):
        day = START + timedelta(days=i % 31)
        total_minor = 1000 + (i * 37) % 90000
        tax_minor = total_minor // 11
        created = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
        returns.append({"id": i + 1, "organization_id": org_id, "rms_id": f"R{i}", "revision": 1,
                        "rma_number": f"RMA-{i}", "currency": "USD", "refund_method": "original_payment",
                        "rms_status": "refunded", "sync_status": "posted", "refund_total_minor": total_minor,
                        "rms_created_at": created, "rms_updated_at": created, "ingested_at": created,
                        "updated_at": created, "raw_payload": {}})
        taxes.append({"return_id": i + 1, "jurisdiction": "CA", "amount_minor": tax_minor, "currency": "USD"})
        key = f"rls-{i:026d}"[:30]
        docs.append({"organization_id": org_id, "connection_id": 1, "idempotency_key": key, "return_id": i + 1,
                     "role": "credit_memo", "platform": "qbo", "doc_type": "CreditMemo", "txn_date": day,
                     "total_minor": total_minor, "currency": "USD", "payload": {"DocNumber": f"RMA-{i}-1C"},
                     "status": "posted", "attempts": 1, "remote_id": str(i + 1), "created_at": created,
                     "updated_at": created, "posted_at": created})
        ledger.append(DocView("CreditMemo", str(i + 1), "active", Decimal(total_minor).scaleb(-2),
                              Decimal(tax_minor).scaleb(-2), day, "USD", our_key=key, number=f"RMA-{i}-1C"))
    with db.write_session() as s:
        for model, rows in ((Return, returns), (ReturnTaxLine, taxes), (OutboxDocument, docs)):
            for k in range(0, len(rows), 5000):
                s.execute(sa.insert(model.__table__), rows[k:k + 5000])  # type: ignore[arg-type]
    # the accountant's hand: an edit, a void, a deletion, a duplicate and an orphan
    ledger[10] = replace(ledger[10], total=ledger[10].total + Decimal("5.00"))  # type: ignore[operator]
    ledger[20] = replace(ledger[20], status="voided", total=Decimal(0))
    del ledger[30]
    ledger.append(replace(ledger[40], remote_id=str(n + 10)))
    ledger.append(replace(ledger[50], remote_id=str(n + 11), our_key="rls-orphan0000000000000000000"[:30]))
    return CachedLedger(ledger)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--returns", type=int, default=100_000)
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade(url)
        db = Database(url)
        t0 = time.perf_counter()
        ledger = seed(db, args.returns)
        print(f"seeded {args.returns:,} returns and documents in {time.perf_counter() - t0:.1f} s")
        clock = FixedClock(NOW)
        service = ReconcileService(db, EventBus(clock), clock, connections=None)
        period = Period(START, START + timedelta(days=30))
        t0 = time.perf_counter()
        report = service.run("BENCH", period, ledger=ledger)
        took = time.perf_counter() - t0
        db.dispose()
    print(f"reconciled {args.returns:,} returns in {took:.2f} s: {report.matched:,} matched, "
          f"variances {({k: v for k, v in report.counts().items() if v})}")
    ok = took < TARGET_S
    print(f"{'OK' if ok else 'ABOVE TARGET'}: target < {TARGET_S:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
