"""The Returns grid's date and amount filters and its per-currency amount sort, on SQLite and PostgreSQL.

The filters are SQL: what the grid holds is what the database returns for the filter (the model's
rows are the query's rows, none hidden). An amount range names its currency, so an NZD refund of
the same number never matches a USD range; sorting by refund groups by currency first.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from PySide6.QtCore import QDate, QSettings, Qt

from desktop.app import view_services
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import SystemClock
from desktop.services.queries.returns import AmountRange, ReturnFilter, ReturnsQuery
from desktop.services.store.db import Database
from desktop.services.store.models import Return
from desktop.views.context import ShellContext
from desktop.views.ops import running_operations
from desktop.views.pages.returns import ReturnsPage
from desktop.views.returns.model import ROW_ROLE, Column
from tests.helpers.returns import seed_grid

MARCH_10 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MARCH_20 = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def quiet_db(qtbot, db: Database) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """``db`` (SQLite and PostgreSQL); the page's background reads finish before it is closed."""
    yield db
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=10_000)


def _restamp(db: Database, rma: str, *, at: datetime, minor: int | None) -> None:
    with db.write_session() as s:
        s.execute(sa.update(Return).where(Return.rma_number == rma).values(rms_updated_at=at,
                                                                           refund_total_minor=minor))


def _seed(db: Database) -> None:
    """40 returns (even: USD of ACME-US, odd: NZD of KIWI-NZ); four restamped into March with 500.00."""
    seed_grid(db, 40)
    _restamp(db, "RMA-000000", at=MARCH_10, minor=50_000)  # USD 500.00
    _restamp(db, "RMA-000001", at=MARCH_10, minor=50_000)  # NZD 500.00
    _restamp(db, "RMA-000002", at=MARCH_20, minor=50_001)  # USD 500.01
    _restamp(db, "RMA-000006", at=MARCH_20, minor=None)    # USD, no refund stated


def _page(qtbot, tmp_path: Path, db: Database) -> ReturnsPage:  # type: ignore[no-untyped-def]
    ctx = ShellContext(settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), user="olga",
                       services=view_services(db, SystemClock(), None), actor=Actor("olga", Role.OPERATOR))
    page = ReturnsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1200, 900)
    page.show()
    qtbot.waitUntil(lambda: not page.model.counting and page.model.loaded_rows() > 0
                    and page.filter_bar.currency.count() > 1, timeout=5000)
    return page


def _settled(page: ReturnsPage) -> bool:
    return not page.model.counting and page.model.loaded_rows() >= page.model.rowCount()


def _rmas(page: ReturnsPage) -> set[str]:
    rows = [page.model.data(page.model.index(r, 0), ROW_ROLE) for r in range(page.model.rowCount())]
    assert all(rows), "every row is a database row"
    assert not any(page.table.isRowHidden(r) for r in range(page.model.rowCount())), "nothing is hidden"
    return {r.rma for r in rows}


def test_date_and_amount_filters_change_what_the_query_returns(qtbot, tmp_path: Path, quiet_db: Database) -> None:  # type: ignore[no-untyped-def]
    db = quiet_db
    _seed(db)
    query = ReturnsQuery(db)
    page = _page(qtbot, tmp_path, db)
    everything = page.model.rowCount()
    assert everything == query.count(ReturnFilter()) == 32  # every fifth is a superseded revision
    assert [page.filter_bar.currency.itemData(i) for i in range(page.filter_bar.currency.count())] == \
        [None, "NZD", "USD"]

    bar = page.filter_bar
    bar.from_edit.setDate(QDate(2026, 3, 10))
    bar.to_edit.setDate(QDate(2026, 3, 10))
    qtbot.waitUntil(lambda: page.model.filter.updated_before is not None and _settled(page), timeout=5000)
    assert _rmas(page) == {"RMA-000000", "RMA-000001"}
    assert page.model.rowCount() == query.count(page.model.filter) == 2

    bar.to_edit.setDate(QDate(2026, 3, 31))
    qtbot.waitUntil(lambda: page.model.rowCount() == 4 and _settled(page), timeout=5000)
    assert _rmas(page) == {"RMA-000000", "RMA-000001", "RMA-000002", "RMA-000006"}

    # amounts compare within the chosen currency only: NZD 500.00 never matches a USD range
    bar.currency.setCurrentIndex(bar.currency.findData("USD"))
    qtbot.waitUntil(lambda: page.model.filter.amount is not None and _settled(page), timeout=5000)
    assert _rmas(page) == {"RMA-000000", "RMA-000002", "RMA-000006"}
    bar.low.setText("500.00")
    bar.high.setText("500.00")
    bar.high.editingFinished.emit()
    qtbot.waitUntil(lambda: page.model.filter.amount == AmountRange("USD", Decimal("500.00"), Decimal("500.00"))
                    and _settled(page), timeout=5000)
    assert _rmas(page) == {"RMA-000000"}
    assert query.count(ReturnFilter(amount=AmountRange("NZD", Decimal("500"), Decimal("500")))) == 1

    # a bound the currency cannot hold is refused with a message, and the grid keeps its filter
    before = page.model.filter
    bar.low.setText("499.999")
    bar.low.editingFinished.emit()
    assert page.model.filter == before
    assert "not an amount in USD" in page.status.text()

    # clearing the dates and the currency brings everything back
    bar.low.setText("")
    bar.clear()
    page.search.setText("")
    page.status_combo.setCurrentIndex(0)
    bar.changed.emit()
    qtbot.waitUntil(lambda: page.model.rowCount() == everything and _settled(page), timeout=5000)


def test_a_date_filter_needs_an_aware_time(db: Database) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ReturnsQuery(db).count(ReturnFilter(updated_from=datetime(2026, 3, 10)))  # naive on purpose


def test_sorting_by_refund_orders_amounts_within_each_currency(qtbot, tmp_path: Path, quiet_db: Database) -> None:  # type: ignore[no-untyped-def]
    db = quiet_db
    _seed(db)
    query = ReturnsQuery(db)
    for descending in (False, True):
        rows = query.window(ReturnFilter(), 0, 100, "refund", descending)
        currencies = [r.currency for r in rows]
        assert currencies == sorted(currencies), "currencies are grouped A→Z whichever way amounts go"
        for cur in ("NZD", "USD"):
            mine = [r for r in rows if r.currency == cur]
            amounts = [r.refund.amount for r in mine if r.refund is not None]
            assert amounts == sorted(amounts, reverse=descending)
        usd = [r for r in rows if r.currency == "USD"]
        assert usd[-1].rma == "RMA-000006" and usd[-1].refund is None, "no stated refund: last in its currency"

    page = _page(qtbot, tmp_path, db)
    hint = page.model.headerData(Column.REFUND, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "currency" in hint and "never compared" in hint
    page.table.sortByColumn(Column.REFUND, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: page.model.sort_order == ("refund", True) and _settled(page)
                    and page.model.data(page.model.index(0, Column.RMA)) not in (None, "…"), timeout=5000)
    shown = [page.model.data(page.model.index(r, Column.REFUND)) for r in range(page.model.rowCount())]
    assert shown[0] == "500.00 NZD"  # the largest NZD refund, not the largest number overall
    first_usd = next(i for i, text in enumerate(shown) if text.endswith("USD"))
    assert all(t.endswith("NZD") for t in shown[:first_usd]) and shown[first_usd] == "500.01 USD"


def test_sorting_while_the_count_is_on_its_way_keeps_the_new_count(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                    quiet_db: Database) -> None:
    """Filter, then click a heading before the count arrives: the grid holds the filter's count."""
    db = quiet_db
    _seed(db)
    page = _page(qtbot, tmp_path, db)
    usd = ReturnFilter(amount=AmountRange("USD", None, Decimal("10.20")))
    page.model.set_filter(usd)
    page.model.sort(Column.REFUND, Qt.SortOrder.DescendingOrder)  # the count is still on its way
    expected = ReturnsQuery(db).count(usd)
    qtbot.waitUntil(lambda: not page.model.counting and _settled(page), timeout=5000)
    assert page.model.rowCount() == expected == len(_rmas(page))
    assert all(r.endswith("USD") for r in (page.model.data(page.model.index(i, Column.REFUND))
                                             for i in range(page.model.rowCount())))
