"""Posting when things go wrong: lost answers, crashed workers, 5xx bursts, 429s, duplicate numbers,
and two workers on one connection — never a lost document, never a duplicate in the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.core.events import Event, EventKind
from desktop.services.pipeline import outbox
from desktop.services.pipeline import poster as poster_module
from desktop.services.pipeline.documents import jsonable
from desktop.services.pipeline.poster import Poster
from desktop.services.store.models import OutboxStatus
from tests.helpers.posting import (
    qbo_credit_memo,
    qbo_credit_memo_refs,
    qbo_journals,
    xero_codes,
    xero_journal,
    xero_journals,
)
from tests.helpers.worlds import ClockWaits, World

REALM = "9130350000000001"
TENANT = "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def waits(world: World) -> ClockWaits:
    """Here the ledger requests' retries and rate limits wait on a manual clock, never the wall clock."""
    return world.wait_on_a_manual_clock()


def _fault(w: World, service: str, path: str, action: str, times: int, **extra: object) -> None:
    w.sandbox.control("POST", "faults", {"rules": [
        {"service": service, "path_regex": path, "action": action, "times": times, **extra}]})


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_a_lost_answer_leaves_documents_uncertain_and_the_next_run_adopts_them(world: World, platform: Platform,
                                                                                waits: ClockWaits) -> None:
    cid = world.connect(platform).id
    if platform is Platform.QBO:
        docs, company, path = qbo_journals(world, cid, 5), REALM, "/batch$"
    else:
        docs, company, path = xero_journals(world, cid, 5), TENANT, "ManualJournals"
    before = len(world.ledger(platform.value, company))
    world.enqueue(cid, docs)
    # every try of the send lands in the ledger and loses its answer (LedgerHttp retries 5 times)
    _fault(world, platform.value, path, "commit_then_drop", 5, method="POST" if platform is Platform.QBO else "PUT")

    first = world.poster().post_pending(cid, worker_id="w1")

    assert len(waits.slept) == 4, "LedgerHttp backed off between its five tries (on the manual clock)"
    assert (first.posted, first.uncertain) == (0, 5)
    assert world.statuses() == {"uncertain": 5}
    assert len(world.ledger(platform.value, company)) == before + 5, "they did land (once: the key replays)"
    assert world.kinds().count(EventKind.DOCUMENT_UNCERTAIN) == 5
    world.sandbox.control("DELETE", "faults")

    second = world.poster().post_pending(cid, worker_id="w2")

    assert (second.posted, second.uncertain_resolved, second.uncertain) == (5, 5, 0)
    assert second.requests == 1, "one batched look-up, nothing re-sent"
    assert len(world.ledger(platform.value, company)) == before + 5
    assert world.statuses() == {"posted": 5}
    resolved = [e for e in world.events if e.kind == EventKind.DOCUMENT_UNCERTAIN_RESOLVED]
    assert len(resolved) == 5 and all(e.details["resolution"] == "adopted" for e in resolved)
    assert all(e.message.startswith("uncertain resolved: adopted") for e in resolved)
    assert world.kinds().count(EventKind.DOCUMENT_DUPLICATE_PREVENTED) == 5


def test_one_dropped_answer_is_recovered_by_the_qbo_requestid_replay(world: World) -> None:
    cid = world.connect(Platform.QBO).id
    docs = qbo_journals(world, cid, 3)
    before = len(world.ledger("qbo", REALM))
    world.enqueue(cid, docs)
    _fault(world, "qbo", "/batch$", "commit_then_drop", 1, method="POST")
    result = world.poster().post_pending(cid, worker_id="w1")
    assert (result.posted, result.uncertain, result.requests) == (3, 0, 2)
    assert len(world.ledger("qbo", REALM)) == before + 3


def test_uncertain_documents_that_never_landed_are_resent_once(world: World) -> None:
    cid = world.connect(Platform.QBO).id
    docs = qbo_journals(world, cid, 4)
    before = len(world.ledger("qbo", REALM))
    world.enqueue(cid, docs)
    _fault(world, "qbo", "/batch$", "reset_connection", 5, method="POST")  # never reaches the ledger
    first = world.poster().post_pending(cid, worker_id="w1")
    assert first.uncertain == 4 and len(world.ledger("qbo", REALM)) == before
    world.sandbox.control("DELETE", "faults")
    second = world.poster().post_pending(cid, worker_id="w1")
    assert (second.uncertain_resolved, second.posted) == (4, 4)
    assert len(world.ledger("qbo", REALM)) == before + 4
    resolved = [e for e in world.events if e.kind == EventKind.DOCUMENT_UNCERTAIN_RESOLVED]
    assert {e.details["resolution"] for e in resolved} == {"resent"}


def test_a_worker_killed_after_sending_is_resolved_by_the_next_worker(world: World,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cid = world.connect(Platform.QBO).id
    docs = qbo_journals(world, cid, 6)
    before = len(world.ledger("qbo", REALM))
    world.enqueue(cid, docs)

    class Killed(BaseException):
        """The process dies: nothing after the send runs."""

    def die(*_args: object, **_kw: object) -> None:
        raise Killed

    crashing = world.poster(lease_s=0)
    monkeypatch.setattr(crashing, "_apply", die)
    with pytest.raises(Killed):
        crashing.post_pending(cid, worker_id="doomed")
    assert world.statuses() == {"in_flight": 6}
    assert all(r.sent_at is not None for r in world.rows().values())
    assert len(world.ledger("qbo", REALM)) == before + 6

    result = world.poster().post_pending(cid, worker_id="heir")

    assert (result.posted, result.uncertain_resolved) == (6, 6)
    assert len(world.ledger("qbo", REALM)) == before + 6
    assert world.statuses() == {"posted": 6}


def test_a_worker_killed_before_sending_leaves_pending_work_for_the_next(world: World) -> None:
    cid = world.connect(Platform.XERO).id
    docs = xero_journals(world, cid, 3)
    before = len(world.ledger("xero", TENANT))
    world.enqueue(cid, docs)
    leased = outbox.claim(world.db, "doomed", cid, 50, 0, now=world.clock.now())  # …and then it died
    assert len(leased) == 3 and world.statuses() == {"in_flight": 3}

    result = world.poster().post_pending(cid, worker_id="heir")

    assert (result.posted, result.uncertain_resolved) == (3, 0), "never sent: no look-up needed"
    assert len(world.ledger("xero", TENANT)) == before + 3


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_503_bursts_are_retried_with_backoff_and_post_once(world: World, platform: Platform) -> None:
    cid = world.connect(platform).id
    if platform is Platform.QBO:
        docs, company, path = qbo_journals(world, cid, 4), REALM, "/batch$"
    else:
        docs, company, path = xero_journals(world, cid, 4), TENANT, "ManualJournals"
    before = len(world.ledger(platform.value, company))
    world.enqueue(cid, docs)
    _fault(world, platform.value, path, "status", 2, status=503)
    result = world.poster().post_pending(cid, worker_id="w1")
    assert (result.posted, result.uncertain, result.requests) == (4, 0, 3), "two 503s, then the batch"
    assert len(world.ledger(platform.value, company)) == before + 4
    assert [r["fired"] for r in world.sandbox.control("GET", "faults")["rules"]] == [2]


def test_a_429_is_honoured_then_the_batch_posts_once(world: World, waits: ClockWaits) -> None:
    cid = world.connect(Platform.XERO).id
    docs = xero_journals(world, cid, 4)
    before = len(world.ledger("xero", TENANT))
    world.enqueue(cid, docs)
    _fault(world, "xero", "ManualJournals", "status", 1, status=429)  # Retry-After: 1
    result = world.poster().post_pending(cid, worker_id="w1")
    assert sum(waits.slept) >= 1.0, "waited as long as Retry-After said"
    assert (result.posted, result.requests) == (4, 2)
    assert len(world.ledger("xero", TENANT)) == before + 4


def test_a_persistent_429_schedules_a_retry_with_backoff(world: World) -> None:
    cid = world.connect(Platform.XERO).id
    doc = xero_journal(1, xero_codes(world, cid))
    world.enqueue(cid, [doc])
    _fault(world, "xero", "ManualJournals", "status", 5, status=429)
    start = world.clock.now()
    result = world.poster(backoff=outbox.Backoff(base_s=60, cap_s=600)).post_pending(cid, worker_id="w1")
    assert (result.posted, result.failed) == (0, 1)
    row = world.rows()[doc.idempotency_key]
    assert row.status is OutboxStatus.FAILED and row.attempts == 1
    assert row.next_attempt_at is not None and 30 <= (row.next_attempt_at - start).total_seconds() <= 75
    assert row.last_error is not None and row.last_error["platform_code"] == "429"
    assert {EventKind.DOCUMENT_FAILED, EventKind.DOCUMENT_RETRY_SCHEDULED} <= set(world.kinds())
    # not due yet: a second run leaves it alone
    assert world.poster().post_pending(cid, worker_id="w1").requests == 0


def test_items_throttled_inside_a_qbo_batch_wait_for_the_connection_not_a_backoff(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """QuickBooks takes 20 items a minute here: 25 journals in one batch → 20 posted, 5 refused
    item by item (3001). Those five are not failed with a 30-second-plus backoff: the connection
    pauses, they go again in the same run once the minute has passed (the sandbox clock is moved
    a minute on while the poster waits), and each lands once."""
    monkeypatch.setattr(poster_module, "THROTTLE_PAUSE_S", 0.2)
    cid = world.connect(Platform.QBO).id
    docs = qbo_journals(world, cid, 25)
    before = len(world.ledger("qbo", REALM))
    world.enqueue(cid, docs)
    world.sandbox.control("POST", "config", {"service": "qbo", "rate_limits": {"per_minute": 20}})
    minutes: list[int] = []

    def a_minute_passes(event: Event) -> None:
        if "rate limit allows" in event.message and not minutes:
            minutes.append(1)
            world.sandbox.control("POST", "config", {"service": "qbo", "clock_offset_s": 61})

    world.bus.subscribe(a_minute_passes, kinds=[EventKind.DOCUMENT_RETRY_SCHEDULED])
    try:
        result = world.poster(backoff=outbox.Backoff(base_s=600, cap_s=600)).post_pending(cid, worker_id="w1")
    finally:
        world.sandbox.control("POST", "config", {"service": "qbo", "rate_limits": None, "clock_offset_s": 0})

    assert (result.posted, result.failed, result.quarantined) == (25, 0, 0)
    released = [e for e in world.events if "rate limit allows" in e.message]
    assert len(released) == 5 and all(e.details["attempts"] == 1 for e in released)
    rows = world.rows()
    assert sorted(rows[d.idempotency_key].attempts for d in docs) == [1] * 20 + [2] * 5
    ledger = world.ledger("qbo", REALM)
    assert len(ledger) == before + 25
    for doc in docs:
        assert len([d for d in ledger if doc.idempotency_key in str(d["raw"])]) == 1


def test_a_poster_told_to_stop_sends_nothing_more_and_leaves_the_work_pending(world: World) -> None:
    """Shutting down (``ConnectionService.stop``): the run returns at once instead of claiming and
    releasing the same documents forever, nothing is sent, and the next run posts them once."""
    cid = world.connect(Platform.QBO).id
    docs = qbo_journals(world, cid, 40)
    before = len(world.ledger("qbo", REALM))
    world.enqueue(cid, docs)
    world.connections.stop()
    stopped = world.poster().post_pending(cid, worker_id="w1")  # returns at all: the old loop never did
    assert (stopped.posted, stopped.requests) == (0, 0)
    assert {r.status for r in world.rows().values()} == {OutboxStatus.PENDING}
    assert len(world.ledger("qbo", REALM)) == before

    world.connections.stopping.clear()  # the app started again
    again = world.poster().post_pending(cid, worker_id="w2")
    assert again.posted == 40 and len(world.ledger("qbo", REALM)) == before + 40


def test_a_duplicate_document_number_adopts_our_own_document_and_quarantines_a_strangers(world: World) -> None:
    cid = world.connect(Platform.QBO).id
    refs = qbo_credit_memo_refs(world, cid)
    ours, clash = qbo_credit_memo(1, refs), qbo_credit_memo(2, refs, number="RMA-TAKEN-1C")
    # Our document is already in the ledger (a post whose answer was lost and whose row was re-planned),
    # and somebody keyed a credit memo by hand with the number the second one wants.
    world.sandbox.control("POST", f"ledger/qbo/{REALM}/tamper",
                          {"op": "create", "type": "CreditMemo", "document": jsonable(ours.payload)})
    stranger = dict(jsonable(clash.payload), PrivateNote="keyed by hand")
    world.sandbox.control("POST", f"ledger/qbo/{REALM}/tamper",
                          {"op": "create", "type": "CreditMemo", "document": stranger})
    before = len(world.ledger("qbo", REALM))
    world.enqueue(cid, [ours, clash])

    result = world.poster().post_pending(cid, worker_id="w1")

    assert (result.posted, result.quarantined) == (1, 1)
    rows = world.rows()
    assert rows[ours.idempotency_key].status is OutboxStatus.POSTED
    assert rows[clash.idempotency_key].status is OutboxStatus.QUARANTINED
    err = rows[clash.idempotency_key].last_error
    assert err is not None and err["platform_code"] == "6140" and "RMA-TAKEN-1C" in str(err["platform_message"])
    assert len(world.ledger("qbo", REALM)) == before
    prevented = [e for e in world.events if e.kind == EventKind.DOCUMENT_DUPLICATE_PREVENTED]
    assert [e.document_key for e in prevented] == [ours.idempotency_key]


def test_two_threads_posting_one_connection_never_post_twice(world: World) -> None:
    cid = world.connect(Platform.QBO).id
    docs = qbo_journals(world, cid, 45)
    before = len(world.ledger("qbo", REALM))
    world.enqueue(cid, docs)
    results = []

    def work(name: str) -> None:
        results.append(Poster(world.db, world.bus, world.clock, world.connections).post_pending(cid, worker_id=name))

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.posted for r in results) == 45
    assert len(world.ledger("qbo", REALM)) == before + 45
    assert world.statuses() == {"posted": 45}


def test_two_processes_posting_one_connection_never_post_twice(world: World, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("processes share a connection's work through PostgreSQL; SQLite is one process (threads above)")
    cid = world.connect(Platform.XERO).id
    codes = xero_codes(world, cid)
    docs = [xero_journal(n, codes) for n in range(60)]
    before = len(world.ledger("xero", TENANT))
    world.enqueue(cid, docs)
    procs = [subprocess.Popen([sys.executable, "-m", "tests.helpers.posting", db_url, str(cid),
                               f"p{i}"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ)) for i in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    posted = [json.loads(o[0].strip().splitlines()[-1])["posted"] for o in outs]
    assert sum(posted) == 60
    assert len(world.ledger("xero", TENANT)) == before + 60
    assert world.statuses() == {"posted": 60}
