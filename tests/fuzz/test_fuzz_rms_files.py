"""Fuzzing RMS file import (the ``import`` command's path): damaged JSON and CSV exports, real databases.

A file is either refused as a whole with a message (``NeedsPersonError``: not UTF-8, not JSON, too
deep, no ``id`` column, unreadable quoting …) and then nothing of it is written, or every record in
it is accounted for: ingested or quarantined with a code, the counts the database's
(:func:`tests.fuzz.checks.assert_accounted`). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import random
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import NeedsPersonError
from desktop.services.core.events import EventBus
from desktop.services.rms.file_import import import_file
from desktop.services.rms.ingest import IngestResult, IngestService
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.services.store.models import Return
from tests.fuzz.budget import fuzz, record
from tests.fuzz.checks import T0, assert_accounted, for_org, new_org
from tests.fuzz.strategies import CSV_HEADER, csv_export, damaged_records, json_text, nest, valid_record

pytestmark = pytest.mark.db

OPERATOR = Actor("fuzz-operator", Role.OPERATOR)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    migrate.upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


def _import(db: Database, tmp_path: Path, name: str, data: bytes | list[Any], *,
            wrapped: bool = False) -> tuple[int, IngestResult | None]:
    """Import ``data`` (bytes, or records written as a JSON list, or ``{"returns": [...]}`` if ``wrapped``)
    as file ``name`` into a fresh organization: (its id, the result or None if the file was refused)."""
    code, org_id = new_org(db)
    path = tmp_path / name
    if not isinstance(data, bytes):
        records = for_org(data, code)
        data = json_text({"returns": records} if wrapped else records).encode()
    path.write_bytes(data)
    service = IngestService(db, EventBus(ManualClock(T0, tick=timedelta(milliseconds=1))), ManualClock(T0))
    try:
        return org_id, import_file(service, path, code, OPERATOR)
    except NeedsPersonError as exc:
        assert exc.message and exc.action, "a refusal says what happened and what to do"
        with db.session() as s:
            rows = s.scalar(sa.select(sa.func.count()).select_from(Return).where(Return.organization_id == org_id))
        assert rows == 0, "a refused file wrote rows"
        return org_id, None


@example(records=[{**valid_record(0, random.Random(1)), "customer": {"id": "c", "name": "A\x00da", "email": "a@b"}}],
         wrapped=False)
@example(records=[valid_record(0, random.Random(1)), {"junk": nest(100)}], wrapped=True)  # too deep: refused whole
@given(records=damaged_records(max_size=10), wrapped=st.booleans())
@fuzz(50)
def test_every_record_of_a_json_export_is_accounted_for(db: Database, tmp_path: Path, records: list[Any],
                                                        wrapped: bool) -> None:
    org_id, result = _import(db, tmp_path, "returns.json", records, wrapped=wrapped)
    if result is None:
        record("rms file import (JSON)", examples=1, refused=1)
        return
    record("rms file import (JSON)", examples=1, **assert_accounted(db, org_id, len(records), result))


def _csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_HEADER, lineterminator="\r\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


_ONE = {"id": "ret_1", "rma_number": "RMA-1", "currency": "USD", "line_id": "ln_1", "sku": "S", "quantity": "1",
        "unit_price": "1.00", "reason_code": "DAMAGED", "disposition": "RESTOCK"}


# Two rows of one return that disagree on the revision, both unreadable: two records claiming the same
# stand-in key; the second used to be dropped as a "conflict" instead of quarantined.
@example(export=(_csv([{**_ONE, "revision": "one"}, {**_ONE, "revision": "two", "line_id": "ln_2"}]), 2))
@example(export=(_csv([{**_ONE, "revision": "1", "customer_name": "x\x00"}]), 1))
@given(export=csv_export(max_returns=8))
@fuzz(50)
def test_every_record_of_a_csv_export_is_accounted_for(db: Database, tmp_path: Path,
                                                       export: tuple[str, int]) -> None:
    text, records_in = export
    org_id, result = _import(db, tmp_path, "returns.csv", text.encode("utf-8", "surrogatepass"))
    if result is None:
        record("rms file import (CSV)", examples=1, refused=1)
        return
    record("rms file import (CSV)", examples=1, **assert_accounted(db, org_id, records_in, result))


@given(data=st.binary(max_size=400), suffix=st.sampled_from([".json", ".csv", ".txt"]))
@fuzz(40)
def test_any_bytes_are_imported_or_refused_with_a_message(db: Database, tmp_path: Path, data: bytes,
                                                          suffix: str) -> None:
    _org_id, result = _import(db, tmp_path, f"export{suffix}", data)
    record("rms file import (bytes)", examples=1, refused=int(result is None))


def test_a_large_export_is_imported_in_bounded_memory(tmp_path: Path) -> None:
    """A 1 MB JSON export of 300 returns (every fifth damaged): the peak stays under 20× the file
    (the file is read whole — its cap is 512 MB — and then ingested 200 records a transaction)."""
    rng = random.Random(29)
    records: list[Any] = []
    for n in range(300):
        rec = valid_record(n, rng, lines=2)
        rec["lines"][0]["description"] = "D" * 2_500
        if n % 5 == 0:
            rec["currency"] = "XYZ"
        records.append(rec)
    size = len(json_text(records))
    url = f"sqlite:///{tmp_path / 'large.sqlite3'}"
    migrate.upgrade(url)
    db = Database(url)
    tracemalloc.start()
    try:
        org_id, result = _import(db, tmp_path, "large.json", records)
        _, peak = tracemalloc.get_traced_memory()
        assert result is not None
        figures = assert_accounted(db, org_id, len(records), result)
    finally:
        tracemalloc.stop()
        db.dispose()
    record(f"rms file import, {len(records):,} records ({size // 1024} KB)", examples=1, peak_bytes=peak, **figures)
    assert figures["ingested"] == 240, figures
    assert peak < 20 * size, f"peak {peak / 2**20:.0f} MB for a {size / 2**20:.1f} MB file"
