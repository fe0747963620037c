"""Manual journals, contacts, accounts and the seeded reference data over real HTTP."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.helpers.xero_client import Xero


def _journal(lines: list[tuple[str, str]], **over: Any) -> dict[str, Any]:
    return {
        "Narration": "Restocking fee RMA-1001",
        "Status": "POSTED",
        "LineAmountTypes": "NoTax",
        "JournalLines": [{"LineAmount": amt, "AccountCode": code, "Description": "x"} for amt, code in lines],
        **over,
    }


def test_manual_journal_must_balance_with_xeros_message(sandbox: Any) -> None:
    xero = Xero(sandbox)
    resp = xero.call("PUT", "ManualJournals", {"ManualJournals": [_journal([("100.00", "610"), ("-10.00", "260")])]})
    assert resp.status_code == 400
    assert resp.json()["Elements"][0]["ValidationErrors"] == [
        {"Message": "The total debits (100.00) must equal total credits (-10.00)"}
    ]
    no_narr = xero.ok(
        "PUT",
        "ManualJournals",
        {"ManualJournals": [_journal([("1", "610"), ("-1", "260")], Narration="")]},
        params={"summarizeErrors": "false"},
    )["ManualJournals"][0]
    assert no_narr["StatusAttributeString"] == "ERROR" and "Narration" in no_narr["ValidationErrors"][0]["Message"]


def test_manual_journal_create_update_void(sandbox: Any) -> None:
    xero = Xero(sandbox)
    mj = xero.ok(
        "PUT", "ManualJournals", {"ManualJournals": [_journal([("15.00", "610"), ("-15.00", "410")], Status="DRAFT")]}
    )["ManualJournals"][0]
    assert mj["Status"] == "DRAFT" and [ln["LineAmount"] for ln in mj["JournalLines"]] == [
        Decimal("15.00"),
        Decimal("-15.00"),
    ]
    posted = xero.ok("POST", f"ManualJournals/{mj['ManualJournalID']}", {"ManualJournals": [{"Status": "POSTED"}]})[
        "ManualJournals"
    ][0]
    assert posted["Status"] == "POSTED" and posted["Narration"] == "Restocking fee RMA-1001"
    refused = xero.call(
        "POST", "ManualJournals", {"ManualJournals": [{"ManualJournalID": mj["ManualJournalID"], "Status": "DELETED"}]}
    )
    assert refused.status_code == 400
    voided = xero.ok(
        "POST", "ManualJournals", {"ManualJournals": [{"ManualJournalID": mj["ManualJournalID"], "Status": "VOIDED"}]}
    )["ManualJournals"][0]
    assert voided["Status"] == "VOIDED"
    got = xero.ok("GET", "ManualJournals", params={"where": 'Status=="VOIDED"', "page": 1})
    assert [m["ManualJournalID"] for m in got["ManualJournals"]] == [mj["ManualJournalID"]]
    assert got["pagination"]["itemCount"] == 1
    assert xero.ok("GET", f"ManualJournals/{mj['ManualJournalID']}")["ManualJournals"][0]["Status"] == "VOIDED"


def test_manual_journal_with_tax_balances_gross(sandbox: Any) -> None:
    xero = Xero(sandbox)
    mj = xero.ok(
        "PUT",
        "ManualJournals",
        {
            "ManualJournals": [
                {
                    "Narration": "Freight recharge",
                    "Status": "POSTED",
                    "LineAmountTypes": "Inclusive",
                    "JournalLines": [
                        {"LineAmount": "23.00", "AccountCode": "610", "TaxType": "NONE"},
                        {"LineAmount": "-23.00", "AccountCode": "420", "TaxType": "OUTPUT2"},
                    ],
                }
            ]
        },
    )
    line = mj["ManualJournals"][0]["JournalLines"][1]
    assert line["TaxAmount"] == Decimal("-3.00")


def test_contacts_create_update_and_duplicate_name(sandbox: Any) -> None:
    xero = Xero(sandbox)
    created = xero.ok(
        "PUT", "Contacts", {"Contacts": [{"Name": "Returns Customer 1", "EmailAddress": "rc1@example.nz"}]}
    )["Contacts"][0]
    assert created["ContactStatus"] == "ACTIVE" and created["Name"] == "Returns Customer 1"
    dup = xero.call("PUT", "Contacts", {"Contacts": [{"Name": "returns customer 1"}]})
    assert dup.status_code == 400
    assert "already assigned to another contact" in dup.json()["Elements"][0]["ValidationErrors"][0]["Message"]
    upd = xero.ok(
        "POST", "Contacts", {"Contacts": [{"ContactID": created["ContactID"], "EmailAddress": "new@example.nz"}]}
    )["Contacts"][0]
    assert upd["EmailAddress"] == "new@example.nz" and upd["Name"] == "Returns Customer 1"
    found = xero.ok("GET", "Contacts", params={"where": 'Name=="Returns Customer 1"'})["Contacts"]
    assert [c["ContactID"] for c in found] == [created["ContactID"]]
    assert xero.ok("GET", "Contacts", params={"searchTerm": "new@"})["Contacts"][0]["ContactID"] == created["ContactID"]
    by_ids = xero.ok("GET", "Contacts", params={"IDs": created["ContactID"].upper()})["Contacts"]
    assert [c["ContactID"] for c in by_ids] == [created["ContactID"]]
    assert xero.ok("GET", f"Contacts/{created['ContactID']}")["Contacts"][0]["Name"] == "Returns Customer 1"
    # a credit note naming an unknown contact creates it, as Xero does
    cn = xero.credit_note(Contact={"Name": "Walk-in Customer"})
    assert xero.ok("GET", f"Contacts/{cn['Contact']['ContactID']}")["Contacts"][0]["Name"] == "Walk-in Customer"


def test_accounts_and_reference_data(sandbox: Any) -> None:
    xero = Xero(sandbox)
    accounts = {a["Code"]: a for a in xero.ok("GET", "Accounts")["Accounts"]}
    assert accounts["090"]["Type"] == "BANK" and accounts["200"]["Name"] == "Sales"
    assert accounts["880"]["Name"] == "Refunds Clearing" and accounts["820"]["Name"] == "GST"
    assert accounts["455"]["Status"] == "ARCHIVED"
    assert {"410", "420", "310", "425", "630", "610", "840"} <= set(accounts)
    one = xero.ok("GET", f"Accounts/{accounts['410']['AccountID']}")["Accounts"][0]
    assert one["Name"] == "Restocking Fee Income"
    new = xero.ok(
        "PUT", "Accounts", {"Code": "415", "Name": "Return Shipping Income", "Type": "REVENUE", "TaxType": "OUTPUT2"}
    )["Accounts"][0]
    assert new["Status"] == "ACTIVE" and new["Class"] == "REVENUE"
    dup = xero.call("PUT", "Accounts", {"Code": "415", "Name": "Other", "Type": "REVENUE"})
    assert dup.status_code == 400 and "unique Code" in dup.text
    rates = {r["TaxType"]: r for r in xero.ok("GET", "TaxRates")["TaxRates"]}
    assert rates["OUTPUT2"]["Name"] == "GST on Income" and rates["OUTPUT2"]["EffectiveRate"] == Decimal("15.0000")
    assert {"INPUT2", "ZERORATEDOUTPUT", "NONE"} <= set(rates)
    assert {c["Code"] for c in xero.ok("GET", "Currencies")["Currencies"]} == {"NZD", "AUD"}
    cats = {c["Name"]: c for c in xero.ok("GET", "TrackingCategories")["TrackingCategories"]}
    assert {"Channel", "Region"} == set(cats) and len(cats["Channel"]["Options"]) == 3
    items = xero.ok("GET", "Items")["Items"]
    assert items and xero.ok("GET", f"Items/{items[0]['ItemID']}")["Items"][0]["Code"] == items[0]["Code"]


def test_uk_organisation_seed(sandbox: Any) -> None:
    xero = Xero(sandbox, company="TEA-UK")
    org = xero.ok("GET", "Organisation")["Organisations"][0]
    assert (org["Name"], org["BaseCurrency"], org["CountryCode"]) == ("Britannia Tea Co. Ltd", "GBP", "GB")
    rates = {r["TaxType"]: r for r in xero.ok("GET", "TaxRates")["TaxRates"]}
    assert rates["OUTPUT2"]["Name"] == "20% (VAT on Income)" and {"EXEMPTOUTPUT", "RRINPUT"} <= set(rates)
    assert {c["Code"] for c in xero.ok("GET", "Currencies")["Currencies"]} == {"GBP", "EUR", "JPY"}
    jpy = xero.credit_note(
        CurrencyCode="JPY",
        LineItems=[{"Description": "Tea", "Quantity": 1, "UnitAmount": "1234", "AccountCode": "200"}],
    )
    assert jpy["TotalTax"] == Decimal("247") and jpy["CurrencyRate"] == Decimal("190.450000")


def test_injected_faults_use_xeros_error_shapes(sandbox: Any) -> None:
    xero = Xero(sandbox)
    sandbox.control(
        "POST",
        "faults",
        {"rules": [{"service": "xero", "action": "status", "status": 503, "path_regex": "Organisation", "times": 1}]},
    )
    down = xero.call("GET", "Organisation")
    assert down.status_code == 503
    assert down.json()["Status"] == 503 and down.json()["Title"] == "Service Unavailable"
    sandbox.control(
        "POST",
        "faults",
        {"rules": [{"service": "xero", "action": "status", "status": 429, "path_regex": "Organisation", "times": 1}]},
    )
    limited = xero.call("GET", "Organisation")
    assert limited.status_code == 429 and limited.headers["X-Rate-Limit-Problem"] == "minute"
    assert int(limited.headers["Retry-After"]) >= 1
    assert xero.call("GET", "Organisation").status_code == 200


def test_malformed_bodies_are_refused_cleanly(sandbox: Any) -> None:
    xero = Xero(sandbox)
    resp = xero.http.put(
        f"{xero.base}/api.xro/2.0/CreditNotes",
        data="{not json",
        timeout=10,
        headers={"Authorization": f"Bearer {xero.tokens['access_token']}", "xero-tenant-id": xero.tenant},
    )
    assert resp.status_code == 400 and resp.json()["Type"] == "PostDataInvalidException"
    odd = xero.ok(
        "PUT",
        "CreditNotes",
        {
            "CreditNotes": [
                {
                    "Type": "ACCRECCREDIT",
                    "Contact": {"ContactID": xero.contact_id()},
                    "Status": "AUTHORISED",
                    "LineItems": [{"Description": "x", "UnitAmount": 1, "AccountCode": "200", "Tracking": ["Channel"]}],
                }
            ]
        },
        params={"summarizeErrors": "false"},
    )["CreditNotes"][0]
    assert odd["StatusAttributeString"] == "ERROR"
    assert xero.call("GET", "CreditNotes", params={"order": "Reference SIDEWAYS"}).status_code == 400
    assert xero.call("GET", "NoSuchThing").status_code == 404
