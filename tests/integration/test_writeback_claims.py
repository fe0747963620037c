"""RMS write-back shared by workers: leased claims, an expired lease taken over, failures left pending.

Real databases (SQLite file and PostgreSQL), the sandbox RMS over real HTTP. Returns are ingested
from the RMS by the real ingest service; their documents are then recorded as posted straight in
the outbox (posting to a ledger is not what is under test here). The RMS side is read through the
sandbox control API: its write-back records, and a zero-second ``delay`` fault rule on
``accounting-status`` whose ``fired`` count is the number of write-back POSTs the RMS received —
replays included.

Run as ``python -m tests.integration.test_writeback_claims DB_URL ORG`` this module is one worker
process (the two-process test starts two of them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.core.clock import Clock, ManualClock, SystemClock
from desktop.services.core.events import Event, EventBus, EventKind
from desktop.services.pipeline.writeback import WriteBackService, writeback_key
from desktop.services.platforms.http import LedgerHttp, RetryPolicy, Throttle
from desktop.services.rms.client import RmsClient
from desktop.services.rms.ingest import IngestService
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Platform, Return

pytestmark = pytest.mark.db

ORG = "ACME-US"
T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNT_RULE = {"service": "rms", "method": "POST", "path_regex": "accounting-status$", "action": "delay"}


def fast_client(base_url: str, api_key: str) -> RmsClient:
    """The RMS client with a budget that never waits and quick retries (one retry)."""
    return RmsClient(base_url, api_key, http=LedgerHttp(
        throttle=Throttle(per_minute=100_000, concurrent=4),
        retry=RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02), platform="rms"))


class World:
    """A migrated database, the sandbox RMS and returns whose documents are posted, not written back."""

    def __init__(self, db_url: str, sandbox: Any) -> None:
        migrate.upgrade(db_url)
        self.db_url = db_url
        self.db = Database(db_url)
        self.sandbox = sandbox
        self.clock = ManualClock(T0)
        self.bus = EventBus(self.clock)
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        rms = sandbox.info["rms"]
        self.client = fast_client(rms["base_url"], rms["api_key"])

    def seed(self, count: int) -> list[int]:
        """``count`` new returns in the RMS, ingested, each with one posted document; their ids."""
        self.sandbox.control("POST", "reset", {"seed": 3, "rms": {"bad_ratio": 0.0, "scale": 0.01}})
        self.sandbox.control("POST", "rms/generate", {"org": ORG, "count": count, "bad_ratio": 0.0, "seed": 7})
        ingest = IngestService(self.db, self.bus, SystemClock())
        ingest.ensure_organizations(self.client, platforms={ORG: Platform.QBO})
        ingest.pull(ORG, self.client)
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
        return WriteBackService(self.db, self.bus, clock or self.clock, lambda _org: self.client, **kw)

    def writebacks(self) -> list[dict[str, Any]]:
        return list(self.sandbox.control("GET", "rms/writebacks")["writebacks"])

    def count_posts(self, delay_s: float = 0.0) -> None:
        """From now on every write-back POST the RMS receives is counted (and delayed by ``delay_s``)."""
        self.sandbox.control("POST", "faults", {"rules": [{**COUNT_RULE, "delay_s": delay_s}]})

    def posts_received(self) -> int:
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


@pytest.fixture
def world(db_url: str, sandbox: Any) -> Iterator[World]:
    w = World(db_url, sandbox)
    yield w
    w.db.dispose()


def _spawn_worker(world: World, name: str) -> subprocess.Popen[str]:
    rms = world.sandbox.info["rms"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RLS_WB_RMS_URL": rms["base_url"], "RLS_WB_RMS_KEY": rms["api_key"],
           "RLS_WB_WORKER": name}
    argv = [sys.executable, "-W", "error", "-m", "tests.integration.test_writeback_claims", world.db_url, ORG]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_worker_processes_split_the_writebacks_and_send_each_once(world: World) -> None:
    ids = world.seed(160)
    expected = world.expected(ids)
    world.count_posts(delay_s=0.01)  # a little latency, so the two runs overlap for sure
    procs = [_spawn_worker(world, name) for name in ("w1", "w2")]
    try:
        for proc in procs:  # both ready (imported, connected) before either starts: a real race
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", proc.stderr
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        finished = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (out, err) in zip(procs, finished, strict=True):
        assert proc.returncode == 0, out + err
    results = [json.loads(out) for out, _err in finished]

    assert [r["failed"] for r in results] == [0, 0]
    assert sum(r["replayed"] for r in results) == 0
    assert sum(r["sent"] for r in results) == len(ids)
    assert all(r["sent"] > 0 for r in results), f"one worker did everything: {results}"
    assert world.posts_received() == len(ids)  # the RMS saw each write-back once: no second sends
    backs = world.writebacks()
    assert {(b["return_id"], b["revision"]): b["idempotency_key"] for b in backs} == expected
    assert len(backs) == len(ids)
    assert world.unwritten() == set()  # every row stamped
    assert set(world.leases().values()) == {(None, None)}  # and no lease left behind


def test_a_live_lease_is_respected_and_an_expired_one_taken_over(world: World) -> None:
    ids = world.seed(6)
    world.count_posts()
    dead = world.service(worker_id="dead-worker", lease_s=60)
    assert dead.claim(ids) == ids  # ...and then the worker dies without sending anything
    leases = world.leases()
    assert {leases[i] for i in ids} == {("dead-worker", T0 + timedelta(seconds=60))}
    assert dead.claim(ids) == []  # a lease is exclusive, even against its own holder

    next_worker = world.service(worker_id="next-worker")
    early = next_worker.run(ORG)

    assert (early.sent, early.replayed, early.failed) == (0, 0, 0)
    assert world.posts_received() == 0 and world.writebacks() == []
    assert next_worker.pending(ORG) == ids  # still due, just held

    world.clock.advance(timedelta(seconds=61))
    late = next_worker.run(ORG)

    assert (late.sent, late.replayed, late.failed) == (len(ids), 0, 0)
    assert world.posts_received() == len(ids)
    assert {(b["return_id"], b["revision"]) for b in world.writebacks()} == set(world.expected(ids))
    assert next_worker.pending(ORG) == [] and world.unwritten() == set()
    assert set(world.leases().values()) == {(None, None)}
    assert sum(e.kind == EventKind.WRITEBACK_SUCCEEDED for e in world.events) == len(ids)


def test_a_dead_workers_sent_writeback_is_replayed_when_taken_over(world: World) -> None:
    ids = world.seed(3)
    first = world.service(worker_id="first")
    assert first.run(ORG).sent == len(ids)
    # The worker dies after the RMS recorded the write-backs but before it stamped them: the rows
    # go back to unwritten, with its leases still on them.
    with world.db.write_session() as s:
        s.execute(sa.update(OutboxDocument).values(written_back_at=None))
        s.execute(sa.update(Return).values(writeback_lease_owner="first",
                                           writeback_lease_expires_at=T0 + timedelta(seconds=300)))
    world.clock.advance(timedelta(seconds=301))

    again = world.service(worker_id="second").run(ORG)

    assert (again.sent, again.replayed, again.failed) == (0, len(ids), 0)  # the same key and body: replays
    assert len(world.writebacks()) == len(ids)
    assert world.unwritten() == set()


def test_a_failed_writeback_stays_pending_unleased_and_goes_next_run(world: World) -> None:
    ids = world.seed(8)
    with world.db.session() as s:
        victim = s.scalars(sa.select(Return).where(Return.id == ids[3])).one()
    world.count_posts()
    world.sandbox.control("POST", "faults", {"rules": [
        {"service": "rms", "path_regex": f"/v1/returns/{victim.rms_id}/accounting-status$", "action": "status",
         "status": 503}]})
    service = world.service()

    first = service.run(ORG)

    assert (first.sent, first.replayed, first.failed) == (len(ids) - 1, 0, 1)
    assert len(first.errors) == 1
    assert world.posts_received() == len(ids) - 1 + 2  # the victim: one attempt, one retry, then left alone
    assert service.pending(ORG) == [victim.id] and world.unwritten() == {victim.id}
    assert world.leases()[victim.id] == (None, None)  # not held: whoever runs next may take it
    assert victim.rms_id not in {b["return_id"] for b in world.writebacks()}
    failed = [e for e in world.events if e.kind == EventKind.WRITEBACK_FAILED]
    assert [(e.rma, e.details["rms_id"], e.details["will_retry"]) for e in failed] == [
        (victim.rma_number, victim.rms_id, True)]

    world.sandbox.control("DELETE", "faults")
    second = service.run(ORG)

    assert (second.sent, second.replayed, second.failed) == (1, 0, 0)
    assert service.pending(ORG) == [] and world.unwritten() == set()
    assert len(world.writebacks()) == len(ids)


def test_a_chunk_is_sent_with_requests_in_flight_together(world: World) -> None:
    ids = world.seed(8)
    world.count_posts()
    # The RMS holds each write-back until four wait together: a client sending one at a time
    # never gets there (each would wait out the 60 s time-out), one sending four at once does.
    world.sandbox.control("POST", "faults", {"rules": [{**COUNT_RULE, "action": "hold", "hold_for": 4,
                                                        "delay_s": 60}]})
    service = world.service(concurrency=4)

    result = service.run(ORG)

    assert result.sent == len(ids) and world.posts_received() == len(ids)
    [hold] = [r for r in world.sandbox.control("GET", "faults")["rules"] if r["action"] == "hold"]
    assert hold["peak_held"] == 4 and hold["fired"] == len(ids), "the requests went together, four at a time"


def _worker_main(db_url: str, org: str) -> None:
    """One worker process: wait for "go" on stdin, run the write-back once, print its result as JSON."""
    db = Database(db_url)
    clock = SystemClock()
    client = fast_client(os.environ["RLS_WB_RMS_URL"], os.environ["RLS_WB_RMS_KEY"])
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
    _worker_main(sys.argv[1], sys.argv[2])
