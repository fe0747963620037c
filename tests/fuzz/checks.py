"""What every RMS fuzz property checks against the database after an ingest: nothing lost.

Each record handed to ingest must come out as exactly one ``returns`` row of the organization —
ingested (NEW, or SUPERSEDED by a newer revision of the same return) or quarantined with at least
one reason whose code is a stable identifier — unless it is an identical copy of one earlier in its
batch (a duplicate), and the result's counts must be the database's.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from desktop.services.rms.context import PROFILE_KEY
from desktop.services.rms.ingest import IngestResult
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, Platform, QuarantineReason, Return, ReturnSyncStatus
from tests.fuzz.strategies import CTX, CTX_JSON

__all__ = ["CODE_RE", "assert_accounted", "for_org", "new_org"]

CODE_RE = re.compile(r"[a-z][a-z_]*[a-z]")
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def new_org(db: Database) -> tuple[str, int]:
    """A fresh organization with the fuzz RMS profile (one per example: counts start at zero)."""
    code = f"FZ-{uuid.uuid4().hex[:10]}"
    with db.write_session() as s:
        org = Organization(code=code, name=code, platform=Platform.QBO, timezone="UTC", home_currency="USD",
                           settings={PROFILE_KEY: {**CTX_JSON, "code": code}}, created_at=T0, updated_at=T0)
        s.add(org)
        s.flush()
        return code, org.id


def for_org(records: list[Any], code: str) -> list[Any]:
    """The records as organization ``code``'s (the generators write ``FUZZ``; a damaged value stays)."""
    return [{**r, "organization": code} if isinstance(r, dict) and r.get("organization") == CTX.org_code else r
            for r in records]


def assert_accounted(db: Database, org_id: int, records_in: int, result: IngestResult) -> dict[str, int]:
    """Every record ingested, quarantined with a code, or an identical copy of one earlier in its batch
    (a duplicate: no row of its own); the counts are the database's."""
    assert (result.unchanged, result.replaced, result.conflicts) == (0, 0, 0), result.counts()
    assert result.ingested + result.quarantined + result.duplicates == result.read == records_in, \
        (result.counts(), records_in)
    copies_in, records_in = records_in, records_in - result.duplicates
    with db.session() as s:
        by_status = dict(s.execute(sa.select(Return.sync_status, sa.func.count()).where(
            Return.organization_id == org_id).group_by(Return.sync_status)).all())
        reasons = s.execute(sa.select(QuarantineReason.return_id, QuarantineReason.code).join(Return).where(
            Return.organization_id == org_id)).all()
        quarantined_ids = set(s.scalars(sa.select(Return.id).where(
            Return.organization_id == org_id, Return.sync_status == ReturnSyncStatus.QUARANTINED)))
    rows = sum(by_status.values())
    assert rows == records_in, f"{records_in} records in, {rows} rows in the database: {by_status}"
    assert set(by_status) <= {ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED, ReturnSyncStatus.SUPERSEDED}
    with_reasons = {rid for rid, _code in reasons}
    assert quarantined_ids <= with_reasons, "a quarantined return without a reason"
    assert len(with_reasons) == result.quarantined, (len(with_reasons), result.counts())
    bad_codes = sorted({code for _rid, code in reasons if not CODE_RE.fullmatch(code)})
    assert not bad_codes, f"quarantine codes that are not stable identifiers: {bad_codes}"
    return {"records": copies_in, "ingested": result.ingested, "quarantined": result.quarantined,
            "duplicates": result.duplicates}
