"""QBO emulator: Inventory items, quantity on hand, the COGS entries of returns, vendor credits.

Over real HTTP with the JSON a client sends; the inventory entries QuickBooks books are read from
the control API (``GET /_sandbox/stock/qbo/{company}``), the emulator's stand-in for its reports.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from desktop.sandbox.rms.catalog import PROFILES
from tests.helpers.qbo_client import Qbo


def _item(qbo: Qbo, sku: str) -> dict[str, Any]:
    rows = qbo.ok(qbo.query(f"select * from Item where Sku = '{sku}'"))["QueryResponse"]["Item"]  # noqa: S608
    assert len(rows) == 1
    return dict(rows[0])


def _stock(sandbox: Any, company: str = "ACME-US") -> dict[str, Any]:
    return dict(sandbox.control("GET", f"stock/qbo/{company}"))


def _return_line(item: dict[str, Any], qty: int, price: str) -> dict[str, Any]:
    return {"DetailType": "SalesItemLineDetail", "Amount": Decimal(price) * qty,
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": qty, "UnitPrice": Decimal(price),
                                    "TaxCodeRef": {"value": "NON"}}}


def _vendor(qbo: Qbo, name: str = "Summit Supply Co.") -> str:
    rows = qbo.ok(qbo.query(f"select * from Vendor where DisplayName = '{name}'"))["QueryResponse"]["Vendor"]  # noqa: S608
    return str(rows[0]["Id"])


def test_seeded_inventory_items_carry_the_rms_skus_and_their_accounts(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    prefs = qbo.ok(qbo.get("preferences"))["Preferences"]
    assert prefs["ProductAndServicesPrefs"]["QuantityOnHand"] is True
    for product in PROFILES["ACME-US"].products:
        item = _item(qbo, product.sku)
        assert item["Type"] == "Inventory" and item["TrackQtyOnHand"] is True
        assert item["QtyOnHand"] == Decimal(20) and item["PurchaseCost"] == (product.price * Decimal("0.45")).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert item["AssetAccountRef"]["value"] == qbo.id_of("Account", "Inventory Asset")
        assert item["ExpenseAccountRef"]["value"] == qbo.id_of("Account", "Cost of Goods Sold")
        assert item["IncomeAccountRef"]["value"] == qbo.id_of("Account", "Sales of Product Income")
        assert item["InvStartDate"]
    maple = Qbo(sandbox, "MAPLE-CA")
    assert maple.ok(maple.get("preferences"))["Preferences"]["ProductAndServicesPrefs"]["QuantityOnHand"] is False
    rows = maple.ok(maple.query("select * from Item"))["QueryResponse"]["Item"]
    assert not [r for r in rows if r["Type"] == "Inventory"]
    parka = _item(maple, "MPL-PARKA-L")  # untracked, but its cost is known
    assert parka["Type"] == "NonInventory" and parka["PurchaseCost"] == Decimal("157.05")
    assert parka["ExpenseAccountRef"]["value"] == maple.id_of("Account", "Cost of Goods Sold")
    assert _stock(sandbox, "MAPLE-CA")["tracks_inventory"] is False
    assert maple.ok(maple.query("select * from Vendor"))["QueryResponse"]["Vendor"]


def test_create_read_and_query_an_inventory_item(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    body = {"Name": "Trail mug", "Sku": "ACM-MUG-01", "Type": "Inventory", "TrackQtyOnHand": True,
            "QtyOnHand": 12, "InvStartDate": "2026-01-01", "PurchaseCost": Decimal("4.10"),
            "IncomeAccountRef": {"value": qbo.id_of("Account", "Sales of Product Income")},
            "ExpenseAccountRef": {"value": qbo.id_of("Account", "Cost of Goods Sold")},
            "AssetAccountRef": {"value": qbo.id_of("Account", "Inventory Asset")}}
    created = qbo.ok(qbo.post("item", body))["Item"]
    assert created["QtyOnHand"] == 12 and created["PurchaseCost"] == Decimal("4.10")
    assert created["AssetAccountRef"]["name"] == "Inventory Asset"
    assert qbo.ok(qbo.get(f"item/{created['Id']}"))["Item"]["Sku"] == "ACM-MUG-01"
    assert _item(qbo, "ACM-MUG-01")["Id"] == created["Id"]
    missing = {k: v for k, v in body.items() if k != "AssetAccountRef"} | {"Name": "Other mug"}
    assert qbo.fault(qbo.post("item", missing))["element"] == "AssetAccountRef"
    no_qty = {k: v for k, v in body.items() if k != "QtyOnHand"} | {"Name": "Third mug"}
    assert qbo.fault(qbo.post("item", no_qty))["element"] == "QtyOnHand"
    wrong = body | {"Name": "Fourth mug", "ExpenseAccountRef": {"value": qbo.id_of("Account", "Bank Charges")}}
    assert qbo.fault(qbo.post("item", wrong))["code"] == "6000"
    maple = Qbo(sandbox, "MAPLE-CA")
    off = body | {"IncomeAccountRef": {"value": maple.id_of("Account", "Sales of Product Income")},
                  "ExpenseAccountRef": {"value": maple.id_of("Account", "Cost of Goods Sold")},
                  "AssetAccountRef": {"value": maple.id_of("Account", "Inventory Asset")}}
    assert "Inventory tracking is turned off" in maple.fault(maple.post("item", off))["Detail"]


def test_a_credit_memo_for_an_inventory_item_restocks_it_and_books_cogs(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    tent = _item(qbo, "ACM-TENT-2P")
    memo = qbo.credit_memo("INV-1", "0.00", Line=[_return_line(tent, 2, "249.00")])
    created = qbo.ok(qbo.post("creditmemo", memo))["CreditMemo"]
    assert created["TotalAmt"] == Decimal("498.00")  # the line is coded NON: no tax
    assert _item(qbo, "ACM-TENT-2P")["QtyOnHand"] == Decimal(22)
    stock = _stock(sandbox)
    asset, cogs = qbo.id_of("Account", "Inventory Asset"), qbo.id_of("Account", "Cost of Goods Sold")
    assert stock["effects"] == [{"type": "CreditMemo", "id": created["Id"], "entries": [
        {"item": tent["Id"], "sku": "ACM-TENT-2P", "qty": "2", "amount": "224.10",
         "debit_account": asset, "credit_account": cogs}]}]
    assert stock["balances"] == {asset: "224.10", cogs: "-224.10"}
    assert next(i for i in stock["items"] if i["sku"] == "ACM-TENT-2P")["qty_on_hand"] == "22"
    qbo.ok(qbo.post("creditmemo", {"Id": created["Id"], "SyncToken": created["SyncToken"]}, operation="void"))
    assert _item(qbo, "ACM-TENT-2P")["QtyOnHand"] == Decimal(20)
    assert _stock(sandbox)["effects"] == []


def test_a_refund_receipt_restocks_and_deleting_it_takes_the_stock_back(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    lamp = _item(qbo, "ACM-LAMP-300")
    body = qbo.credit_memo("INV-2", "0.00", Line=[_return_line(lamp, 3, "34.99")],
                           DepositToAccountRef={"value": qbo.id_of("Account", "Checking")})
    rr = qbo.ok(qbo.post("refundreceipt", body))["RefundReceipt"]
    assert _item(qbo, "ACM-LAMP-300")["QtyOnHand"] == Decimal(23)
    assert _stock(sandbox)["effects"][0]["entries"][0]["amount"] == "47.25"  # 3 × 15.75
    qbo.ok(qbo.post("refundreceipt", {"Id": rr["Id"], "SyncToken": rr["SyncToken"]}, operation="delete"))
    assert _item(qbo, "ACM-LAMP-300")["QtyOnHand"] == Decimal(20)
    assert _stock(sandbox)["balances"] == {}


def test_a_service_item_line_moves_no_stock(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    qbo.ok(qbo.post("creditmemo", qbo.credit_memo("INV-3", "20.00")))
    assert _stock(sandbox)["effects"] == []


def test_vendor_credit_create_read_query_delete_and_no_void(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    stove = _item(qbo, "ACM-STOVE-01")
    body = {"VendorRef": {"value": _vendor(qbo)}, "DocNumber": "RTV-1", "PrivateNote": "RTV key-1",
            "TxnDate": qbo.ok(qbo.get("preferences"))["time"][:10],
            "Line": [{"DetailType": "ItemBasedExpenseLineDetail", "Amount": Decimal("54.00"),
                      "ItemBasedExpenseLineDetail": {"ItemRef": {"value": stove["Id"]}, "Qty": 2,
                                                     "UnitPrice": Decimal("27.00")}},
                     {"DetailType": "AccountBasedExpenseLineDetail", "Amount": Decimal("8.40"),
                      "AccountBasedExpenseLineDetail": {
                          "AccountRef": {"value": qbo.id_of("Account", "Shipping Expense")}}}]}
    vc = qbo.ok(qbo.post("vendorcredit", body))["VendorCredit"]
    assert vc["TotalAmt"] == Decimal("62.40") and vc["Balance"] == Decimal("62.40")
    assert vc["VendorRef"]["name"] == "Summit Supply Co."
    assert vc["APAccountRef"]["value"] == qbo.id_of("Account", "Accounts Payable (A/P)")
    assert _item(qbo, "ACM-STOVE-01")["QtyOnHand"] == Decimal(18)
    ap, asset = qbo.id_of("Account", "Accounts Payable (A/P)"), qbo.id_of("Account", "Inventory Asset")
    assert _stock(sandbox)["balances"] == {ap: "54.00", asset: "-54.00"}
    assert qbo.ok(qbo.get(f"vendorcredit/{vc['Id']}"))["VendorCredit"]["DocNumber"] == "RTV-1"
    found = qbo.ok(qbo.query("select * from VendorCredit where DocNumber = 'RTV-1'"))["QueryResponse"]
    assert [r["Id"] for r in found["VendorCredit"]] == [vc["Id"]]
    refused = qbo.fault(qbo.post("vendorcredit", {"Id": vc["Id"], "SyncToken": vc["SyncToken"]}, operation="void"),
                        400)
    assert refused["code"] == "500"
    assert _item(qbo, "ACM-STOVE-01")["QtyOnHand"] == Decimal(18)
    qbo.ok(qbo.post("vendorcredit", {"Id": vc["Id"], "SyncToken": vc["SyncToken"]}, operation="delete"))
    assert _item(qbo, "ACM-STOVE-01")["QtyOnHand"] == Decimal(20)
    assert qbo.fault(qbo.get(f"vendorcredit/{vc['Id']}"))["code"] == "610"
    docs = [d for d in sandbox.ledger("qbo", "ACME-US") if d["type"] == "VendorCredit"]
    # the refused void never reached the company: one take-back request, the delete
    assert [(d["id"], d["status"], d["takeback_requests"]) for d in docs] == [(vc["Id"], "deleted", 1)]


def test_vendor_credit_refusals(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    line = {"DetailType": "AccountBasedExpenseLineDetail", "Amount": Decimal("5.00"),
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": qbo.id_of("Account", "Shipping Expense")}}}
    assert qbo.fault(qbo.post("vendorcredit", {"Line": [line]}))["element"] == "VendorRef"
    assert qbo.fault(qbo.post("vendorcredit", {"VendorRef": {"value": _vendor(qbo)}}))["element"] == "Line"
    customer = qbo.id_of("Customer", "Summit Sports Co.")
    assert qbo.fault(qbo.post("vendorcredit", {"VendorRef": {"value": customer}, "Line": [line]}))["code"] in (
        "2500", "610")
    vendor = qbo.ok(qbo.post("vendor", {"DisplayName": "Ridge Boots Ltd"}))["Vendor"]
    assert vendor["CurrencyRef"]["value"] == "USD"
    assert qbo.fault(qbo.post("vendor", {"DisplayName": "Summit Sports Co."}))["code"] == "6240"


def test_an_accountants_duplicate_of_a_return_restocks_again(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    bag = _item(qbo, "ACM-BAG-20F")
    memo = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("INV-4", "0.00", Line=[_return_line(bag, 1, "139.95")])))
    copy = sandbox.tamper("qbo", "ACME-US", {"op": "duplicate", "type": "CreditMemo", "id": memo["CreditMemo"]["Id"]})
    assert _item(qbo, "ACM-BAG-20F")["QtyOnHand"] == Decimal(22)
    sandbox.tamper("qbo", "ACME-US", {"op": "delete", "type": "CreditMemo", "id": copy["id"]})
    assert _item(qbo, "ACM-BAG-20F")["QtyOnHand"] == Decimal(21)
