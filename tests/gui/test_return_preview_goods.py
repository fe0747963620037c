"""The return's debit/credit preview shows a goods journal's lines with their currency, and the
screenshot tour recognises a preview that moves goods back in stock and writes damaged ones off."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from PySide6.QtCore import Qt

from desktop.services.core.domain import Component
from desktop.services.core.money import Money
from desktop.services.pipeline.documents import JournalLine, LedgerDocument, line
from desktop.views.returns.detail import DetailPanel
from desktop.views.screenshot_preview import shows_goods


def _doc(role: str, doc_type: str, journal: tuple[JournalLine, ...]) -> LedgerDocument:
    total = sum((ln.debit.amount for ln in journal if ln.debit is not None), Decimal(0))
    return LedgerDocument(role=role, platform="qbo", doc_type=doc_type, idempotency_key=f"k-{role}",
                          txn_date=date(2026, 12, 7), currency="CAD", total=Money(total, "CAD"), payload={},
                          journal=journal, source=("MAPLE-CA", "r1", 1), mapping_version=1, home_currency="CAD")


def cad(text: str) -> Money:
    return Money(Decimal(text), "CAD")


REFUND = _doc("refund", "CreditMemo", (
    line("1", "Sales Returns and Allowances", cad("166.99"), "Trail snowshoes", debit=True),
    line("2", "Accounts Receivable (A/R)", cad("166.99"), "customer credit", debit=False)))
GOODS = _doc("goods_journal", "JournalEntry", (
    line("3", "Inventory Asset", cad("75.15"), "back in stock", debit=True, component=Component.INVENTORY_ASSET),
    line("4", "Cost of Goods Sold", cad("75.15"), "out of COGS", debit=False, component=Component.COGS),
    line("5", "Inventory Shrinkage", cad("16.20"), "written off", debit=True,
         component=Component.INVENTORY_WRITE_OFF),
    line("4", "Cost of Goods Sold", cad("16.20"), "out of COGS", debit=False, component=Component.COGS)))


def test_the_preview_shows_the_goods_journal_with_currency_right_aligned(qtbot) -> None:  # type: ignore[no-untyped-def]
    panel = DetailPanel()
    qtbot.addWidget(panel)
    panel.show_preview([REFUND, GOODS], [])

    assert panel.previewed == (REFUND, GOODS)
    assert panel.goods_rows() == (3, 7)  # refund: 2 lines + total; goods: 4 lines + total
    table = panel.preview
    cells = [[table.item(r, c).text() for c in range(4)] for r in range(table.rowCount())]  # type: ignore[union-attr]
    assert cells[3] == ["JournalEntry · CAD", "Inventory Asset", "75.15 CAD", ""]
    assert cells[4] == ["", "Cost of Goods Sold", "", "75.15 CAD"]
    assert cells[7] == ["", "Total", "91.35 CAD", "91.35 CAD"]
    for r in range(table.rowCount()):
        for c in (2, 3):
            assert table.item(r, c).textAlignment() & Qt.AlignmentFlag.AlignRight  # type: ignore[union-attr]

    panel.show_detail(None)
    assert panel.previewed == () and panel.goods_rows() == (-1, -1)


def test_the_tour_recognises_a_preview_that_restocks_and_writes_off() -> None:
    assert shows_goods([REFUND, GOODS]) == (True, True)
    assert shows_goods([REFUND]) == (False, False)
    restock_only = _doc("goods_journal", "JournalEntry", GOODS.journal[:2])
    assert shows_goods([REFUND, restock_only]) == (True, False)
