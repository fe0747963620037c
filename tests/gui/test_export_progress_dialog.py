"""A grid's CSV export in the long-operation dialog: rows written of the total, and Cancel leaves no file.

The rows are formatted on the worker; the formatter waits on an event at a known row, so the test
presses Cancel while the export is certainly mid-file — no sleeps."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QWidget

from desktop.services.core import csv_safe
from desktop.views.csv_export import export_csv
from desktop.views.progress_dialog import OperationDialog

ROWS = 10


def test_cancel_mid_export_leaves_no_file_and_says_so(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_safe, "EXPORT_STEP", 1)
    page = QWidget()
    qtbot.addWidget(page)
    page.show()
    reached, go = threading.Event(), threading.Event()

    def format_row(n: int) -> list[object]:
        if n == 3:  # the fourth row waits until the test has pressed Cancel
            reached.set()
            assert go.wait(30)
        return [n, f"row {n}"]

    target = tmp_path / "grid.csv"
    target.write_text("the earlier export\n", encoding="utf-8")
    failures: list[BaseException] = []
    op = export_csv(page, target, QStandardItemModel(), rows=list(range(ROWS)), format_row=format_row,
                    headers=["n", "text"], on_failure=failures.append)
    dialog = page.findChild(OperationDialog)
    assert isinstance(dialog, OperationDialog)
    try:
        assert reached.wait(30)
        qtbot.waitUntil(lambda: dialog.bar.value() == 3 and dialog.bar.maximum() == ROWS, timeout=5000)
        assert dialog.bar.text() == "3 of 10" and dialog.counts.text() == "3 of 10 rows written to grid.csv"
        dialog.cancel_button.click()
        assert dialog.cancel_button.text() == "Stopping…"
    finally:
        go.set()
    qtbot.waitUntil(lambda: op.done and dialog.finished_text is not None, timeout=5000)
    assert dialog.finished_text.startswith("The export was stopped on request; grid.csv was not written")
    assert len(failures) == 1 and dialog.cancel_button.text() == "Close"
    assert target.read_text(encoding="utf-8") == "the earlier export\n"  # untouched; no partial file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.csv"]
