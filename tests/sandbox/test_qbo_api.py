"""QBO entities over real HTTP: CRUD with SyncToken, computed totals and tax, replay, validation codes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.helpers.qbo_client import ACME, MAPLE, Qbo


def _ledger(sandbox: Any, company: str) -> list[dict[str, Any]]:
    return list(sandbox.control("GET", f"ledger/qbo/{company}")["documents"])


def test_credit_memo_create_read_update_sparse_stale_delete(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    created = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("RMA-1001", "50.00")))["CreditMemo"]
    assert created["SyncToken"] == "0" and created["TotalAmt"] == Decimal("50.00")
    assert created["RemainingCredit"] == Decimal("50.00") and created["Balance"] == Decimal("50.00")
    assert created["MetaData"]["CreateTime"] == created["MetaData"]["LastUpdatedTime"]
    assert created["CustomerRef"]["name"] == "Summit Sports Co."
    read = qbo.ok(qbo.get(f"creditmemo/{created['Id']}"))["CreditMemo"]
    assert read == created
    full = dict(read)
    full["Line"] = [read["Line"][0] | {"Amount": Decimal("70.00")}]
    updated = qbo.ok(qbo.post("creditmemo", full))["CreditMemo"]
    assert updated["SyncToken"] == "1" and updated["TotalAmt"] == Decimal("70.00")
    stale = qbo.fault(qbo.post("creditmemo", full))
    assert stale["code"] == "5010" and stale["Message"] == "Stale Object Error"
    sparse = qbo.ok(qbo.post("creditmemo", {"Id": created["Id"], "SyncToken": "1", "sparse": True,
                                            "PrivateNote": "edited"}))["CreditMemo"]
    assert sparse["PrivateNote"] == "edited" and sparse["TotalAmt"] == Decimal("70.00")
    assert sparse["SyncToken"] == "2" and sparse["DocNumber"] == "RMA-1001"
    gone = qbo.ok(qbo.post("creditmemo", {"Id": created["Id"], "SyncToken": "2"}, operation="delete"))
    assert gone["CreditMemo"] == {"domain": "QBO", "status": "Deleted", "Id": created["Id"]}
    assert qbo.fault(qbo.get(f"creditmemo/{created['Id']}"))["code"] == "610"
    docs = _ledger(sandbox, ACME)
    assert [(d["number"], d["status"], d["total"]) for d in docs] == [("RMA-1001", "deleted", "70.00")]


def test_refund_receipt_void_and_journal_entry_cannot_be_voided(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    body = qbo.credit_memo("RMA-2001", "40.00", DepositToAccountRef={"value": qbo.id_of("Account", "Checking")})
    refund = qbo.ok(qbo.post("refundreceipt", body))["RefundReceipt"]
    assert refund["TotalAmt"] == Decimal("40.00") and refund["Balance"] == Decimal("0.00")
    voided = qbo.ok(qbo.post("refundreceipt", {"Id": refund["Id"], "SyncToken": "0"}, operation="void"))
    assert voided["RefundReceipt"]["TotalAmt"] == Decimal("0.00")
    assert voided["RefundReceipt"]["PrivateNote"].startswith("Voided")
    je = qbo.ok(qbo.post("journalentry", _journal(qbo, "15.00", "15.00")))["JournalEntry"]
    assert je["TotalAmt"] == Decimal("15.00")
    assert qbo.fault(qbo.post("journalentry", {"Id": je["Id"], "SyncToken": "0"},
                              operation="void"))["code"] == "500"
    statuses = {(d["type"], d["status"]) for d in _ledger(sandbox, "ACME-US")}
    assert statuses == {("RefundReceipt", "voided"), ("JournalEntry", "active")}


def _journal(qbo: Qbo, debit: str, credit: str, **extra: Any) -> dict[str, Any]:
    return {"DocNumber": "RMA-FEE", "PrivateNote": "Restocking fee", **extra, "Line": [
        {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(debit),
         "JournalEntryLineDetail": {"PostingType": "Debit",
                                    "AccountRef": {"value": qbo.id_of("Account", "Refunds Clearing")}}},
        {"DetailType": "JournalEntryLineDetail", "Amount": Decimal(credit),
         "JournalEntryLineDetail": {"PostingType": "Credit",
                                    "AccountRef": {"value": qbo.id_of("Account", "Restocking Fee Income")}}}]}


def test_us_sales_tax_from_txn_tax_code_and_foreign_currency(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    la = qbo.id_of("TaxCode", "Los Angeles County, CA")
    body = qbo.credit_memo("RMA-3001", "100.00", TxnTaxDetail={"TxnTaxCodeRef": {"value": la}})
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "TAX"}
    memo = qbo.ok(qbo.post("creditmemo", body))["CreditMemo"]
    assert memo["TxnTaxDetail"]["TotalTax"] == Decimal("9.50")  # 7.25 % + 2.25 %
    assert memo["TotalAmt"] == Decimal("109.50")
    assert {t["TaxLineDetail"]["TaxPercent"] for t in memo["TxnTaxDetail"]["TaxLine"]} == {
        Decimal("7.25"), Decimal("2.25")}
    cad_customer = qbo.id_of("Customer", "Bayside Cycles (CAD)")
    fx = qbo.credit_memo("RMA-3002", "80.00", CustomerRef={"value": cad_customer}, CurrencyRef={"value": "CAD"})
    cad = qbo.ok(qbo.post("creditmemo", fx))["CreditMemo"]
    rate = qbo.ok(qbo.get("exchangerate", sourcecurrencycode="CAD", asofdate=cad["TxnDate"]))["ExchangeRate"]
    assert cad["ExchangeRate"] == rate["Rate"] and rate["TargetCurrencyCode"] == "USD"
    assert cad["HomeTotalAmt"] == (Decimal("80.00") * rate["Rate"]).quantize(Decimal("0.01"))
    wrong = qbo.fault(qbo.post("creditmemo", qbo.credit_memo("RMA-3003", CurrencyRef={"value": "CAD"})))
    assert wrong["code"] == "6000" and "currency" in wrong["Detail"]
    eur = qbo.fault(qbo.post("creditmemo", qbo.credit_memo("RMA-3004", CurrencyRef={"value": "EUR"})))
    assert eur["code"] == "6000" and "not enabled" in eur["Detail"]


def test_canadian_line_tax_codes(sandbox: Any) -> None:
    qbo = Qbo(sandbox, "MAPLE-CA")
    assert qbo.realm == MAPLE
    body = qbo.credit_memo("RMA-4001", "100.00", GlobalTaxCalculation="TaxExcluded")
    body["Line"].append({"DetailType": "SalesItemLineDetail", "Amount": Decimal("20.00"),
                         "SalesItemLineDetail": {"ItemRef": {"value": qbo.id_of("Item", "Shipping")},
                                                 "TaxCodeRef": {"value": qbo.id_of("TaxCode", "GST/PST BC")}}})
    memo = qbo.ok(qbo.post("creditmemo", body))["CreditMemo"]
    assert memo["TxnTaxDetail"]["TotalTax"] == Decimal("7.40")  # 5 % of 120 + 7 % of 20
    assert memo["TotalAmt"] == Decimal("127.40") and memo["CurrencyRef"]["value"] == "CAD"
    missing = qbo.credit_memo("RMA-4002")
    del missing["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]
    assert qbo.fault(qbo.post("creditmemo", missing))["code"] == "6000"
    again = qbo.post("creditmemo", qbo.credit_memo("RMA-4001", "1.00"))
    assert again.status_code == 200  # MAPLE-CA does not check duplicate numbers


def test_requestid_replays_the_original_answer_without_a_second_document(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    first = qbo.post("creditmemo", qbo.credit_memo("RMA-5001"), requestid="req-5001")
    second = qbo.post("creditmemo", qbo.credit_memo("RMA-5001"), requestid="req-5001")
    assert first.status_code == second.status_code == 200 and first.text == second.text
    assert len(_ledger(sandbox, "ACME-US")) == 1
    too_long = qbo.post("creditmemo", qbo.credit_memo("RMA-5002"), requestid="x" * 51)
    assert qbo.fault(too_long)["element"] == "requestid"


def test_validation_codes(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    unbalanced = qbo.fault(qbo.post("journalentry", _journal(qbo, "15.00", "14.00")))
    assert unbalanced["code"] == "6000" and "balanced" in unbalanced["Detail"]
    ar = _journal(qbo, "15.00", "15.00")
    ar["Line"][0]["JournalEntryLineDetail"]["AccountRef"] = {"value": qbo.id_of("Account", "Accounts Receivable (A/R)")}
    assert "customer" in qbo.fault(qbo.post("journalentry", ar))["Detail"]
    qbo.ok(qbo.post("creditmemo", qbo.credit_memo("RMA-6001")))
    dup = qbo.fault(qbo.post("creditmemo", qbo.credit_memo("RMA-6001")))
    assert dup["code"] == "6140" and dup["element"] == "DocNumber"
    closed = (datetime.now(UTC).date() - timedelta(days=90)).isoformat()
    assert qbo.fault(qbo.post("creditmemo", qbo.credit_memo("RMA-6002", TxnDate=closed)))["code"] == "6210"
    inactive = qbo.credit_memo("RMA-6003")
    customers = qbo.ok(qbo.query("select * from Customer where Active = false"))["QueryResponse"]["Customer"]
    inactive["CustomerRef"] = {"value": customers[0]["Id"]}
    assert qbo.fault(qbo.post("creditmemo", inactive))["code"] == "610"
    unknown = qbo.credit_memo("RMA-6004")
    unknown["Line"][0]["SalesItemLineDetail"]["ItemRef"] = {"value": "9999"}
    bad_ref = qbo.fault(qbo.post("creditmemo", unknown))
    assert bad_ref["code"] == "2500" and bad_ref["Message"] == "Invalid Reference Id"
    no_customer = qbo.credit_memo("RMA-6005")
    del no_customer["CustomerRef"]
    missing = qbo.fault(qbo.post("creditmemo", no_customer))
    assert missing["code"] == "2020" and missing["element"] == "CustomerRef"
    no_account = qbo.credit_memo("RMA-6006")
    assert qbo.fault(qbo.post("refundreceipt", no_account))["element"] == "DepositToAccountRef"
    income = qbo.credit_memo("RMA-6007", DepositToAccountRef={"value": qbo.id_of("Account", "Shipping Income")})
    assert qbo.fault(qbo.post("refundreceipt", income))["code"] == "6000"
    category = qbo.credit_memo("RMA-6008")
    category["Line"][0]["SalesItemLineDetail"]["ItemRef"] = {"value": qbo.id_of("Item", "Outdoor Gear")}
    assert "income account" in qbo.fault(qbo.post("creditmemo", category))["Detail"]
    assert qbo.fault(qbo.post("creditmemo", qbo.credit_memo("R" * 22)))["code"] == "2050"
    name = qbo.fault(qbo.post("customer", {"DisplayName": "Summit Sports Co."}))
    assert name["code"] == "6240"
    assert len(_ledger(sandbox, "ACME-US")) == 1


def test_payment_applies_a_credit_memo_and_void_restores_it(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    memo = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("RMA-7001", "60.00")))["CreditMemo"]
    pay = {"CustomerRef": memo["CustomerRef"], "TotalAmt": Decimal("0"),
           "Line": [{"Amount": Decimal("25.00"), "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]}]}
    payment = qbo.ok(qbo.post("payment", pay))["Payment"]
    assert payment["UnappliedAmt"] == Decimal("25.00")
    assert qbo.ok(qbo.get(f"creditmemo/{memo['Id']}"))["CreditMemo"]["RemainingCredit"] == Decimal("35.00")
    too_much = dict(pay, Line=[{"Amount": Decimal("40.00"), "LinkedTxn": pay["Line"][0]["LinkedTxn"]}])
    assert qbo.fault(qbo.post("payment", too_much))["code"] == "6000"
    qbo.ok(qbo.post("payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="void"))
    assert qbo.ok(qbo.get(f"creditmemo/{memo['Id']}"))["CreditMemo"]["RemainingCredit"] == Decimal("60.00")


def test_company_info_preferences_and_name_lists(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    prefs = qbo.ok(qbo.get("preferences"))["Preferences"]
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "USD"}}
    close = date.fromisoformat(prefs["AccountingInfoPrefs"]["BookCloseDate"])
    assert 59 <= (datetime.now(UTC).date() - close).days <= 61
    info = qbo.ok(qbo.get(f"companyinfo/{ACME}"))["CompanyInfo"]
    assert info["Country"] == "US"
    currencies = qbo.ok(qbo.query("select * from CompanyCurrency"))["QueryResponse"]["CompanyCurrency"]
    assert [c["Code"] for c in currencies] == ["CAD"]
    acct = qbo.ok(qbo.post("account", {"Name": "Returns Suspense", "AccountType": "Other Current Asset"}))
    assert acct["Account"]["Classification"] == "Asset"
    item = qbo.ok(qbo.post("item", {"Name": "Return Fee", "Type": "Service",
                                    "IncomeAccountRef": {"value": qbo.id_of("Account", "Restocking Fee Income")}}))
    assert item["Item"]["IncomeAccountRef"]["name"] == "Restocking Fee Income"
    cls = qbo.ok(qbo.post("class", {"Name": "Pop-up"}))["Class"]
    assert cls["FullyQualifiedName"] == "Pop-up"
    assert qbo.fault(qbo.post("taxcode", {"Name": "X"}))["code"] == "500"
