"""The returns grid as a windowed model: the database is the list, the model holds a few pages.

``rowCount`` is the filtered count (one ``COUNT`` query); a page of :data:`PAGE` rows is fetched
the first time the view paints a row in it — through :func:`~desktop.views.ops.run_in_background`,
never on the GUI thread — and cached (at most :data:`MAX_PAGES`, least recently used dropped).
Until its page arrives a row shows an ellipsis. Sorting and filtering are SQL (``ORDER BY`` /
``WHERE`` in :class:`~desktop.services.queries.returns.ReturnsQuery`), so 100,000 returns cost
what 200 cost. Every reload bumps a generation number; answers for an older generation are
dropped, so a slow query can never paint stale rows into a newer filter.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtCore import Signal as _Signal

from desktop.services.queries.returns import ATTENTION, ReturnFilter, ReturnRow, ReturnsQuery
from desktop.views.models.columns import HeadedColumn
from desktop.views.models.pill import PillDelegate as SharedPill
from desktop.views.models.status import STATUSES, status_label
from desktop.views.ops import run_in_background

Index = QModelIndex | QPersistentModelIndex
PAGE = 200
MAX_PAGES = 40
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
STATE_ROLE = Qt.ItemDataRole.UserRole + 2
LOADING = "…"
#: The Refund heading's tooltip: what sorting by it means.
REFUND_SORT_HINT = ("Refund in the return's own currency. Sorting groups by currency (A→Z), then orders the "
                    "amounts within each currency: amounts in different currencies are never compared.")


class Column(HeadedColumn):
    ORGANIZATION = "Organization"
    RMA = "RMA"
    CUSTOMER = "Customer"
    REFUND = "Refund"
    STATUS = "Status"
    DOCUMENTS = "Documents"
    LEDGER = "Ledger no."
    UPDATED = "Updated"


SORT_KEYS = {Column.ORGANIZATION: "org", Column.RMA: "rma", Column.CUSTOMER: "customer", Column.REFUND: "refund",
             Column.STATUS: "status", Column.UPDATED: "updated"}


def row_state(row: ReturnRow) -> str:
    """The state a return's status cell shows: its own, or "attention" when a document is in trouble."""
    return ATTENTION if row.trouble and row.status != "quarantined" else row.status


def money_text(row: ReturnRow) -> str:
    if row.refund is None:
        return "—"
    return f"{row.refund.amount:,f} {row.refund.currency}"


def documents_text(row: ReturnRow) -> str:
    if not row.documents:
        return "—"
    return f"{row.posted}/{row.documents} posted"


class ReturnsModel(QAbstractTableModel):
    """Rows of :class:`ReturnRow`, fetched a page at a time in the background."""

    loaded = _Signal()  # a page or the count arrived (tests and the page's status line)
    failed = _Signal(object)

    def __init__(self, query: ReturnsQuery | None, parent: QObject | None = None, *,
                 runner: Callable[..., Any] = run_in_background) -> None:
        super().__init__(parent)
        self._query = query
        self._run = runner
        self._filter = ReturnFilter()
        self._sort = ("updated", True)
        self._total = 0
        self._pages: OrderedDict[int, list[ReturnRow]] = OrderedDict()
        self._asked: set[int] = set()
        self._generation = 0  # pages: bumped by every reload and every sort
        self._count_generation = 0  # counts: bumped by reloads only (a sort does not change the count)
        self.counting = False

    # --- reading -------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt API
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            # right-aligned like its amounts: room on the right for the sort arrow, which would cover the "d"
            return Column(section).header + ("    " if section == Column.REFUND else "")
        if role == Qt.ItemDataRole.TextAlignmentRole and section == Column.REFUND:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and section == Column.REFUND:
            return REFUND_SORT_HINT
        return None

    def row_at(self, row: int) -> ReturnRow | None:
        """The row if its page is loaded (asks for the page otherwise)."""
        page = self._pages.get(row // PAGE)
        if page is None:
            self._request(row // PAGE)
            return None
        self._pages.move_to_end(row // PAGE)
        offset = row % PAGE
        return page[offset] if offset < len(page) else None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < self._total:
            return None
        column = Column(index.column())
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column is Column.REFUND:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, ROW_ROLE, STATE_ROLE):
            return None
        row = self.row_at(index.row())
        if row is None:
            return LOADING if role == Qt.ItemDataRole.DisplayRole and column is Column.RMA else None
        if role == ROW_ROLE:
            return row
        if role == STATE_ROLE:
            return row_state(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column is Column.DOCUMENTS and row.trouble:
                return f"{row.trouble} document(s) failed or were stopped: open the return to see why"
            if column is Column.LEDGER and row.numbers:
                return "Numbers in the ledger: " + ", ".join(row.numbers)
            if column is Column.UPDATED:
                return f"Changed in the RMS {row.updated_at.astimezone():%Y-%m-%d %H:%M:%S}"
            if column is Column.REFUND and row.refund is None:
                return "The RMS did not state a refund total for this return"
            return f"{row.rma} (RMS id {row.rms_id}, revision {row.revision}) · RMS status: {row.rms_status}"
        return self.display(row, column)

    @staticmethod
    def display(row: ReturnRow, column: Column) -> str:
        if column is Column.ORGANIZATION:
            return row.org
        if column is Column.RMA:
            return row.rma if row.revision <= 1 else f"{row.rma} · r{row.revision}"
        if column is Column.CUSTOMER:
            return row.customer
        if column is Column.REFUND:
            return money_text(row)
        if column is Column.STATUS:
            return status_label(row_state(row))
        if column is Column.DOCUMENTS:
            return documents_text(row)
        if column is Column.LEDGER:
            return row.numbers[0] + (f" +{len(row.numbers) - 1}" if len(row.numbers) > 1 else "") if row.numbers else ""
        return row.updated_at.astimezone().strftime("%d %b %H:%M")

    # --- loading -------------------------------------------------------------------------------
    @property
    def filter(self) -> ReturnFilter:
        return self._filter

    @property
    def sort_order(self) -> tuple[str, bool]:
        return self._sort

    def set_query(self, query: ReturnsQuery | None) -> None:
        self._query = query
        self.reload()

    def set_filter(self, f: ReturnFilter) -> None:
        self._filter = f
        self.reload()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = SORT_KEYS.get(Column(column)) if 0 <= column < len(Column) else None
        if key is None:
            return
        self._sort = (key, order == Qt.SortOrder.DescendingOrder)
        self.layoutAboutToBeChanged.emit()
        self._pages.clear()
        self._asked.clear()
        self._generation += 1
        self.layoutChanged.emit()
        if self._total:
            self._request(0)

    def reload(self) -> None:
        """Count again (the filter or the data changed) and drop every cached page."""
        self._generation += 1
        self._count_generation += 1
        generation = self._count_generation
        if self._query is None:
            self._reset(0)
            return
        query, f = self._query, self._filter
        self.counting = True
        self._run(self, lambda _p: query.count(f), on_success=lambda n: self._on_count(generation, n),
                  on_failure=self._on_failure, label="count returns")

    def _on_count(self, generation: int, total: int) -> None:
        if generation != self._count_generation:
            return
        self.counting = False
        self._reset(total)
        if total:
            self._request(0)
        else:
            self.loaded.emit()

    def _reset(self, total: int) -> None:
        self.beginResetModel()
        self._total = total
        self._pages.clear()
        self._asked.clear()
        self.endResetModel()

    def _request(self, page: int) -> None:
        if page in self._asked or self._query is None or page * PAGE >= self._total:
            return
        self._asked.add(page)
        generation, query, f, (key, desc) = self._generation, self._query, self._filter, self._sort
        self._run(self, lambda _p: query.window(f, page * PAGE, PAGE, key, desc),
                  on_success=lambda rows: self._on_page(generation, page, rows), on_failure=self._on_failure,
                  label="load returns")

    def _on_page(self, generation: int, page: int, rows: list[ReturnRow]) -> None:
        if generation != self._generation:
            return
        self._pages[page] = rows
        while len(self._pages) > MAX_PAGES:
            old, _ = self._pages.popitem(last=False)
            self._asked.discard(old)
        first = page * PAGE
        last = min(self._total, first + PAGE) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(Column) - 1))
        self.loaded.emit()

    def _on_failure(self, exc: BaseException) -> None:
        self.counting = False
        self.failed.emit(exc)

    def row_of(self, return_id: int) -> int:
        """The row showing ``return_id`` among the loaded pages, or -1."""
        for page, rows in self._pages.items():
            for offset, row in enumerate(rows):
                if row.id == return_id:
                    return page * PAGE + offset
        return -1

    def loaded_rows(self) -> int:
        return sum(len(p) for p in self._pages.values())


class PillDelegate(SharedPill):
    """A status cell drawn as a soft coloured pill with a dot (reads the state from ``STATE_ROLE``)."""

    colours = STATUSES
    state_role = STATE_ROLE
    inset = 6
