"""Exports write the whole file or none: progress with counts, and a cancel or a failure leaves no partial file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.services.core.csv_safe import EXPORT_STEP, export_rows
from desktop.services.core.progress import OperationCancelled, Tracker

ROWS = EXPORT_STEP * 3 + 7


def _rows(n: int = ROWS) -> Iterator[list[object]]:
    return ([i, f"=cell {i}"] for i in range(n))


def test_a_finished_export_reports_counts_and_writes_every_row(tmp_path: Path) -> None:
    seen: list[tuple[int, int | None, str]] = []
    out = tmp_path / "all.csv"
    assert export_rows(out, ["n", "text"], _rows(), total=ROWS, progress=Tracker(lambda *r: seen.append(r))) == ROWS
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == ROWS + 1 and lines[1] == "0,'=cell 0"  # formulas still defused
    assert [d for d, _t, _m in seen] == [EXPORT_STEP, 2 * EXPORT_STEP, 3 * EXPORT_STEP]
    assert seen[0][1:] == (ROWS, f"{EXPORT_STEP:,} of {ROWS:,} rows written to all.csv")
    assert [p.name for p in tmp_path.iterdir()] == ["all.csv"]


def test_a_cancelled_export_leaves_no_file_and_keeps_the_one_it_would_replace(tmp_path: Path) -> None:
    fresh, existing = tmp_path / "fresh.csv", tmp_path / "existing.csv"
    existing.write_text("what was there\n", encoding="utf-8")
    for target in (fresh, existing):
        cancelling = _Cancelling()
        with pytest.raises(OperationCancelled, match=f"{target.name} was not written"):
            export_rows(target, ["n", "text"], _rows(), total=ROWS, progress=cancelling)
        assert cancelling.reports == 1  # stopped at the next step after Cancel, not at the end
    assert not fresh.exists()
    assert existing.read_text(encoding="utf-8") == "what was there\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.csv"]  # no .part left behind


def test_a_failing_export_leaves_no_partial_file(tmp_path: Path) -> None:
    def rows() -> Iterator[list[object]]:
        yield from _rows(EXPORT_STEP + 1)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        export_rows(tmp_path / "full.csv", ["n"], rows(), progress=Tracker())
    assert list(tmp_path.iterdir()) == []


class _Cancelling:
    """A progress whose person presses Cancel as soon as the first count arrives."""

    def __init__(self) -> None:
        self.reports = 0

    @property
    def cancelled(self) -> bool:
        return self.reports > 0

    def report(self, done: int, total: int | None = None, message: str = "") -> None:
        self.reports += 1
