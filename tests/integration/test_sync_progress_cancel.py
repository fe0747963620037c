""""Sync now" reports its counts, stops honestly on Cancel, and never holds up a read.

The demo world on the real pipeline (sandbox ledgers and RMS over HTTP). A sync is steered through
its :class:`~desktop.services.core.progress.Tracker`: the test cancels it, or holds it, at the
first report after an outbox batch was posted — a known point, not a timing guess.

- Cancelled after the first batch: the push stops before the next claim; every document it sent
  is posted (the summary's count is the database's count and the ledger's), nothing is left in
  flight, the rest waits in the outbox, the ledger pull is skipped — and the next sync posts the
  rest without posting anything twice.
- Held mid-push: the Returns grid's rows and the Manual-entry pre-flight still load.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.core.progress import Tracker
from desktop.services.demo import set_up_demo
from desktop.services.manual.model import ManualForm
from desktop.services.pipeline.scheduler import describe_sync
from desktop.services.queries.returns import ReturnFilter
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus
from tests.helpers.sandbox import ACME_REALM, SandboxHandle
from tests.helpers.worlds import ADMIN, World

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORG = "ACME-US"


@pytest.fixture
def demo(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[World]:
    with World(db_url, tmp_path, sandbox=sandbox) as world:
        set_up_demo(world.db, world.bus, world.clock, world.vault, world.connections, world.mapping, ADMIN,
                    sandbox.info)
        yield world


def _outbox(world: World, status: OutboxStatus) -> int:
    with world.db.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(OutboxDocument).join(Organization)
                            .where(Organization.code == ORG, OutboxDocument.status == status)) or 0)


def _ledger_keys(world: World) -> list[str]:
    """Our documents in ACME-US's QuickBooks company, by the reference that carries the key."""
    return [str(d["reference"]) for d in world.ledger("qbo", ACME_REALM) if "rls-" in str(d.get("reference") or "")]


def _after_a_posted_batch(message: str, done: int) -> bool:
    return message.startswith(f"{ORG}: ") and " posted, " in message and done > 0


def test_a_cancelled_sync_stops_between_batches_and_what_posted_stays_posted(demo: World) -> None:
    world = demo
    sched = world.new_scheduler(parallel=1)
    reports: list[tuple[int, int | None, str]] = []

    def on_report(done: int, total: int | None, message: str) -> None:
        reports.append((done, total, message))
        if _after_a_posted_batch(message, done):
            tracker.cancel()  # the person presses Cancel right after the first batch landed

    tracker = Tracker(on_report)
    result = sched.sync_now(ORG, tracker).result(timeout=600)

    assert result["cancelled"] is True
    assert result["pull"] == {"skipped": "cancelled"}
    posted = _outbox(world, OutboxStatus.POSTED)
    assert result["push"]["posted"] == posted > 0
    assert _outbox(world, OutboxStatus.IN_FLIGHT) == 0  # nothing left half-sent
    waiting = _outbox(world, OutboxStatus.PENDING)
    assert waiting > 0  # the rest waits for the next sync
    keys = _ledger_keys(world)
    assert len(keys) == posted == len(set(keys))
    # Determinate counts: "n posted of N" with N what the push settled plus what still waits.
    batch = next(r for r in reports if _after_a_posted_batch(r[2], r[0]))
    assert batch[1] is not None and batch[0] < batch[1]
    assert describe_sync(ORG, result).startswith(f"Sync of {ORG} stopped on request: {posted:,} documents posted")

    again = sched.sync_now(ORG).result(timeout=600)  # the next sync posts the rest, nothing twice
    assert "cancelled" not in again
    assert _outbox(world, OutboxStatus.PENDING) == 0
    keys = _ledger_keys(world)
    assert len(keys) == _outbox(world, OutboxStatus.POSTED) == len(set(keys)) == posted + again["push"]["posted"]


def test_reads_complete_while_a_sync_is_held_mid_push(demo: World) -> None:
    world = demo
    sched = world.new_scheduler(parallel=1)
    held, release = threading.Event(), threading.Event()

    def on_report(done: int, total: int | None, message: str) -> None:
        if _after_a_posted_batch(message, done) and not held.is_set():
            held.set()
            release.wait(300)  # the sync stays here, inside its push, until the reads are done

    running = sched.sync_now(ORG, Tracker(on_report))
    try:
        assert held.wait(300), "the sync never posted a batch"
        rma = world.query.window(ReturnFilter(org=ORG), 0, 1)[0].rma
        with ThreadPoolExecutor(2) as reads:  # as the GUI's read pool would
            rows = reads.submit(world.query.window, ReturnFilter(), 0, 50)
            check = reads.submit(world.manual.validate, ManualForm(ORG, rma))
            assert len(rows.result(timeout=60)) == 50
            assert check.result(timeout=60).return_id is not None
        assert not running.done()  # all of that while the sync was still held
    finally:
        release.set()
    assert running.result(timeout=600)["push"]["posted"] > 0
