"""The RMS's optional ``exchange`` block (docs/rms-api.yaml): replacement goods read exactly, set
against the refund, refused on another refund method, and read back from a stored payload."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from desktop.services.core.domain import Settlement, settlement
from desktop.services.core.money import Money
from desktop.services.rms.context import OrgContext
from desktop.services.rms.parse import parse_return, stored_replacements

ACME = OrgContext.from_rms({
    "code": "ACME-US", "name": "Acme", "country": "US", "home_currency": "USD", "currencies": ["USD", "CAD"],
    "timezone": "America/Los_Angeles",
    "tax_jurisdictions": [{"code": "US-CA", "name": "California", "rate": "0.0725"}],
})


def exchange(price: str, tax: str, total: str) -> dict[str, Any]:
    """A jacket (80.00 + 5.80 tax) exchanged for a replacement at ``price`` + ``tax``."""
    return {
        "id": "ret_9", "rma_number": "RMA-ACME-9", "revision": 1, "organization": "ACME-US",
        "customer": {"id": "cus_1", "name": "Olivia Johnson", "email": "olivia@example.com"},
        "channel": "web", "warehouse": "WH-RENO", "currency": "USD",
        "created_at": "2026-11-20T10:15:00Z", "updated_at": "2026-11-21T08:00:00Z",
        "refund_method": "exchange", "status": "closed",
        "lines": [{"line_id": "ln_1", "sku": "JACKET-M", "description": "Jacket M", "quantity": 1,
                   "unit_price": "80.00", "reason_code": "SIZE_FIT", "disposition": "RESTOCK",
                   "tax": [{"jurisdiction": "US-CA", "rate": "0.0725", "amount": "5.80"}]}],
        "fees": [],
        "exchange": {"lines": [{"sku": "JACKET-L", "description": "Jacket L", "quantity": 1, "unit_price": price,
                                "tax": [{"jurisdiction": "US-CA", "rate": "0.0725", "amount": tax}]}]},
        "refund_total": total,
    }


def test_replacements_are_read_exactly_and_set_against_the_refund() -> None:
    for price, tax, total, how in (("80.00", "5.80", "0.00", Settlement.EVEN),
                                   ("50.00", "3.63", "32.17", Settlement.REFUND),
                                   ("95.00", "6.89", "-16.09", Settlement.CHARGE)):
        record, problems = parse_return(exchange(price, tax, total), ACME)
        assert problems == [], problems
        assert record is not None
        [swap] = record.replacements
        assert (swap.sku, swap.unit_price, swap.taxes[0].amount) == ("JACKET-L", Money(Decimal(price), "USD"),
                                                                     Money(Decimal(tax), "USD"))
        assert swap.taxes[0].rate == Decimal("7.25")
        assert record.computed_refund() == Money(Decimal(total), "USD") == record.refund_total
        assert settlement(record, None) is how
        assert stored_replacements(exchange(price, tax, total), "USD") == record.replacements


def test_a_refund_total_that_ignores_the_replacements_is_refused() -> None:
    record, problems = parse_return(exchange("50.00", "3.63", "85.80"), ACME)
    assert record is None and [p.code for p in problems] == ["refund_total_mismatch"]


def test_replacement_goods_need_the_exchange_method_and_a_known_jurisdiction() -> None:
    payload = {**exchange("50.00", "3.63", "32.17"), "refund_method": "store_credit"}
    record, problems = parse_return(payload, ACME)
    assert record is None and [p.field for p in problems] == ["exchange"]
    assert "not 'exchange'" in problems[0].message
    payload = exchange("50.00", "3.63", "32.17")
    payload["exchange"]["lines"][0]["tax"][0]["jurisdiction"] = "US-NV"
    record, problems = parse_return(payload, ACME)
    assert record is None and [p.code for p in problems] == ["unknown_tax_jurisdiction"]
    assert problems[0].field == "exchange.lines[0].tax[0].jurisdiction"
    record, problems = parse_return({**exchange("50.00", "3.63", "32.17"), "exchange": []}, ACME)
    assert record is None and [p.field for p in problems] == ["exchange"]


def test_a_return_without_an_exchange_block_has_no_replacements() -> None:
    payload = exchange("50.00", "3.63", "85.80")
    del payload["exchange"]
    record, problems = parse_return(payload, ACME)
    assert problems == [] and record is not None and record.replacements == ()
    assert settlement(record, None) is Settlement.CREDIT
    assert stored_replacements(payload, "USD") == ()
