"""Issue 16, item 1 end to end for a company that does not track inventory (the demo's MAPLE-CA and
TEA-UK; ACME-US and KIWI-NZ are its inventory-tracking companies): the admin turns
"Returned goods" on and the shipped template maps inventory, cost of goods sold and the write-off
account; returns the RMS states with unit costs — a restock + refurbish, a damaged one (SCRAP), one
going back to the vendor, one whose cost nobody knows — go through ingest → recipes + pre-flight →
outbox → the sandbox ledger over real HTTP. The goods journals are read back from the ledger line by
line, the reconciliation ties out with no variance, and a goods journal an accountant then edits in
the ledger is a variance. On both platforms and both databases.

Each platform is a :class:`Case` (where its accounts are, how its journal reads back), so no test
asks which platform it has.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.commands.preview import render_text
from desktop.services.auth.platforms import Platform
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.reconcile.model import Period
from desktop.services.rms.ingest import Incoming
from desktop.services.rms.parse import FILE_FIX
from desktop.services.store.models import OutboxDocument, QuarantineReason, Return, ReturnSyncStatus
from tests.helpers.goods import goods_ready
from tests.helpers.worlds import ADMIN, World

pytestmark = [pytest.mark.db, pytest.mark.slow]

Held = list[tuple[str, str, Decimal]]  # (account id, Debit/Credit, amount)
Lines = list[tuple[str, int, str, str | None]]  # (disposition, quantity, unit price, unit cost or None)


def _qbo_held(raw: dict[str, Any], snap: ReferenceSnapshot) -> Held:
    return [(ln["JournalEntryLineDetail"]["AccountRef"]["value"], ln["JournalEntryLineDetail"]["PostingType"],
             ln["Amount"]) for ln in raw["Line"]]


def _xero_held(raw: dict[str, Any], snap: ReferenceSnapshot) -> Held:
    out: Held = []
    for ln in raw["JournalLines"]:
        acct = ln.get("AccountID") or snap.account_by_code(ln["AccountCode"]).remote_id  # type: ignore[union-attr]
        out.append((acct, "Debit" if ln["LineAmount"] > 0 else "Credit", abs(ln["LineAmount"])))
    return out


def _by_name(snap: ReferenceSnapshot, name: str) -> str:
    rec = snap.account_by_name(name)
    assert rec is not None, name
    return rec.remote_id


def _by_code(snap: ReferenceSnapshot, code: str) -> str:
    rec = snap.account_by_code(code)
    assert rec is not None, code
    return rec.remote_id


@dataclass(frozen=True)
class Case:
    platform: Platform
    org: str
    currency: str
    #: (inventory asset, cost of goods sold, write-off) as the shipped template names them
    accounts: tuple[str, str, str]
    find: Callable[[ReferenceSnapshot, str], str]
    held: Callable[[dict[str, Any], ReferenceSnapshot], Held]


CASES = [
    Case(Platform.QBO, "MAPLE-CA", "CAD", ("Inventory Asset", "Cost of Goods Sold", "Inventory Shrinkage"),
         _by_name, _qbo_held),
    Case(Platform.XERO, "TEA-UK", "GBP", ("630", "310", "315"), _by_code, _xero_held),
]


def _return(case: Case, world: World, tag: str, n: int, lines: Lines) -> dict[str, Any]:
    """A return as the RMS states it, untaxed, refunded to the original payment."""
    at = world.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    out = []
    total = Decimal(0)
    for i, (disposition, qty, price, cost) in enumerate(lines):
        line: dict[str, Any] = {"line_id": f"ln_{i}", "sku": f"GD-{tag}-{n}{i}", "description": f"Goods {n}.{i}",
                                "quantity": qty, "unit_price": price, "reason_code": "CHANGED_MIND",
                                "disposition": disposition, "tax": []}
        if cost is not None:
            line["unit_cost"] = cost
        out.append(line)
        total += Decimal(price) * qty
    return {"id": f"ret_goods_{tag}_{n}", "rma_number": f"RMA-GD-{tag}-{n}", "revision": 1,
            "organization": case.org, "customer": {"id": f"cus_{tag}", "name": f"Goods Tester {tag}",
                                                   "email": f"goods.{tag}@mail.example"},
            "channel": "phone", "warehouse": "WH-1", "currency": case.currency, "created_at": at, "updated_at": at,
            "refund_method": "original_payment", "status": "inspected", "lines": out, "fees": [],
            "refund_total": str(total)}


@pytest.mark.parametrize("case", CASES, ids=[c.platform.value for c in CASES])
def test_goods_journals_post_read_back_exactly_and_reconcile(world: World, case: Case) -> None:
    org = case.org
    snap = goods_ready(world, org, case.platform.value)

    tag = uuid.uuid4().hex[:6]
    docs = [_return(case, world, tag, 1, [("RESTOCK", 2, "30.00", "12.40"), ("REFURBISH", 1, "80.00", "33.35")]),
            _return(case, world, tag, 2, [("SCRAP", 3, "10.00", "4.10")]),
            _return(case, world, tag, 3, [("RETURN_TO_VENDOR", 1, "50.00", None)]),
            _return(case, world, tag, 4, [("RESTOCK", 1, "20.00", None)])]
    result = world.ingest.ingest(org, [Incoming(raw=d) for d in docs], ctx=world.ingest.context_for(org),
                                 fix=FILE_FIX, source="file:goods.json")
    assert result.ingested == 4 and result.quarantined == 0
    engine = SyncEngine(world.db, world.bus, world.clock, world.connections, world.mapping, lambda _o: world.rms,
                        ingest=world.ingest)
    # the debit/credit preview (CLI `preview`, the GUI's) shows the goods journal before anything posts
    ctx = engine.planner.context(org)
    with world.db.session() as s:
        row = s.execute(sa.select(Return).where(Return.rms_id == docs[1]["id"]).options(
            selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines))).scalar_one()
        record = ctx.record(row)
    plan = engine.planner.plan(ctx, record)
    assert plan.problems == []
    shown = [d.to_json() for d in plan.documents]
    [preview] = [d for d in shown if d["role"] == "goods_journal"]
    assert [(j["debit"], j["credit"]) for j in preview["journal"]] == [("12.30", None), (None, "12.30")]
    text = render_text(org, record.rma_number, record.revision, shown, [])
    assert "(goods_journal)" in text and "out of cost of goods sold" in text

    engine.plan(org)
    engine.push(org, "w1")

    with world.db.session() as s:
        rows = {r.rms_id: r for r in s.scalars(sa.select(Return).where(Return.rms_id.in_([d["id"] for d in docs])))}
        status = {rid: r.sync_status for rid, r in rows.items()}
        goods = {d.return_id: d for d in s.scalars(sa.select(OutboxDocument).where(
            OutboxDocument.role == "goods_journal", OutboxDocument.return_id.in_([r.id for r in rows.values()])))}
        held = [(q.code, q.message) for q in s.scalars(sa.select(QuarantineReason).where(
            QuarantineReason.return_id == rows[docs[3]["id"]].id))]
    ids = [d["id"] for d in docs]
    assert [status[i] for i in ids] == [ReturnSyncStatus.POSTED] * 3 + [ReturnSyncStatus.QUARANTINED]
    [(code, message)] = held
    assert code == "cost_unknown" and f"GD-{tag}-40" in message and "unit cost" in message
    restock, damaged = goods[rows[ids[0]].id], goods[rows[ids[1]].id]
    assert rows[ids[2]].id not in goods  # returned to the vendor: no goods journal (the vendor-credit path's)

    inventory, cogs, write_off = (case.find(snap, a) for a in case.accounts)
    ledger = world.connector(org)
    read = {key: case.held(ledger.document(d.doc_type, d.remote_id).raw, snap)
            for key, d in (("restock", restock), ("damaged", damaged))}
    assert read["restock"] == [(inventory, "Debit", Decimal("24.80")), (cogs, "Credit", Decimal("24.80")),
                               (inventory, "Debit", Decimal("33.35")), (cogs, "Credit", Decimal("33.35"))]
    assert read["damaged"] == [(write_off, "Debit", Decimal("12.30")), (cogs, "Credit", Decimal("12.30"))]
    assert restock.total.amount == Decimal("58.15") and damaged.total.amount == Decimal("12.30")

    today = world.clock.now().date()
    period = Period(today - timedelta(days=3), today + timedelta(days=3))
    report = world.reconcile.run(org, period, actor=ADMIN)
    keys = {restock.idempotency_key, damaged.idempotency_key}
    assert not [v for v in report.variances if v.key in keys], [v.to_json() for v in report.variances]
    for cur, row in report.totals["by_currency"].items():
        assert Decimal(row["difference"]) == Decimal(row["explained"]), (cur, row)
    steps = {s["step"] for row in report.totals["by_currency"].values() for s in row["steps"]}
    assert "goods_journal" in steps

    # an accountant changes the damaged goods' journal in the ledger: reconciliation sees it
    world.tamper(org, {"op": "edit", "id": damaged.remote_id, "type": damaged.doc_type, "set": {"total": "20.00"}})
    report = world.reconcile.run(org, period, actor=ADMIN)
    found = [v for v in report.variances if v.key == damaged.idempotency_key]
    assert [v.variance_class.value for v in found] == ["amount_mismatch"], [v.to_json() for v in report.variances]
