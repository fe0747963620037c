"""Issue 16: reconciliation compares the quantity of each tracked item on a sales form — the rule
in :func:`desktop.services.reconcile.compare.compare` and each platform's reading of item lines."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from desktop.services.platforms.interface import DocView, item_quantities
from desktop.services.platforms.registry import PROFILES
from desktop.services.reconcile.bridge import explained
from desktop.services.reconcile.compare import compare
from desktop.services.reconcile.model import Expected, Period, VarianceClass

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
DAY = date(2026, 11, 20)
KEY = "rls-" + "q" * 26
TRACKED = frozenset({"SKU-1", "SKU-2"})
Items = tuple[tuple[str, Decimal | None], ...]


def _exp(items: Items | None = (("SKU-1", Decimal(2)),), **kw: Any) -> Expected:
    base = Expected(KEY, "CreditNote", "credit_note", "posted", Decimal("40.00"), "NZD", DAY, remote_id="9",
                    rma="RMA-Q", outbox_id=1, return_id=1, items=items)
    return replace(base, **kw)


def _doc(items: Items | None = (("SKU-1", Decimal("2.0000")),), **kw: Any) -> DocView:
    base = DocView("CreditNote", "9", "active", Decimal("40.00"), None, DAY, "NZD", our_key=KEY, items=items)
    return replace(base, **kw)


def _quantity(result: Any) -> list[Any]:
    return [v for v in result.variances if v.variance_class is VarianceClass.QUANTITY_MISMATCH]


def test_equal_quantities_reconcile_to_zero() -> None:
    result = compare([_exp()], [_doc()], PERIOD, tracked=TRACKED)
    assert result.variances == [] and result.matched == 1


def test_a_changed_quantity_is_one_variance_with_both_quantities_and_no_money() -> None:
    result = compare([_exp()], [_doc((("SKU-1", Decimal("1.0000")),))], PERIOD, tracked=TRACKED)
    [v] = result.variances
    assert v.variance_class is VarianceClass.QUANTITY_MISMATCH and v.ledger_id == "9" and v.rma == "RMA-Q"
    assert v.fields == {"quantity SKU-1": {"rms": "2", "ledger": "1", "item": "SKU-1"}}
    assert v.difference_minor is None and explained(result.variances) == {}
    assert result.matched == 0
    row = result.totals["by_currency"]["NZD"]
    assert (row["difference"], row["explained"], row["ties_out"]) == ("0.00", "0.00", True)


def test_items_added_or_removed_count_as_zero_and_untracked_items_are_not_compared() -> None:
    ours: Items = (("SKU-1", Decimal(2)), ("SERVICE", Decimal(1)))
    theirs: Items = (("SKU-2", Decimal(1)), ("SERVICE", Decimal(5)))
    [v] = compare([_exp(ours)], [_doc(theirs)], PERIOD, tracked=TRACKED).variances
    assert v.fields == {"quantity SKU-1": {"rms": "2", "ledger": "0", "item": "SKU-1"},
                        "quantity SKU-2": {"rms": "0", "ledger": "1", "item": "SKU-2"}}


@pytest.mark.parametrize(("ours", "theirs", "tracked"), [
    (None, (("SKU-1", Decimal(1)),), TRACKED),                    # an older outbox row: quantities unknown
    ((("SKU-1", Decimal(2)),), None, TRACKED),                    # the ledger's lines were not read
    ((("SKU-1", None),), (("SKU-1", Decimal(1)),), TRACKED),       # a line we sent without a quantity
    ((("SKU-1", Decimal(2)),), (("SKU-1", None),), TRACKED),       # a ledger line without one
    ((("SKU-1", Decimal(2)),), (("SKU-1", Decimal(1)),), frozenset()),  # the ledger tracks nothing
])
def test_quantities_are_compared_only_where_both_sides_know_them(ours: Items | None, theirs: Items | None,
                                                                 tracked: frozenset[str]) -> None:
    assert compare([_exp(ours)], [_doc(theirs)], PERIOD, tracked=tracked).variances == []


def test_quantity_and_amount_changes_are_two_variances_and_the_amount_carries_the_money() -> None:
    result = compare([_exp()], [_doc((("SKU-1", Decimal(3)),), total=Decimal("60.00"))], PERIOD, tracked=TRACKED)
    by_class = {v.variance_class: v for v in result.variances}
    assert set(by_class) == {VarianceClass.AMOUNT_MISMATCH, VarianceClass.QUANTITY_MISMATCH}
    assert by_class[VarianceClass.AMOUNT_MISMATCH].difference_minor == 2000
    assert by_class[VarianceClass.QUANTITY_MISMATCH].difference_minor is None
    assert result.totals["by_currency"]["NZD"]["ties_out"] is True


def test_a_document_moved_out_of_the_period_keeps_its_money_off_the_quantity_variance() -> None:
    moved = _doc((("SKU-1", Decimal(1)),), txn_date=date(2026, 12, 2))
    result = compare([_exp()], [], PERIOD, by_id={("CreditNote", "9"): moved}, tracked=TRACKED)
    quantity = _quantity(result)
    assert len(quantity) == 1 and quantity[0].difference_minor is None
    assert explained(result.variances) == {"NZD": -4000}
    assert result.totals["by_currency"]["NZD"]["ties_out"] is True


def test_voided_documents_report_the_void_not_the_quantities() -> None:
    result = compare([_exp()], [_doc((("SKU-1", Decimal(1)),), status="voided", total=Decimal(0))], PERIOD,
                     tracked=TRACKED)
    assert [v.variance_class for v in result.variances] == [VarianceClass.VOIDED_IN_LEDGER]


def test_item_quantities_sum_an_items_lines_and_mark_a_missing_quantity_unknown() -> None:
    lines = [{"i": "A", "q": "1"}, {"i": "A", "q": Decimal("1.5")}, {"i": "B"}, {"q": 3}, "junk"]
    assert item_quantities(lines, lambda ln: ln.get("i"), lambda ln: ln.get("q")) == (
        ("A", Decimal("2.5")), ("B", None))
    assert item_quantities([], lambda ln: None, lambda ln: None) == ()
    assert item_quantities(None, lambda ln: None, lambda ln: None) is None  # no lines read: not known


# a reader of each kind, found by the fact the profile states (lines name items by id, or by code):
# (doc type, what we send, what the ledger answers for it)
SHAPES: dict[bool, tuple[str, dict[str, Any], dict[str, Any]]] = {
    False: ("RefundReceipt",
            {"Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("30.00"),
                       "SalesItemLineDetail": {"ItemRef": {"value": "41"}, "Qty": 2, "UnitPrice": Decimal("15")}},
                      {"DetailType": "SalesItemLineDetail", "Amount": Decimal("5.00"),
                       "SalesItemLineDetail": {"ItemRef": {"value": "7"}}},
                      {"DetailType": "SubTotalLineDetail", "Amount": Decimal("35.00")}]},
            {"Id": "5", "TotalAmt": Decimal("35.00"),
             "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("30.00"),
                       "SalesItemLineDetail": {"ItemRef": {"value": "41", "name": "Shoe"}, "Qty": Decimal("1"),
                                               "UnitPrice": Decimal("30")}}]}),
    True: ("CreditNote",
             {"CreditNotes": [{"LineItems": [{"ItemCode": "SKU-9", "Quantity": 2, "UnitAmount": Decimal("15")},
                                             {"Description": "fee", "Quantity": 1, "LineAmount": Decimal("5")}]}]},
             {"CreditNoteID": "x", "LineItems": [{"ItemCode": "SKU-9", "Quantity": Decimal("1.0000")}]}),
}
READ = {False: ((("41", Decimal(2)), ("7", None)), (("41", Decimal(1)),)),
        True: ((("SKU-9", Decimal(2)),), (("SKU-9", Decimal("1.0000")),))}


@pytest.mark.parametrize("key", sorted(PROFILES))
def test_each_platform_reads_item_quantities_from_what_we_sent_and_what_the_ledger_holds(key: str) -> None:
    profile = PROFILES[key]
    doc_type, sent, held = SHAPES[profile.items_by_code]
    assert (profile.items_of(doc_type, sent), profile.items_of(doc_type, held)) == READ[profile.items_by_code]
    assert profile.items_of(doc_type, None) is None
    assert profile.items_of(doc_type, {"Id": "5", "CreditNoteID": "x"}) is None  # read without its lines
    assert profile.items_of(profile.payment_doc_type or "JournalEntry", held) is None
