"""parse_return: every problem code, every problem of a record at once, exact money, aware UTC times."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.services.core.enums import FeeType, RefundMethod
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.money import Money
from desktop.services.rms.context import OrgContext
from desktop.services.rms.parse import FILE_FIX, RMS_FIX, parse_return, parse_timestamp

ACME = OrgContext.from_rms({
    "code": "ACME-US", "name": "Acme", "country": "US", "home_currency": "USD", "currencies": ["USD", "CAD"],
    "timezone": "America/Los_Angeles",
    "tax_jurisdictions": [{"code": "US-CA", "name": "California", "rate": "0.0725"},
                          {"code": "US-CA-LA", "name": "LA County", "rate": "0.0225"}],
})
KIWI = OrgContext.from_rms({"code": "KIWI-NZ", "home_currency": "NZD", "currencies": ["NZD", "JPY"],
                            "tax_jurisdictions": [{"code": "NZ-GST", "name": "GST", "rate": "0.15"}]})


def good() -> dict[str, Any]:
    """A clean ACME-US return: 249.00 + 18.05 + 5.60 tax, 2 × 34.99, restocking fee withheld."""
    return {
        "id": "ret_1", "rma_number": "RMA-ACME-1", "revision": 2, "organization": "ACME-US",
        "customer": {"id": "cus_1", "name": "Olivia Johnson", "email": "olivia@example.com"},
        "channel": "web", "warehouse": "WH-RENO", "currency": "USD",
        "created_at": "2026-11-20T10:15:00.123Z", "updated_at": "2026-11-21T08:00:00+02:00",
        "refund_method": "original_payment", "status": "inspected",
        "lines": [
            {"line_id": "ln_1", "sku": "TENT-4P", "description": "Tent", "quantity": 1, "unit_price": "249.00",
             "reason_code": "DAMAGED", "disposition": "SCRAP",
             "tax": [{"jurisdiction": "US-CA", "rate": "0.0725", "amount": "18.05"},
                     {"jurisdiction": "US-CA-LA", "rate": "0.0225", "amount": "5.60"}]},
            {"line_id": "ln_2", "sku": "LAMP", "description": "Lamp", "quantity": 2, "unit_price": "34.99",
             "reason_code": "CHANGED_MIND", "disposition": "RESTOCK", "tax": []},
        ],
        "fees": [{"type": "restocking_fee", "amount": "10.00"}, {"type": "label_cost", "amount": "8.40"}],
        "refund_total": "332.63",
    }


def test_a_clean_record_becomes_exact_money_and_aware_utc_times() -> None:
    record, problems = parse_return(good(), ACME)
    assert problems == []
    assert record is not None
    assert record.refund_total == Money(Decimal("332.63"), "USD") == record.computed_refund()
    assert record.updated_at == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    assert record.created_at == datetime(2026, 11, 20, 10, 15, 0, 123000, tzinfo=UTC)
    assert record.refund_method is RefundMethod.ORIGINAL_PAYMENT
    assert record.lines[0].taxes[0].rate == Decimal("7.25")  # the domain keeps percent
    assert record.lines[1].quantity == Decimal(2)
    assert [f.type for f in record.fees] == [FeeType.RESTOCKING_FEE, FeeType.LABEL_COST]
    assert record.customer.email == "olivia@example.com"


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, leaf = path.replace("]", "").replace("[", ".").split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is _DELETE:
            del target[int(leaf) if leaf.isdigit() else leaf]
        else:
            target[int(leaf) if leaf.isdigit() else leaf] = value
    return mutate


_DELETE = object()

CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("missing_field", _set("customer.email", _DELETE), "customer.email", "email is missing"),
    ("missing_field", _set("currency", _DELETE), "currency", "currency is missing"),
    ("missing_field", _set("lines.0.sku", _DELETE), "lines[0].sku", "Line 1: SKU is missing"),
    ("missing_field", _set("refund_total", _DELETE), "refund_total", "refund total is missing"),
    ("malformed_amount", _set("lines.1.unit_price", "12.3.4"), "lines[1].unit_price",
     "Line 2 (SKU LAMP): unit price '12.3.4' is not a decimal amount"),
    ("malformed_amount", _set("lines.1.unit_price", Decimal("34.99")), "lines[1].unit_price", "is a JSON number"),
    ("malformed_amount", _set("refund_total", 332), "refund_total", "is a JSON number"),
    ("malformed_amount", _set("fees.0.amount", "1,000.00"), "fees[0].amount", "not a decimal amount"),
    ("too_many_decimals", _set("lines.1.unit_price", "34.999"), "lines[1].unit_price", "USD allows (2)"),
    ("negative_amount", _set("fees.0.amount", "-10.00"), "fees[0].amount", "is negative"),
    ("negative_quantity", _set("lines.0.quantity", -1), "lines[0].quantity", "quantity -1 is negative"),
    ("zero_quantity", _set("lines.0.quantity", 0), "lines[0].quantity", "quantity is 0"),
    ("malformed_quantity", _set("lines.0.quantity", Decimal("1.5")), "lines[0].quantity", "not a whole number"),
    ("unknown_reason_code", _set("lines.0.reason_code", "GIFT_RETURN"), "lines[0].reason_code", "'GIFT_RETURN'"),
    ("unknown_disposition", _set("lines.0.disposition", "DONATE"), "lines[0].disposition", "'DONATE'"),
    ("unknown_fee_type", _set("fees.1.type", "gift_wrap"), "fees[1].type", "Fee 2 (gift_wrap): fee type"),
    ("unknown_tax_jurisdiction", _set("lines.0.tax.1.jurisdiction", "XX-UNKNOWN"), "lines[0].tax[1].jurisdiction",
     "'XX-UNKNOWN' is not one of ACME-US's jurisdictions (US-CA, US-CA-LA)"),
    ("duplicate_tax_jurisdiction", _set("lines.0.tax.1.jurisdiction", "US-CA"), "lines[0].tax[1].jurisdiction",
     "appears twice"),
    ("malformed_rate", _set("lines.0.tax.0.rate", "7.25%"), "lines[0].tax[0].rate", "holding a fraction"),
    ("wrong_currency", _set("currency", "XYZ"), "currency", "'XYZ' is not an ISO 4217 code"),
    ("wrong_currency", _set("currency", "EUR"), "currency", "not one ACME-US books returns in (USD, CAD)"),
    ("currency_mismatch", _set("lines.1.unit_price", "34.99 CAD"), "lines[1].unit_price", "currency USD"),
    ("currency_mismatch", _set("fees.0.currency", "CAD"), "fees[0].currency", "differs from"),
    ("wrong_organization", _set("organization", "MAPLE-CA"), "organization", "'MAPLE-CA'"),
    ("bad_timestamp", _set("created_at", "2026-11-20 10:15:00"), "created_at", "RFC 3339"),
    ("bad_timestamp", _set("updated_at", "2026-02-30T10:00:00Z"), "updated_at", "RFC 3339"),
    ("bad_timestamp", _set("updated_at", "2026-11-20T10:15:00"), "updated_at", "with a time zone"),
    ("no_lines", _set("lines", []), "lines", "at least one"),
    ("duplicate_line_id", _set("lines.1.line_id", "ln_1"), "lines[1].line_id", "'ln_1' appears twice"),
    ("unknown_refund_method", _set("refund_method", "cash"), "refund_method", "'cash'"),
    ("invalid_value", _set("customer", "Olivia"), "customer", "must be an object"),
    ("invalid_value", _set("revision", 0), "revision", "from 1 up"),
    ("invalid_value", _set("revision", 2**31), "revision", "from 1 up"),
    ("value_too_long", _set("rma_number", "R" * 65), "rma_number", "longer than the 64 characters"),
    ("value_too_long", _set("lines.0.sku", "S" * 101), "lines[0].sku", "longer than the 100 characters"),
    ("amount_out_of_range", _set("refund_total", "1" + "0" * 18), "refund_total", "too large"),
    ("malformed_quantity", _set("lines.0.quantity", 2**40), "lines[0].quantity", "too large"),
]


@pytest.mark.parametrize(("code", "mutate", "field", "text"), CASES,
                         ids=[f"{c[0]}:{c[2]}:{i}" for i, c in enumerate(CASES)])
def test_each_problem_has_a_stable_code_a_field_and_an_actionable_message(
        code: str, mutate: Callable[[dict[str, Any]], None], field: str, text: str) -> None:
    doc = good()
    mutate(doc)
    record, problems = parse_return(doc, ACME)
    assert record is None
    matching = [p for p in problems if p.code == code]
    assert matching, problems
    assert matching[0].field == field
    assert text in matching[0].message
    assert matching[0].message.endswith(RMS_FIX)


def test_refund_total_mismatch_states_both_figures() -> None:
    doc = good()
    doc["refund_total"] = "332.64"
    record, problems = parse_return(doc, ACME)
    assert record is None
    assert [p.code for p in problems] == ["refund_total_mismatch"]
    assert "refund total of 332.64 USD" in problems[0].message
    assert "add up to 332.63 USD" in problems[0].message


def test_every_problem_of_a_record_is_reported_at_once() -> None:
    doc = good()
    doc["lines"][0]["quantity"] = -2
    doc["lines"][1]["unit_price"] = "abc"
    doc["lines"][1]["reason_code"] = "OTHER"
    doc["created_at"] = "yesterday"
    del doc["customer"]["name"]
    _, problems = parse_return(doc, ACME, fix=FILE_FIX)
    assert sorted(p.code for p in problems) == ["bad_timestamp", "malformed_amount", "missing_field",
                                               "negative_quantity", "unknown_reason_code"]
    assert all(p.message.endswith(FILE_FIX) for p in problems)


def test_a_non_object_is_a_problem_not_a_crash() -> None:
    record, problems = parse_return(["not", "a", "return"], ACME)
    assert record is None and [p.code for p in problems] == ["invalid_value"]


def test_zero_decimal_currency() -> None:
    doc = {**good(), "currency": "JPY", "organization": "KIWI-NZ", "fees": [], "refund_total": "3000"}
    doc["lines"] = [{**good()["lines"][1], "unit_price": "1500", "tax": []}]
    record, problems = parse_return(doc, KIWI)
    assert problems == [] and record is not None
    assert record.computed_refund() == Money(Decimal(3000), "JPY")
    doc["lines"][0]["unit_price"] = "1500.50"
    _, problems = parse_return(doc, KIWI)
    assert [p.code for p in problems] == ["too_many_decimals"]


def test_timestamps() -> None:
    assert parse_timestamp("2026-11-27T09:30:00.123456789Z") == datetime(2026, 11, 27, 9, 30, 0, 123456, tzinfo=UTC)
    assert parse_timestamp("2026-11-27T09:30:00-05:00") == datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    assert parse_timestamp("2026-11-27") is None
    assert parse_timestamp("2026-11-27T09:30:00") is None


def test_organization_context_refuses_what_it_cannot_use() -> None:
    with pytest.raises(NeedsPersonError, match="not ISO 4217"):
        OrgContext.from_rms({"code": "X", "home_currency": "ABC", "currencies": []})
    with pytest.raises(NeedsPersonError, match="not a decimal string"):
        OrgContext.from_rms({"code": "X", "home_currency": "USD", "currencies": ["USD"],
                             "tax_jurisdictions": [{"code": "J", "name": "J", "rate": 0.07}]})
    assert OrgContext.from_profile(ACME.to_profile()) == ACME


def _single_line(price: Decimal, quantity: int, stated: str) -> dict[str, Any]:
    doc = copy.deepcopy(good())
    doc["lines"] = [{**doc["lines"][1], "unit_price": format(price, "f"), "quantity": quantity}]
    doc["fees"] = []
    doc["refund_total"] = stated
    return doc


@given(cents=st.integers(min_value=0, max_value=10**12), quantity=st.integers(min_value=1, max_value=999))
def test_any_exact_amount_round_trips_to_the_cent(cents: int, quantity: int) -> None:
    price = Decimal(cents).scaleb(-2)
    record, problems = parse_return(_single_line(price, quantity, format(price * quantity, "f")), ACME)
    assert problems == []
    assert record is not None
    assert record.lines[0].unit_price == Money(price, "USD")
    assert record.computed_refund().to_minor_units() == cents * quantity


@given(cents=st.integers(min_value=0, max_value=10**9), off=st.integers(min_value=1, max_value=10**6))
def test_any_cent_of_difference_is_a_mismatch(cents: int, off: int) -> None:
    price = Decimal(cents).scaleb(-2)
    _, problems = parse_return(_single_line(price, 1, format(price + Decimal(off).scaleb(-2), "f")), ACME)
    assert [p.code for p in problems] == ["refund_total_mismatch"]


@given(value=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(),
                       st.decimals(allow_nan=False, allow_infinity=False)))
def test_a_json_number_is_never_taken_for_money(value: float | int | Decimal) -> None:
    doc = good()
    doc["lines"][1]["unit_price"] = value
    record, problems = parse_return(doc, ACME)
    assert record is None
    assert [(p.code, p.field) for p in problems] == [("malformed_amount", "lines[1].unit_price")]
