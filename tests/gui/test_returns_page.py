"""The Returns page and its windowed model, on a real SQLite database with thousands of returns.

No mocks: rows are real ``returns`` rows, queries are the page's own service; the model is checked
by pytest-qt's ``qtmodeltester`` and must stay fast at 100,000 rows (pages load in the
background, only what is shown is read).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop.app import view_services
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import SystemClock
from desktop.services.queries.returns import ATTENTION, ReturnFilter, ReturnsQuery
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.views.context import ShellContext
from desktop.views.pages.returns import ReturnsPage
from desktop.views.returns.model import PAGE, ROW_ROLE, Column, ReturnsModel
from tests.helpers.returns import GRID_STATUSES, seed_grid


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'returns.sqlite3'}"
    upgrade(url)
    db = Database(url)
    yield db
    db.dispose()


def _loaded(model: ReturnsModel, rows: int) -> bool:
    return not model.counting and model.loaded_rows() >= rows


def test_the_returns_model_passes_qtmodeltester(qtbot, qtmodeltester, database: Database) -> None:  # type: ignore[no-untyped-def]
    seed_grid(database, 450)
    model = ReturnsModel(ReturnsQuery(database))
    model.reload()
    qtbot.waitUntil(lambda: _loaded(model, PAGE), timeout=5000)
    assert model.rowCount() == 450 - 450 // len(GRID_STATUSES)
    qtmodeltester.check(model)
    # the last row asks for its page; when every page has arrived the model is still consistent
    assert model.data(model.index(model.rowCount() - 1, Column.RMA)) == "…"
    qtbot.waitUntil(lambda: model.loaded_rows() == model.rowCount(), timeout=5000)
    qtmodeltester.check(model)
    first = model.data(model.index(0, 0), ROW_ROLE)
    assert first is not None and model.data(model.index(0, Column.RMA)) == first.rma


@pytest.mark.slow
def test_the_model_at_100k_rows_reads_only_what_is_shown(qtbot, database: Database) -> None:  # type: ignore[no-untyped-def]
    """How fast is for ``bench/bench_returns_query.py``; this proves the model pages lazily."""
    seed_grid(database, 100_000)
    model = ReturnsModel(ReturnsQuery(database))
    model.reload()
    qtbot.waitUntil(lambda: _loaded(model, PAGE), timeout=30_000)
    assert model.rowCount() == 80_000

    last = model.rowCount() - 1
    assert model.data(model.index(last, Column.RMA)) == "…"  # not read yet: asks for its page
    qtbot.waitUntil(lambda: model.data(model.index(last, Column.RMA)) != "…", timeout=30_000)
    assert model.data(model.index(last, Column.RMA)) == "RMA-000000"
    assert model.loaded_rows() <= 2 * PAGE, "only the pages shown were read"

    # sorting is SQL: by currency (A→Z), then the smallest refund first, without reading everything
    model.sort(Column.REFUND, Qt.SortOrder.AscendingOrder)
    qtbot.waitUntil(lambda: model.data(model.index(0, Column.RMA)) not in (None, "…"), timeout=5000)
    assert model.data(model.index(0, Column.REFUND)) == "10.01 NZD"


def _page(qtbot, tmp_path: Path, database: Database, role: Role = Role.OPERATOR) -> ReturnsPage:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QSettings

    ctx = ShellContext(settings=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat), user="olga",
                       services=view_services(database, SystemClock(), None), actor=Actor("olga", role))
    page = ReturnsPage(ctx)
    qtbot.addWidget(page)
    page.resize(1100, 900)
    page.show()
    qtbot.waitUntil(lambda: _loaded(page.model, 1) and page.detail_panel.detail is not None, timeout=5000)
    return page


def test_the_page_filters_searches_and_shows_a_return(qtbot, tmp_path: Path, database: Database) -> None:  # type: ignore[no-untyped-def]
    seed_grid(database, 1000)
    page = _page(qtbot, tmp_path, database)
    assert page.model.rowCount() == 800
    assert page.detail_panel.detail is not None and page.detail_panel.title.text().startswith("RMA-")

    qtbot.keyClicks(page.search, "grace")
    qtbot.waitUntil(lambda: page.model.filter == ReturnFilter(text="grace") and not page.model.counting
                    and page.model.loaded_rows() == page.model.rowCount(), timeout=5000)
    rows = [page.model.data(page.model.index(r, 0), ROW_ROLE) for r in range(page.model.rowCount())]
    assert rows and {r.customer for r in rows} == {"Grace Hopper"}

    page.search.clear()
    page.status_combo.setCurrentIndex(page.status_combo.findData("quarantined"))
    qtbot.waitUntil(lambda: page.model.filter.status == "quarantined" and not page.model.counting
                    and page.model.loaded_rows() == page.model.rowCount() > 0, timeout=5000)
    assert page.freshness.text().startswith(f"{page.model.rowCount()} returns")
    assert all(page.model.data(page.model.index(r, Column.STATUS)) == "Held: needs a person"
               for r in range(page.model.rowCount()))
    page.status_combo.setCurrentIndex(page.status_combo.findData(ATTENTION))
    qtbot.waitUntil(lambda: page.model.filter.status == ATTENTION and not page.model.counting, timeout=5000)
    assert page.org_combo.count() == 3  # all + two organizations


def test_export_writes_every_filtered_row(qtbot, tmp_path: Path, database: Database) -> None:  # type: ignore[no-untyped-def]
    seed_grid(database, 300)
    page = _page(qtbot, tmp_path, database)
    target = tmp_path / "out.csv"
    page.export_to(str(target))
    qtbot.waitUntil(lambda: page.status.text().startswith("Exported"), timeout=5000)
    lines = target.read_text(encoding="utf-8").strip().splitlines()
    assert len(lines) == 1 + page.model.rowCount() == 241
    assert lines[0].startswith("Organization,RMA")


def test_a_viewer_gets_no_action_buttons(qtbot, tmp_path: Path, database: Database) -> None:  # type: ignore[no-untyped-def]
    seed_grid(database, 30)
    page = _page(qtbot, tmp_path, database, Role.VIEWER)
    assert not any(b.isEnabled() for b in page.detail_panel.buttons.values())


def test_without_a_database_the_page_shows_its_empty_state(qtbot, shell_context: ShellContext) -> None:  # type: ignore[no-untyped-def]
    page = ReturnsPage(shell_context)
    qtbot.addWidget(page)
    assert page.services is None and page.model.rowCount() == 0
