"""Issue 16 — the supplier of a return to vendor is mapped on the Mappings page by drag and drop.

The ledger's vendors (cached reference data, read from the sandbox's ledgers when the world was built)
are listed under Suppliers with their currency; the Supplier (goods returned to vendor) code dropped
onto one makes the rule, the Save dialog stores it as a new version with its audit entry, and a
return whose line goes back to the vendor then plans one vendor credit to that very vendor. Both
ledgers run alike: each organization is a row of :data:`ORGS`, no test asks which platform it has.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from desktop.sandbox.rms.catalog import PROFILES as CATALOGS
from desktop.services.core.domain import Component, GoodsPosting, OrgSettings, ReturnToVendor
from desktop.services.core.money import Money
from desktop.services.mapping.io import apply_template
from desktop.services.mapping.model import Rule
from desktop.services.pipeline.recipes import build_documents
from desktop.services.store.models.logs import AuditLog
from desktop.views.mapping.dialogs import SaveDialog
from desktop.views.mapping.editing import CodeRef
from desktop.views.mapping.rules_model import Column
from desktop.views.theme import ThemeManager
from tests.helpers.mapping_drag import drag_code_onto
from tests.helpers.mapping_world import open_page
from tests.helpers.recipes import make_return, taxed_line
from tests.helpers.worlds import ADMIN, World

#: organization → the shipped template its accounts come from
ORGS = {"ACME-US": "qbo-us", "KIWI-NZ": "xero-nz"}
SUPPLIER = CodeRef("component", Component.RETURN_TO_VENDOR.value)
GOODS = OrgSettings(goods_posting=GoodsPosting.JOURNAL, return_to_vendor=ReturnToVendor.VENDOR_CREDIT)


@pytest.mark.parametrize("org", list(ORGS))
def test_a_vendor_dropped_as_supplier_is_saved_and_gets_the_vendor_credit(
        qtbot: QtBot, world: World, settings: QSettings, theme: ThemeManager, org: str) -> None:
    snap = world.mapping.snapshot(org)
    assert snap is not None and snap.vendors
    rules, problems = apply_template(ORGS[org], snap)
    assert problems == []
    world.mapping.save(org, rules, ADMIN, "template")
    page = open_page(qtbot, world, settings, theme, org=org)
    editor, actions = page.editor, page.actions_
    assert editor is not None and actions is not None and len(editor.rules) == len(rules)

    # every vendor is listed under Suppliers, with its currency
    for vendor in snap.suppliers():
        index = editor.ledger_model.find("vendor", vendor.remote_id)
        assert index.isValid(), vendor
        assert index.siblingAtColumn(1).data() == f"Vendor · {vendor.currency or 'any currency'}"
    supplier = snap.suppliers()[0]
    assert supplier.active and supplier.currency in (snap.home_currency, None)

    # picking the Supplier code brings the vendors into view
    editor.ledger_view.collapseAll()
    editor.code_view.setCurrentIndex(editor.code_index(SUPPLIER))
    first = editor.ledger_filter.mapFromSource(editor.ledger_model.find("vendor", supplier.remote_id))
    assert editor.ledger_view.isExpanded(first.parent())
    editor.ledger_view.doItemsLayout()
    assert editor.ledger_view.viewport().rect().contains(editor.ledger_view.visualRect(first))

    # a supplier goes onto a vendor only, and a vendor takes only the supplier
    assert not drag_code_onto(editor, SUPPLIER, "account", rules[0].account_id or "")
    assert "drop Supplier (goods returned to vendor) onto a vendor" in (editor.last_refusal or "")
    assert not drag_code_onto(editor, CodeRef("reason_code", "DAMAGED"), "vendor", supplier.remote_id)
    assert f"'{supplier.name}' is a vendor" in (editor.last_refusal or "")
    assert len(editor.rules) == len(rules)

    assert drag_code_onto(editor, SUPPLIER, "vendor", supplier.remote_id)
    assert editor.rules[-1] == Rule(Component.RETURN_TO_VENDOR, account_id=supplier.remote_id)
    assert f"→ {supplier.name}" in editor.message.text()
    row = len(editor.rules) - 1  # the rules grid names the vendor in the rule's target column
    assert editor.rules_model.index(row, Column.ACCOUNT).data() == supplier.name

    # saved through the Save dialog as the next version, with its audit entry
    actions.save()
    qtbot.waitUntil(lambda: isinstance(actions.dialog, SaveDialog), timeout=5000)
    dialog = actions.dialog
    assert isinstance(dialog, SaveDialog)
    dialog.note_edit.setText("supplier")
    with qtbot.waitSignal(actions.saved, timeout=10_000), qtbot.waitSignal(actions.loaded, timeout=10_000):
        dialog.save_button.click()
    active = world.mapping.active_set(org)
    assert active is not None and active.version == 2
    assert Rule(Component.RETURN_TO_VENDOR, account_id=supplier.remote_id) in active.rules
    with world.db.session() as s:
        entry = s.scalars(sa.select(AuditLog).where(AuditLog.action == "mapping.saved")
                          .order_by(AuditLog.seq.desc())).first()
    assert entry is not None and entry.target == f"mapping_set:{org}:v2" and entry.actor == "alice"
    assert supplier.remote_id in json.dumps(entry.details)

    # a return whose line goes back to the vendor plans one vendor credit to that supplier
    cur = snap.home_currency
    line = replace(taxed_line(1, "2", "50.00", cur, []), sku=CATALOGS[org].products[0].sku,
                   disposition="RETURN_TO_VENDOR", unit_cost=Money(Decimal("21.15"), cur))
    ret = make_return(org, cur, [line])
    docs, found = build_documents(ret, world.mapping.resolver(org), snap, GOODS, None)
    assert not [p for p in found if "vendor" in p.code], found
    [credit] = [d for d in docs if d.role == "vendor_credit"]
    assert credit.extra["vendor_id"] == supplier.remote_id
    assert credit.total == Money(Decimal("42.30"), cur)
