"""Every key the QBO emulator answers is a name Intuit's official XSDs define for that type.

The XSDs describe the XML wire form; the JSON form uses the same element and attribute names.
JSON-only names are allowed by this explicit list, and nowhere else:

* ``value`` — the text content of a simple-content type (``ReferenceType`` → ``{"value", "name"}``).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from tests.helpers.qbo_client import MAPLE, Qbo

# Intuit's official XSDs, vendored unchanged (resources/reference/README.md says from where).
XSD = Path(__file__).resolve().parents[2] / "resources" / "reference" / "qbo" / "IntuitRestServiceDef.xsd"
NS = "{http://schema.intuit.com/finance/v3}"
JSON_ONLY_SIMPLE_CONTENT = {"value"}
ENTITIES = ("CreditMemo", "RefundReceipt", "JournalEntry", "Payment", "Account", "Item", "Customer", "TaxCode",
            "TaxRate", "Class", "Department", "CompanyInfo", "Preferences", "CompanyCurrency", "ExchangeRate")


@pytest.fixture(scope="module")
def schema() -> Any:
    if not XSD.exists():
        pytest.fail(f"Intuit XSDs not found at {XSD}")
    return xmlschema.XMLSchema(str(XSD))


def _unknown_keys(obj: Any, xsd_type: Any, path: str) -> list[str]:
    problems: list[str] = []
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            problems += _unknown_keys(item, xsd_type, f"{path}[{i}]")
        return problems
    if not isinstance(obj, dict):
        return problems
    if xsd_type.is_simple():
        return [f"{path} (object where the XSD has a simple type)"]
    attributes = {a.split("}")[-1] for a in xsd_type.attributes}
    children = {}
    if not xsd_type.has_simple_content() and xsd_type.content is not None:
        children = {e.local_name: e for e in xsd_type.content.iter_elements()}
    for key, value in obj.items():
        if key in children:
            child_type = children[key].type
            if child_type.local_name == "IntuitAnyType":
                continue
            problems += _unknown_keys(value, child_type, f"{path}.{key}")
        elif key in attributes or (key in JSON_ONLY_SIMPLE_CONTENT and xsd_type.has_simple_content()):
            continue
        else:
            problems.append(f"{path}.{key}")
    return problems


def _payloads(sandbox: Any) -> dict[str, list[dict[str, Any]]]:
    """Answers of every kind the emulator gives, for both tax models."""
    got: dict[str, list[dict[str, Any]]] = {e: [] for e in ENTITIES}
    for company in ("ACME-US", "MAPLE-CA"):
        qbo = Qbo(sandbox, company)
        memo_body = qbo.credit_memo(f"X-{company}", "42.00", ClassRef={"value": qbo.id_of("Class", "Retail")})
        if qbo.realm != MAPLE:
            memo_body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "TAX"}
        memo = qbo.ok(qbo.post("creditmemo", memo_body))["CreditMemo"]
        checking = {"value": qbo.id_of("Account", "Checking")}
        refund = qbo.credit_memo(f"R-{company}", "10.00", DepositToAccountRef=checking)
        rr = qbo.ok(qbo.post("refundreceipt", refund))["RefundReceipt"]
        voided = qbo.ok(qbo.post("refundreceipt", {"Id": rr["Id"], "SyncToken": "0"}, operation="void"))
        je = {"Line": [
            {"DetailType": "JournalEntryLineDetail", "Amount": Decimal("5.00"), "Description": "fee",
             "JournalEntryLineDetail": {"PostingType": "Debit",
                                        "AccountRef": {"value": qbo.id_of("Account", "Accounts Receivable (A/R)")},
                                        "Entity": {"Type": "Customer", "EntityRef": memo["CustomerRef"]}}},
            {"DetailType": "JournalEntryLineDetail", "Amount": Decimal("5.00"),
             "JournalEntryLineDetail": {"PostingType": "Credit",
                                        "AccountRef": {"value": qbo.id_of("Account", "Restocking Fee Income")}}}]}
        pay = {"CustomerRef": memo["CustomerRef"], "TotalAmt": Decimal("0"),
               "Line": [{"Amount": Decimal("5.00"), "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]}]}
        got["CreditMemo"] += [memo, qbo.ok(qbo.get(f"creditmemo/{memo['Id']}"))["CreditMemo"]]
        got["RefundReceipt"] += [rr, voided["RefundReceipt"]]
        got["JournalEntry"].append(qbo.ok(qbo.post("journalentry", je))["JournalEntry"])
        got["Payment"].append(qbo.ok(qbo.post("payment", pay))["Payment"])
        for entity in ("Account", "Item", "Customer", "TaxCode", "TaxRate", "Class", "Department",
                       "CompanyCurrency"):
            got[entity] += qbo.ok(qbo.query(f"select * from {entity}"))["QueryResponse"][entity]  # noqa: S608
        got["CompanyInfo"].append(qbo.ok(qbo.get(f"companyinfo/{qbo.realm}"))["CompanyInfo"])
        got["Preferences"].append(qbo.ok(qbo.get("preferences"))["Preferences"])
        foreign = "CAD" if qbo.realm != MAPLE else "USD"
        got["ExchangeRate"].append(qbo.ok(qbo.get("exchangerate", sourcecurrencycode=foreign))["ExchangeRate"])
        deleted = qbo.ok(qbo.post("refundreceipt", {"Id": rr["Id"], "SyncToken": "1"}, operation="delete"))
        got["RefundReceipt"].append(deleted["RefundReceipt"])
    return got


def test_every_payload_key_is_defined_by_the_xsd(sandbox: Any, schema: Any) -> None:
    payloads = _payloads(sandbox)
    problems: list[str] = []
    for entity in ENTITIES:
        assert payloads[entity], f"no {entity} payload collected"
        xsd_type = schema.maps.elements[NS + entity].type
        for i, obj in enumerate(payloads[entity]):
            problems += _unknown_keys(obj, xsd_type, f"{entity}[{i}]")
    assert problems == []


def test_the_checker_catches_an_unknown_key(schema: Any) -> None:
    xsd_type = schema.maps.elements[NS + "CreditMemo"].type
    bad = {"Id": "1", "CustomerRef": {"value": "1", "nmae": "x"}, "Line": [{"Amount": 1, "Amt": 2}], "Status": "x"}
    assert _unknown_keys(bad, xsd_type, "CreditMemo") == [
        "CreditMemo.CustomerRef.nmae", "CreditMemo.Line[0].Amt", "CreditMemo.Status"]
