"""Reconciliation through the ledger mirror follows a dearer exchange's documents (issue 16 item 3,
issue 14 item 3): a run of generated exchanges posts QuickBooks sales receipts and Xero invoices
with their payments; an accountant then takes one back by hand in the ledger, and the next
reconciliation — from the change feed alone, no full read — reports exactly what a full read of
the period reports: the sale voided (and the Xero payment deleted), difference = explained.
SQLite and PostgreSQL, QuickBooks and Xero, real HTTP to the sandbox."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.reconcile.engine import ReconcileReport
from desktop.services.reconcile.ledger_read import LedgerReader
from desktop.services.reconcile.mirror import MirroredLedger
from desktop.services.reconcile.model import Period, VarianceClass
from desktop.services.store.models import OutboxDocument
from tests.helpers.undo import post_a_run
from tests.helpers.worlds import ADMIN, World

#: Per ledger: the dearer exchange's sale, and how a person takes its documents back by hand
#: (dependents first: Xero will not void an invoice that has a payment) with the class each gets.
TAKEN_BACK: dict[Platform, list[tuple[str, str, VarianceClass]]] = {
    Platform.QBO: [("sales_receipt", "void", VarianceClass.VOIDED_IN_LEDGER)],
    Platform.XERO: [("charge_payment", "delete", VarianceClass.DELETED_IN_LEDGER),
                    ("invoice", "void", VarianceClass.VOIDED_IN_LEDGER)],
}


def _ties_out(report: ReconcileReport) -> None:
    for cur, row in report.totals["by_currency"].items():
        assert row["difference"] == row["explained"], (cur, row)


@pytest.mark.db
@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_the_mirror_sees_a_dearer_exchange_taken_back_in_the_ledger(world: World, platform: Platform) -> None:
    run = post_a_run(world, platform, 24, exchanges=1.0)
    steps = TAKEN_BACK[platform]
    with world.db.session() as s:
        docs = list(s.scalars(sa.select(OutboxDocument).where(OutboxDocument.run_id == run.run_id)))
    sale = next(d for d in docs if d.role == steps[-1][0])
    mine = {d.role: d for d in docs if d.return_id == sale.return_id}
    assert {role for role, _op, _cls in steps} <= set(mine), mine
    days = sorted(d.txn_date for d in docs)
    period = Period(days[0], days[-1])
    conn = world.connection_id(run.org)
    mirror = MirroredLedger(world.db, world.clock, conn, world.connections.connector(conn))

    first = world.reconcile.run(run.org, period, actor=ADMIN, ledger=mirror)

    ours = {mine[role].remote_id for role, _op, _cls in steps}
    assert not [v for v in first.variances if v.ledger_id in ours], first.variances
    _ties_out(first)

    for role, op, _cls in steps:
        row = mine[role]
        world.tamper(run.org, {"op": op, "id": row.remote_id, "type": row.doc_type})
    again = world.reconcile.run(run.org, period, actor=ADMIN, ledger=mirror)

    assert not mirror.last.full_read, mirror.last
    found = {(v.variance_class, v.ledger_id) for v in again.variances}
    assert {(cls, mine[role].remote_id) for role, _op, cls in steps} <= found, again.variances
    _ties_out(again)
    full = world.reconcile.engine.reconcile(run.org, period,
                                           ledger=LedgerReader(world.connections.connector(conn)))
    assert sorted(repr(sorted(v.to_json().items())) for v in again.variances) == sorted(
        repr(sorted(v.to_json().items())) for v in full.variances)
    assert again.totals == full.totals
