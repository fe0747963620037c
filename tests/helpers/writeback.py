"""The RMS write-back tests' world, and one worker process for the two-process test.

Returns are ingested from the sandbox RMS by the real ingest service; their documents are then
recorded as posted straight in the outbox (posting to a ledger is not what is under test). The RMS
side is read through the control API: its write-back records, and a zero-second ``delay`` fault
rule on ``accounting-status`` whose ``fired`` count is the number of write-back POSTs the RMS
received — replays included.

Run as ``python -m tests.helpers.writeback DB_URL ORG`` this module is one worker process: it says
"ready", waits for a line on stdin, runs the write-back once and prints its result as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from desktop.services.core.clock import Clock, SystemClock
from desktop.services.pipeline.writeback import WriteBackService, writeback_key
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Platform, Return
from tests.helpers.worlds import World

ORG = "ACME-US"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
COUNT_RULE = {"service": "rms", "method": "POST", "path_regex": "accounting-status$", "action": "delay"}


class WritebackWorld(World):
    """A world on a manual clock (T0) whose returns have posted documents that are not written back."""

    def seed(self, count: int) -> list[int]:
        """``count`` new returns in the RMS, ingested, each with one posted document; their ids."""
        assert self.sandbox is not None
        self.sandbox.control("POST", "reset", {"seed": 3, "rms": {"bad_ratio": 0.0, "scale": 0.01}})
        self.sandbox.control("POST", "rms/generate", {"org": ORG, "count": count, "bad_ratio": 0.0, "seed": 7})
        from desktop.services.rms.ingest import IngestService
        ingest = IngestService(self.db, self.bus, SystemClock())
        ingest.ensure_organizations(self.rms, platforms={ORG: Platform.QBO})
        ingest.pull(ORG, self.rms)
        now = SystemClock().now()
        with self.db.write_session() as s:
            org_id = s.scalar(sa.select(Organization.id).where(Organization.code == ORG))
            rets = list(s.scalars(sa.select(Return).where(Return.organization_id == org_id).order_by(Return.id)))
            for n, ret in enumerate(rets):
                s.add(OutboxDocument(
                    organization_id=org_id, connection_id=None, idempotency_key=f"rls-test-wb-{ret.id}",
                    return_id=ret.id, role="refund", platform=Platform.QBO, doc_type="CreditMemo",
                    txn_date=now.date(), total_minor=1000 + n, currency=ret.currency, payload={},
                    status=OutboxStatus.POSTED, attempts=1, remote_id=f"cm-{ret.id}", remote_number=f"CM{n}",
                    created_at=now, updated_at=now, posted_at=now))
            ids = [r.id for r in rets]
        assert len(ids) >= count
        return ids

    def service(self, *, clock: Clock | None = None, **kw: Any) -> WriteBackService:
        return WriteBackService(self.db, self.bus, clock or self.clock, lambda _org: self.rms, **kw)

    def count_posts(self, delay_s: float = 0.0) -> None:
        """From now on every write-back POST the RMS receives is counted (and delayed by ``delay_s``)."""
        assert self.sandbox is not None
        self.sandbox.control("POST", "faults", {"rules": [{**COUNT_RULE, "delay_s": delay_s}]})

    def posts_received(self) -> int:
        assert self.sandbox is not None
        rules = self.sandbox.control("GET", "faults")["rules"]
        return sum(r["fired"] for r in rules if r["action"] == "delay" and r["path_regex"] == COUNT_RULE["path_regex"])

    def expected(self, ids: list[int]) -> dict[tuple[str, int], str]:
        """(RMS id, revision) → the write-back key, for the given return rows."""
        with self.db.session() as s:
            return {(r.rms_id, r.revision): writeback_key(ORG, r.rms_id, r.revision)
                    for r in s.scalars(sa.select(Return).where(Return.id.in_(ids)))}

    def leases(self) -> dict[int, tuple[str | None, datetime | None]]:
        with self.db.session() as s:
            return {r.id: (r.writeback_lease_owner, r.writeback_lease_expires_at)
                    for r in s.scalars(sa.select(Return))}

    def unwritten(self) -> set[int]:
        with self.db.session() as s:
            return {rid for rid in s.scalars(sa.select(OutboxDocument.return_id)
                                             .where(OutboxDocument.written_back_at.is_(None))) if rid is not None}


def worker_main(db_url: str, org: str) -> None:
    """One worker process: wait for "go" on stdin, run the write-back once, print its result as JSON."""
    from desktop.services.core.events import EventBus
    from desktop.services.store.db import Database
    from tests.helpers.sandbox import fast_rms_client
    db = Database(db_url)
    clock = SystemClock()
    client = fast_rms_client({"rms": {"base_url": os.environ["RLS_WB_RMS_URL"],
                                      "api_key": os.environ["RLS_WB_RMS_KEY"]}})
    service = WriteBackService(db, EventBus(clock), clock, lambda _org: client, chunk=20,
                               worker_id=os.environ.get("RLS_WB_WORKER"))
    service.pending(org)  # connect before the race starts
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()
    result = service.run(org)
    db.dispose()
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    worker_main(sys.argv[1], sys.argv[2])
