"""Issue 16, item 1 end to end for a company whose ledger tracks inventory (the demo's ACME-US on
QuickBooks, KIWI-NZ on Xero; ``recipes/tracked.py``): with "Returned goods" on and the shipped
template, a restocked return of a tracked SKU posts its sales form through the ledger's inventory
item — the sandbox's quantity on hand rises by the quantity and the ledger books Dr inventory asset,
Cr cost of goods sold at the item's cost — and no goods journal; a damaged (SCRAP) return of a tracked
SKU moves no stock and posts a goods journal Dr write-off, Cr COGS at the item's cost; the preview
shows the cost the ledger books; the clean run reconciles with no variance. Both platforms, both
databases; each platform is a :class:`Case`, so no test asks which platform it has.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.commands.preview import render_text
from desktop.sandbox.rms.catalog import PROFILES
from desktop.services.auth.platforms import Platform
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.reconcile.model import Period
from desktop.services.rms.ingest import Incoming
from desktop.services.rms.parse import FILE_FIX
from desktop.services.store.models import OutboxDocument, Return, ReturnSyncStatus
from tests.helpers.goods import goods_ready
from tests.helpers.worlds import ADMIN, World

pytestmark = [pytest.mark.db, pytest.mark.slow]

Held = list[tuple[str, str, Decimal]]  # (account id, Debit/Credit, amount)
CENT = Decimal("0.01")


def _qbo_held(raw: dict[str, Any], snap: ReferenceSnapshot) -> Held:
    return [(ln["JournalEntryLineDetail"]["AccountRef"]["value"], ln["JournalEntryLineDetail"]["PostingType"],
             ln["Amount"]) for ln in raw["Line"]]


def _xero_held(raw: dict[str, Any], snap: ReferenceSnapshot) -> Held:
    out: Held = []
    for ln in raw["JournalLines"]:
        acct = ln.get("AccountID") or snap.account_by_code(ln["AccountCode"]).remote_id  # type: ignore[union-attr]
        out.append((acct, "Debit" if ln["LineAmount"] > 0 else "Credit", abs(ln["LineAmount"])))
    return out


def _qbo_cost(item: dict[str, Any]) -> Decimal:
    return Decimal(item["cost"])


def _xero_cost(item: dict[str, Any]) -> Decimal:  # average cost
    return (Decimal(item["cost_pool"]) / Decimal(item["qty_on_hand"])).quantize(CENT, rounding=ROUND_HALF_UP)


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
    stock_path: str
    sku_field: str                                  # how /_sandbox/stock names an item's SKU
    cost: Callable[[dict[str, Any]], Decimal]       # the item's unit cost as the ledger books it
    accounts: tuple[str, str, str]                  # inventory asset, COGS, write-off (shipped template)
    stock_account: Callable[[ReferenceSnapshot, str], str]  # how /_sandbox/stock names an account
    find: Callable[[ReferenceSnapshot, str], str]
    held: Callable[[dict[str, Any], ReferenceSnapshot], Held]
    sales_form_type: str


def _qbo_stock_account(snap: ReferenceSnapshot, name: str) -> str:
    return _by_name(snap, name)


def _xero_stock_account(snap: ReferenceSnapshot, code: str) -> str:
    return code


CASES = [
    Case(Platform.QBO, "ACME-US", "USD", "stock/qbo/ACME-US", "sku", _qbo_cost,
         ("Inventory Asset", "Cost of Goods Sold", "Inventory Shrinkage"), _qbo_stock_account, _by_name, _qbo_held,
         "RefundReceipt"),
    Case(Platform.XERO, "KIWI-NZ", "NZD", "stock/xero/KIWI-NZ", "code", _xero_cost, ("630", "310", "315"),
         _xero_stock_account, _by_code, _xero_held, "CreditNote"),
]


def _return(case: Case, world: World, tag: str, n: int, sku: str, disposition: str, qty: int,
            price: Decimal) -> dict[str, Any]:
    """A return of one line as the RMS states it, untaxed, refunded to the original payment."""
    at = world.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    line = {"line_id": "ln_0", "sku": sku, "description": f"Tracked {n}", "quantity": qty, "unit_price": str(price),
            "reason_code": "CHANGED_MIND", "disposition": disposition, "tax": [], "unit_cost": "1.00"}
    return {"id": f"ret_tracked_{tag}_{n}", "rma_number": f"RMA-TR-{tag}-{n}", "revision": 1,
            "organization": case.org, "customer": {"id": f"cus_{tag}", "name": f"Stock Tester {tag}",
                                                   "email": f"stock.{tag}@mail.example"},
            "channel": "phone", "warehouse": "WH-1", "currency": case.currency, "created_at": at, "updated_at": at,
            "refund_method": "original_payment", "status": "inspected", "lines": [line], "fees": [],
            "refund_total": str(price * qty)}


@pytest.mark.parametrize("case", CASES, ids=[c.platform.value for c in CASES])
def test_tracked_goods_restock_through_the_item_and_damaged_goods_are_written_off(world: World, case: Case) -> None:
    org = case.org
    sandbox = world.sandbox
    assert sandbox is not None
    snap = goods_ready(world, org, case.platform.value)

    before = sandbox.control("GET", case.stock_path)
    assert before["tracks_inventory"] is True
    items = {i[case.sku_field]: i for i in before["items"]}
    restocked, damaged = (p for p in PROFILES[org].products[:2])
    assert items[restocked.sku]["qty_on_hand"] == "20" and items[damaged.sku]["qty_on_hand"] == "20"
    cost_r, cost_d = case.cost(items[restocked.sku]), case.cost(items[damaged.sku])

    tag = uuid.uuid4().hex[:6]
    docs = [_return(case, world, tag, 1, restocked.sku, "RESTOCK", 2, restocked.price),
            _return(case, world, tag, 2, damaged.sku, "SCRAP", 1, damaged.price)]
    result = world.ingest.ingest(org, [Incoming(raw=d) for d in docs], ctx=world.ingest.context_for(org),
                                 fix=FILE_FIX, source="file:tracked.json")
    assert result.ingested == 2 and result.quarantined == 0
    engine = SyncEngine(world.db, world.bus, world.clock, world.connections, world.mapping, lambda _o: world.rms,
                        ingest=world.ingest)
    inventory, cogs, write_off = (case.find(snap, a) for a in case.accounts)

    # the preview shows the cost the ledger books through its item, and no goods journal
    ctx = engine.planner.context(org)
    with world.db.session() as s:
        row = s.execute(sa.select(Return).where(Return.rms_id == docs[0]["id"]).options(
            selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines))).scalar_one()
        record = ctx.record(row)
    plan = engine.planner.plan(ctx, record)
    assert plan.problems == []
    shown = [d.to_json() for d in plan.documents]
    assert "goods_journal" not in {d["role"] for d in shown}
    effect = [(j["account_id"], j["debit"], j["credit"]) for j in shown[0]["journal"]
              if "through item" in (j.get("memo") or "")]
    amount = f"{cost_r * 2:.2f}"
    assert effect == [(inventory, amount, None), (cogs, None, amount)]
    text = render_text(org, record.rma_number, record.revision, shown, [])
    assert "through item" in text

    engine.plan(org)
    engine.push(org, "w1")

    with world.db.session() as s:
        rows = {r.rms_id: r for r in s.scalars(sa.select(Return).where(Return.rms_id.in_([d["id"] for d in docs])))}
        outbox = [(d.return_id, d.role, d.doc_type, d.remote_id, d.idempotency_key) for d in s.scalars(
            sa.select(OutboxDocument).where(OutboxDocument.return_id.in_([r.id for r in rows.values()])))]
    assert [rows[d["id"]].sync_status for d in docs] == [ReturnSyncStatus.POSTED] * 2
    by_return = {rid: {role: (t, rem, key) for r2, role, t, rem, key in outbox if r2 == rid} for rid, *_ in outbox}
    restock_docs, damaged_docs = by_return[rows[docs[0]["id"]].id], by_return[rows[docs[1]["id"]].id]
    assert "goods_journal" not in restock_docs
    _form_type, form_id, _ = next(v for v in restock_docs.values() if v[0] == case.sales_form_type)

    after = sandbox.control("GET", case.stock_path)
    now = {i[case.sku_field]: i for i in after["items"]}
    assert now[restocked.sku]["qty_on_hand"] == "22"   # quantity on hand follows the return
    assert now[damaged.sku]["qty_on_hand"] == "20"     # damaged goods never go back on the shelf
    [effect_row] = [e for e in after["effects"] if e["id"] == form_id]
    [entry] = effect_row["entries"]
    inv_acct, cogs_acct = (case.stock_account(snap, a) for a in case.accounts[:2])
    assert (Decimal(entry["qty"]), Decimal(entry["amount"]), entry["debit_account"], entry["credit_account"]) == (
        Decimal(2), cost_r * 2, inv_acct, cogs_acct)
    assert [e for e in after["effects"] if e["id"] != form_id] == []  # the damaged return moved no stock

    _, goods_id, goods_key = damaged_docs["goods_journal"]
    ledger = world.connector(org)
    goods_type = damaged_docs["goods_journal"][0]
    assert case.held(ledger.document(goods_type, goods_id).raw, snap) == [
        (write_off, "Debit", cost_d), (cogs, "Credit", cost_d)]

    today = world.clock.now().date()
    period = Period(today - timedelta(days=3), today + timedelta(days=3))
    report = world.reconcile.run(org, period, actor=ADMIN)
    keys = {key for _r, _role, _t, _rem, key in outbox}
    assert not [v for v in report.variances if v.key in keys], [v.to_json() for v in report.variances]
    for cur, row_ in report.totals["by_currency"].items():
        assert Decimal(row_["difference"]) == Decimal(row_["explained"]), (cur, row_)
    assert goods_key in keys
