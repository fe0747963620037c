"""Fuzzing copies of one revision in one batch: identical ones are duplicates, different ones quarantined.

A batch (an import file, or records ingested a few per transaction — still one batch) holds valid
returns and copies of them: identical, or the same (id, revision) with other content, valid or
damaged, in any order. The first copy of each revision counts; every later different copy is
quarantined with ``conflicting_revision``; identical copies are counted as duplicates; nothing is
lost (:func:`tests.fuzz.checks.assert_accounted`), and importing the same batch again changes
nothing. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus
from desktop.services.rms.ingest import CONFLICTING_REVISION, Incoming, IngestService
from desktop.services.rms.parse import RMS_FIX
from desktop.services.rms.records import same_payload
from desktop.services.rms.storable import storable
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.services.store.models import QuarantineReason, Return
from tests.fuzz.budget import fuzz, record
from tests.fuzz.checks import T0, assert_accounted, for_org, new_org
from tests.fuzz.strategies import batch_with_copies

pytestmark = pytest.mark.db


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    migrate.upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


def _conflicting_copies(records: list[dict[str, Any]]) -> int:
    """Later copies of a revision whose (storable) content differs from every earlier one of it."""
    seen: dict[tuple[str, int], list[Any]] = {}
    for rec in records:
        safe = storable(rec, fix=RMS_FIX)[0]
        copies = seen.setdefault((rec["id"], rec["revision"]), [])
        if not any(same_payload(safe, c) for c in copies):
            copies.append(safe)
    return sum(len(copies) - 1 for copies in seen.values())


@given(records=batch_with_copies(), batch_size=st.sampled_from([1, 2, 3, 200]))
@fuzz(40)
def test_copies_of_a_revision_in_one_batch_are_duplicates_or_quarantined(
        db: Database, records: list[dict[str, Any]], batch_size: int) -> None:
    code, org_id = new_org(db)
    batch = for_org(records, code)
    service = IngestService(db, EventBus(ManualClock(T0, tick=timedelta(milliseconds=1))), ManualClock(T0))
    ctx = service.context_for(code)

    result = service.ingest(code, [Incoming(raw=r) for r in batch], ctx=ctx, fix=RMS_FIX, source="fuzz",
                            batch_size=batch_size)

    figures = assert_accounted(db, org_id, len(batch), result)
    with db.session() as s:
        conflicts = s.scalar(sa.select(sa.func.count()).select_from(QuarantineReason).join(Return).where(
            Return.organization_id == org_id, QuarantineReason.code == CONFLICTING_REVISION))
    assert conflicts == _conflicting_copies(batch), (conflicts, result.counts())

    again = service.ingest(code, [Incoming(raw=r) for r in batch], ctx=ctx, fix=RMS_FIX, source="fuzz",
                           batch_size=batch_size)
    assert (again.ingested, again.quarantined, again.replaced, again.conflicts) == (0, 0, 0, 0), again.counts()
    assert again.unchanged + again.duplicates == len(batch) and again.duplicates == result.duplicates
    record("rms copies in one batch", examples=1, conflicting=conflicts, **figures)
