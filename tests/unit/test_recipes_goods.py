"""Issue 16, item 1 at recipe level, for companies that do not track inventory in the ledger: the goods
journal by disposition — restock / refurbish (Dr inventory asset, Cr COGS), damaged (the RMS's SCRAP:
Dr write-off, Cr COGS, or nothing per the "Damaged goods" setting), return to vendor (no goods effect
yet), cost unknown (a ``cost_unknown`` problem naming the SKU, or the ledger item's own cost) — on both
platforms, read field by field from the rendered payloads.

Each platform is one :class:`Case` (its reference data, rules and how its journal payload reads);
the tests run every case alike, so no test asks which platform it has.
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
    DamagedGoods,
    GoodsPosting,
    OrgSettings,
    PostingMode,
    ReturnLine,
    ReturnRecord,
)
from desktop.services.core.enums import RefundMethod
from desktop.services.core.money import Money
from desktop.services.mapping.model import MatchContext, Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.validate import contexts_for_return
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.preflight import preflight
from desktop.services.pipeline.recipes import build_documents, summary_documents
from desktop.services.platforms.base import RefKind, RefRecord
from tests.helpers.recipes import make_return, qbo_rules, qbo_snapshot, resolver, taxed_line, xero_rules, xero_snapshot

GOODS = OrgSettings(goods_posting=GoodsPosting.JOURNAL)
NO_EFFECT = replace(GOODS, damaged_goods=DamagedGoods.NO_INVENTORY_EFFECT)
TODAY = date(2026, 11, 21)
Held = list[tuple[str, str, Decimal]]  # (account as the payload names it, Debit/Credit, amount)


def _qbo_lines(doc: LedgerDocument) -> Held:
    return [(ln["JournalEntryLineDetail"]["AccountRef"]["value"], ln["JournalEntryLineDetail"]["PostingType"],
             ln["Amount"]) for ln in doc.payload["Line"]]


def _xero_lines(doc: LedgerDocument) -> Held:
    [body] = doc.payload["ManualJournals"]
    return [(ln["AccountCode"], "Debit" if ln["LineAmount"] > 0 else "Credit", abs(ln["LineAmount"]))
            for ln in body["JournalLines"]]


def _qbo_snapshot() -> ReferenceSnapshot:
    snap = qbo_snapshot(currencies=("CAD",))
    a = RefKind.ACCOUNT
    return replace(snap, accounts={
        **snap.accounts,
        "40": RefRecord(a, "40", "Inventory Asset", type="Other Current Asset", raw={"AccountSubType": "Inventory"}),
        "41": RefRecord(a, "41", "Cost of Goods Sold", type="Cost of Goods Sold"),
        "42": RefRecord(a, "42", "Inventory Shrinkage", type="Cost of Goods Sold"),
    }, items={**snap.items, "70": RefRecord(RefKind.ITEM, "70", "Trail Tent", type="NonInventory",
                                            raw={"Sku": "SKU-7", "PurchaseCost": Decimal("41.25")})})


def _xero_snapshot() -> ReferenceSnapshot:
    snap = xero_snapshot()
    a = RefKind.ACCOUNT
    return replace(snap, accounts={
        **snap.accounts,
        "acc-630": RefRecord(a, "acc-630", "Inventory", code="630", type="INVENTORY"),
        "acc-310": RefRecord(a, "acc-310", "Cost of Goods Sold", code="310", type="DIRECTCOSTS"),
        "acc-315": RefRecord(a, "acc-315", "Inventory Write-off", code="315", type="DIRECTCOSTS"),
    }, items={"item-7": RefRecord(RefKind.ITEM, "item-7", "Trail Tent", code="SKU-7",
                                  raw={"Code": "SKU-7", "PurchaseDetails": {"UnitPrice": Decimal("41.25")}})})


@dataclass(frozen=True)
class Case:
    """One platform as these tests meet it."""

    org: str
    home: str
    foreign: str
    snapshot: Callable[[], ReferenceSnapshot]
    rules: list[Rule]
    fx: FxRates
    journal_type: str
    inventory: str     # the account as the journal payload names it
    cogs: str
    write_off: str
    held: Callable[[LedgerDocument], Held]
    #: A foreign return's goods journal of 35.00: its currency and amount (a journal without a
    #: currency of its own is converted once at the return's rate).
    foreign_goods: tuple[str, Decimal]

    def goods_rules(self) -> list[Rule]:
        ids = {"inventory": self.inventory, "cogs": self.cogs, "write_off": self.write_off}
        snap = self.snapshot()
        by_label = {rec.code or rec.remote_id: rec.remote_id for rec in snap.accounts.values()}
        return [*self.rules,
                Rule(Component.INVENTORY_ASSET, account_id=by_label[ids["inventory"]]).with_id(50),
                Rule(Component.COGS, account_id=by_label[ids["cogs"]]).with_id(51),
                Rule(Component.INVENTORY_WRITE_OFF, account_id=by_label[ids["write_off"]]).with_id(52)]


CASES = [
    Case("ACME-US", "USD", "CAD", _qbo_snapshot, qbo_rules("US"),
         FxRates.from_qbo("USD", [{"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7312"), "AsOfDate": "2026-01-01"}]),
         "JournalEntry", "40", "41", "42", _qbo_lines, ("CAD", Decimal("35.00"))),
    Case("KIWI-NZ", "NZD", "AUD", _xero_snapshot, xero_rules(),
         FxRates.from_xero("NZD", [("AUD", date(2026, 1, 1), Decimal("1.0850"))]),
         "ManualJournal", "630", "310", "315", _xero_lines, ("NZD", Decimal("32.26"))),
]
IDS = [c.journal_type for c in CASES]


def _line(n: int, disposition: str, qty: str, price: str, cost: str | None, cur: str) -> ReturnLine:
    line = replace(taxed_line(n, qty, price, cur, []), disposition=disposition)
    return replace(line, unit_cost=Money(Decimal(cost), cur) if cost is not None else None)


def _build(case: Case, ret: ReturnRecord, settings: OrgSettings, rules: list[Rule] | None = None,
           ) -> tuple[list[LedgerDocument], list[str]]:
    snap = case.snapshot()
    docs, problems = build_documents(ret, resolver(rules or case.goods_rules(), snap), snap, settings, case.fx)
    problems += preflight(docs, ret, snap, settings, TODAY)
    for d in docs:
        assert d.is_balanced(), d.journal
    return docs, [p.code for p in problems]


def _goods(docs: list[LedgerDocument]) -> LedgerDocument | None:
    found = [d for d in docs if d.role == "goods_journal"]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_restocked_and_refurbished_goods_go_back_to_inventory_at_cost(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RESTOCK", "2", "30.00", "12.40", cur),
                                      _line(2, "REFURBISH", "1", "80.00", "33.35", cur)])
    docs, problems = _build(case, ret, GOODS)
    assert problems == []
    goods = _goods(docs)
    assert goods is not None and goods.doc_type == case.journal_type and goods.currency == cur
    assert case.held(goods) == [(case.inventory, "Debit", Decimal("24.80")), (case.cogs, "Credit", Decimal("24.80")),
                                (case.inventory, "Debit", Decimal("33.35")), (case.cogs, "Credit", Decimal("33.35"))]
    assert [jl.component for jl in goods.journal] == [Component.INVENTORY_ASSET, Component.COGS] * 2
    assert goods.total == Money(Decimal("58.15"), cur) and goods.refund_effect is None
    assert goods.journal[0].memo == "SKU-1 × 2 at 12.40 (RMS cost) back in stock"
    assert goods.idempotency_key not in {d.idempotency_key for d in docs if d is not goods}
    # the rest of the return is what it was without goods posting
    before, _ = _build(case, ret, OrgSettings())
    assert [d.payload for d in docs if d is not goods] == [d.payload for d in before]
    assert _goods(before) is None


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_damaged_goods_are_written_off_or_left_alone_per_the_setting(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "SCRAP", "3", "10.00", "4.10", cur),
                                      _line(2, "RESTOCK", "1", "10.00", "4.00", cur)])
    docs, problems = _build(case, ret, GOODS)
    goods = _goods(docs)
    assert problems == [] and goods is not None
    assert case.held(goods) == [(case.write_off, "Debit", Decimal("12.30")), (case.cogs, "Credit", Decimal("12.30")),
                                (case.inventory, "Debit", Decimal("4.00")), (case.cogs, "Credit", Decimal("4.00"))]
    assert goods.journal[0].component == Component.INVENTORY_WRITE_OFF
    docs, problems = _build(case, ret, NO_EFFECT)
    goods = _goods(docs)
    assert problems == [] and goods is not None
    assert case.held(goods) == [(case.inventory, "Debit", Decimal("4.00")), (case.cogs, "Credit", Decimal("4.00"))]
    only_damaged = replace(ret, lines=ret.lines[:1])
    docs, problems = _build(case, only_damaged, NO_EFFECT)
    assert problems == [] and _goods(docs) is None


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_goods_returned_to_the_vendor_post_no_goods_journal_and_no_problem(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RETURN_TO_VENDOR", "1", "50.00", None, cur)])
    docs, problems = _build(case, ret, GOODS)
    assert problems == [] and _goods(docs) is None
    assert not any(c.component in (Component.COGS, Component.INVENTORY_ASSET)
                   for c in contexts_for_return(ret, GOODS))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_unknown_cost_is_a_problem_naming_the_sku_never_a_guess(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RESTOCK", "1", "30.00", "12.00", cur),
                                      _line(3, "SCRAP", "2", "30.00", None, cur)])
    snap = case.snapshot()
    docs, problems = build_documents(ret, resolver(case.goods_rules(), snap), snap, GOODS, case.fx)
    assert [p.code for p in problems] == ["cost_unknown"]
    [p] = problems
    assert p.field == "lines[1].unit_cost"
    assert "SKU-3" in p.message and "unit cost" in p.message and "RMS" in p.message and "never guesses" in p.message
    assert "Settings page" in p.message
    # the ledger item's own purchase cost, where the reference data carries one for the SKU
    ret = make_return(case.org, cur, [_line(7, "RESTOCK", "2", "90.00", None, cur)])
    docs, codes = _build(case, ret, GOODS)
    goods = _goods(docs)
    assert codes == [] and goods is not None
    assert case.held(goods) == [(case.inventory, "Debit", Decimal("82.50")), (case.cogs, "Credit", Decimal("82.50"))]
    assert "item cost" in goods.journal[0].memo
    # … in the ledger's home currency only: a foreign return's cost stays unknown
    foreign = make_return(case.org, case.foreign, [_line(7, "RESTOCK", "2", "90.00", None, case.foreign)],
                          method=RefundMethod.STORE_CREDIT)
    _, codes = _build(case, foreign, GOODS)
    assert codes == ["cost_unknown"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_goods_posting_off_posts_no_goods_and_asks_for_no_cost(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RESTOCK", "1", "30.00", None, cur)])
    docs, problems = _build(case, ret, OrgSettings(), case.rules)
    assert problems == [] and _goods(docs) is None
    assert not any(c.component is Component.COGS for c in contexts_for_return(ret, OrgSettings()))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_unmapped_goods_accounts_are_problems_and_in_use_contexts(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "SCRAP", "1", "30.00", "9.00", cur)])
    _, problems = _build(case, ret, GOODS, case.rules)
    assert problems == ["unmapped_component", "unmapped_component"]
    wanted = {(c.component, c.disposition) for c in contexts_for_return(ret, GOODS)
              if isinstance(c, MatchContext) and c.component in (Component.INVENTORY_WRITE_OFF, Component.COGS)}
    assert wanted == {(Component.INVENTORY_WRITE_OFF, "SCRAP"), (Component.COGS, "SCRAP")}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_foreign_return_moves_its_goods_at_the_returns_rate(case: Case) -> None:
    cur = case.foreign
    ret = make_return(case.org, cur, [_line(1, "RESTOCK", "2", "40.00", "17.50", cur)],
                      method=RefundMethod.STORE_CREDIT)
    docs, problems = _build(case, ret, GOODS)
    goods = _goods(docs)
    assert problems == [] and goods is not None
    assert goods.fx == docs[0].fx and goods.fx is not None and goods.fx.currency == cur
    currency, amount = case.foreign_goods
    assert goods.currency == currency
    assert case.held(goods) == [(case.inventory, "Debit", amount), (case.cogs, "Credit", amount)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_daily_summary_carries_the_goods_lines_too(case: Case) -> None:
    cur = case.home
    settings = replace(GOODS, posting_mode=PostingMode.DAILY_SUMMARY)
    rets = [replace(make_return(case.org, cur, [_line(1, "RESTOCK", "1", "30.00", "12.00", cur)]), rms_id=f"r{n}")
            for n in range(3)]
    snap = case.snapshot()
    [doc], problems = summary_documents(rets, resolver(case.goods_rules(), snap), snap, settings, case.fx)
    assert problems == [] and doc.is_balanced()
    net: dict[Any, Decimal] = {}
    for jl in doc.journal:
        net[jl.component] = net.get(jl.component, Decimal(0)) + jl.signed.amount
    assert net[Component.INVENTORY_ASSET] == Decimal("36.00") and net[Component.COGS] == Decimal("-36.00")
