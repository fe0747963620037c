"""A quantity variance in the document diff: the item's code as the ledger writes it (never
re-cased), both quantities, and a difference in units — no currency — beside an amount field whose
difference keeps its currency."""

from __future__ import annotations

from typing import Any

from desktop.views.reconcile.diff import DiffView, diff_rows


def _cells(view: DiffView) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in range(view.rowCount()):
        texts = [view.item(r, c).text() if view.item(r, c) is not None else "" for c in range(4)]  # type: ignore[union-attr]
        out[texts[0]] = texts[1:]
    return out


def test_a_tracked_items_quantity_reads_with_its_code_and_a_difference_in_units(qtbot: Any) -> None:
    view = DiffView()
    qtbot.addWidget(view)
    view.show_fields({"quantity SKU-Widget-9": {"rms": "2", "ledger": "3", "item": "SKU-Widget-9"},
                      "total": {"rms": "40.00", "ledger": "35.00"}, "in_period": {"rms": True, "ledger": True}},
                     currency="CAD")
    cells = _cells(view)
    assert cells["Quantity of SKU-Widget-9"] == ["2", "3", "+1"]
    assert cells["Total"] == ["40.00", "35.00", "-5.00 CAD"]
    assert cells["In period"] == ["True", "True", ""]
    assert view.differing == ["Quantity of SKU-Widget-9", "Total"]


def test_field_names_keep_their_own_letters_after_the_first() -> None:
    rows = diff_rows({"date": {"rms": "2026-11-01", "ledger": "2026-12-01"},
                      "tax_code": {"rms": "GST", "ledger": "GST"}})
    assert [(name, money) for name, _, _, _, money in rows] == [("Date", True), ("Tax code", True)]
