"""Two copies of one (return, revision) in one batch — a pull page or an import file — on both databases.

The first copy counts; an identical later copy is a duplicate (a no-op); a *different* later copy is
quarantined with ``conflicting_revision`` naming both copies, and kept (nothing lost). Records in =
ingested + quarantined + unchanged + duplicates + conflicts, and the database agrees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from desktop.services.auth.roles import Actor, Role
from desktop.services.rms.file_import import import_file
from desktop.services.rms.ingest import CONFLICTING_REVISION, Incoming, IngestResult, IngestService
from desktop.services.rms.parse import RMS_FIX
from desktop.services.store.db import Database
from desktop.services.store.models import Return, ReturnSyncStatus
from tests.helpers.rms import ingest_bus, ingest_service, rows
from tests.helpers.sandbox import SandboxHandle, fast_rms_client

pytestmark = pytest.mark.db
OPERATOR = Actor("olivia", Role.OPERATOR)


@pytest.fixture
def service(db: Database, sandbox: SandboxHandle) -> IngestService:
    return ingest_service(db, ingest_bus(), fast_rms_client(sandbox.info))


@pytest.fixture
def records(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    """Three valid returns of ACME-US as the RMS emulator serves them over HTTP (distinct ids)."""
    page = fast_rms_client(sandbox.info).changes(None, 50, organization="ACME-US").returns
    bad = {b["id"] for b in sandbox.control("GET", "rms/bad")["bad"]}
    firsts: dict[str, dict[str, Any]] = {}
    for rec in page:
        if rec["id"] not in bad:
            firsts.setdefault(rec["id"], rec)
    return list(firsts.values())[:3]


def _changed(rec: dict[str, Any]) -> dict[str, Any]:
    """The same revision with other (still valid) content."""
    return {**rec, "customer": {**rec["customer"], "name": "Someone Else"}, "channel": "phone"}


def _accounted(db: Database, result: IngestResult, records_in: int, rows_expected: int) -> list[Return]:
    assert result.read == records_in, result.counts()
    stored = rows(db, "ACME-US")
    assert len(stored) == rows_expected
    quarantined = [r for r in stored if r.sync_status is ReturnSyncStatus.QUARANTINED]
    return quarantined


def test_a_different_second_copy_in_a_page_is_quarantined_naming_both(
        db: Database, service: IngestService, records: list[dict[str, Any]]) -> None:
    a, b, c = records
    other = _changed(a)
    batch = [a, b, other, a, other, c]  # a twice (identical), a's revision once more with other content, twice
    ctx = service.context_for("ACME-US")

    result = service.ingest("ACME-US", [Incoming(raw=r) for r in batch], ctx=ctx, fix=RMS_FIX, source="rms")

    assert (result.ingested, result.quarantined, result.duplicates, result.unchanged, result.conflicts) == \
        (3, 1, 2, 0, 0)
    (held,) = _accounted(db, result, len(batch), 4)
    assert held.rms_id == a["id"] and held.raw_payload == other, "the conflicting copy is kept as it came"
    (reason,) = held.quarantine_reasons
    assert reason.code == CONFLICTING_REVISION and reason.resolved_at is None
    assert f"revision {a['revision']}" in reason.message
    assert "record 1 of the batch" in reason.message and "record 3 of the batch" in reason.message
    assert "(channel, customer differ)" in reason.message
    first = next(r for r in rows(db, "ACME-US") if (r.rms_id, r.revision) == (a["id"], a["revision"]))
    assert first.sync_status is ReturnSyncStatus.NEW and first.raw_payload == a, "the first copy counts"
    assert result.quarantine[0].problems[0].code == CONFLICTING_REVISION

    again = service.ingest("ACME-US", [Incoming(raw=r) for r in batch], ctx=ctx, fix=RMS_FIX, source="rms")

    assert (again.ingested, again.quarantined, again.unchanged, again.duplicates, again.replaced) == (0, 0, 4, 2, 0)
    assert len(_accounted(db, again, len(batch), 4)) == 1, "a replay changes nothing"


def test_an_import_file_is_one_batch_across_its_transactions(
        db: Database, service: IngestService, records: list[dict[str, Any]], tmp_path: Path) -> None:
    a, b, c = records
    path = tmp_path / "export.json"
    path.write_text(json.dumps([a, b, c, a, _changed(b)]), encoding="utf-8")

    result = import_file(service, path, "ACME-US", OPERATOR)

    assert (result.ingested, result.quarantined, result.duplicates) == (3, 1, 1)
    (held,) = _accounted(db, result, 5, 4)
    (reason,) = held.quarantine_reasons
    assert reason.code == CONFLICTING_REVISION
    assert "export.json record 2" in reason.message and "export.json record 5" in reason.message

    # The same, written two records per transaction: the copies are in different transactions.
    org_b = [Incoming(raw={**r, "id": r["id"] + "-b"}) for r in (a, b, c, a)] + [
        Incoming(raw={**_changed(b), "id": b["id"] + "-b"})]
    split = service.ingest("ACME-US", org_b, ctx=service.context_for("ACME-US"), fix=RMS_FIX, source="t",
                           batch_size=2)
    assert (split.ingested, split.quarantined, split.duplicates, split.replaced, split.conflicts) == (3, 1, 1, 0, 0)
    assert len(_accounted(db, split, 5, 8)) == 2
