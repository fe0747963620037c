"""The pure comparison: each situation gets exactly one class, and the rounding tolerance follows
the currency's precision."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from desktop.services.platforms.interface import DocView
from desktop.services.reconcile.compare import compare, tolerance
from desktop.services.reconcile.model import Expected, Period, RmsReturn

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
DAY = date(2026, 11, 20)
KEY = "rls-" + "a" * 26


def _exp(**kw: object) -> Expected:
    base = Expected(KEY, "CreditMemo", "credit_memo", "posted", Decimal("40.00"), "USD", DAY, remote_id="7",
                    tax=Decimal("3.30"), rma="RMA-1", outbox_id=1, return_id=1)
    return replace(base, **kw)  # type: ignore[arg-type]


def _doc(**kw: object) -> DocView:
    base = DocView("CreditMemo", "7", "active", Decimal("40.00"), Decimal("3.30"), DAY, "USD", our_key=KEY,
                   number="N-1")
    return replace(base, **kw)  # type: ignore[arg-type]


def _classes(expected: list[Expected], docs: list[DocView], **kw: object) -> list[tuple[str, str | None]]:
    result = compare(expected, docs, PERIOD, **kw)  # type: ignore[arg-type]
    return sorted((v.variance_class.value, v.ledger_id) for v in result.variances)


def test_equal_documents_match_and_report_nothing() -> None:
    result = compare([_exp()], [_doc()], PERIOD)
    assert result.variances == [] and result.matched == 1
    row = result.totals["by_currency"]["USD"]
    assert {k: row[k] for k in ("rms", "local", "expected", "ledger", "difference", "explained")} == {
        "rms": "0.00", "local": "40.00", "expected": "40.00", "ledger": "40.00", "difference": "0.00",
        "explained": "0.00"}


@pytest.mark.parametrize(("changes", "expected"), [
    ({"total": Decimal("45.00")}, "amount_mismatch"),
    ({"total": Decimal("40.01")}, "rounding"),
    ({"tax": Decimal("4.00"), "total": Decimal("40.70")}, "tax_mismatch"),
    ({"tax": Decimal("3.31"), "total": Decimal("40.01")}, "rounding"),
    ({"currency": "CAD"}, "fx_mismatch"),
    ({"rate": Decimal("1.3612")}, "fx_mismatch"),
    ({"txn_date": date(2026, 11, 21)}, "date_mismatch"),
    ({"status": "voided", "total": Decimal("0.00")}, "voided_in_ledger"),
    ({"status": "deleted"}, "deleted_in_ledger"),
])
def test_one_difference_one_class(changes: dict[str, object], expected: str) -> None:
    assert _classes([_exp(rate=Decimal("1.3500") if "rate" in changes else None)], [_doc(**changes)]) == [
        (expected, "7")]


def test_tax_and_an_unrelated_amount_change_are_two_variances() -> None:
    assert _classes([_exp()], [_doc(tax=Decimal("4.00"), total=Decimal("50.00"))]) == [
        ("amount_mismatch", "7"), ("tax_mismatch", "7")]


def test_a_document_the_period_read_lacks_is_deleted_when_the_by_id_read_finds_nothing() -> None:
    assert _classes([_exp()], [], by_id={("CreditMemo", "7"): None}) == [("deleted_in_ledger", "7")]
    moved = _doc(txn_date=date(2026, 12, 1))
    result = compare([_exp()], [], PERIOD, by_id={("CreditMemo", "7"): moved})
    [v] = result.variances
    assert v.variance_class.value == "date_mismatch" and v.fields["date"]["moved_out_of_period"] is True


def test_duplicates_orphans_and_owed_documents() -> None:
    dup = _doc(remote_id="8", number="N-2")
    orphan = _doc(remote_id="9", our_key="rls-" + "b" * 26)
    owed = _exp(key="rls-" + "c" * 26, status="quarantined", remote_id=None, outbox_id=2)
    queued = _exp(key="rls-" + "d" * 26, status="pending", remote_id=None, outbox_id=3, recent=True)
    assert _classes([_exp(), owed, queued], [_doc(), dup, orphan]) == [
        ("duplicate_in_ledger", "8"), ("missing_in_ledger", None), ("missing_in_rms", "9")]


def test_an_uncertain_post_that_landed_is_compared_not_reported_missing() -> None:
    landed = _exp(status="uncertain", remote_id=None)
    assert _classes([landed], [_doc()]) == []
    assert _classes([landed], [_doc(total=Decimal("41.00"))]) == [("amount_mismatch", "7")]


def test_rms_returns_without_documents_are_missing_in_ledger() -> None:
    rms = [RmsReturn(5, "RMA-5", "USD", Decimal("12.00"), DAY, False, "quarantined"),
           RmsReturn(6, "RMA-6", "USD", Decimal("13.00"), DAY, True, "posted"),
           RmsReturn(7, "RMA-7", "USD", Decimal("14.00"), DAY, False, "superseded")]
    result = compare([], [], PERIOD, rms=rms)
    assert [(v.variance_class.value, v.rma, v.difference_minor) for v in result.variances] == [
        ("not_posted_quarantined", "RMA-5", -1200)]
    assert result.totals["by_currency"]["USD"]["rms"] == "39.00"


@pytest.mark.parametrize(("currency", "lines", "expected"), [
    ("USD", 1, Decimal("0.01")), ("JPY", 1, Decimal("1")), ("BHD", 1, Decimal("0.001")),
    ("USD", 3, Decimal("0.03")), (None, 0, Decimal("0.01")),
])
def test_rounding_tolerance_follows_currency_precision(currency: str | None, lines: int, expected: Decimal) -> None:
    assert tolerance(currency, lines) == expected


def test_jpy_one_yen_is_rounding_but_two_is_a_mismatch() -> None:
    exp = _exp(currency="JPY", total=Decimal("4000"), tax=None)
    assert _classes([exp], [_doc(currency="JPY", total=Decimal("4001"), tax=None)]) == [("rounding", "7")]
    assert _classes([exp], [_doc(currency="JPY", total=Decimal("4002"), tax=None)]) == [("amount_mismatch", "7")]
