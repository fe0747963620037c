"""Issue 16, item 1 at recipe level for companies whose ledger tracks inventory (``recipes/tracked.py``):
goods back in stock of a tracked SKU go through the ledger's inventory item on the sales form's line
(QBO ``ItemRef`` + ``Qty``, Xero ``ItemCode`` + ``Quantity``) and post no goods journal; the preview
shows the inventory / COGS effect the ledger books; damaged goods of a tracked SKU are not restocked
but written off at the item's cost; untracked SKUs keep the goods journal; a daily summary keeps the
journal for every line. Each platform is one :class:`Case` (a table), so no test asks which it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from desktop.services.core.domain import (
    Component,
    GoodsPosting,
    OrgSettings,
    PostingMode,
    ReturnLine,
    ReturnRecord,
)
from desktop.services.core.enums import RefundMethod
from desktop.services.core.money import Money
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.recipes import build_documents, summary_documents
from desktop.services.platforms.base import STOCK_KEY, RefKind, RefRecord
from tests.helpers.recipes import make_return, qbo_rules, qbo_snapshot, resolver, taxed_line, xero_rules, xero_snapshot

GOODS = OrgSettings(goods_posting=GoodsPosting.JOURNAL)
Held = list[tuple[str, str, Decimal]]
A = RefKind.ACCOUNT


def _qbo_snapshot() -> ReferenceSnapshot:
    snap = qbo_snapshot(currencies=("CAD",))
    stock = {"tracked": True, "cost": "12.00", "average_cost": None, "asset_account": "40", "cogs_account": "41",
             "qty_on_hand": "20"}
    return replace(snap, accounts={
        **snap.accounts,
        "40": RefRecord(A, "40", "Inventory Asset", type="Other Current Asset", raw={"AccountSubType": "Inventory"}),
        "41": RefRecord(A, "41", "Cost of Goods Sold", type="Cost of Goods Sold"),
        "42": RefRecord(A, "42", "Inventory Shrinkage", type="Cost of Goods Sold"),
        "43": RefRecord(A, "43", "Sales of Product Income", type="Income"),
    }, items={**snap.items, "71": RefRecord(RefKind.ITEM, "71", "Trail Tent", type="Inventory", parent_id="43",
                                            raw={"Sku": "SKU-1", "PurchaseCost": "12.00", STOCK_KEY: stock})})


def _xero_snapshot() -> ReferenceSnapshot:
    snap = xero_snapshot()
    stock = {"tracked": True, "cost": "12.00", "average_cost": "11.50", "asset_account": "630",
             "cogs_account": "310", "qty_on_hand": "20", "accounts_by": "code"}
    return replace(snap, accounts={
        **snap.accounts,
        "acc-630": RefRecord(A, "acc-630", "Inventory", code="630", type="INVENTORY"),
        "acc-310": RefRecord(A, "acc-310", "Cost of Goods Sold", code="310", type="DIRECTCOSTS"),
        "acc-315": RefRecord(A, "acc-315", "Inventory Write-off", code="315", type="DIRECTCOSTS"),
    }, items={"item-1": RefRecord(RefKind.ITEM, "item-1", "Trail Tent", code="SKU-1",
                                  raw={"Code": "SKU-1", "PurchaseDetails": {"UnitPrice": "12.00"}, STOCK_KEY: stock})})


def _qbo_item_lines(doc: LedgerDocument) -> list[tuple[str, Any]]:
    return [(ln["SalesItemLineDetail"]["ItemRef"]["value"], ln["SalesItemLineDetail"].get("Qty"))
            for ln in doc.payload["Line"]]


def _xero_item_lines(doc: LedgerDocument) -> list[tuple[str, Any]]:
    [body] = doc.payload["CreditNotes"]
    return [(ln.get("ItemCode", ""), ln["Quantity"]) for ln in body["LineItems"]]


def _qbo_held(doc: LedgerDocument) -> Held:
    return [(ln["JournalEntryLineDetail"]["AccountRef"]["value"], ln["JournalEntryLineDetail"]["PostingType"],
             ln["Amount"]) for ln in doc.payload["Line"]]


def _xero_held(doc: LedgerDocument) -> Held:
    [body] = doc.payload["ManualJournals"]
    return [(ln["AccountCode"], "Debit" if ln["LineAmount"] > 0 else "Credit", abs(ln["LineAmount"]))
            for ln in body["JournalLines"]]


@dataclass(frozen=True)
class Case:
    org: str
    home: str
    snapshot: Callable[[], ReferenceSnapshot]
    rules: list[Rule]
    #: (inventory, COGS, write-off) as the rules name them (account ids) and as journal payloads name them
    ids: tuple[str, str, str]
    shown: tuple[str, str, str]
    tracked_item: str             # how the sales form line names the tracked item
    untracked_item: str           # … and an ordinary line (no item where the platform names none)
    item_cost: Decimal            # the unit cost the preview estimates and a tracked write-off uses
    revenue_account: str          # the account the preview books a tracked line's revenue to
    items: Callable[[LedgerDocument], list[tuple[str, Any]]]
    held: Callable[[LedgerDocument], Held]
    foreign: str
    fx: FxRates
    replacement: Rule             # where an exchange's replacement goods are sold
    sales_lines: Callable[[LedgerDocument], list[dict[str, Any]]]

    def goods_rules(self) -> list[Rule]:
        inv, cogs, wo = self.ids
        return [*self.rules, self.replacement, Rule(Component.INVENTORY_ASSET, account_id=inv).with_id(50),
                Rule(Component.COGS, account_id=cogs).with_id(51),
                Rule(Component.INVENTORY_WRITE_OFF, account_id=wo).with_id(52)]


CASES = [
    Case("ACME-US", "USD", _qbo_snapshot, qbo_rules("US"), ("40", "41", "42"), ("40", "41", "42"), "71", "1",
         Decimal("12.00"), "43", _qbo_item_lines, _qbo_held, "CAD",
         FxRates.from_qbo("USD", [{"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7312"), "AsOfDate": "2026-01-01"}]),
         Rule(Component.REPLACEMENT, account_id="43", item_id="1").with_id(49), lambda d: d.payload["Line"]),
    Case("KIWI-NZ", "NZD", _xero_snapshot, xero_rules(), ("acc-630", "acc-310", "acc-315"), ("630", "310", "315"),
         "SKU-1", "", Decimal("11.50"), "acc-205", _xero_item_lines, _xero_held, "AUD",
         FxRates.from_xero("NZD", [("AUD", date(2026, 1, 1), Decimal("1.0850"))]),
         Rule(Component.REPLACEMENT, account_id="acc-205", tax_code="NONE").with_id(49),
         lambda d: d.payload["Invoices"][0]["LineItems"]),
]
IDS = [c.org for c in CASES]


def _line(n: int, disposition: str, qty: str, price: str, cost: str | None, cur: str) -> ReturnLine:
    line = replace(taxed_line(n, qty, price, cur, []), disposition=disposition)
    return replace(line, unit_cost=Money(Decimal(cost), cur) if cost is not None else None)


def _build(case: Case, ret: ReturnRecord, settings: OrgSettings) -> list[LedgerDocument]:
    snap = case.snapshot()
    docs, problems = build_documents(ret, resolver(case.goods_rules(), snap), snap, settings, case.fx)
    assert problems == [], problems
    for d in docs:
        assert d.is_balanced(), d.journal
    return docs


def _goods(docs: list[LedgerDocument]) -> LedgerDocument | None:
    found = [d for d in docs if d.role == "goods_journal"]
    return found[0] if found else None


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_restocked_tracked_sku_goes_through_the_ledgers_item_and_posts_no_goods_journal(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RESTOCK", "2", "30.00", "12.40", cur)])
    docs = _build(case, ret, GOODS)
    form = docs[0]
    assert _goods(docs) is None
    assert case.items(form) == [(case.tracked_item, Decimal(2))]
    # the preview shows what the ledger books through its item, at the item's cost
    effect = [(jl.account_id, jl.debit, jl.credit, jl.component) for jl in form.journal
              if jl.component in (Component.INVENTORY_ASSET, Component.COGS)]
    amount = Money(case.item_cost * 2, cur)
    assert effect == [(case.ids[0], amount, None, Component.INVENTORY_ASSET),
                      (case.ids[1], None, amount, Component.COGS)]
    assert all("through item SKU-1" in jl.memo for jl in form.journal if jl.component == Component.COGS)
    [merch] = [jl for jl in form.journal if jl.component == Component.MERCHANDISE]
    assert merch.account_id == case.revenue_account
    # the money is what it was without goods posting
    before = _build(case, ret, OrgSettings())[0]
    assert form.total == before.total and form.refund_effect == before.refund_effect
    assert case.items(before) == [(case.untracked_item, Decimal(2))]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_refurbished_tracked_and_restocked_untracked_lines_split_between_item_and_journal(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "REFURBISH", "1", "80.00", None, cur),
                                      _line(2, "RESTOCK", "3", "10.00", "4.00", cur)])
    docs = _build(case, ret, GOODS)
    assert case.items(docs[0]) == [(case.tracked_item, Decimal(1)), (case.untracked_item, Decimal(3))]
    goods = _goods(docs)
    assert goods is not None
    inv, cogs, _ = case.shown
    assert case.held(goods) == [(inv, "Debit", Decimal("12.00")), (cogs, "Credit", Decimal("12.00"))]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_damaged_goods_of_a_tracked_sku_are_not_restocked_but_written_off_at_the_items_cost(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "SCRAP", "2", "30.00", "9.99", cur)])
    docs = _build(case, ret, GOODS)
    assert case.items(docs[0]) == [(case.untracked_item, Decimal(2))]
    assert not [jl for jl in docs[0].journal if jl.component in (Component.INVENTORY_ASSET, Component.COGS)]
    goods = _goods(docs)
    assert goods is not None
    _, cogs, write_off = case.shown
    amount = case.item_cost * 2
    assert case.held(goods) == [(write_off, "Debit", amount), (cogs, "Credit", amount)]
    assert "tracked item cost" in goods.journal[0].memo


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_goods_posting_off_leaves_the_tracked_sku_on_the_mapped_line(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RESTOCK", "1", "30.00", None, cur)])
    docs = _build(case, ret, OrgSettings())
    assert case.items(docs[0]) == [(case.untracked_item, Decimal(1))] and _goods(docs) is None
    assert not [jl for jl in docs[0].journal if jl.component == Component.COGS]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_daily_summary_keeps_the_goods_journal_lines_for_a_tracked_sku(case: Case) -> None:
    cur = case.home
    settings = replace(GOODS, posting_mode=PostingMode.DAILY_SUMMARY)
    ret = make_return(case.org, cur, [_line(1, "RESTOCK", "1", "30.00", "12.40", cur)])
    snap = case.snapshot()
    docs, problems = summary_documents([ret], resolver(case.goods_rules(), snap), snap, settings, None)
    assert problems == []
    [doc] = docs
    inv, cogs, _ = case.ids
    held = {(jl.account_id, jl.debit is not None) for jl in doc.journal}
    assert (inv, True) in held and (cogs, False) in held


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_foreign_return_restocks_through_the_item_and_the_preview_estimates_at_the_rms_cost(case: Case) -> None:
    cur = case.foreign
    ret = make_return(case.org, cur, [_line(1, "RESTOCK", "2", "40.00", "17.50", cur)],
                      method=RefundMethod.STORE_CREDIT)
    docs = _build(case, ret, GOODS)
    assert _goods(docs) is None and case.items(docs[0]) == [(case.tracked_item, Decimal(2))]
    effect = [(jl.debit, jl.credit) for jl in docs[0].journal if "through item" in jl.memo]
    assert effect == [(Money(Decimal("35.00"), cur), None), (None, Money(Decimal("35.00"), cur))]
    # … and no estimate at all where nobody knows a cost in the return's currency: the ledger costs it
    unknown = make_return(case.org, cur, [_line(1, "RESTOCK", "2", "40.00", None, cur)],
                          method=RefundMethod.STORE_CREDIT)
    docs = _build(case, unknown, GOODS)
    assert _goods(docs) is None and case.items(docs[0]) == [(case.tracked_item, Decimal(2))]
    assert not [jl for jl in docs[0].journal if "through item" in jl.memo]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_dearer_exchange_keeps_the_tracked_sku_on_the_goods_journal(case: Case) -> None:
    """Posted as a sale (the lines negated), a tracked item on the returned line would leave stock."""
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RESTOCK", "1", "30.00", "12.40", cur)], method=RefundMethod.EXCHANGE)
    swap = replace(taxed_line(9, "1", "50.00", cur, []), reason_code="EXCHANGE", disposition="EXCHANGE")
    docs = _build(case, replace(ret, replacements=(swap,)), GOODS)
    assert not [ln for ln in case.sales_lines(docs[0]) if case.tracked_item in str(ln)]
    goods = _goods(docs)
    assert goods is not None
    inv, cogs, _ = case.shown
    assert case.held(goods) == [(inv, "Debit", Decimal("12.40")), (cogs, "Credit", Decimal("12.40"))]
