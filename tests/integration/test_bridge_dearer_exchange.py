"""Issue 16 follow-up: the reconciliation bridge counts a dearer exchange's charge once, in its own
row, on both ledgers. A run of exchanges (even, cheaper, dearer) posts QuickBooks sales receipts and
Xero invoices with their payments; the reconciliation's bridge then ties out step by step — the
steps walk from the RMS refunds to the expected ledger effect, each step equals the documents and
returns that make it up, and the refund-documents step holds no charge (it used to hold each twice:
the RMS's negative refund against the sale's positive total). SQLite and PostgreSQL, real HTTP."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.reconcile.model import Period
from desktop.services.store.models import OutboxDocument, Return
from tests.helpers.undo import post_a_run
from tests.helpers.worlds import ADMIN, World

#: The documents a return's refund or charge is posted as (their totals are compared with the RMS).
SALES_FORMS = frozenset({"credit_memo", "refund_receipt", "credit_note", "sales_receipt", "invoice"})
CHARGES = frozenset({"sales_receipt", "invoice"})
ZERO = Decimal(0)


@pytest.mark.db
@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_the_bridge_counts_a_dearer_exchange_once(world: World, platform: Platform) -> None:
    run = post_a_run(world, platform, 12, exchanges=1.0)
    with world.db.session() as s:
        docs = list(s.scalars(sa.select(OutboxDocument).where(OutboxDocument.run_id == run.run_id)))
        refunds = {r.id: r.refund_total for r in s.scalars(sa.select(Return).where(
            Return.id.in_({d.return_id for d in docs})))}
    period = Period(world.today - timedelta(days=120), world.today + timedelta(days=2))
    report = world.reconcile.run(run.org, period, actor=ADMIN)

    rms: dict[str, Decimal] = defaultdict(lambda: ZERO)
    charged: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for total in refunds.values():
        assert total is not None
        if total.amount < 0:
            charged[total.currency] -= total.amount
        else:
            rms[total.currency] += total.amount
    by_role: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for d in docs:
        assert d.total is not None
        by_role[(d.currency, d.role)] += d.total.amount
    assert sum(charged.values()) > 0, refunds  # the run has dearer exchanges
    for cur, row in report.totals["by_currency"].items():
        steps = {s["step"]: Decimal(s["amount"]) for s in row["steps"]}
        assert row["ties_out"] and Decimal(row["difference"]) == Decimal(row["explained"]) == 0, (cur, row)
        before = [s for s in row["steps"] if s["step"] not in ("expected", "variances", "ledger")]
        assert sum((Decimal(s["amount"]) for s in before), ZERO) == Decimal(row["expected"]), row["steps"]
        assert Decimal(row["expected"]) == Decimal(row["ledger"]) == sum(
            (v for (c, _r), v in by_role.items() if c == cur), ZERO), (cur, row)
        assert steps["rms"] == Decimal(row["rms"]) == rms[cur], (cur, row)
        assert steps.get("rms_charged", ZERO) == Decimal(row["rms_charged"]) == charged[cur], (cur, row)
        # each charge once: its sale matches the RMS's charge, its payment in is the one more row
        sales = sum((v for (c, r), v in by_role.items() if c == cur and r in CHARGES), ZERO)
        assert sales == charged[cur], (cur, sales, charged)
        assert steps.get("charge_payment", ZERO) == by_role[(cur, "charge_payment")], (cur, row)
        assert steps.get("refund_payment", ZERO) == by_role[(cur, "refund_payment")], (cur, row)
        forms = sum((v for (c, r), v in by_role.items() if c == cur and r in SALES_FORMS), ZERO)
        assert steps.get("refund_documents", ZERO) == forms - rms[cur] - charged[cur] == 0, (cur, row)
