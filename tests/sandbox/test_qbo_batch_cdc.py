"""QBO batch and Change Data Capture over real HTTP, including ledger tampering seen through CDC."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from desktop.sandbox.qbo.util import dumps
from tests.helpers.qbo_client import Qbo


def test_batch_answers_every_item_including_failures(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    existing = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("B-0")))["CreditMemo"]
    bad = qbo.credit_memo("B-2")
    bad["Line"][0]["SalesItemLineDetail"]["ItemRef"] = {"value": "4242"}
    items = [
        {"bId": "1", "operation": "create", "CreditMemo": qbo.credit_memo("B-1", "12.00")},
        {"bId": "2", "operation": "create", "CreditMemo": bad},
        {"bId": "3", "Query": "select * from CreditMemo where DocNumber = 'B-0'"},
        {"bId": "4", "operation": "update", "CreditMemo": {"Id": existing["Id"], "SyncToken": "0",
                                                           "sparse": True, "PrivateNote": "batched"}},
        {"bId": "5", "operation": "delete", "CreditMemo": {"Id": existing["Id"], "SyncToken": "0"}},
    ]
    answer = qbo.ok(qbo.post("batch", {"BatchItemRequest": items}, requestid="batch-1"))
    by_id = {a["bId"]: a for a in answer["BatchItemResponse"]}
    assert by_id["1"]["CreditMemo"]["TotalAmt"] == Decimal("12.00")
    assert by_id["2"]["Fault"]["Error"][0]["code"] == "2500"
    assert by_id["3"]["QueryResponse"]["CreditMemo"][0]["Id"] == existing["Id"]
    assert by_id["4"]["CreditMemo"]["PrivateNote"] == "batched"
    assert by_id["5"]["Fault"]["Error"][0]["code"] == "5010"  # item 4 moved the SyncToken
    voids = [{"bId": "v", "operation": "update", "optionsData": "void",
              "CreditMemo": {"Id": existing["Id"], "SyncToken": "1"}}]
    voided = qbo.ok(qbo.post("batch", {"BatchItemRequest": voids}))["BatchItemResponse"][0]
    assert voided["CreditMemo"]["TotalAmt"] == Decimal("0.00")
    too_many = [{"bId": str(i), "Query": "select * from Item"} for i in range(31)]
    assert qbo.fault(qbo.post("batch", {"BatchItemRequest": too_many}))["code"] == "6000"
    assert qbo.fault(qbo.post("batch", {"BatchItemRequest": voids}, requestid="r" * 37))["element"] == "requestid"


def test_cdc_shows_tampered_created_and_deleted_documents(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    a = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("C-1", "30.00")))["CreditMemo"]
    b = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("C-2", "45.00")))["CreditMemo"]
    edited = sandbox.control("POST", "ledger/qbo/ACME-US/tamper",
                             {"op": "edit", "type": "CreditMemo", "id": a["Id"], "set": {"total": "33.00"}})
    assert edited["total"] == "33.00" and edited["raw"]["SyncToken"] == "1"
    sandbox.control("POST", "ledger/qbo/ACME-US/tamper", {"op": "delete", "id": b["Id"]})
    dup = sandbox.control("POST", "ledger/qbo/ACME-US/tamper", {"op": "duplicate", "id": a["Id"]})
    assert dup["number"] == "C-1" and dup["reference"] == "Return C-1" and dup["id"] != a["Id"]
    cdc = qbo.ok(qbo.get("cdc", entities="CreditMemo,JournalEntry", changedSince=since))
    blocks = cdc["CDCResponse"][0]["QueryResponse"]
    memos = {m["Id"]: m for m in blocks[0]["CreditMemo"]}
    assert memos[a["Id"]]["TotalAmt"] == Decimal("33.00") and memos[a["Id"]]["SyncToken"] == "1"
    assert sum(ln["Amount"] for ln in memos[a["Id"]]["Line"]
               if ln["DetailType"] == "SalesItemLineDetail") == Decimal("33.00")
    assert memos[b["Id"]]["status"] == "Deleted" and "TotalAmt" not in memos[b["Id"]]
    assert dup["id"] in memos and blocks[1] == {}
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    assert qbo.fault(qbo.get("cdc", entities="CreditMemo", changedSince=old))["code"] == "6000"
    docs = sandbox.control("GET", "ledger/qbo/ACME-US")["documents"]
    assert sorted((d["number"], d["status"]) for d in docs) == [("C-1", "active"), ("C-1", "active"),
                                                                ("C-2", "deleted")]


def test_tamper_create_and_void(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    document = json.loads(dumps(qbo.credit_memo("T-1", "9.99")), parse_float=str)  # control JSON: strings
    made = sandbox.control("POST", "ledger/qbo/ACME-US/tamper",
                           {"op": "create", "type": "CreditMemo", "document": document})
    assert made["total"] == "9.99" and made["status"] == "active"
    voided = sandbox.control("POST", "ledger/qbo/ACME-US/tamper", {"op": "void", "id": made["id"]})
    assert voided["status"] == "voided" and voided["total"] == "0.00"
    read = qbo.ok(qbo.get(f"creditmemo/{made['id']}"))["CreditMemo"]
    assert read["SyncToken"] == "1" and read["TotalAmt"] == Decimal("0.00")


def test_tamper_edit_tax_and_date_keeps_the_document_consistent(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    memo = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("T-2", "50.00")))["CreditMemo"]
    day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    edited = sandbox.control("POST", "ledger/qbo/ACME-US/tamper",
                             {"op": "edit", "id": memo["Id"], "set": {"tax": "5.00", "date": day}})
    assert (edited["total"], edited["date"]) == ("55.00", day)
    read = qbo.ok(qbo.get(f"creditmemo/{memo['Id']}"))["CreditMemo"]
    assert read["TxnTaxDetail"]["TotalTax"] == Decimal("5.00") and read["TotalAmt"] == Decimal("55.00")
    assert read["RemainingCredit"] == Decimal("55.00")
    assert read["MetaData"]["LastUpdatedTime"] >= memo["MetaData"]["LastUpdatedTime"]
