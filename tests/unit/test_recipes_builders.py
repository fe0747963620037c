"""The recipe tests' builders make data consistent with itself (``tests/helpers/recipes.py``)."""

from __future__ import annotations

from tests.helpers.recipes import m, qbo_snapshot, taxed_line


def test_builders_make_consistent_data() -> None:
    snap = qbo_snapshot()
    assert snap.account_codes()["5"] is None and snap.home_currency == "USD"
    ln = taxed_line(1, "2", "19.99", "USD", [("US-CA", "7.25")])
    assert ln.net == m("39.98", "USD") and ln.tax == m("2.90", "USD")
