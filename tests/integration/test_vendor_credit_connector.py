"""Vendor credits and item stock through the app's own connectors, against the sandbox, both platforms.

The reference data carries, per ledger item, whether the ledger tracks it, its cost (Money) and its
asset / COGS accounts, and lists the vendors goods go back to; a vendor credit (QBO ``VendorCredit``,
Xero ``ACCPAYCREDIT``) is posted through the posting interface, found again by its key, sent again
without a second document, and taken back — deleted where QuickBooks offers no void.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.sandbox.rms.catalog import PROFILES as CATALOGS
from desktop.services.auth.platforms import Platform
from desktop.services.connections.refcache import item_stock, items_by_sku, store_reference_data, stored_vendors
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.keys import idempotency_key
from desktop.services.core.money import Money
from desktop.services.platforms.base import RefKind, RefRecord
from desktop.services.platforms.interface import KeyQuery, LedgerPlatform, VendorCreditDraft, VendorCreditLine
from desktop.services.platforms.registry import platform_for
from desktop.services.platforms.shapes import Outcome
from desktop.services.store.db import Database
from desktop.services.store.models import RefItem
from desktop.services.store.testing import make_connection, make_org
from tests.helpers.sandbox import DEMO_COMPANIES, SandboxHandle, memory_connection

#: (organization, home currency, inventory and COGS account names, how a vendor credit is taken back)
CASES = {Platform.QBO: ("ACME-US", "USD", "Inventory Asset", "Cost of Goods Sold", "deleted"),
         Platform.XERO: ("KIWI-NZ", "NZD", "Inventory", "Cost of Goods Sold", "voided")}


def _connect(sandbox: SandboxHandle, platform: Platform) -> LedgerPlatform:
    org = CASES[platform][0]
    _platform, company = DEMO_COMPANIES[org]
    conn = memory_connection(sandbox.info, platform, company)
    return platform_for(platform).connect(conn.http, conn.base, company)


def _qty(sandbox: SandboxHandle, platform: Platform, sku: str) -> str:
    stock = sandbox.control("GET", f"stock/{platform.value}/{CASES[platform][0]}")
    return str(next(i["qty_on_hand"] for i in stock["items"] if sku in (i.get("sku"), i.get("code"))))


def _named(accounts: list[RefRecord], name: str) -> str:
    return next(a.remote_id for a in accounts if a.name == name)


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=lambda p: p.value)
def test_reference_data_carries_item_stock_and_vendors(sandbox: SandboxHandle, platform: Platform) -> None:
    org, home, asset, cogs, _verb = CASES[platform]
    ledger = _connect(sandbox, platform)
    data = ledger.reference_data([RefKind.ACCOUNT, RefKind.ITEM, RefKind.VENDOR])
    assert data[RefKind.VENDOR] and all(v.kind is RefKind.VENDOR for v in data[RefKind.VENDOR])
    stocks = items_by_sku(data[RefKind.ITEM], home, data[RefKind.ACCOUNT])
    for product in CATALOGS[org].products:
        stock = stocks[product.sku]
        cost = (product.price * Decimal("0.45")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert stock.tracked and stock.cost == Money(cost, home) and stock.qty_on_hand == 20
        assert stock.asset_account == _named(data[RefKind.ACCOUNT], asset)
        assert stock.cogs_account == _named(data[RefKind.ACCOUNT], cogs)
    assert any(not item_stock(i, home).tracked for i in data[RefKind.ITEM])  # service items, older products


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=lambda p: p.value)
def test_post_find_resend_and_take_back_a_vendor_credit(sandbox: SandboxHandle, platform: Platform) -> None:
    org, home, _asset, _cogs, verb = CASES[platform]
    ledger = _connect(sandbox, platform)
    data = ledger.reference_data([RefKind.ACCOUNT, RefKind.ITEM, RefKind.VENDOR])
    sku = CATALOGS[org].products[0].sku
    stock = items_by_sku(data[RefKind.ITEM], home, data[RefKind.ACCOUNT])[sku]
    assert stock.cost is not None
    key = idempotency_key(org, uuid.uuid4().hex, 1, "vendor_credit")
    draft = VendorCreditDraft(key, data[RefKind.VENDOR][0].remote_id, datetime.now(UTC).date(), home, (
        VendorCreditLine(stock.cost.amount * 2, "Returned to vendor", item_id=stock.item_id, item_code=sku,
                         quantity=Decimal(2), unit_cost=stock.cost.amount),), number="RTV-77", memo="RTV-77")
    mark = f"{key}:1"
    sent = ledger.post_vendor_credit(draft, mark)
    assert sent.outcome is Outcome.POSTED and sent.remote is not None, sent.error
    assert _qty(sandbox, platform, sku) == "18"
    doc_type = ledger.profile.vendor_credit_doc_type
    assert ledger.find_by_keys([KeyQuery(key, doc_type)])[key] == sent.remote
    read = ledger.vendor_credit(sent.remote.remote_id)
    view = ledger.profile.view(doc_type, read.raw)
    assert view.our_key == key and view.live and view.total is not None and view.total >= stock.cost.amount * 2
    again = ledger.post_vendor_credit(draft, mark)  # a lost answer, sent again: answered, not run twice
    assert again.remote is not None and again.remote.remote_id == sent.remote.remote_id
    assert _qty(sandbox, platform, sku) == "18"
    assert verb == ledger.take_back_vendor_credit(sent.remote.remote_id, read.sync_token, f"{key}:undo")
    assert _qty(sandbox, platform, sku) == "20"
    docs: list[dict[str, Any]] = [d for d in sandbox.ledger(platform.value, org) if d["id"] == sent.remote.remote_id]
    assert [(d["status"], d["takeback_requests"]) for d in docs] == [(verb, 1)]
    try:
        gone = ledger.profile.view(doc_type, ledger.vendor_credit(sent.remote.remote_id).raw)
    except NeedsPersonError as exc:  # deleted: the ledger no longer has it
        assert exc.platform_code in type(ledger).gone_codes
    else:
        assert gone.status == verb and not gone.live


def test_the_cache_keeps_item_stock_and_vendors(sandbox: SandboxHandle, db: Database) -> None:
    ledger = _connect(sandbox, Platform.XERO)
    info, data = ledger.company_info(), ledger.reference_data()
    with db.write_session() as s:
        conn_id = make_connection(s, make_org(s, code="KIWI-NZ", timezone="Pacific/Auckland")).id
    counts = store_reference_data(db, conn_id, info, data, datetime.now(UTC))
    assert counts["vendor"] == len(data[RefKind.VENDOR]) >= 2
    only_items = {RefKind.ITEM: data[RefKind.ITEM]}  # a refresh of some kinds keeps the vendors
    store_reference_data(db, conn_id, info, only_items, datetime.now(UTC))
    with db.session() as s:
        vendors = stored_vendors(s, conn_id)
        rows = s.execute(sa.select(RefItem).where(RefItem.connection_id == conn_id)).scalars().all()
        items = [RefRecord(RefKind.ITEM, r.remote_id, r.name, code=r.sku, raw=r.raw or {}) for r in rows]
    assert {v.name for v in vendors} == {v.name for v in data[RefKind.VENDOR]}
    assert {v.remote_id for v in vendors} == {v.remote_id for v in data[RefKind.VENDOR]}
    cached = items_by_sku(items, "NZD", data[RefKind.ACCOUNT])["KWI-HELMET-M"]
    assert cached.tracked and cached.cost == Money(Decimal("58.05"), "NZD") and cached.qty_on_hand == 20
    assert cached.asset_account == _named(data[RefKind.ACCOUNT], "Inventory")
