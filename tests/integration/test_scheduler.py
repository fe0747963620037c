"""The sync scheduler: jobs per organization, persisted schedules, sync-now, clean shutdown.

The scheduler is real (APScheduler's BackgroundScheduler, a real database for the settings and
the outbox); the steps it runs are a recording stand-in for the sync engine, so each test can
see exactly what ran, when, and how often.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import wait
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import TransientError
from desktop.services.core.events import EventKind
from desktop.services.pipeline.scheduler import (
    CHAIN,
    DEFAULT_INTERVALS_S,
    JOB_KINDS,
    SyncScheduler,
    interval_key,
    job_id,
)
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Platform, Setting
from tests.helpers.waiting import wait_until
from tests.helpers.worlds import World

ADMIN = Actor("scheduler", Role.ADMIN)
ORGS = ("ACME-US", "KIWI-NZ")
START = datetime.now(UTC).replace(microsecond=0)


class RecordingSteps:
    """Stands in for the sync engine: records every call; ``hold`` keeps a step running."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.fail: set[str] = set()
        self._lock = threading.Lock()

    def _record(self, kind: str, org: str) -> dict[str, Any]:
        with self._lock:
            self.calls.append((kind, org))
        self.entered.set()
        assert self.hold.wait(10)
        if kind in self.fail:
            raise TransientError(f"{kind} could not reach the service")
        return {"done": 1}

    def ingest(self, org: str) -> Mapping[str, Any]:
        return self._record("ingest", org)

    def push(self, org: str, worker_id: str) -> Mapping[str, Any]:
        return self._record("push", org)

    def pull(self, org: str) -> Mapping[str, Any]:
        return self._record("pull", org)


@pytest.fixture
def steps() -> RecordingSteps:
    return RecordingSteps()


@pytest.fixture
def rig(db_url: str, tmp_path: Path, steps: RecordingSteps) -> Iterator[World]:
    """A world on a manual clock with two organizations; its schedulers run ``steps``."""
    with World(db_url, tmp_path, clock=ManualClock(START)) as world:
        with world.db.write_session() as s:
            for code in ORGS:
                s.add(Organization(code=code, name=code, platform=Platform.QBO, timezone="UTC", home_currency="USD",
                                   settings={}, created_at=START, updated_at=START))
        try:
            yield world
        finally:
            steps.hold.set()  # a held step would keep the schedulers' shutdown waiting


def _release_once_stopping(sched: SyncScheduler, steps: RecordingSteps) -> None:
    """Let the held step finish only once the scheduler is shutting down (so shutdown has to wait for it)."""
    wait_until(lambda: sched.stopping, what="the scheduler to start shutting down")
    steps.hold.set()


def _scheduler_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.is_alive() and (
        t.name.startswith(("APScheduler", "ThreadPoolExecutor", "sync-now")))]


@pytest.mark.db
def test_every_organization_gets_one_job_per_kind_with_coalescing(rig: World, steps: RecordingSteps) -> None:
    sched = rig.new_scheduler(steps, actor=ADMIN)
    sched.start(list(ORGS))
    jobs = {j.id: j for j in sched.jobs()}
    assert set(jobs) == {job_id(org, kind) for org in ORGS for kind in JOB_KINDS}
    for org in ORGS:
        for kind in JOB_KINDS:
            job = jobs[job_id(org, kind)]
            assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 60
            assert job.trigger.interval == timedelta(seconds=DEFAULT_INTERVALS_S[kind])
            assert job.next_run_time > datetime.now(UTC)  # the first run is one interval after start
    assert {j.id for j in sched.jobs("KIWI-NZ")} == {job_id("KIWI-NZ", k) for k in JOB_KINDS}


@pytest.mark.db
def test_pause_resume_and_intervals_survive_a_restart(rig: World, steps: RecordingSteps) -> None:
    first = rig.new_scheduler(steps, actor=ADMIN)
    first.start(list(ORGS))
    first.set_interval("ACME-US", "push", 45)
    first.pause("ACME-US")
    assert all(j.next_run_time is None for j in first.jobs("ACME-US"))
    assert all(j.next_run_time is not None for j in first.jobs("KIWI-NZ"))
    first.shutdown()
    with rig.db.session() as s:
        stored = dict(s.execute(sa.select(Setting.key, Setting.value).join(Organization)
                                .where(Organization.code == "ACME-US")).all())
    assert stored == {interval_key("push"): 45, "schedule.paused": True}

    second = rig.new_scheduler(steps, actor=ADMIN)  # a restart: a new scheduler object reads the settings
    second.start()  # every active organization, from the database
    assert second.is_paused("ACME-US") and not second.is_paused("KIWI-NZ")
    assert all(j.next_run_time is None for j in second.jobs("ACME-US"))
    assert second.scheduler.get_job(job_id("ACME-US", "push")).trigger.interval == timedelta(seconds=45)
    second.resume("ACME-US")
    assert all(j.next_run_time is not None for j in second.jobs("ACME-US"))
    assert not rig.new_scheduler(steps, actor=ADMIN).is_paused("ACME-US")
    assert {e.kind for e in rig.events} >= {"sync.paused", "sync.resumed"}


@pytest.mark.db
def test_sync_now_runs_the_chain_once_even_when_asked_twice_at_once(rig: World, steps: RecordingSteps) -> None:
    sched = rig.new_scheduler(steps, actor=ADMIN)
    sched.start(list(ORGS))
    steps.hold.clear()
    futures = []
    barrier = threading.Barrier(2)

    def ask() -> None:
        barrier.wait()
        futures.append(sched.sync_now("ACME-US"))

    askers = [threading.Thread(target=ask) for _ in range(2)]
    for t in askers:
        t.start()
    for t in askers:
        t.join()
    assert steps.entered.wait(5)
    assert futures[0] is futures[1]
    # A scheduled ingest that fires meanwhile does not overlap the running one: it is skipped.
    assert sched.run_job("ACME-US", "ingest", trigger="scheduled", wait=False) == {"skipped": "already running"}
    steps.hold.set()
    result = futures[0].result(timeout=10)
    assert list(result) == list(CHAIN) and all(v == {"done": 1} for v in result.values())
    assert steps.calls == [(kind, "ACME-US") for kind in CHAIN]
    finished = [e for e in rig.events if e.kind == EventKind.SYNC_FINISHED]
    assert [e.details["job"] for e in finished] == list(CHAIN)
    assert finished[0].details["counts"] == {"done": 1} and finished[0].details["trigger"] == "manual"


@pytest.mark.db
def test_a_failing_step_is_an_event_and_the_chain_goes_on(rig: World, steps: RecordingSteps) -> None:
    sched = rig.new_scheduler(steps, actor=ADMIN)
    steps.fail.add("push")
    result = sched.sync_now("KIWI-NZ").result(timeout=10)
    assert "error" in result["push"] and result["pull"] == {"done": 1}
    failed = [e for e in rig.events if e.kind == EventKind.SYNC_FAILED]
    assert len(failed) == 1 and failed[0].org == "KIWI-NZ" and failed[0].severity == "warning"
    assert failed[0].details["job"] == "push"


@pytest.mark.db
def test_scheduled_jobs_fire_on_the_scheduler_thread(rig: World, steps: RecordingSteps) -> None:
    sched = rig.new_scheduler(steps, actor=ADMIN)
    sched.start(["ACME-US"])
    sched.scheduler.modify_job(job_id("ACME-US", "pull"), next_run_time=datetime.now(UTC))
    assert steps.entered.wait(10), "no step ran"  # the only job due is the pull
    assert ("pull", "ACME-US") in steps.calls
    sched.shutdown(wait=True)
    started = [e for e in rig.events if e.kind == EventKind.SYNC_STARTED and e.details["trigger"] == "scheduled"]
    assert [e.details["job"] for e in started] == ["pull"]


@pytest.mark.db
def test_shutdown_waits_releases_unsent_leases_and_leaves_no_threads(rig: World, steps: RecordingSteps) -> None:
    with rig.db.write_session() as s:
        org_id = s.execute(sa.select(Organization.id).where(Organization.code == "ACME-US")).scalar_one()
        for n, (owner, sent) in enumerate([("test-worker", None), ("test-worker", START), ("other", None)]):
            s.add(OutboxDocument(
                organization_id=org_id, idempotency_key=f"rls-lease{n}", role="credit_memo", platform=Platform.QBO,
                doc_type="CreditMemo", payload={}, status=OutboxStatus.IN_FLIGHT, attempts=0, lease_owner=owner,
                lease_expires_at=START + timedelta(minutes=5), sent_at=sent, created_at=START, updated_at=START))
    sched = rig.new_scheduler(steps, actor=ADMIN)
    sched.start(list(ORGS))
    steps.hold.clear()
    running = sched.sync_now("ACME-US")
    assert steps.entered.wait(5)
    release = threading.Thread(target=_release_once_stopping, args=(sched, steps))
    release.start()
    released = sched.shutdown(wait=True)  # waits for the running step, then stops taking work
    release.join()
    assert running.done() and list(running.result()) == ["ingest"]  # the chain stopped after the step
    assert released == 1
    with rig.db.session() as s:
        states = dict(s.execute(sa.select(OutboxDocument.idempotency_key, OutboxDocument.status)).all())
    assert states == {"rls-lease0": OutboxStatus.PENDING, "rls-lease1": OutboxStatus.IN_FLIGHT,
                      "rls-lease2": OutboxStatus.IN_FLIGHT}
    assert not sched.scheduler.running
    assert _scheduler_threads() == []
    assert sched.run_job("ACME-US", "pull") == {"skipped": "stopping"}
    assert sched.shutdown() == 0  # twice is fine
    late = sched.sync_now("ACME-US")
    assert late.exception() is not None
    wait([late], timeout=1)
