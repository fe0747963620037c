"""Copies of one revision in a streamed import file, on SQLite and PostgreSQL: the whole file is one batch
for the copy rule, however many transactions it is written in.

An identical later copy is a duplicate, a different one is quarantined ``conflicting_revision`` naming
both places in the file (and the fields that differ, read back from the first copy's row), whichever
transaction each copy falls in. Records in = ingested + quarantined + unchanged + duplicates + conflicts,
and the database holds exactly one row per record that is not a duplicate.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus
from desktop.services.rms.copies import CONFLICTING_REVISION
from desktop.services.rms.file_import import import_file
from desktop.services.rms.ingest import IngestService
from desktop.services.rms.results import IngestResult
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.services.store.models import QuarantineReason, Return
from tests.helpers.rms import T0
from tests.helpers.rms_files import ORG, held, make_import_org, write_export

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


def _export_with_copies(tmp_path: Path) -> Path:
    """Returns 1–8, then: return 2 again as it was (record 9), return 3 with another customer name
    (record 10), return 4 damaged (record 11), and record 10 once more (record 12)."""
    path = write_export(tmp_path / "export.json", 8)
    records: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["returns"]
    other = {**records[2], "customer": {**records[2]["customer"], "name": "Someone Else"}}
    damaged = {**records[3], "lines": [{**records[3]["lines"][0], "unit_price": "12.3.4"}]}
    path.write_text(json.dumps({"returns": [*records, records[1], other, damaged, other]}), encoding="utf-8")
    return path


def _accounted(db: Database, result: IngestResult, records_in: int) -> dict[str, int]:
    """The count invariant, against the database: one row per record that is not a duplicate."""
    assert result.read == records_in == (result.ingested + result.quarantined + result.unchanged
                                         + result.duplicates + result.conflicts), result.counts()
    return held(db)


def _conflict_messages(db: Database) -> list[str]:
    with db.session() as s:
        return list(s.scalars(sa.select(QuarantineReason.message).join(Return).where(
            QuarantineReason.code == CONFLICTING_REVISION).order_by(QuarantineReason.id)))


def test_copies_far_apart_in_a_streamed_file_are_found_across_transactions(db: Database, tmp_path: Path) -> None:
    path = _export_with_copies(tmp_path)

    result = import_file(_service(db), path, ORG, OPERATOR, batch_size=3)  # 4 transactions

    assert (result.ingested, result.quarantined, result.duplicates, result.unchanged, result.conflicts,
            result.replaced, result.pages) == (8, 2, 2, 0, 0, 0, 4)
    assert _accounted(db, result, 12) == {"rows": 10, "quarantined": 2, "with_reason": 2}
    first, second = _conflict_messages(db)
    assert "export.json record 3" in first and "export.json record 10" in first
    assert "(customer differ)" in first, "the first copy's row is read back to name what differs"
    assert "export.json record 4" in second and "export.json record 11" in second

    again = import_file(_service(db), path, ORG, OPERATOR, batch_size=5)  # other transaction boundaries

    assert (again.unchanged, again.duplicates, again.ingested, again.quarantined, again.replaced) == (10, 2, 0, 0, 0)
    assert _accounted(db, again, 12) == {"rows": 10, "quarantined": 2, "with_reason": 2}


def test_a_cancelled_import_resumed_counts_every_record_once(db: Database, tmp_path: Path) -> None:
    path = _export_with_copies(tmp_path)
    batches: list[int] = []

    stopped = import_file(_service(db), path, ORG, OPERATOR, batch_size=3,
                          progress=lambda p: batches.append(p.batches), cancelled=lambda: batches[-1] == 2)

    assert stopped.cancelled and (stopped.read, stopped.not_read) == (6, 6)
    assert _accounted(db, stopped, 6) == {"rows": 6, "quarantined": 0, "with_reason": 0}

    rest = import_file(_service(db), path, ORG, OPERATOR, batch_size=3)

    assert (rest.unchanged, rest.ingested, rest.quarantined, rest.duplicates) == (6, 2, 2, 2)
    assert _accounted(db, rest, 12) == {"rows": 10, "quarantined": 2, "with_reason": 2}
