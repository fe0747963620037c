"""CSV export for every grid: what the view shows (filter, sort, visible columns), written off the GUI thread.

Any page calls :func:`choose_and_export` from its "Export CSV…" action: a non-modal save dialog
(``open()``, no nested event loop) asks for the file, then :func:`export_csv` writes it through
``run_in_background``. Reading a model is only safe on the GUI thread, so the cells are gathered
there first — except for models that can hand over immutable row objects and a pure formatter
(``rows``/``format_row`` below), which lets a 100,000-row log export format its cells on the worker.

Every cell goes through the app's one CSV writer (:mod:`desktop.services.core.csv_safe`), which defuses
what a spreadsheet would run as a formula: company names and messages come from strangers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import QFileDialog, QTableView, QWidget

from desktop.services.core.csv_safe import SafeWriter
from desktop.views.ops import BackgroundOperation, Progress, run_in_background

__all__ = ["choose_and_export", "export_csv", "visible_columns", "visible_table"]


def visible_columns(model: QAbstractItemModel, view: QTableView | None = None) -> list[int]:
    """Model columns in the order the user sees them, hidden ones left out."""
    count = model.columnCount(QModelIndex())
    if view is None:
        return list(range(count))
    header = view.horizontalHeader()
    ordered = sorted(range(count), key=header.visualIndex)
    return [c for c in ordered if not header.isSectionHidden(c)]


def visible_table(model: QAbstractItemModel, view: QTableView | None = None) -> tuple[list[str], list[list[str]]]:
    """Headers and display texts of every row of ``model`` (GUI thread: models are not thread-safe)."""
    columns = visible_columns(model, view)
    headers = [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in columns]
    rows: list[list[str]] = []
    for r in range(model.rowCount(QModelIndex())):
        rows.append(["" if (v := model.data(model.index(r, c))) is None else str(v) for c in columns])
    return headers, rows


def export_csv(parent: QWidget, path: Path, model: QAbstractItemModel, *, view: QTableView | None = None,
               rows: Sequence[Any] | None = None, format_row: Callable[[Any], Sequence[object]] | None = None,
               headers: Sequence[str] | None = None, on_done: Callable[[Path, int], None] | None = None,
               on_failure: Callable[[BaseException], None] | None = None) -> BackgroundOperation[int]:
    """Write ``model``'s visible rows to ``path`` in the background; ``on_done(path, count)`` after.

    Args:
        parent: the page that asked (callbacks are skipped if it is gone).
        model: what the view shows (usually the filter proxy).
        view: the table, for column order and hidden columns.
        rows: immutable row objects in view order, to be formatted on the worker by ``format_row``
            (with ``headers``) instead of reading ``model`` cell by cell on the GUI thread.
    """
    if rows is not None and format_row is not None:
        snapshot_rows: Sequence[Any] = list(rows)
        head = list(headers or [])
        formatter: Callable[[Any], Sequence[object]] = format_row
    else:
        head, table = visible_table(model, view)
        snapshot_rows = table
        formatter = _identity

    def write(progress: Progress) -> int:
        total = len(snapshot_rows)
        with path.open("w", newline="", encoding="utf-8") as f:
            out = SafeWriter(f)
            out.writerow(head)
            for i, row in enumerate(snapshot_rows, start=1):
                out.writerow(formatter(row))
                if i % 2000 == 0:
                    progress.report(i, total, f"Writing row {i:,} of {total:,}")
        return total

    return run_in_background(parent, write, on_success=lambda n: on_done(path, n) if on_done else None,
                             on_failure=on_failure, label=f"Export to {path.name}")


def choose_and_export(parent: QWidget, title: str, suggested_name: str,
                      start: Callable[[Path], object]) -> QFileDialog:
    """Open a non-modal save dialog; ``start(path)`` runs when a file is chosen. Returns the dialog."""
    dialog = QFileDialog(parent, title, suggested_name, "CSV files (*.csv)")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setDefaultSuffix("csv")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(lambda chosen: start(Path(chosen)))
    dialog.open()
    return dialog


def _identity(row: Any) -> Sequence[object]:
    return list(row)
