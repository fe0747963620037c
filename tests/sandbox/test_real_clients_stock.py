"""Inventory items and vendor credits as the official SDKs send and read them (python-quickbooks, xero-python).

What the SDKs send is what real integrations send: anything here the emulator refuses but the real
service accepts is an emulator bug.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from quickbooks.objects.detailline import (
    AccountBasedExpenseLine,
    AccountBasedExpenseLineDetail,
    ItemBasedExpenseLine,
    ItemBasedExpenseLineDetail,
)
from quickbooks.objects.item import Item
from quickbooks.objects.vendor import Vendor
from quickbooks.objects.vendorcredit import VendorCredit
from xero_python.accounting import Contact, CreditNote, CreditNotes, Items, LineItem, Purchase
from xero_python.accounting import Item as XeroItem

from tests.helpers.sdk_clients import quickbooks_session, xero_session

TODAY = datetime.now(UTC).date()  # never ahead of the demo orgs' local date (NZ)


def _qty(sandbox: Any, service: str, company: str, sku: str) -> str:
    stock = sandbox.control("GET", f"stock/{service}/{company}")
    return str(next(i["qty_on_hand"] for i in stock["items"] if sku in (i.get("sku"), i.get("code"))))


def test_python_quickbooks_inventory_item_and_vendor_credit(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with quickbooks_session(sandbox, monkeypatch) as qb:
        [stove] = Item.filter(Sku="ACM-STOVE-01", qb=qb)
        assert (stove.Type, stove.TrackQtyOnHand, stove.QtyOnHand) == ("Inventory", True, 20)
        assert stove.AssetAccountRef.value and stove.ExpenseAccountRef.value and stove.PurchaseCost == 27
        mug = Item()
        mug.Name, mug.Sku, mug.Type = "Camp mug", "ACM-MUG-02", "Inventory"
        mug.TrackQtyOnHand, mug.QtyOnHand, mug.InvStartDate, mug.PurchaseCost = True, 5, "2026-01-01", 3
        mug.IncomeAccountRef, mug.ExpenseAccountRef = stove.IncomeAccountRef, stove.ExpenseAccountRef
        mug.AssetAccountRef = stove.AssetAccountRef
        mug.save(qb=qb)
        assert Item.get(mug.Id, qb=qb).QtyOnHand == 5

        vendor = Vendor.filter(DisplayName="Summit Supply Co.", qb=qb)[0]
        credit = VendorCredit()
        credit.VendorRef = vendor.to_ref()
        credit.DocNumber, credit.PrivateNote = "RTV-SDK-1", "returned stoves"
        goods = ItemBasedExpenseLine()
        goods.Amount = Decimal("54.00")
        goods.ItemBasedExpenseLineDetail = ItemBasedExpenseLineDetail()
        goods.ItemBasedExpenseLineDetail.ItemRef = stove.to_ref()
        goods.ItemBasedExpenseLineDetail.Qty, goods.ItemBasedExpenseLineDetail.UnitPrice = 2, Decimal("27.00")
        freight = AccountBasedExpenseLine()
        freight.Amount = Decimal("8.40")
        freight.AccountBasedExpenseLineDetail = AccountBasedExpenseLineDetail()
        freight.AccountBasedExpenseLineDetail.AccountRef = stove.ExpenseAccountRef
        credit.Line = [goods, freight]
        credit.save(qb=qb)  # (the SDK keeps only the new Id and SyncToken of the answer)
        stored = VendorCredit.get(credit.Id, qb=qb)
        assert Decimal(str(stored.TotalAmt)) == Decimal("62.40") and stored.APAccountRef.value
        assert _qty(sandbox, "qbo", "ACME-US", "ACM-STOVE-01") == "18"
        assert [v.Id for v in VendorCredit.filter(DocNumber="RTV-SDK-1", qb=qb)] == [credit.Id]
        VendorCredit.get(credit.Id, qb=qb).delete(qb=qb)
        assert VendorCredit.filter(DocNumber="RTV-SDK-1", qb=qb) == []
        assert _qty(sandbox, "qbo", "ACME-US", "ACM-STOVE-01") == "20"


def test_xero_python_tracked_item_and_supplier_credit_note(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with xero_session(sandbox, monkeypatch) as x:
        [pump] = x.api.get_item(x.tenant, "KWI-PUMP-FLOOR").items
        assert pump.is_tracked_as_inventory and pump.quantity_on_hand == 20
        assert pump.inventory_asset_account_code == "630" and pump.purchase_details.cogs_account_code == "310"
        made = x.api.create_items(x.tenant, Items(items=[XeroItem(
            code="KWI-GRIP-01", name="Bar grips", inventory_asset_account_code="630",
            purchase_details=Purchase(unit_price=Decimal("4.10"), cogs_account_code="310", tax_type="INPUT2"))]))
        assert made.items[0].is_tracked_as_inventory and made.items[0].quantity_on_hand == 0

        supplier = next(c for c in x.api.get_contacts(x.tenant).contacts if c.is_supplier)
        note = CreditNote(type="ACCPAYCREDIT", contact=Contact(contact_id=supplier.contact_id), date=TODAY,
                          status="AUTHORISED", credit_note_number="RTV-SDK-2",
                          line_items=[LineItem(item_code="KWI-PUMP-FLOOR", quantity=Decimal(2))])
        saved = x.api.create_credit_notes(x.tenant, CreditNotes(credit_notes=[note]), summarize_errors=False)
        created = saved.credit_notes[0]
        assert created.status_attribute_string == "OK", created.validation_errors
        assert str(created.type).endswith("ACCPAYCREDIT") and created.line_items[0].account_code == "630"
        assert _qty(sandbox, "xero", "KIWI-NZ", "KWI-PUMP-FLOOR") == "18"
        read = x.api.get_credit_note(x.tenant, created.credit_note_id).credit_notes[0]
        assert read.credit_note_number == "RTV-SDK-2" and read.sub_total == Decimal("62.92")
        x.api.update_credit_note(x.tenant, created.credit_note_id,
                                 CreditNotes(credit_notes=[CreditNote(status="VOIDED")]))
        assert _qty(sandbox, "xero", "KIWI-NZ", "KWI-PUMP-FLOOR") == "20"
