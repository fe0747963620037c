"""The bridge's one rule for a dearer exchange (issue 16 follow-up): the RMS's negative refund is
counted once, as the positive amount its sales receipt / invoice carries, on the row "RMS exchange
differences charged" — posted (the refund-documents step then holds nothing of it) or held by
pre-flight (its variance is the document the ledger lacks: negative, like a missing refund's)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from desktop.services.platforms.interface import DocView
from desktop.services.reconcile.compare import compare
from desktop.services.reconcile.model import Expected, Period, RmsReturn

PERIOD = Period(date(2026, 11, 1), date(2026, 11, 30))
DAY = date(2026, 11, 20)
KEY = "rls-" + "b" * 26


def _steps(totals: dict[str, object]) -> dict[str, str]:
    row = totals["by_currency"]["USD"]  # type: ignore[index]
    return {s["step"]: s["amount"] for s in row["steps"]}


def test_a_posted_charge_is_counted_once_on_its_own_row() -> None:
    sale = Expected(KEY, "SalesReceipt", "sales_receipt", "posted", Decimal("88.22"), "USD", DAY, remote_id="9",
                    rma="RMA-9", outbox_id=1, return_id=9)
    held = DocView("SalesReceipt", "9", "active", Decimal("88.22"), None, DAY, "USD", our_key=KEY, number="X-9")
    rms = [RmsReturn(9, "RMA-9", "USD", Decimal("-88.22"), DAY, True, "posted"),
           RmsReturn(8, "RMA-8", "USD", Decimal("10.00"), DAY, False, "quarantined")]
    result = compare([sale], [held], PERIOD, rms=rms)
    row = result.totals["by_currency"]["USD"]
    assert (row["rms"], row["rms_charged"], row["expected"], row["ledger"]) == ("10.00", "88.22", "98.22", "88.22")
    assert _steps(result.totals) == {"rms": "10.00", "rms_charged": "88.22", "expected": "98.22",
                                     "variances": "-10.00", "ledger": "88.22"}
    assert row["ties_out"]


def test_a_charge_held_by_preflight_is_a_missing_document() -> None:
    rms = [RmsReturn(9, "RMA-9", "USD", Decimal("-88.22"), DAY, False, "quarantined")]
    result = compare([], [], PERIOD, rms=rms)
    assert [(v.rma, v.difference_minor) for v in result.variances] == [("RMA-9", -8822)]
    row = result.totals["by_currency"]["USD"]
    assert (row["rms_charged"], row["expected"], row["not_posted"], row["ledger"]) == ("88.22", "88.22", "88.22",
                                                                                     "0.00")
    assert row["ties_out"] and "refund_documents" not in _steps(result.totals)
