"""Issue 16, deliver 5: reconciliation compares the quantities of tracked goods, for a company whose
ledger tracks inventory (the demo's ACME-US on QuickBooks, KIWI-NZ on Xero). A restocked return of a
tracked SKU posts its sales form through the ledger's item; untouched, it reconciles with no
variance. An accountant then changes that line's quantity and unit price keeping its total (the
sandbox's tamper, as a person would in the ledger's UI): the ledger's stock moves, and the next run
finds exactly one "Quantity differs" variance naming the item with both quantities — no money
difference, so the bridge still ties out, the audit pack lists it and no adjusting journal is
offered for it. Both platforms, both databases; each platform is a :class:`Case` (no test asks which
platform it has).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.sandbox.rms.catalog import PROFILES
from desktop.services.connections.refcache import items_by_sku
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.platforms.registry import platform_for
from desktop.services.reconcile import audit_pack
from desktop.services.reconcile.adjust import AdjustService
from desktop.services.reconcile.model import Period, VarianceClass
from desktop.services.rms.ingest import Incoming
from desktop.services.rms.parse import FILE_FIX
from desktop.services.store.models import OutboxDocument, Return
from tests.helpers.goods import goods_ready
from tests.helpers.worlds import ADMIN, World

pytestmark = [pytest.mark.db, pytest.mark.slow]


@dataclass(frozen=True)
class Case:
    org: str
    currency: str
    stock_path: str
    sku_field: str          # how /_sandbox/stock names an item's SKU
    sales_form_type: str    # the customer-credit sales form (no refund payment: the ledger lets it be edited)


CASES = [
    Case("ACME-US", "USD", "stock/qbo/ACME-US", "sku", "CreditMemo"),
    Case("KIWI-NZ", "NZD", "stock/xero/KIWI-NZ", "code", "CreditNote"),
]


def _return(case: Case, world: World, tag: str, sku: str, price: Decimal) -> dict[str, Any]:
    """One restocked line of two units, untaxed, settled as store credit (a sales form, no payment)."""
    at = world.clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    line = {"line_id": "ln_0", "sku": sku, "description": "Tracked restock", "quantity": 2, "unit_price": str(price),
            "reason_code": "CHANGED_MIND", "disposition": "RESTOCK", "tax": [], "unit_cost": "1.00"}
    return {"id": f"ret_trq_{tag}", "rma_number": f"RMA-TRQ-{tag}", "revision": 1, "organization": case.org,
            "customer": {"id": f"cus_{tag}", "name": f"Quantity Tester {tag}", "email": f"qty.{tag}@mail.example"},
            "channel": "phone", "warehouse": "WH-1", "currency": case.currency, "created_at": at, "updated_at": at,
            "refund_method": "store_credit", "status": "inspected", "lines": [line], "fees": [],
            "refund_total": str(price * 2)}


def _qty(stock: dict[str, Any], field: str, sku: str) -> Decimal:
    return Decimal(next(i for i in stock["items"] if i[field] == sku)["qty_on_hand"])


@pytest.mark.parametrize("case", CASES, ids=[c.org for c in CASES])
def test_a_tracked_lines_changed_quantity_is_one_quantity_variance(world: World, case: Case) -> None:
    org = case.org
    sandbox = world.sandbox
    assert sandbox is not None
    platform = world.demo_org(org).platform.value  # the ledger the demo gives this organization
    snap = goods_ready(world, org, platform)

    product = PROFILES[org].products[0]
    stock = items_by_sku(snap.items.values(), snap.home_currency)[product.sku]
    assert stock.tracked
    item = stock.sku if platform_for(platform).items_by_code else stock.item_id
    [record] = [r for r in snap.items.values() if r.remote_id == stock.item_id]
    assert record.name and record.name != product.sku
    label = f"{record.name} ({product.sku})"  # as people know the item: its name, then its SKU
    tag = uuid.uuid4().hex[:6]
    doc = _return(case, world, tag, product.sku, product.price)
    result = world.ingest.ingest(org, [Incoming(raw=doc)], ctx=world.ingest.context_for(org), fix=FILE_FIX,
                                 source="file:tracked-quantity.json")
    assert result.ingested == 1 and result.quarantined == 0
    engine = SyncEngine(world.db, world.bus, world.clock, world.connections, world.mapping, lambda _o: world.rms,
                        ingest=world.ingest)
    engine.plan(org)
    engine.push(org, "w1")
    with world.db.session() as s:
        rows = s.execute(sa.select(OutboxDocument.doc_type, OutboxDocument.remote_id, OutboxDocument.idempotency_key)
                         .join(Return, Return.id == OutboxDocument.return_id)
                         .where(Return.rms_id == doc["id"])).all()
    keys = {key for _t, _rem, key in rows}
    [form_id] = [rem for t, rem, _key in rows if t == case.sales_form_type]
    on_hand = _qty(sandbox.control("GET", case.stock_path), case.sku_field, product.sku)

    today = world.clock.now().date()
    period = Period(today - timedelta(days=3), today + timedelta(days=3))
    clean = world.reconcile.run(org, period, actor=ADMIN)
    assert [v.to_json() for v in clean.variances if v.key in keys] == []

    # the accountant books one unit at twice the price: the same total, one unit less in stock
    world.tamper(org, {"op": "edit", "id": form_id, "set": {"quantity": "1"}})
    assert _qty(sandbox.control("GET", case.stock_path), case.sku_field, product.sku) == on_hand - 1

    report = world.reconcile.run(org, period, actor=ADMIN)
    ours = [v for v in report.variances if v.key in keys]
    assert [(v.variance_class, v.ledger_id) for v in ours] == [(VarianceClass.QUANTITY_MISMATCH, form_id)]
    [found] = ours
    assert found.fields == {f"quantity {item}": {"rms": "2", "ledger": "1", "item": label}}
    assert found.difference_minor is None and found.rma == doc["rma_number"]
    for cur, row in report.totals["by_currency"].items():
        assert Decimal(row["difference"]) == Decimal(row["explained"]), (cur, row)

    [queued] = [v for v in world.reconcile.queue(org) if v["class"] == VarianceClass.QUANTITY_MISMATCH.value]
    pack = audit_pack.build(world.db, org, doc["rma_number"])
    [listed] = pack["reconciliation"]
    assert (listed["class"], listed["difference"], listed["fields"]) == (
        "quantity_mismatch", None, {f"quantity {item}": {"rms": "2", "ledger": "1", "item": label}})
    assert pack["status"] == "open variances"
    plan = AdjustService(world.db, world.clock, world.bus, world.mapping).plan(
        org, queued["id"], "any-debit", "any-credit")
    assert [p.code for p in plan.problems] == ["nothing_to_adjust"] and plan.document is None
