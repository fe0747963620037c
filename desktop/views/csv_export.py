"""CSV export for every grid: what the view shows (filter, sort, visible columns), written off the GUI thread.

Any page calls :func:`choose_and_export` from its "Export CSV…" action: a non-modal save dialog
(``open()``, no nested event loop) asks for the file, then :func:`export_csv` writes it in the
long-operation dialog (:func:`export_in_dialog`: counts, a bar, Cancel; the file appears only when
complete, so a cancelled or failed export leaves none). Reading a model is only safe on the GUI
thread, so the cells are gathered there first — except for models that can hand over immutable
row objects and a pure formatter (``rows``/``format_row`` below), which lets a 100,000-row log
export format its cells on the worker.

Every cell goes through the app's one CSV writer (:mod:`desktop.services.core.csv_safe`), which defuses
what a spreadsheet would run as a formula: company names and messages come from strangers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, Qt
from PySide6.QtWidgets import QFileDialog, QTableView, QWidget

from desktop.services.core.csv_safe import export_rows
from desktop.views.ops import BackgroundOperation, Progress
from desktop.views.progress_dialog import OperationDialog, failure_words

__all__ = ["choose_and_export", "export_csv", "export_in_dialog", "visible_columns", "visible_table"]


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
        return export_rows(path, head, (formatter(row) for row in snapshot_rows), total=len(snapshot_rows),
                           progress=progress)

    return export_in_dialog(parent, path, write, on_done=on_done, on_failure=on_failure)


def export_in_dialog(parent: QWidget, path: Path, write: Callable[[Progress], int], *,
                     on_done: Callable[[Path, int], None] | None = None,
                     on_failure: Callable[[BaseException], None] | None = None,
                     noun: str = "rows") -> BackgroundOperation[int]:
    """Run ``write`` (an export through :func:`~desktop.services.core.csv_safe.export_rows`) in the
    long-operation dialog: counts, a bar and Cancel; a cancelled export leaves no file."""
    dialog = OperationDialog(parent, "Export", f"Exporting to {path.name}…",
                             stopping=f"Stopping the export; {path.name} will not be written…",
                             cancel_tip="Stop the export; no partial file is left behind")

    def done(n: int) -> str:
        if on_done is not None:
            on_done(path, n)
        return f"Exported {n:,} {noun} to {path}."

    def failed(exc: BaseException) -> str:
        if on_failure is not None:
            on_failure(exc)
        return failure_words(exc)

    return dialog.run(write, on_done=done, on_failed=failed, label=f"Export to {path.name}")


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
