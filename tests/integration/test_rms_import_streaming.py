"""Streaming file import on SQLite and PostgreSQL: batches, progress, cancel at a batch boundary, the size
cap, rows of a return far apart in a CSV, and the RMS feed through the same batch path."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus
from desktop.services.core.safe_input import InputRejected
from desktop.services.rms import file_import
from desktop.services.rms.file_import import import_file
from desktop.services.rms.ingest import IngestService
from desktop.services.rms.progress import IngestProgress
from desktop.services.store import migrate
from desktop.services.store.db import Database
from tests.helpers.rms import T0, ingest_bus, ingest_service
from tests.helpers.rms_files import ORG, held, make_import_org, write_export
from tests.helpers.sandbox import fast_rms_client

pytestmark = pytest.mark.db

OPERATOR = Actor("olivia", Role.OPERATOR)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    migrate.upgrade(db_url)
    database = Database(db_url)
    make_import_org(database)
    yield database
    database.dispose()


def _service(db: Database) -> IngestService:
    return IngestService(db, EventBus(ManualClock(T0)), ManualClock(T0))


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_a_file_is_imported_in_batches_with_progress_after_each(db: Database, tmp_path: Path, suffix: str) -> None:
    export = write_export(tmp_path / f"export{suffix}", 95, damaged=10)
    seen: list[IngestProgress] = []

    result = import_file(_service(db), export, ORG, OPERATOR, batch_size=20, progress=seen.append)

    assert (result.ingested, result.quarantined, result.read, result.cancelled) == (86, 9, 95, False)
    assert held(db) == {"rows": 95, "quarantined": 9, "with_reason": 9}
    assert [p.batches for p in seen] == [1, 2, 3, 4, 5]
    assert [p.read for p in seen] == [20, 40, 60, 80, 95]
    assert [p.quarantined for p in seen] == [2, 4, 6, 8, 9]
    assert all(p.ingested + p.quarantined == p.read for p in seen)
    assert all(p.bytes_total == export.stat().st_size for p in seen)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0  # type: ignore[type-var]


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_cancel_stops_at_the_batch_boundary_and_says_what_was_not_read(db: Database, tmp_path: Path,
                                                                        suffix: str) -> None:
    export = write_export(tmp_path / f"export{suffix}", 95, damaged=10)
    asked: list[int] = []

    def progress(p: IngestProgress) -> None:
        asked.append(p.batches)

    result = import_file(_service(db), export, ORG, OPERATOR, batch_size=20, progress=progress,
                         cancelled=lambda: asked[-1] == 3)  # the person presses Cancel while batch 3 is written

    assert result.cancelled and asked == [1, 2, 3]
    assert (result.read, result.ingested, result.quarantined, result.not_read) == (60, 54, 6, 35)
    assert held(db) == {"rows": 60, "quarantined": 6, "with_reason": 6}  # exactly the committed batches

    again = import_file(_service(db), export, ORG, OPERATOR, batch_size=20)  # the same file again: the rest

    assert (again.unchanged, again.ingested, again.quarantined, again.cancelled) == (60, 32, 3, False)
    assert held(db) == {"rows": 95, "quarantined": 9, "with_reason": 9}


def test_a_cancel_after_the_last_batch_is_no_cancel(db: Database, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.csv", 40)

    result = import_file(_service(db), export, ORG, OPERATOR, batch_size=20, cancelled=lambda: True)

    assert (result.read, result.cancelled) == (20, True)
    assert result.not_read == 20
    rest = import_file(_service(db), export, ORG, OPERATOR, batch_size=40, cancelled=lambda: True)
    assert (rest.read, rest.ingested, rest.cancelled, rest.not_read) == (40, 20, False, 0)
    assert held(db)["rows"] == 40


def test_a_file_over_the_size_cap_is_refused_before_anything_is_written(db: Database, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    export = write_export(tmp_path / "export.csv", 30)
    monkeypatch.setattr(file_import, "RMS_FILE_LIMIT", export.stat().st_size - 1)

    limit = export.stat().st_size - 1
    says = rf"export.csv is larger than the {limit:,} bytes an import accepts"
    with pytest.raises(InputRejected, match=says) as caught:
        import_file(_service(db), export, ORG, OPERATOR)

    assert caught.value.action and "split the export" in caught.value.action
    assert held(db)["rows"] == 0


def test_rows_of_one_return_far_apart_are_quarantined_not_split(db: Database, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_import, "OPEN_GROUPS", 2)
    # Return 1 again after three other returns: by then its first rows were closed (and ingested).
    export = write_export(tmp_path / "export.csv", 4, order=[1, 2, 3, 4, 1])

    result = import_file(_service(db), export, ORG, OPERATOR, batch_size=10)

    # The late rows replace the first ones (still NEW) and quarantine the return: never posted half.
    assert (result.ingested, result.quarantined, result.replaced, result.conflicts) == (4, 1, 1, 0)
    assert result.pages == 2  # the rest of a return (not a second copy) starts a new batch to replace it
    assert held(db) == {"rows": 4, "quarantined": 1, "with_reason": 1}
    [bad] = result.quarantine
    assert bad.rms_id == "ret_000001" and [p.code for p in bad.problems] == ["split_rows"]
    assert bad.problems[0].message.startswith("export.csv row 6: more rows of return 'ret_000001' (revision '1') "
                                              "come after other returns")


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """The peak of Python allocations for 4,000 returns stays within 2 MB of that for 1,000 (SQLite)."""
    peaks = []
    for n in (1000, 4000):
        url = f"sqlite:///{tmp_path / f'm{n}.sqlite3'}"
        migrate.upgrade(url)
        db = Database(url)
        make_import_org(db)
        export = write_export(tmp_path / f"m{n}.json", n, damaged=7)
        tracemalloc.start()
        try:
            result = import_file(_service(db), export, ORG, OPERATOR)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert result.read == n and held(db)["rows"] == n
        db.dispose()
    # By design a few hundred bytes a record do stay (the copy rule's key hashes, the quarantine details up to
    # their cap): bound that growth in bytes, so that a smaller per-batch working set does not fail the test.
    assert peaks[1] - peaks[0] < 2 * 2**20, f"peaks {peaks}: memory grew with the file"


def test_the_rms_feed_goes_through_the_same_batches_and_stops_at_a_page(db: Database, sandbox: Any) -> None:
    client = fast_rms_client(sandbox.info)
    service = ingest_service(db, ingest_bus(), client)
    seen: list[IngestProgress] = []

    result = service.pull(ORG, client, page_size=5, progress=seen.append, cancelled=lambda: len(seen) == 2)

    assert result.cancelled and [p.batches for p in seen] == [1, 2] and [p.read for p in seen] == [5, 10]
    assert seen[-1].bytes_total is None and seen[-1].fraction is None  # a feed has no size
    assert held(db)["rows"] == result.read == 10

    rest = service.pull(ORG, client, page_size=50)  # the cursor was saved with page 2: on from there

    assert not rest.cancelled and rest.unchanged == 0 and rest.read > 0
    assert held(db)["rows"] == 10 + rest.read
