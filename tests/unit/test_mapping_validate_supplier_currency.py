"""Issue 16 — validation of a Supplier (goods returned to vendor) rule refuses a vendor that cannot take
the returns it covers, by the rule the vendor credit's ``vendor_currency_mismatch`` uses
(:func:`~desktop.services.mapping.reference.vendor_carries`): the rule's own currency, the home currency
for a rule without one, and the currency of every return to vendor waiting under it. Each ledger is a
row of :data:`SNAPSHOTS` (QuickBooks keeps one currency per vendor, a Xero supplier takes any)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from desktop.services.core.domain import Component
from desktop.services.mapping.model import MatchContext, Rule
from desktop.services.mapping.reference import ReferenceSnapshot
from desktop.services.mapping.validate import validate
from desktop.services.platforms.base import RefKind, RefRecord
from desktop.services.platforms.registry import platform_for
from tests.helpers.recipes import qbo_snapshot, xero_snapshot

MISMATCH = "vendor_currency_mismatch"
#: One snapshot per ledger; what a vendor in a foreign currency meets is the ledger profile's own fact.
SNAPSHOTS = (qbo_snapshot, xero_snapshot)


def _foreign(snap: ReferenceSnapshot) -> list[str]:
    return [MISMATCH] if platform_for(snap.platform).customer_single_currency else []


def _snap(make: Callable[[], ReferenceSnapshot]) -> ReferenceSnapshot:
    snap = make()
    home = RefRecord(RefKind.VENDOR, "v-home", "Home Supply", currency=snap.home_currency)
    euro = RefRecord(RefKind.VENDOR, "v-eur", "Euro Supply", currency="EUR")
    return replace(snap, vendors={"v-home": home, "v-eur": euro}, currencies=snap.currencies | {"EUR"})


def _codes(rules: list[Rule], snap: ReferenceSnapshot, in_use: Sequence[MatchContext] = ()) -> list[str]:
    return [p.code for p in validate(rules, snap, in_use)]


@pytest.mark.parametrize("make", SNAPSHOTS, ids=["quickbooks", "xero"])
def test_a_supplier_rule_names_a_vendor_that_takes_its_currency(make: Callable[[], ReferenceSnapshot]) -> None:
    snap = _snap(make)
    foreign = _foreign(snap)
    supplier = Component.RETURN_TO_VENDOR
    assert _codes([Rule(supplier, account_id="v-home")], snap) == []
    assert _codes([Rule(supplier, account_id="v-eur")], snap) == foreign  # carries home-currency returns
    assert _codes([Rule(supplier, currency="EUR", account_id="v-eur")], snap) == []
    assert _codes([Rule(supplier, currency="EUR", account_id="v-home")], snap) == foreign
    waiting = [MatchContext(supplier, currency="EUR"), MatchContext(supplier, currency=snap.home_currency)]
    assert _codes([Rule(supplier, account_id="v-home")], snap, waiting) == foreign  # a EUR return waits
    problems = validate([Rule(supplier, account_id="v-home")], snap, waiting)
    assert all(p.field == "rules[0].account" and "add a Supplier rule for currency EUR" in p.message
               for p in problems)
    fixed = [Rule(supplier, account_id="v-home"), Rule(supplier, currency="EUR", account_id="v-eur")]
    assert _codes(fixed, snap, waiting) == []
