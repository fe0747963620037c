"""The reference snapshot's own look-ups, on the small hand-built ledgers of ``tests/helpers/mapping.py``."""

from __future__ import annotations

from datetime import date

from desktop.services.mapping import ReferenceSnapshot
from tests.helpers.mapping import qbo_snapshot, xero_snapshot


def test_accounts_are_found_by_id_code_or_name_case_insensitively() -> None:
    s = qbo_snapshot()
    assert s.account_by_code("4100") is s.accounts["3"]
    assert s.account_by_name("  sales returns AND allowances ") is s.accounts["3"]
    assert s.find_account("3", None, None) is s.accounts["3"]
    assert s.find_account("999", "4200", None) is None, "an unknown id is not swapped for a code match"
    assert s.find_account(None, "4200", None) is s.accounts["4"]
    assert s.find_account(None, None, "checking cad") is s.accounts["2"]
    assert s.find_account("999", "0000", "Nope") is None
    assert s.account_codes()["3"] == "4100"


def test_tax_codes_items_and_tracking_lookups() -> None:
    q, x = qbo_snapshot(), xero_snapshot()
    assert q.find_tax_code(None, "california").remote_id == "31"  # type: ignore[union-attr]
    assert x.find_tax_code("OUTPUT2").name == "GST on Income"  # type: ignore[union-attr]
    assert x.find_tax_code(None, "zero rated").remote_id == "ZERORATEDOUTPUT"  # type: ignore[union-attr]
    assert q.find_item(None, "restocking fee").remote_id == "11"  # type: ignore[union-attr]
    assert q.find_tracking("class", name="online store").remote_id == "100"  # type: ignore[union-attr]
    assert q.find_tracking("department", id="100") is None, "a class is not a department"
    assert x.find_tracking("option", name="Online", parent_id="cat-ch").remote_id == "opt-online"  # type: ignore[union-attr]
    assert x.find_tracking("option", name="Online", parent_id="cat-rg") is None


def test_snapshot_carries_company_facts() -> None:
    s = qbo_snapshot()
    assert s.home_currency == "USD" and s.currencies == {"USD", "CAD"}
    assert s.closed_through == date(2026, 1, 31)
    assert s.ledger_name == "QuickBooks" and xero_snapshot().ledger_name == "Xero"
    empty = ReferenceSnapshot.empty("xero", "GBP")
    assert empty.currencies == {"GBP"} and not empty.accounts
