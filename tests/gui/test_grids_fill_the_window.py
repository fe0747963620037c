"""The Returns page at 1024×700 and 1600×1000: no sideways page scrolling, and the grid spans the
width it is given (its columns add up to its viewport; Customer takes what the others leave)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QScrollArea

from desktop.app import view_services
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import SystemClock
from desktop.services.store.db import Database
from desktop.services.store.migrate import upgrade
from desktop.views.context import ShellContext
from desktop.views.main_window import MainWindow
from desktop.views.ops import running_operations
from desktop.views.pages.returns import ReturnsPage
from desktop.views.returns.model import Column
from desktop.views.returns.table import MIN_CUSTOMER
from tests.helpers.returns import seed_grid


@pytest.fixture
def window(qtbot, tmp_path: Path, shell_context: ShellContext) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'fill.sqlite3'}"
    upgrade(url)
    db = Database(url)
    seed_grid(db, 300)
    shell_context.actor = Actor("olga", Role.ADMIN)
    shell_context.services = view_services(db, SystemClock(), shell_context.bus)
    win = MainWindow(shell_context)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=10_000)
    db.dispose()


@pytest.mark.parametrize("size", [(1024, 700), (1600, 1000)])
def test_the_page_fits_the_width_and_the_returns_grid_fills_it(qtbot, window: MainWindow,  # type: ignore[no-untyped-def]
                                                                size: tuple[int, int]) -> None:
    window.resize(*size)
    for key in ("returns",):
        window.show_page_by_key(key)
        page = window.current_page
        scroll = page.findChild(QScrollArea, "PageScroll")
        qtbot.waitUntil(lambda s=scroll: s.viewport().width() > 0, timeout=2000)  # type: ignore[misc]
        qtbot.waitUntil(lambda s=scroll: not s.horizontalScrollBar().isVisible(), timeout=2000)  # type: ignore[misc]
        assert scroll.widget().minimumSizeHint().width() <= scroll.viewport().width(), key

    window.show_page_by_key("returns")
    page = window.current_page
    assert isinstance(page, ReturnsPage)
    table, header = page.table, page.table.horizontalHeader()
    qtbot.waitUntil(lambda: page.model.loaded_rows() > 0, timeout=5000)
    qtbot.waitUntil(lambda: header.length() >= table.viewport().width(), timeout=2000)
    if header.sectionSize(Column.CUSTOMER) > MIN_CUSTOMER:
        assert header.length() == table.viewport().width()  # no gap after the last column
    if size[0] >= 1600:
        assert not table.horizontalScrollBar().isVisible()
        assert header.sectionSize(Column.CUSTOMER) > MIN_CUSTOMER


def test_narrowing_the_window_shrinks_customer_again(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    window.show_page_by_key("returns")
    page = window.current_page
    assert isinstance(page, ReturnsPage)
    header = page.table.horizontalHeader()
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: header.sectionSize(Column.CUSTOMER) > 200, timeout=2000)
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: header.sectionSize(Column.CUSTOMER) == MIN_CUSTOMER
                    or header.length() == page.table.viewport().width(), timeout=2000)
