"""Xero emulator: tracked items, QuantityOnHand, the COGS entries of credit notes, supplier credit notes.

Over real HTTP with the JSON a client sends; the inventory entries Xero books are read from the
control API (``GET /_sandbox/stock/xero/{company}``), the emulator's stand-in for its reports.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from desktop.sandbox.rms.catalog import PROFILES
from tests.helpers.xero_client import Xero

PUT = {"summarizeErrors": "false"}


def _item(xero: Xero, code: str) -> dict[str, Any]:
    return dict(xero.ok("GET", f"Items/{code}")["Items"][0])


def _stock(sandbox: Any, company: str = "KIWI-NZ") -> dict[str, Any]:
    return dict(sandbox.control("GET", f"stock/xero/{company}"))


def _supplier(xero: Xero) -> str:
    return next(str(c["ContactID"]) for c in xero.ok("GET", "Contacts")["Contacts"] if c["IsSupplier"])


def _put(xero: Xero, cn: dict[str, Any]) -> dict[str, Any]:
    return dict(xero.ok("PUT", "CreditNotes", {"CreditNotes": [cn]}, params=PUT)["CreditNotes"][0])


def _customer_credit(xero: Xero, code: str, qty: int, status: str = "AUTHORISED") -> dict[str, Any]:
    return {"Type": "ACCRECCREDIT", "Contact": {"ContactID": xero.contact_id()}, "Status": status,
            "Reference": "RMA-9", "LineItems": [{"ItemCode": code, "Quantity": qty, "UnitAmount": "129.00",
                                                 "TaxType": "OUTPUT2"}]}


def test_seeded_items_carry_the_rms_skus(sandbox: Any) -> None:
    xero = Xero(sandbox)
    for product in PROFILES["KIWI-NZ"].products:
        item = _item(xero, product.sku)
        cost = (product.price * Decimal("0.45")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert item["IsTrackedAsInventory"] is True and item["InventoryAssetAccountCode"] == "630"
        assert item["PurchaseDetails"] == {"UnitPrice": cost, "TaxType": "INPUT2", "COGSAccountCode": "310"}
        assert item["QuantityOnHand"] == 20 and item["TotalCostPool"] == cost * 20
    assert _supplier(xero)
    tea = Xero(sandbox, "TEA-UK")
    earl = _item(tea, "BTC-EARLGREY-250")
    assert earl["IsTrackedAsInventory"] is False and "QuantityOnHand" not in earl
    assert earl["PurchaseDetails"]["UnitPrice"] == Decimal("3.83")
    assert _stock(sandbox, "TEA-UK") == {"tracks_inventory": False, "items": [], "effects": [], "balances": {}}


def test_create_a_tracked_item_and_its_refusals(sandbox: Any) -> None:
    xero = Xero(sandbox)
    body = {"Code": "KWI-BELL-01", "Name": "Bike bell", "InventoryAssetAccountCode": "630",
            "PurchaseDetails": {"UnitPrice": "3.20", "COGSAccountCode": "310", "TaxType": "INPUT2"},
            "SalesDetails": {"UnitPrice": "9.90", "AccountCode": "200", "TaxType": "OUTPUT2"},
            "QuantityOnHand": 99, "IsTrackedAsInventory": False}
    item = xero.ok("PUT", "Items", {"Items": [body]}, params=PUT)["Items"][0]
    assert item["StatusAttributeString"] == "OK" and item["IsTrackedAsInventory"] is True
    assert item["QuantityOnHand"] == 0  # Xero's to set, not the client's
    assert _item(xero, "KWI-BELL-01")["ItemID"] == item["ItemID"]
    bad = xero.ok("PUT", "Items", {"Items": [
        {**body, "Code": "KWI-BELL-02", "Name": "Bell 2", "PurchaseDetails": {"UnitPrice": "3.20"}},
        {**body, "Code": "KWI-BELL-03", "Name": "Bell 3", "InventoryAssetAccountCode": "200"},
        {**body, "Name": "Bell 4"}]}, params=PUT)["Items"]
    assert [e["StatusAttributeString"] for e in bad] == ["ERROR"] * 3
    assert "COGSAccountCode" in bad[0]["ValidationErrors"][0]["Message"]
    assert "INVENTORY" in bad[1]["ValidationErrors"][0]["Message"]
    assert "already exists" in bad[2]["ValidationErrors"][0]["Message"]


def test_a_customer_credit_note_restocks_and_books_cogs_and_void_takes_it_back(sandbox: Any) -> None:
    xero = Xero(sandbox)
    draft = _put(xero, _customer_credit(xero, "KWI-HELMET-M", 2, "DRAFT"))
    assert _item(xero, "KWI-HELMET-M")["QuantityOnHand"] == 20  # drafts move nothing
    cn = xero.ok("POST", f"CreditNotes/{draft['CreditNoteID']}", {"Status": "AUTHORISED"})["CreditNotes"][0]
    assert cn["LineItems"][0]["AccountCode"] == "200"  # the item's sales account
    helmet = _item(xero, "KWI-HELMET-M")
    assert helmet["QuantityOnHand"] == 22 and helmet["TotalCostPool"] == Decimal("1277.10")  # 22 × 58.05
    stock = _stock(sandbox)
    assert stock["effects"] == [{"type": "CreditNote", "id": cn["CreditNoteID"], "entries": [
        {"item": "KWI-HELMET-M", "qty": "2", "amount": "116.10", "debit_account": "630", "credit_account": "310"}]}]
    assert stock["balances"] == {"310": "-116.10", "630": "116.10"}
    xero.ok("POST", f"CreditNotes/{cn['CreditNoteID']}", {"Status": "VOIDED"})
    helmet = _item(xero, "KWI-HELMET-M")
    assert helmet["QuantityOnHand"] == 20 and helmet["TotalCostPool"] == Decimal("1161.00")
    assert _stock(sandbox)["effects"] == []


def test_a_supplier_credit_note_sends_goods_back(sandbox: Any) -> None:
    xero = Xero(sandbox)
    supplier = _supplier(xero)
    cn = _put(xero, {"Type": "ACCPAYCREDIT", "Contact": {"ContactID": supplier}, "Status": "AUTHORISED",
                     "CreditNoteNumber": "RTV key-7", "Reference": "dropped",
                     "LineItems": [{"ItemCode": "KWI-PUMP-FLOOR", "Quantity": 3, "AccountCode": "200"},
                                   {"Description": "Freight back", "Quantity": 1, "UnitAmount": "9.20",
                                    "AccountCode": "425", "TaxType": "INPUT2"}]})
    assert cn["StatusAttributeString"] == "OK", cn
    assert cn["Type"] == "ACCPAYCREDIT" and cn["CreditNoteNumber"] == "RTV key-7" and cn["Reference"] == ""
    pump = cn["LineItems"][0]
    assert pump["AccountCode"] == "630" and pump["UnitAmount"] == Decimal("31.46")  # the purchase price
    assert pump["TaxType"] == "INPUT2" and cn["SubTotal"] == Decimal("103.58")
    assert _item(xero, "KWI-PUMP-FLOOR")["QuantityOnHand"] == 17
    assert _stock(sandbox)["balances"] == {"630": "-94.38", "800": "94.38"}
    got = xero.ok("GET", f"CreditNotes/{cn['CreditNoteID']}")["CreditNotes"][0]
    assert got["Type"] == "ACCPAYCREDIT" and got["Status"] == "AUTHORISED"
    found = xero.ok("GET", "CreditNotes", params={"where": 'CreditNoteNumber.Contains("key-7")'})["CreditNotes"]
    assert [c["CreditNoteID"] for c in found] == [cn["CreditNoteID"]]
    xero.ok("POST", f"CreditNotes/{cn['CreditNoteID']}", {"Status": "VOIDED"})
    assert _item(xero, "KWI-PUMP-FLOOR")["QuantityOnHand"] == 20
    assert _stock(sandbox)["balances"] == {}


def test_a_supplier_credit_cannot_send_back_more_than_is_on_hand(sandbox: Any) -> None:
    xero = Xero(sandbox)
    el = xero.ok("PUT", "CreditNotes", {"CreditNotes": [
        {"Type": "ACCPAYCREDIT", "Contact": {"ContactID": _supplier(xero)}, "Status": "AUTHORISED",
         "LineItems": [{"ItemCode": "KWI-TUBE-700C", "Quantity": 21}]}]}, params=PUT)["CreditNotes"][0]
    assert el["StatusAttributeString"] == "ERROR"
    assert "quantity on hand (20)" in el["ValidationErrors"][0]["Message"]
    assert _item(xero, "KWI-TUBE-700C")["QuantityOnHand"] == 20
