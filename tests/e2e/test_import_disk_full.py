"""``returns-ledger import`` of a large file when the disk fills part-way: no traceback, the true count
of what was saved (from the database), the documented exit code, and a re-run that adds the rest
without duplicating anything."""

from __future__ import annotations

import copy
import errno
import json
import sqlite3
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import sqlalchemy.exc

from desktop.cli import main
from desktop.services.core.failures import EXIT_CODES
from desktop.services.rms.context import PROFILE_KEY, Jurisdiction, OrgContext
from desktop.services.rms.ingest import BATCH_SIZE, IngestService
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.services.store.models import Return
from desktop.services.store.testing import make_org

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORG = "ACME-US"
BATCH = BATCH_SIZE  # what one import transaction holds (500)
RECORDS = 2 * BATCH + BATCH // 2  # two whole batches and a half one
BATCHES_SAVED = 1  # the disk fills while the second batch is written
RECORD: dict[str, Any] = {
    "revision": 1, "organization": ORG,
    "customer": {"id": "cus_200", "name": "Sophia Lee", "email": "sophia.lee@example.com"},
    "channel": "web", "warehouse": "WH-RENO", "currency": "USD", "created_at": "2026-11-24T12:00:00.000Z",
    "updated_at": "2026-11-24T12:00:00.000Z", "refund_method": "original_payment", "status": "refunded",
    "lines": [{"line_id": "ln_1", "sku": "ACM-PACK-45L", "description": "Ascent 45 L backpack", "quantity": 1,
               "unit_price": "189.00", "reason_code": "SIZE_FIT", "disposition": "RESTOCK",
               "tax": [{"jurisdiction": "US-WA", "rate": "0.065", "amount": "12.29"}]}],
    "fees": [{"type": "return_shipping_charged", "amount": "7.95"}], "refund_total": "193.34"}


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A migrated database with ACME-US and its RMS profile, and a large export file."""
    migrate.upgrade(db_url)
    db = Database(db_url)
    ctx = OrgContext(ORG, ("USD",), {"US-WA": Jurisdiction("US-WA", "Washington", Decimal("0.065"))},
                     home_currency="USD", name="Acme Outdoor Supply Inc.", timezone="America/Los_Angeles")
    with db.write_session() as s:
        make_org(s, code=ORG).settings = {PROFILE_KEY: ctx.to_profile()}
    db.dispose()
    returns = []
    for n in range(1, RECORDS + 1):
        record = copy.deepcopy(RECORD)
        record["id"], record["rma_number"] = f"ret_big_{n:05d}", f"RMA-ACME-{600000 + n}"
        returns.append(record)
    export = tmp_path / "big_export.json"
    export.write_text(json.dumps({"returns": returns}), encoding="utf-8")
    yield db_url, export


def _database_full(db_url: str) -> BaseException:
    """What the driver raises when the disk under the database fills (wrapped as SQLAlchemy does)."""
    if db_url.startswith("sqlite"):
        orig: Exception = sqlite3.OperationalError("database or disk is full")
    else:
        import psycopg

        orig = psycopg.errors.DiskFull('could not extend file "base/16384/16421": No space left on device')
    return sqlalchemy.exc.OperationalError("INSERT INTO returns (...) VALUES (...)", {}, orig)


def _disk_full(_db_url: str) -> BaseException:
    return OSError(errno.ENOSPC, "No space left on device")


def _fill_the_disk_at_batch(monkeypatch: pytest.MonkeyPatch, batch: int, fault: BaseException) -> None:
    """Batch ``batch`` (0-based) is written into its transaction, then the write fails: it rolls back."""
    real = IngestService._apply
    seen = {"batches": 0}

    def apply(self: IngestService, *args: Any, **kwargs: Any) -> Any:
        result = real(self, *args, **kwargs)
        seen["batches"] += 1
        if seen["batches"] == batch + 1:
            raise fault
        return result

    monkeypatch.setattr(IngestService, "_apply", apply)


def _held(db_url: str) -> tuple[int, int]:
    """(revisions stored, distinct (RMS id, revision) keys) — equal when nothing is duplicated."""
    db = Database(db_url)
    with db.session() as s:
        rows = s.execute(sa.select(Return.rms_id, Return.revision)).all()
    db.dispose()
    return len(rows), len(set(rows))


@pytest.mark.parametrize(("fault", "exit_code", "says"), [
    (_database_full, EXIT_CODES["database"], "The disk holding the database is full"),
    (_disk_full, EXIT_CODES["file"], "The disk is full"),
], ids=["database-full", "enospc"])
def test_a_full_disk_stops_the_import_cleanly_and_a_rerun_finishes_it(
        world: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], fault: Callable[[str], BaseException], exit_code: int,
        says: str) -> None:
    db_url, export = world
    args = ["import", str(export), "--org", ORG, "--db", db_url, "--data-dir", str(tmp_path / "data")]
    _fill_the_disk_at_batch(monkeypatch, BATCHES_SAVED, fault(db_url))

    code = main(args)

    out, err = capsys.readouterr()
    assert code == exit_code, err
    assert "Traceback" not in out + err and says in err
    stored, keys = _held(db_url)
    assert stored == keys == BATCHES_SAVED * BATCH  # whole batches: the failing one rolled back
    read = (BATCHES_SAVED + 1) * BATCH  # the file is streamed: the failing batch was the last one read
    assert (f"import stopped: {stored:,} new records of the {read:,} read from {export} were saved before it "
            "stopped. Running the same import again is safe") in err
    assert err.index("import stopped:") < err.index("error: ")  # what was saved, then the error itself

    monkeypatch.undo()  # space freed: the same import again
    code = main([*args, "--json"])

    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["unchanged"], summary["ingested"], summary["quarantined"]) == (stored, RECORDS - stored, 0)
    assert _held(db_url) == (RECORDS, RECORDS)  # every record once: the re-run duplicated nothing


def test_json_output_says_how_many_were_saved(world: tuple[str, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    db_url, export = world
    _fill_the_disk_at_batch(monkeypatch, 0, _database_full(db_url))

    code = main(["import", str(export), "--org", ORG, "--db", db_url, "--data-dir", str(tmp_path / "data"),
                 "--json"])

    out, err = capsys.readouterr()
    assert code == EXIT_CODES["database"] and "Traceback" not in out + err
    assert json.loads(out) == {"stopped": True, "saved": 0, "records": BATCH}  # read when it failed
    assert _held(db_url) == (0, 0)
    assert f"import stopped: 0 new records of the {BATCH} read" in err
