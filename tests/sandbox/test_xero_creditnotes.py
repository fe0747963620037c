"""Credit notes over real HTTP: totals, numbering, where/order/paging, If-Modified-Since, status
rules, allocations, refunds, summarizeErrors and Idempotency-Key."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.helpers.xero_client import TEA, Xero, loads

TODAY = datetime.now(UTC).date().isoformat()
MS_DATE = re.compile(r"^/Date\((\d+)\+0000\)/$")


def _ms(value: str) -> datetime:
    m = MS_DATE.match(value)
    assert m, value
    return datetime.fromtimestamp(int(m.group(1)) / 1000, tz=UTC)


def test_totals_are_computed_per_line_and_dates_are_ms_json(sandbox: Any) -> None:
    xero = Xero(sandbox)
    cn = xero.credit_note(
        Date="2026-11-20",
        LineItems=[
            {"Description": "Helmet", "Quantity": 3, "UnitAmount": "19.99", "AccountCode": "200", "TaxType": "OUTPUT2"},
            {"Description": "Restocking fee", "Quantity": 1, "UnitAmount": "-5.00", "AccountCode": "410"},
        ],
    )
    assert cn["StatusAttributeString"] == "OK"
    assert cn["CreditNoteNumber"] == "CN-0001"
    lines = cn["LineItems"]
    assert lines[0]["LineAmount"] == Decimal("59.97") and lines[0]["TaxAmount"] == Decimal("9.00")
    assert lines[1]["TaxType"] == "OUTPUT2" and lines[1]["TaxAmount"] == Decimal("-0.75")  # account default
    assert cn["SubTotal"] == Decimal("54.97") and cn["TotalTax"] == Decimal("8.25")
    assert cn["Total"] == Decimal("63.22") == cn["RemainingCredit"]
    assert _ms(cn["Date"]) == datetime(2026, 11, 20, tzinfo=UTC)
    assert cn["DateString"] == "2026-11-20T00:00:00"
    assert abs(_ms(cn["UpdatedDateUTC"]) - datetime.now(UTC)) < timedelta(minutes=1)
    raw = xero.call("GET", f"CreditNotes/{cn['CreditNoteID']}").text
    assert '"Total":63.22' in raw and '"CurrencyRate":1.000000' in raw  # exact JSON numbers
    env = loads(xero.call("GET", "CreditNotes"))
    assert env["Status"] == "OK" and re.match(r"^/Date\(\d+\)/$", env["DateTimeUTC"]) and env["Id"]


def test_inclusive_notax_and_foreign_currency(sandbox: Any) -> None:
    xero = Xero(sandbox)
    inc = xero.credit_note(
        LineAmountTypes="Inclusive",
        LineItems=[
            {"Description": "x", "Quantity": 1, "UnitAmount": "115.00", "AccountCode": "200", "TaxType": "OUTPUT2"}
        ],
    )
    assert (inc["SubTotal"], inc["TotalTax"], inc["Total"]) == (Decimal("100.00"), Decimal("15.00"), Decimal("115.00"))
    notax = xero.credit_note(LineAmountTypes="NoTax", CurrencyCode="AUD")
    assert notax["TotalTax"] == 0 and notax["Total"] == Decimal("50.00") and notax["CurrencyCode"] == "AUD"
    assert notax["CurrencyRate"] == Decimal("0.915400")
    given = xero.credit_note(CurrencyCode="AUD", CurrencyRate="0.9")
    assert given["CurrencyRate"] == Decimal("0.900000")


def test_validation_messages(sandbox: Any) -> None:
    xero = Xero(sandbox)
    contact = {"ContactID": xero.contact_id()}
    lock = _ms(xero.ok("GET", "Organisation")["Organisations"][0]["PeriodLockDate"]).date()
    bad = [
        {
            "Type": "ACCRECCREDIT",
            "Contact": contact,
            "Status": "AUTHORISED",
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "476"}],
        },
        {
            "Type": "ACCRECCREDIT",
            "Contact": contact,
            "Status": "AUTHORISED",
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "455"}],
        },
        {
            "Type": "ACCRECCREDIT",
            "Contact": contact,
            "Status": "AUTHORISED",
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200", "TaxType": "BOGUS"}],
        },
        {
            "Type": "ACCRECCREDIT",
            "Contact": contact,
            "Status": "AUTHORISED",
            "CurrencyCode": "EUR",
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200"}],
        },
        {
            "Type": "ACCRECCREDIT",
            "Contact": contact,
            "Status": "AUTHORISED",
            "Date": lock.isoformat(),
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200"}],
        },
        {
            "Type": "ACCRECCREDIT",
            "Status": "AUTHORISED",
            "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200"}],
        },
    ]
    body = xero.ok("PUT", "CreditNotes", {"CreditNotes": bad}, params={"summarizeErrors": "false"})
    messages = [el["ValidationErrors"][0]["Message"] for el in body["CreditNotes"]]
    assert all(el["StatusAttributeString"] == "ERROR" and el["HasErrors"] for el in body["CreditNotes"])
    assert messages[0] == "Account code '476' is not a valid code for this document."
    assert "archived" in messages[1]
    assert messages[2].startswith("The TaxType code 'BOGUS' does not exist")
    assert messages[3] == "Organisation is not subscribed to currency EUR"
    assert messages[4].startswith("The document date cannot be before the period lock date")
    assert messages[5].startswith("The Contact must contain at least 1 of the following elements")
    # a draft inside the locked period is fine: it does not post
    draft = xero.credit_note(Status="DRAFT", Date=(lock - timedelta(days=3)).isoformat())
    assert draft["Status"] == "DRAFT"


def test_summarize_errors_default_is_400_but_valid_siblings_are_saved(sandbox: Any) -> None:
    xero = Xero(sandbox)
    contact = {"ContactID": xero.contact_id()}
    good = {
        "Type": "ACCRECCREDIT",
        "Contact": contact,
        "Status": "AUTHORISED",
        "Reference": "GOOD",
        "LineItems": [{"Description": "x", "UnitAmount": 10, "AccountCode": "200"}],
    }
    bad = {**good, "Reference": "BAD", "LineItems": [{"Description": "x", "UnitAmount": 10, "AccountCode": "999"}]}
    resp = xero.call("PUT", "CreditNotes", {"CreditNotes": [good, bad]})
    assert resp.status_code == 400
    err = resp.json()
    assert (err["ErrorNumber"], err["Type"], err["Message"]) == (
        10,
        "ValidationException",
        "A validation exception occurred",
    )
    assert [e["Reference"] for e in err["Elements"]] == ["BAD"]
    assert err["Elements"][0]["ValidationErrors"][0]["Message"].startswith("Account code '999'")
    refs = [c["Reference"] for c in xero.ok("GET", "CreditNotes")["CreditNotes"]]
    assert refs == ["GOOD"]
    mixed = xero.ok("PUT", "CreditNotes", {"CreditNotes": [good, bad]}, params={"summarizeErrors": "false"})
    assert [c["StatusAttributeString"] for c in mixed["CreditNotes"]] == ["OK", "ERROR"]


def test_numbers_are_unique_and_auto_generated(sandbox: Any) -> None:
    xero = Xero(sandbox)
    assert xero.credit_note()["CreditNoteNumber"] == "CN-0001"
    assert xero.credit_note(CreditNoteNumber="CN-0002")["CreditNoteNumber"] == "CN-0002"
    assert xero.credit_note()["CreditNoteNumber"] == "CN-0003"
    dup = xero.ok(
        "PUT",
        "CreditNotes",
        {
            "CreditNotes": [
                {
                    "Type": "ACCRECCREDIT",
                    "Contact": {"ContactID": xero.contact_id()},
                    "CreditNoteNumber": "CN-0001",
                    "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200"}],
                }
            ]
        },
        params={"summarizeErrors": "false"},
    )
    assert dup["CreditNotes"][0]["ValidationErrors"] == [{"Message": "Credit Note # must be unique."}]


def test_where_order_paging(sandbox: Any) -> None:
    xero = Xero(sandbox)
    other = xero.contact_id(1)
    for i in range(5):
        xero.credit_note(Reference=f"RMA-{i}", Date=f"2026-11-{10 + i}", Status="DRAFT" if i == 4 else "AUTHORISED")
    xero.credit_note(Reference="OTHER", Contact={"ContactID": other})
    got = xero.ok("GET", "CreditNotes", params={"where": 'Reference=="RMA-3"'})["CreditNotes"]
    assert [c["Reference"] for c in got] == ["RMA-3"]
    got = xero.ok(
        "GET",
        "CreditNotes",
        params={
            "where": 'Status=="AUTHORISED" && Date>=DateTime(2026,11,11) && Reference!="OTHER"',
            "order": "Date DESC",
        },
    )["CreditNotes"]
    assert [c["Reference"] for c in got] == ["RMA-3", "RMA-2", "RMA-1"]
    got = xero.ok("GET", "CreditNotes", params={"where": f'Contact.ContactID==Guid("{other}")'})["CreditNotes"]
    assert [c["Reference"] for c in got] == ["OTHER"]
    got = xero.ok("GET", "CreditNotes", params={"where": 'Reference.StartsWith("RMA")', "order": "Reference"})
    assert [c["Reference"] for c in got["CreditNotes"]] == [f"RMA-{i}" for i in range(5)]
    page2 = xero.ok("GET", "CreditNotes", params={"page": 2, "pageSize": 4, "order": "CreditNoteNumber"})
    assert page2["pagination"] == {"page": 2, "pageSize": 4, "pageCount": 2, "itemCount": 6}
    assert [c["CreditNoteNumber"] for c in page2["CreditNotes"]] == ["CN-0005", "CN-0006"]
    bad = xero.call("GET", "CreditNotes", params={"where": "Reference=="})
    assert bad.status_code == 400 and bad.json()["Type"] == "QueryParseException"
    # only paged lists carry line details, as in Xero
    assert all(c["LineItems"] == [] for c in xero.ok("GET", "CreditNotes")["CreditNotes"])
    assert all(len(c["LineItems"]) == 1 for c in xero.ok("GET", "CreditNotes", params={"page": 1})["CreditNotes"])
    # path matching is case-insensitive
    assert len(xero.ok("GET", "creditnotes")["CreditNotes"]) == 6


def test_if_modified_since_sees_a_tamper(sandbox: Any) -> None:
    xero = Xero(sandbox)
    a = xero.credit_note(Reference="A")
    xero.credit_note(Reference="B")
    sandbox.control("POST", "config", {"service": "xero", "clock_offset_s": 120})
    since = (datetime.now(UTC) + timedelta(seconds=60)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert xero.ok("GET", "CreditNotes", headers={"If-Modified-Since": since})["CreditNotes"] == []
    doc = sandbox.control(
        "POST", "ledger/xero/KIWI-NZ/tamper", {"op": "edit", "id": a["CreditNoteID"], "set": {"total": "40.00"}}
    )
    assert doc["total"] == "40.00" and doc["status"] == "active"
    got = xero.ok("GET", "CreditNotes", headers={"If-Modified-Since": since})["CreditNotes"]
    assert [c["Reference"] for c in got] == ["A"]
    assert got[0]["Total"] == Decimal("40.00") and got[0]["SubTotal"] + got[0]["TotalTax"] == Decimal("40.00")
    iso = (datetime.now(UTC) + timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%S")
    assert [
        c["Reference"] for c in xero.ok("GET", "CreditNotes", headers={"If-Modified-Since": iso})["CreditNotes"]
    ] == ["A"]


def test_status_rules_and_post_update(sandbox: Any) -> None:
    xero = Xero(sandbox)
    draft = xero.credit_note(Status="DRAFT")
    upd = xero.ok(
        "POST",
        f"CreditNotes/{draft['CreditNoteID']}",
        {"CreditNotes": [{"Status": "AUTHORISED", "Reference": "RMA-9"}]},
    )["CreditNotes"][0]
    assert upd["Status"] == "AUTHORISED" and upd["Reference"] == "RMA-9" and upd["Total"] == Decimal("57.50")
    refused = xero.call(
        "POST", "CreditNotes", {"CreditNotes": [{"CreditNoteID": draft["CreditNoteID"], "Status": "DELETED"}]}
    )
    assert refused.status_code == 400 and "void" in refused.text
    voided = xero.ok(
        "POST", "CreditNotes", {"CreditNotes": [{"CreditNoteID": draft["CreditNoteID"], "Status": "VOIDED"}]}
    )["CreditNotes"][0]
    assert voided["Status"] == "VOIDED"
    second = xero.credit_note(Status="DRAFT")
    deleted = xero.ok(
        "POST", "CreditNotes", {"CreditNotes": [{"CreditNoteID": second["CreditNoteID"], "Status": "DELETED"}]}
    )["CreditNotes"][0]
    assert deleted["Status"] == "DELETED"
    missing = xero.call(
        "POST", "CreditNotes", {"CreditNotes": [{"CreditNoteID": str(uuid.uuid4()), "Status": "AUTHORISED"}]}
    )
    assert "could not be found" in missing.text
    assert xero.call("GET", f"CreditNotes/{uuid.uuid4()}").status_code == 404
    docs = {d["id"]: d for d in sandbox.control("GET", "ledger/xero/KIWI-NZ")["documents"]}
    assert docs[draft["CreditNoteID"]]["status"] == "voided" and docs[second["CreditNoteID"]]["status"] == "deleted"


def test_refund_payment_makes_the_credit_note_paid_and_delete_reopens_it(sandbox: Any) -> None:
    xero = Xero(sandbox)
    cn = xero.credit_note()
    over = xero.ok(
        "PUT",
        "Payments",
        {
            "Payments": [
                {
                    "CreditNote": {"CreditNoteID": cn["CreditNoteID"]},
                    "Account": {"Code": "090"},
                    "Amount": "60.00",
                    "Date": TODAY,
                }
            ]
        },
        params={"summarizeErrors": "false"},
    )["Payments"][0]
    assert over["ValidationErrors"][0]["Message"] == "Payment amount exceeds the amount outstanding on this document"
    pay = xero.ok(
        "PUT",
        "Payments",
        {
            "Payments": [
                {
                    "CreditNote": {"CreditNoteID": cn["CreditNoteID"]},
                    "Account": {"Code": "090"},
                    "Amount": "57.50",
                    "Date": TODAY,
                    "Reference": "Refund RMA-1001",
                }
            ]
        },
    )["Payments"][0]
    assert pay["PaymentType"] == "ARCREDITPAYMENT" and pay["Status"] == "AUTHORISED"
    after = xero.ok("GET", f"CreditNotes/{cn['CreditNoteID']}")["CreditNotes"][0]
    assert after["Status"] == "PAID" and after["RemainingCredit"] == 0
    assert after["Payments"][0]["PaymentID"] == pay["PaymentID"]
    listed = xero.ok("GET", "Payments", params={"where": 'Reference=="Refund RMA-1001"'})["Payments"]
    assert [p["PaymentID"] for p in listed] == [pay["PaymentID"]]
    assert xero.ok("GET", f"Payments/{pay['PaymentID']}")["Payments"][0]["Amount"] == Decimal("57.50")
    removed = xero.ok("POST", f"Payments/{pay['PaymentID']}", {"Status": "DELETED"})["Payments"][0]
    assert removed["Status"] == "DELETED"
    reopened = xero.ok("GET", f"CreditNotes/{cn['CreditNoteID']}")["CreditNotes"][0]
    assert reopened["Status"] == "AUTHORISED" and reopened["RemainingCredit"] == Decimal("57.50")


def test_allocation_to_an_invoice_and_its_deletion(sandbox: Any) -> None:
    xero = Xero(sandbox)
    invoice = xero.ok("GET", "Invoices")["Invoices"][0]
    cn = xero.credit_note(Contact={"ContactID": invoice["Contact"]["ContactID"]})
    alloc = xero.ok(
        "PUT",
        f"CreditNotes/{cn['CreditNoteID']}/Allocations",
        {
            "Allocations": [
                {
                    "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                    "Amount": "20.00",
                    "Date": TODAY,
                }
            ]
        },
    )["Allocations"][0]
    assert alloc["Amount"] == Decimal("20.00") and alloc["Invoice"]["InvoiceID"] == invoice["InvoiceID"]
    after = xero.ok("GET", f"CreditNotes/{cn['CreditNoteID']}")["CreditNotes"][0]
    assert after["RemainingCredit"] == Decimal("37.50") and len(after["Allocations"]) == 1
    inv = xero.ok("GET", f"Invoices/{invoice['InvoiceID']}")["Invoices"][0]
    assert inv["AmountDue"] == invoice["AmountDue"] - Decimal("20.00")
    too_much = xero.call(
        "PUT",
        f"CreditNotes/{cn['CreditNoteID']}/Allocations",
        {
            "Allocations": [
                {
                    "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                    "Amount": "100.00",
                    "Date": TODAY,
                }
            ]
        },
    )
    assert too_much.status_code == 400
    gone = xero.call("DELETE", f"CreditNotes/{cn['CreditNoteID']}/Allocations/{alloc['AllocationID']}")
    assert gone.status_code == 200 and gone.json()["IsDeleted"] is True
    assert xero.ok("GET", f"CreditNotes/{cn['CreditNoteID']}")["CreditNotes"][0]["RemainingCredit"] == Decimal("57.50")


def test_idempotency_key_replays_without_a_second_document(sandbox: Any) -> None:
    xero = Xero(sandbox)
    body = {
        "CreditNotes": [
            {
                "Type": "ACCRECCREDIT",
                "Contact": {"ContactID": xero.contact_id()},
                "Status": "AUTHORISED",
                "Reference": "RMA-77",
                "LineItems": [{"Description": "x", "UnitAmount": 10, "AccountCode": "200"}],
            }
        ]
    }
    key = {"Idempotency-Key": "kiwi:rma-77:r1:creditnote"}
    first = xero.call("PUT", "CreditNotes", body, headers=key)
    second = xero.call("PUT", "CreditNotes", body, headers=key)
    assert first.status_code == second.status_code == 200
    assert first.json()["CreditNotes"][0]["CreditNoteID"] == second.json()["CreditNotes"][0]["CreditNoteID"]
    assert len(xero.ok("GET", "CreditNotes")["CreditNotes"]) == 1
    assert xero.call("PUT", "CreditNotes", body, headers={"Idempotency-Key": "x" * 129}).status_code == 400
    other = xero.call("PUT", "CreditNotes", body, headers={"Idempotency-Key": "another"})
    assert other.status_code == 200 and len(xero.ok("GET", "CreditNotes")["CreditNotes"]) == 2


def test_ledger_documents_and_tamper_ops(sandbox: Any) -> None:
    xero = Xero(sandbox)
    cn = xero.credit_note()
    dup = sandbox.control("POST", "ledger/xero/KIWI-NZ/tamper", {"op": "duplicate", "id": cn["CreditNoteID"]})
    assert dup["reference"] == "RMA-1001" and dup["number"] == "CN-0002" and dup["total"] == "57.50"
    taxed = sandbox.control(
        "POST",
        f"ledger/xero/{xero.tenant}/tamper",
        {"op": "edit", "id": dup["id"], "set": {"tax": "7.00", "date": "2026-11-25"}},
    )
    assert taxed["total"] == "57.00" and taxed["date"] == "2026-11-25"
    voided = sandbox.control("POST", "ledger/xero/KIWI-NZ/tamper", {"op": "void", "id": dup["id"]})
    assert voided["status"] == "voided"
    created = sandbox.control(
        "POST",
        "ledger/xero/KIWI-NZ/tamper",
        {
            "op": "create",
            "type": "ManualJournal",
            "document": {
                "Narration": "Hand entry",
                "Status": "POSTED",
                "JournalLines": [
                    {"LineAmount": "12.00", "AccountCode": "610"},
                    {"LineAmount": "-12.00", "AccountCode": "880"},
                ],
            },
        },
    )
    assert created["type"] == "ManualJournal" and created["total"] == "12.00" and created["reference"] == "Hand entry"
    docs = sandbox.control("GET", "ledger/xero/KIWI-NZ")["documents"]
    assert {(d["type"], d["status"]) for d in docs} == {
        ("CreditNote", "active"),
        ("CreditNote", "voided"),
        ("ManualJournal", "active"),
    }
    refused = sandbox.http.post(
        f"{sandbox.control_url}/ledger/xero/KIWI-NZ/tamper", timeout=10, json={"op": "delete", "id": cn["CreditNoteID"]}
    )
    assert refused.status_code == 400 and "void" in refused.text
    assert sandbox.http.get(f"{sandbox.control_url}/ledger/xero/NOPE", timeout=10).status_code == 404
    tea = sandbox.control("GET", f"ledger/xero/{TEA}")["documents"]
    assert tea == []
