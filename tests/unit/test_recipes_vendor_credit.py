"""Issue 16, item 1 — return to vendor, at recipe level: a ``RETURN_TO_VENDOR`` line makes one vendor
credit per return (QBO ``VendorCredit``, Xero ``ACCPAYCREDIT``) against the supplier the mapping
names — through the tracked item where the ledger tracks the SKU, else against the mapped inventory
asset account; a missing supplier rule is a problem naming the rule, never a guess.

Each platform is one :class:`Case` (reference data, rules, how its payload reads); the tests run
every case alike, so no test asks which platform it has.
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
    ReturnToVendor,
)
from desktop.services.core.enums import RefundMethod
from desktop.services.core.money import Money
from desktop.services.mapping.io import export_document, rules_from_document
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.validate import contexts_for_return, validate
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.pipeline.fx import FxRates
from desktop.services.pipeline.preflight import preflight
from desktop.services.pipeline.recipes import build_documents, platform_for
from desktop.services.platforms.base import STOCK_KEY, RefKind, RefRecord
from tests.helpers.recipes import make_return, qbo_rules, qbo_snapshot, resolver, taxed_line, xero_rules, xero_snapshot

GOODS = OrgSettings(goods_posting=GoodsPosting.JOURNAL, return_to_vendor=ReturnToVendor.VENDOR_CREDIT)
TODAY = date(2026, 11, 21)
A, IT, V = RefKind.ACCOUNT, RefKind.ITEM, RefKind.VENDOR
#: (item id or code, account id, quantity, unit cost, amount) of one vendor credit line, as the payload says it
Held = list[tuple[str | None, str | None, Decimal | None, Decimal | None, Decimal]]


def _qbo_snapshot() -> ReferenceSnapshot:
    snap = qbo_snapshot(currencies=("CAD",))
    return replace(snap, accounts={
        **snap.accounts,
        "33": RefRecord(A, "33", "Accounts Payable (A/P)", type="Accounts Payable"),
        "40": RefRecord(A, "40", "Inventory Asset", type="Other Current Asset", raw={"AccountSubType": "Inventory"}),
        "41": RefRecord(A, "41", "Cost of Goods Sold", type="Cost of Goods Sold"),
    }, items={**snap.items,
              "70": RefRecord(IT, "70", "Trail Tent", type="NonInventory",
                              raw={"Sku": "SKU-7", "PurchaseCost": "41.25"}),
              "80": RefRecord(IT, "80", "Headlamp", type="Inventory", raw={
                  "Sku": "SKU-8", "PurchaseCost": "9.10",
                  STOCK_KEY: {"tracked": True, "cost": "9.10", "asset_account": "40", "cogs_account": "41",
                              "qty_on_hand": "20"}})},
        vendors={"v-1": RefRecord(V, "v-1", "Summit Supply", currency="USD"),
                 "v-2": RefRecord(V, "v-2", "Maple Wholesale", currency="CAD"),
                 "v-9": RefRecord(V, "v-9", "Gone Ltd", active=False)})


def _xero_snapshot() -> ReferenceSnapshot:
    snap = xero_snapshot()
    return replace(snap, accounts={
        **snap.accounts,
        "acc-800": RefRecord(A, "acc-800", "Accounts Payable", code="800", type="CURRLIAB",
                             raw={"SystemAccount": "CREDITORS"}),
        "acc-630": RefRecord(A, "acc-630", "Inventory", code="630", type="INVENTORY"),
        "acc-310": RefRecord(A, "acc-310", "Cost of Goods Sold", code="310", type="DIRECTCOSTS"),
    }, items={"item-7": RefRecord(IT, "item-7", "Trail Tent", code="SKU-7",
                                  raw={"Code": "SKU-7", "PurchaseDetails": {"UnitPrice": "41.25"}}),
              "item-8": RefRecord(IT, "item-8", "Headlamp", code="SKU-8", raw={
                  "Code": "SKU-8", "PurchaseDetails": {"UnitPrice": "9.10"},
                  STOCK_KEY: {"tracked": True, "cost": "9.10", "asset_account": "630", "cogs_account": "310",
                              "accounts_by": "code", "qty_on_hand": "20"}})},
        vendors={"v-1": RefRecord(V, "v-1", "Summit Supply"), "v-2": RefRecord(V, "v-2", "Maple Wholesale"),
                 "v-9": RefRecord(V, "v-9", "Gone Ltd", active=False)})


def _qbo_held(doc: LedgerDocument) -> Held:
    out: Held = []
    for ln in doc.payload["Line"]:
        d = ln.get("ItemBasedExpenseLineDetail") or ln["AccountBasedExpenseLineDetail"]
        out.append(((d.get("ItemRef") or {}).get("value"), (d.get("AccountRef") or {}).get("value"), d.get("Qty"),
                    d.get("UnitPrice"), ln["Amount"]))
    return out


def _xero_held(doc: LedgerDocument) -> Held:
    [body] = doc.payload["CreditNotes"]
    return [(ln.get("ItemCode"), ln.get("AccountID"), ln.get("Quantity") if ln.get("ItemCode") else None,
             ln.get("UnitAmount"), ln.get("LineAmount") or ln["Quantity"] * ln["UnitAmount"])
            for ln in body["LineItems"]]


def _qbo_head(doc: LedgerDocument) -> dict[str, Any]:
    p = doc.payload
    return {"vendor": p["VendorRef"]["value"], "currency": p["CurrencyRef"]["value"], "rate": p.get("ExchangeRate"),
            "key_at": p["PrivateNote"]}


def _xero_head(doc: LedgerDocument) -> dict[str, Any]:
    [p] = doc.payload["CreditNotes"]
    assert p["Type"] == "ACCPAYCREDIT" and p["Status"] == "AUTHORISED"
    return {"vendor": p["Contact"]["ContactID"], "currency": p["CurrencyCode"], "rate": p.get("CurrencyRate"),
            "key_at": p["CreditNoteNumber"]}


@dataclass(frozen=True)
class Case:
    org: str
    home: str
    foreign: str
    snapshot: Callable[[], ReferenceSnapshot]
    rules: list[Rule]
    fx: FxRates
    doc_type: str
    inventory: str        # the inventory asset account's id
    payable: str          # the Accounts Payable account's id
    tracked: str          # how a line names the tracked item (QBO item id, Xero item code)
    held: Callable[[LedgerDocument], Held]
    head: Callable[[LedgerDocument], dict[str, Any]]
    foreign_rate: Decimal  # what the payload carries for the foreign currency's rate
    foreign_vendor: str    # the vendor a foreign return's rule names

    def vendor_rules(self, vendor: str = "v-1") -> list[Rule]:
        return [*self.rules, Rule(Component.INVENTORY_ASSET, account_id=self.inventory).with_id(50),
                Rule(Component.COGS, account_id=self.cogs()).with_id(51),
                Rule(Component.RETURN_TO_VENDOR, account_id=vendor).with_id(53)]

    def cogs(self) -> str:
        snap = self.snapshot()
        return next(a.remote_id for a in snap.accounts.values() if a.name == "Cost of Goods Sold")


CASES = [
    Case("ACME-US", "USD", "CAD", _qbo_snapshot, qbo_rules("US"),
         FxRates.from_qbo("USD", [{"SourceCurrencyCode": "CAD", "Rate": Decimal("0.7312"), "AsOfDate": "2026-01-01"}]),
         "VendorCredit", "40", "33", "80", _qbo_held, _qbo_head, Decimal("0.7312"), "v-2"),
    Case("KIWI-NZ", "NZD", "AUD", _xero_snapshot, xero_rules(),
         FxRates.from_xero("NZD", [("AUD", date(2026, 1, 1), Decimal("1.0850"))]),
         "CreditNote", "acc-630", "acc-800", "SKU-8", _xero_held, _xero_head, Decimal("1.0850"), "v-2"),
]
IDS = [c.doc_type for c in CASES]


def _line(n: int, disposition: str, qty: str, price: str, cost: str | None, cur: str) -> ReturnLine:
    line = replace(taxed_line(n, qty, price, cur, []), disposition=disposition)
    return replace(line, unit_cost=Money(Decimal(cost), cur) if cost is not None else None)


def _build(case: Case, ret: ReturnRecord, settings: OrgSettings, rules: list[Rule] | None = None,
           ) -> tuple[list[LedgerDocument], list[str]]:
    snap = case.snapshot()
    docs, problems = build_documents(ret, resolver(case.vendor_rules() if rules is None else rules, snap), snap,
                                     settings, case.fx)
    problems += preflight(docs, ret, snap, settings, TODAY)
    for d in docs:
        assert d.is_balanced(), d.journal
    return docs, [p.code for p in problems]


def build_platform(case: Case) -> Any:
    """The recipes of the case's platform (its facts), looked up as the app does."""
    return platform_for(case.snapshot().platform)


def _credits(docs: list[LedgerDocument]) -> list[LedgerDocument]:
    return [d for d in docs if d.role == "vendor_credit"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_vendor_credit_against_the_mapped_supplier(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RETURN_TO_VENDOR", "2", "30.00", "12.40", cur),
                                      _line(8, "RETURN_TO_VENDOR", "3", "20.00", None, cur),
                                      _line(3, "RESTOCK", "1", "30.00", "10.00", cur)])
    docs, problems = _build(case, ret, GOODS)
    assert problems == []
    [vc] = _credits(docs)
    assert vc.doc_type == case.doc_type and vc.currency == cur and vc.refund_effect is None
    assert vc.total == Money(Decimal("52.10"), cur)  # 2 × 12.40 + 3 × 9.10 (the tracked item's ledger cost)
    # untracked SKU-1 against the mapped inventory account; tracked SKU-8 through its item, with quantity
    assert case.held(vc) == [(None, case.inventory, None, None, Decimal("24.80")),
                             (case.tracked, None, Decimal("3"), Decimal("9.10"), Decimal("27.30"))]
    head = case.head(vc)
    assert head["vendor"] == "v-1" and head["currency"] == cur and head["rate"] is None
    assert vc.idempotency_key in head["key_at"]
    assert [(jl.account_id, jl.debit is not None, jl.amount.amount) for jl in vc.journal] == [
        (case.payable, True, Decimal("52.10")), (case.inventory, False, Decimal("24.80")),
        (case.inventory, False, Decimal("27.30"))]
    assert vc.journal[1].memo == "SKU-1 × 2 at 12.40 (RMS cost) returned to vendor"
    assert vc.idempotency_key not in {d.idempotency_key for d in docs if d is not vc}
    # the goods journal still carries only the restocked line; the rest of the return is unchanged
    [goods] = [d for d in docs if d.role == "goods_journal"]
    assert goods.total == Money(Decimal("10.00"), cur)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_missing_supplier_rule_is_a_problem_naming_the_rule(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RETURN_TO_VENDOR", "1", "50.00", "20.00", cur)])
    rules = [r for r in case.vendor_rules() if r.component is not Component.RETURN_TO_VENDOR]
    snap = case.snapshot()
    docs, problems = build_documents(ret, resolver(rules, snap), snap, GOODS, case.fx)
    assert [p.code for p in problems] == ["unmapped_component"] and not _credits(docs)
    assert "Supplier (goods returned to vendor)" in problems[0].message
    wanted = {(c.component, c.disposition) for c in contexts_for_return(ret, GOODS)
              if c.component in (Component.RETURN_TO_VENDOR, Component.INVENTORY_ASSET, Component.COGS)}
    assert wanted == {(Component.RETURN_TO_VENDOR, "RETURN_TO_VENDOR"), (Component.INVENTORY_ASSET, "RETURN_TO_VENDOR")}
    codes = [p.code for p in validate(rules, snap, contexts_for_return(ret, GOODS))]
    assert "unmapped" in codes


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_supplier_rules_name_a_known_active_vendor(case: Case) -> None:
    snap = case.snapshot()
    checked = {v: [p.code for p in validate([Rule(Component.RETURN_TO_VENDOR, account_id=v).with_id(1)], snap)]
               for v in ("v-1", "v-9", "nobody")}
    assert checked == {"v-1": [], "v-9": ["inactive_vendor"], "nobody": ["unknown_vendor"]}
    assert [p.code for p in validate([Rule(Component.RETURN_TO_VENDOR).with_id(1)], snap)] == ["missing_vendor"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_an_unknown_cost_is_cost_unknown_and_posting_off_posts_nothing(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RETURN_TO_VENDOR", "1", "50.00", None, cur)])
    docs, problems = _build(case, ret, GOODS)
    assert problems == ["cost_unknown"] and not _credits(docs)
    for off in (OrgSettings(), replace(GOODS, return_to_vendor=ReturnToVendor.NOTHING)):  # the defaults
        docs, problems = _build(case, ret, off, case.rules)
        assert problems == [] and not _credits(docs)
        assert not any(c.component is Component.RETURN_TO_VENDOR for c in contexts_for_return(ret, off))
    summary = replace(GOODS, posting_mode=PostingMode.DAILY_SUMMARY)
    docs, _ = _build(case, replace(ret, lines=(replace(ret.lines[0], unit_cost=Money(Decimal(5), cur)),)), summary)
    assert not _credits(docs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_two_suppliers_on_one_return_are_a_problem(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RETURN_TO_VENDOR", "1", "50.00", "20.00", cur),
                                      replace(_line(2, "RETURN_TO_VENDOR", "1", "50.00", "20.00", cur),
                                              reason_code="WRONG_ITEM")])
    rules = [*case.vendor_rules(), Rule(Component.RETURN_TO_VENDOR, reason_code="WRONG_ITEM",
                                        account_id="v-2").with_id(54)]
    docs, problems = _build(case, ret, GOODS, rules)
    assert problems == ["vendor_conflict"] and not _credits(docs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_foreign_return_credits_the_supplier_in_its_currency(case: Case) -> None:
    cur = case.foreign
    ret = make_return(case.org, cur, [_line(1, "RETURN_TO_VENDOR", "2", "40.00", "17.50", cur)],
                      method=RefundMethod.STORE_CREDIT)
    docs, problems = _build(case, ret, GOODS, case.vendor_rules(case.foreign_vendor))
    assert problems == []
    [vc] = _credits(docs)
    head = case.head(vc)
    assert vc.currency == cur and head["currency"] == cur and head["rate"] == case.foreign_rate
    assert vc.fx is not None and vc.fx == docs[0].fx
    assert case.held(vc) == [(None, case.inventory, None, None, Decimal("35.00"))]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_supplier_rule_travels_through_mapping_files_by_vendor_name(case: Case) -> None:
    snap = case.snapshot()
    rule = Rule(Component.RETURN_TO_VENDOR, disposition="RETURN_TO_VENDOR", account_id="v-2").with_id(1)
    doc = export_document([rule], snapshot=snap)
    assert doc["rules"] == [{"component": "return_to_vendor", "disposition": "RETURN_TO_VENDOR",
                             "vendor": {"id": "v-2", "name": "Maple Wholesale"}}]
    [back], problems = rules_from_document(doc, snap)
    assert problems == [] and back.account_id == "v-2"
    # a template names the supplier by name only (ids differ per company); an unknown one is reported
    by_name = {**doc, "rules": [{"component": "return_to_vendor", "vendor": {"name": "summit supply"}}]}
    [back], problems = rules_from_document(by_name, snap)
    assert problems == [] and back.account_id == "v-1"
    nobody = {**doc, "rules": [{"component": "return_to_vendor", "vendor": "Nobody Ltd"}]}
    _rules, problems = rules_from_document(nobody, snap)
    assert [(p.code, p.field) for p in problems] == [("not_found", "rules[0].vendor")]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_supplier_rule_without_a_vendor_is_a_problem_not_a_silent_skip(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RETURN_TO_VENDOR", "1", "50.00", "20.00", cur)])
    rules = [r for r in case.vendor_rules() if r.component is not Component.RETURN_TO_VENDOR]
    docs, problems = _build(case, ret, GOODS, [*rules, Rule(Component.RETURN_TO_VENDOR).with_id(53)])
    assert problems == ["missing_vendor"] and not _credits(docs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_lines_carry_the_untaxed_code_only_where_the_ledger_has_one(case: Case) -> None:
    cur = case.home
    ret = make_return(case.org, cur, [_line(1, "RETURN_TO_VENDOR", "1", "50.00", "20.00", cur)])
    [vc] = _credits(_build(case, ret, GOODS)[0])
    entity = build_platform(case).profile.entity_of(vc.doc_type, vc.payload)
    untaxed = build_platform(case).vendor_credit_tax_code
    codes = [ln.get("TaxType") or (ln.get("AccountBasedExpenseLineDetail") or {}).get("TaxCodeRef")
             for ln in entity.get("LineItems") or entity.get("Line")]
    assert codes == [untaxed] and (untaxed is None or untaxed in case.snapshot().tax_codes)
