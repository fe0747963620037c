"""Issue 16 — what the Mappings page offers as a return to vendor's supplier, at service level.

A connection's reference refresh keeps the ledger's vendors (QBO ``Vendor``, Xero contacts that are
suppliers) with the rest of its reference data; the mapping service's snapshot lists them as the
suppliers a Supplier (goods returned to vendor) rule may name, with their currency. Validation of
such a rule refuses a vendor that cannot take the return's currency by the same rule the vendor
credit's ``vendor_currency_mismatch`` uses (:func:`~desktop.services.mapping.reference.vendor_carries`).
Both sandbox ledgers run alike.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from desktop.services.core.domain import Component
from desktop.services.mapping.model import Rule
from desktop.services.mapping.reference import vendor_carries
from desktop.services.mapping.validate import validate
from desktop.services.platforms.base import RefKind, RefRecord
from desktop.services.platforms.registry import platform_for
from tests.helpers.worlds import World

pytestmark = [pytest.mark.db]

#: organization → what validation says of a Supplier rule (no currency condition) naming a vendor in a
#: foreign currency: QuickBooks keeps one currency per vendor, a Xero supplier takes a credit in any
ORGS = {"ACME-US": ["vendor_currency_mismatch"], "KIWI-NZ": []}


@pytest.mark.parametrize("org", list(ORGS))
def test_the_suppliers_are_the_ledgers_vendors_with_their_currency(world: World, org: str) -> None:
    world.connect(org)
    world.ingest.ensure_organizations(world.rms)
    snap = world.mapping.snapshot(org)
    assert snap is not None
    ledger = world.connector(org).reference_data()[RefKind.VENDOR]
    assert len(ledger) >= 2  # the sandbox seeds two suppliers per company
    listed = snap.suppliers()
    assert {(v.remote_id, v.name, v.currency) for v in listed} == {(v.remote_id, v.name, v.currency) for v in ledger}
    assert [v.name.casefold() for v in listed] == sorted(v.name.casefold() for v in listed)
    assert all(v.currency in (None, snap.home_currency) for v in listed)

    # a rule naming a listed vendor validates; so does one naming a vendor in another currency where
    # the ledger lets a vendor trade in any (Xero), while QuickBooks keeps one currency per vendor
    supplier = listed[0]
    assert validate([Rule(Component.RETURN_TO_VENDOR, account_id=supplier.remote_id)], snap) == []
    foreign = "EUR" if snap.home_currency != "EUR" else "GBP"
    abroad = RefRecord(RefKind.VENDOR, "v-abroad", "Abroad Supply", currency=foreign)
    snap2 = replace(snap, vendors={**snap.vendors, abroad.remote_id: abroad})
    problems = [p.code for p in validate([Rule(Component.RETURN_TO_VENDOR, account_id="v-abroad")], snap2)]
    assert problems == ORGS[org]
    assert vendor_carries(platform_for(snap.platform), abroad, snap.home_currency) == (not ORGS[org])
    matching = [p.code for p in validate([Rule(Component.RETURN_TO_VENDOR, currency=foreign,
                                               account_id="v-abroad")], replace(snap2, currencies=snap2.currencies
                                                                                 | {foreign}))]
    assert matching == []
