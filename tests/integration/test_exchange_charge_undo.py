"""Undoing a sync run that posted dearer exchanges (issue 16 items 3 and 4): the QuickBooks sales
receipts, and the Xero invoices with the payments of them, are taken back like every other
document — each exactly once, the Xero payment before its invoice — and the returns post again
(SQLite and PostgreSQL, QuickBooks and Xero, real HTTP to the sandbox)."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.store.models import OutboxDocument
from tests.helpers.undo import ledger_by_key, live, outbox_statuses, post_a_run, return_states, undo_service
from tests.helpers.worlds import ADMIN, ClockWaits, World

#: The documents a dearer exchange posts, per ledger (what the run must contain to prove anything).
CHARGE_KINDS = {Platform.QBO: {"SalesReceipt"}, Platform.XERO: {"Invoice", "Payment"}}
CHARGE_ROLES = frozenset({"sales_receipt", "invoice", "charge_payment"})


@pytest.fixture(autouse=True)
def waits(world: World) -> ClockWaits:
    """The app's throttle and retries wait on a manual clock (the sandbox's limits are roomy)."""
    return world.wait_on_a_manual_clock()


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_undo_takes_a_dearer_exchange_back_once_and_it_posts_again(world: World, platform: Platform) -> None:
    run = post_a_run(world, platform, 24, exchanges=1.0)
    with world.db.session() as s:
        roles = Counter(s.scalars(sa.select(OutboxDocument.role).where(OutboxDocument.run_id == run.run_id)))
    assert CHARGE_ROLES & set(roles), roles
    before = ledger_by_key(world, run)
    kinds = {d["type"] for k in run.keys for d in before[k]}
    assert CHARGE_KINDS[platform] <= kinds, kinds
    assert all(len(live(before[k])) == 1 for k in run.keys), "posted once each"

    report = undo_service(world).undo(ADMIN, run.run_id)

    assert report.outcome == "done", report.counts
    after = ledger_by_key(world, run)
    assert not [k for k in run.keys if live(after[k])], "no live document of the run is left in the ledger"
    assert all(d["takeback_requests"] == 1 for k in run.keys for d in after[k]), "each taken back exactly once"
    charges = [d for k in run.keys for d in after[k] if d["type"] in CHARGE_KINDS[platform]]
    assert charges and {d["status"] for d in charges} <= {"voided", "deleted"}
    assert outbox_statuses(world, run.keys) == Counter({"voided": len(run.keys)})

    out = run.engine.run_once(run.org, worker_id="w2")

    assert out["errors"] == [] and out["posted"] == len(run.keys), out
    final = ledger_by_key(world, run)
    fresh = {k: v for k, v in final.items() if k not in run.keys}
    assert len(fresh) == len(run.keys) and all(len(live(v)) == 1 for v in fresh.values()), "each posted once"
    assert return_states(world, run) == Counter({("posted", 1): run.returns})
