"""The screenshot tour's ``return-preview`` picture: a return's debit/credit preview with its goods journal.

Issue 16's pictures show the inventory and cost of goods sold lines a return posts. Which return is
chosen by content, through the services, never by a row's position: :func:`goods_example` reads the
demo's returns in (organization, RMA) order, keeps those with a line back in stock at a known cost
(and, preferably, a damaged one too) and takes the first whose preview (``ManualEntryService.prepare``,
what the Returns page shows) holds a goods journal with Dr inventory asset and Cr cost of goods sold.
:class:`PreviewShot` then opens it on the Returns page the way the error log's "Open return" does,
waits on timers — never ``processEvents()`` — until the page shows that return's preview, brings the
"Debit / credit" tab into view and grabs the window.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPoint, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QScrollArea

from desktop.services.core.domain import Component
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.queries.returns import ReturnFilter, ReturnsQuery

if TYPE_CHECKING:
    from desktop.services.manual import ManualEntryService
    from desktop.views.main_window import MainWindow
    from desktop.views.pages.returns import ReturnsPage

log = logging.getLogger(__name__)
POLL_MS = 50
GOODS_ROLE = "goods_journal"
#: At most this many returns are previewed while looking for the example (each preview runs the recipes).
MAX_PREVIEWS = 40


@dataclass(frozen=True)
class GoodsExample:
    org: str
    rma: str
    rows: int  # lines the preview shows (documents' lines and totals)


def shows_goods(documents: Sequence[LedgerDocument]) -> tuple[bool, bool]:
    """(a goods journal moves goods back in stock — Dr inventory asset, Cr COGS —, it also writes damaged goods off)."""
    goods = [ln for d in documents if d.role == GOODS_ROLE for ln in d.journal]
    restock = any(ln.component == Component.INVENTORY_ASSET and ln.debit is not None for ln in goods) and \
        any(ln.component == Component.COGS and ln.credit is not None for ln in goods)
    return restock, any(ln.component == Component.INVENTORY_WRITE_OFF and ln.debit is not None for ln in goods)


def goods_example(query: ReturnsQuery, manual: ManualEntryService) -> GoodsExample | None:
    """The demo return whose preview best shows a goods journal (see the module's description), or None."""
    candidates: list[tuple[bool, str, bool, int, str, str]] = []
    currencies: dict[str, Counter[str]] = {}
    for row in query.iter_all(ReturnFilter(), sort="rma", descending=False):
        currencies.setdefault(row.org, Counter())[row.currency] += 1
        detail = query.detail(row.id, history_limit=0)
        if detail is None:
            continue
        costed = {str(ln["disposition"]) for ln in detail.lines if ln.get("unit_cost") is not None}
        if "RESTOCK" in costed:
            candidates.append(("SCRAP" not in costed, row.currency, row.rms_status.lower() == "cancelled",
                               len(detail.lines), row.org, row.rma))
    # An organization's usual currency (its home one in the demo) and a live return read plainest.
    ranked = sorted((no_scrap, currency != currencies[org].most_common(1)[0][0], cancelled, lines, org, rma)
                    for no_scrap, currency, cancelled, lines, org, rma in candidates)
    fallback: GoodsExample | None = None
    for _no_scrap, _foreign, _cancelled, _lines, org, rma in ranked[:MAX_PREVIEWS]:
        prepared = manual.prepare(org, rma)
        restock, written_off = shows_goods(prepared.documents)
        if not restock or prepared.problems:
            continue
        example = GoodsExample(org, rma, sum(len(d.journal) + 1 for d in prepared.documents))
        if written_off:
            return example
        fallback = fallback or example
    return fallback


class PreviewShot(QObject):
    """Show ``example`` on the Returns page with its "Debit / credit" tab in view; emit ``finished(pixmap)``."""

    finished = Signal(object)

    def __init__(self, window: MainWindow, example: GoodsExample, *, settle_ms: int = 300,
                 timeout_ms: int = 120_000) -> None:
        super().__init__(window)
        self._window = window
        self._example = example
        self._settle_ms = settle_ms
        self._timeout_ms = timeout_ms
        self._waited = 0
        self._restore: list[Any] = []

    def _page(self) -> ReturnsPage | None:
        from desktop.views.pages.returns import ReturnsPage

        page = self._window.current_page
        return page if isinstance(page, ReturnsPage) and page.services is not None else None

    def start(self) -> None:
        self._window.show_page_by_key("returns")
        page = self._page()
        if page is None:
            self._done(None, "there is no Returns page with returns")
            return
        if not self._shown(page):
            page.show_return(self._example.org, self._example.rma)
        QTimer.singleShot(POLL_MS, self._poll)

    def _shown(self, page: ReturnsPage) -> bool:
        panel = page.detail_panel
        detail, documents = panel.detail, panel.previewed
        return (detail is not None and detail.row.org == self._example.org and detail.row.rma == self._example.rma
                and any(d.source[0] == self._example.org and d.role == GOODS_ROLE for d in documents))

    def _poll(self) -> None:
        from desktop.views.ops import running_operations

        page = self._page()
        if page is not None and self._shown(page) and running_operations() == 0:
            self._arrange(page)
            return
        self._waited += POLL_MS
        if self._waited >= self._timeout_ms:
            self._done(None, f"the preview of {self._example.rma} did not arrive in time")
            return
        QTimer.singleShot(POLL_MS, self._poll)

    def _arrange(self, page: ReturnsPage) -> None:
        """The log folded and the "Debit / credit" tab in front; then :meth:`_make_room` once laid out."""
        dock = self._window.log_dock
        panel = page.detail_panel
        self._restore = [dock.collapsed, panel.minimumHeight()]
        dock.set_collapsed(True)
        panel.tabs.setCurrentWidget(panel.preview)
        QTimer.singleShot(self._settle_ms, lambda: self._make_room(page))

    def _make_room(self, page: ReturnsPage) -> None:
        """The grid small and the detail panel as tall as the page's view (the log's fold has resized it)."""
        panel = page.detail_panel
        scroll = page.findChild(QScrollArea, "PageScroll")
        if scroll is not None:
            panel.setMinimumHeight(max(panel.minimumSizeHint().height(), scroll.viewport().height() - 24))
        page.splitter.setSizes([1, 10_000])
        QTimer.singleShot(self._settle_ms, lambda: self._scroll_to(page, scroll))

    def _scroll_to(self, page: ReturnsPage, scroll: QScrollArea | None) -> None:
        """The page scrolled to the detail panel, the preview to its goods journal; then grab."""
        panel = page.detail_panel
        canvas = scroll.widget() if scroll is not None else None
        if scroll is not None and canvas is not None:
            top = panel.mapTo(canvas, QPoint(0, 0)).y()
            scroll.verticalScrollBar().setValue(top - 12)
        first, last = panel.goods_rows()
        for row in (last, first):  # all of it when it fits, else at least its first lines
            if row >= 0:
                panel.preview.scrollTo(panel.preview.model().index(row, 0), QAbstractItemView.ScrollHint.EnsureVisible)
        QTimer.singleShot(self._settle_ms, self._grab)

    def _grab(self) -> None:
        pixmap = self._window.grab()
        page = self._page()
        if page is not None and self._restore:
            self._window.log_dock.set_collapsed(bool(self._restore[0]))
            page.detail_panel.setMinimumHeight(int(self._restore[1]))
        self._done(pixmap, None)

    def _done(self, pixmap: object, problem: str | None) -> None:
        if problem:
            log.info("no preview screenshot: %s", problem)
        self.finished.emit(pixmap)
