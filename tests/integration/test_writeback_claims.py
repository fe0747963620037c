"""RMS write-back shared by workers: leased claims, an expired lease taken over, failures left pending.

Real databases (SQLite file and PostgreSQL), the sandbox RMS over real HTTP; the world and the
worker process the two-process test starts twice are in ``tests/helpers/writeback.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventKind
from desktop.services.store.models import OutboxDocument, Return
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.writeback import COUNT_RULE, ORG, T0, WritebackWorld

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def world(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[WritebackWorld]:
    """This module's world: on a manual clock at T0, no ledger connected."""
    with WritebackWorld(db_url, tmp_path, sandbox=sandbox, clock=ManualClock(T0), apps=False) as w:
        yield w


def _spawn_worker(world: WritebackWorld, name: str) -> subprocess.Popen[str]:
    rms = world.sandbox.info["rms"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "RLS_WB_RMS_URL": rms["base_url"], "RLS_WB_RMS_KEY": rms["api_key"],
           "RLS_WB_WORKER": name}
    argv = [sys.executable, "-W", "error", "-m", "tests.helpers.writeback", world.db_url, ORG]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_two_worker_processes_split_the_writebacks_and_send_each_once(world: WritebackWorld) -> None:
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


def test_a_live_lease_is_respected_and_an_expired_one_taken_over(world: WritebackWorld) -> None:
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


def test_a_dead_workers_sent_writeback_is_replayed_when_taken_over(world: WritebackWorld) -> None:
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


def test_a_failed_writeback_stays_pending_unleased_and_goes_next_run(world: WritebackWorld) -> None:
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


def test_a_chunk_is_sent_with_requests_in_flight_together(world: WritebackWorld) -> None:
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

