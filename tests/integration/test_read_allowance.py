"""Past the ledger's metered allowance posting goes on where it can, holds the rest, and resumes by itself.

Issue 14's acceptance: past a read quota the sandbox answers 429 on reads; the app keeps posting
every document whose references are cached (QuickBooks writes are not metered), holds the others
with a clear message, and posts them — once — after the quota resets. Xero's daily call limit
refuses writes too: everything waits for the reset. Both databases (``db_url``).

What happened before: the first customer look-up past the quota was answered 429 ThrottleExceeded
with ``Retry-After: 60``, which the client honoured five times per request, claim after claim —
the push spun for minutes (a probe of this test ran into pytest's 300 s timeout) and the documents
that needed no read waited behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from desktop.services.connections.allowance import PROBE_EVERY
from desktop.services.core.events import EventKind
from desktop.services.pipeline.documents import LedgerDocument
from desktop.services.platforms.http import AllowanceUsedUp
from desktop.services.runtime import connection_service
from desktop.services.store.models import OutboxStatus
from tests.helpers.allowance import (
    allowance_world,
    keys_in_ledger,
    move_clocks,
    next_month,
    qbo_documents,
    use_up_qbo_reads,
)
from tests.helpers.cli import run_cli_here
from tests.helpers.posting import xero_journals
from tests.helpers.sandbox import ACME_REALM, KIWI_TENANT, SandboxHandle
from tests.helpers.worlds import ADMIN, QBO_ORG, XERO_ORG, NoSteps, World

pytestmark = [pytest.mark.db]


@pytest.fixture
def aworld(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[World]:
    with allowance_world(db_url, sandbox, tmp_path) as world:
        yield world


def _events(world: World, kind: str) -> list[str]:
    return [e.message for e in world.events if e.kind == kind]


def test_quickbooks_past_its_read_quota_posts_what_is_cached_and_holds_the_rest_until_the_reset(
        aworld: World, sandbox: SandboxHandle, tmp_path: Path) -> None:
    world = aworld
    cid = world.connect(QBO_ORG).id  # the reference cache: accounts, items, tax codes, customers
    known, new = qbo_documents(world, cid, cached=3, needing=2)
    world.enqueue(cid, known)
    for doc, return_id in new:
        world.enqueue(cid, [doc], return_id=return_id)
    use_up_qbo_reads(sandbox, ACME_REALM)

    first = world.poster().post_pending(cid, worker_id="w1")
    assert (first.posted, first.held, first.failed, first.quarantined) == (3, 2, 0, 0)
    rows = world.rows()
    known_keys, new_keys = [d.idempotency_key for d in known], [d.idempotency_key for d in new_docs(new)]
    assert {rows[k].status for k in known_keys} == {OutboxStatus.POSTED}
    reset = next_month(world.clock.now())
    for k in new_keys:  # held, not failed: pending, due at the reset, no attempt spent, the reason in words
        assert rows[k].status is OutboxStatus.PENDING and rows[k].attempts == 0
        assert rows[k].next_attempt_at == reset
        assert "Held, not failed" in rows[k].last_error["message"]
        assert "allowance of metered reads for this month is used up until" in rows[k].last_error["message"]
    # Counts agree: what the database says posted is what the sandbox's ledger holds, once each.
    assert keys_in_ledger(world, "qbo", ACME_REALM, known_keys + new_keys) == {
        **dict.fromkeys(known_keys, 1), **dict.fromkeys(new_keys, 0)}
    [used_up] = _events(world, EventKind.CONNECTION_ALLOWANCE_USED_UP)
    assert used_up.startswith(f"{QBO_ORG}: QuickBooks' allowance of metered reads for this month is used up until "
                              f"{reset:%d %b %Y} 00:00 UTC")
    [held] = _events(world, EventKind.DOCUMENT_HELD)
    assert "2 document(s) held, not failed" in held and "post by themselves" in held
    world.connections.usage.flush()
    usage = sandbox.control("GET", "usage")["services"]["qbo"][ACME_REALM]
    figure = world.connections.usage.figures(QBO_ORG)[0]
    assert (figure.reads, figure.writes) == (usage["reads"], usage["writes"])  # the refusal counted by neither

    # The next sync before the reset: nothing asked of QuickBooks for the held ones (no loop of refusals).
    requests_before = usage["requests"]
    again = world.poster().post_pending(cid, worker_id="w1")
    assert (again.posted, again.held, again.requests) == (0, 0, 0)
    assert sandbox.control("GET", "usage")["services"]["qbo"][ACME_REALM]["requests"] == requests_before

    # A restart keeps the state: a new connection service reads it from the database.
    _vault, restarted = connection_service(world.db, world.bus, world.clock, tmp_path)
    state = restarted.allowance.state(cid)
    assert state is not None and state.until == reset
    # ... and so does another process: `returns-ledger usage` says it, with what to do.
    done = run_cli_here("--db", world.db_url, "--data-dir", str(tmp_path), "usage", "--org", QBO_ORG)
    assert done.returncode == 0, done.stderr
    assert f"is used up until {reset:%d %b %Y} 00:00 UTC. Documents whose accounts" in done.stdout
    assert world.dashboard.snapshot(QBO_ORG).held == 2

    # The month turns (the sandbox's clock and the app's): the held documents post by themselves, once.
    move_clocks(world, "qbo", reset - world.clock.now() + timedelta(minutes=1))
    after = world.poster().post_pending(cid, worker_id="w1")
    assert (after.posted, after.held) == (2, 0)
    assert {world.outbox(k).status for k in new_keys} == {OutboxStatus.POSTED}
    assert keys_in_ledger(world, "qbo", ACME_REALM, known_keys + new_keys) == dict.fromkeys(known_keys + new_keys, 1)
    assert _events(world, EventKind.CONNECTION_ALLOWANCE_RESTORED)
    assert world.connections.allowance.state(cid) is None
    assert world.dashboard.snapshot(QBO_ORG).held == 0
    _vault, restarted = connection_service(world.db, world.bus, world.clock, tmp_path)
    assert restarted.allowance.state(cid) is None  # forgotten in the database too


def test_xero_past_its_daily_call_limit_holds_everything_and_posts_it_once_the_day_is_over(
        aworld: World, sandbox: SandboxHandle) -> None:
    world = aworld
    cid = world.connect(XERO_ORG, refresh_reference=False).id
    first_docs = xero_journals(world, cid, 3, tag="day1")
    later_docs = xero_journals(world, cid, 3, tag="day1b")
    sandbox.control("POST", "config", {"service": "xero", "rate_limits": {"per_day": 1}})  # counting afresh
    world.enqueue(cid, first_docs)
    assert world.poster().post_pending(cid, worker_id="w1").posted == 3  # one call: the day's only one

    world.enqueue(cid, later_docs)
    held = world.poster().post_pending(cid, worker_id="w1")
    assert (held.posted, held.held, held.failed, held.quarantined) == (0, 3, 0, 0)
    later_keys = [d.idempotency_key for d in later_docs]
    assert {world.outbox(k).status for k in later_keys} == {OutboxStatus.PENDING}
    state = world.connections.allowance.state(cid)
    assert state is not None and state.writes_refused
    assert state.until > world.clock.now() + timedelta(hours=23)  # Xero's Retry-After: the day's window
    [used_up] = _events(world, EventKind.CONNECTION_ALLOWANCE_USED_UP)
    assert "Xero's allowance of metered calls for this day is used up until" in used_up
    assert "Nothing can be posted until then" in used_up
    assert keys_in_ledger(world, "xero", KIWI_TENANT, later_keys) == dict.fromkeys(later_keys, 0)
    assert world.dashboard.snapshot(XERO_ORG).held == 3
    assert world.poster().post_pending(cid, worker_id="w1").requests == 0  # not asked again before the reset

    move_clocks(world, "xero", state.until - world.clock.now() + timedelta(minutes=1))
    after = world.poster().post_pending(cid, worker_id="w1")
    assert (after.posted, after.held) == (3, 0)
    assert keys_in_ledger(world, "xero", KIWI_TENANT, later_keys) == dict.fromkeys(later_keys, 1)
    assert world.connections.allowance.state(cid) is None


def new_docs(new: list[tuple[LedgerDocument, int]]) -> list[LedgerDocument]:
    return [doc for doc, _rid in new]


def test_reads_that_can_wait_are_skipped_with_a_message_while_the_allowance_is_used_up(
        aworld: World, sandbox: SandboxHandle) -> None:
    world = aworld
    cid = world.connect(QBO_ORG).id
    known, _new = qbo_documents(world, cid, cached=1, needing=0)
    world.enqueue(cid, known)
    use_up_qbo_reads(sandbox, ACME_REALM)
    with pytest.raises(AllowanceUsedUp) as refused:  # the first refused read: said once, not retried
        world.connections.refresh_reference_data(ADMIN, cid)
    assert "used up until" in refused.value.user_message() and "tier with a larger allowance" in refused.value.action
    requests = sandbox.control("GET", "usage")["services"]["qbo"][ACME_REALM]["requests"]

    skipped = world.reconcile.run_scheduled(ADMIN, [QBO_ORG])[QBO_ORG]
    assert "allowance of metered reads for this month is used up until" in skipped["skipped"]
    assert skipped["skipped"].endswith("scheduled reconciliation waits until it resets")
    sched = world.new_scheduler(NoSteps())
    reference = sched.run_job(QBO_ORG, "reference")
    assert reference["skipped"].endswith("the reference refresh waits until it resets")
    assert world.poster().post_pending(cid, worker_id="w1").posted == 1  # posting is not a read
    assert sandbox.control("GET", "usage")["services"]["qbo"][ACME_REALM]["requests"] == requests + 1


def test_a_read_answered_again_before_the_reset_lets_the_held_documents_go(
        aworld: World, sandbox: SandboxHandle) -> None:
    world = aworld
    cid = world.connect(QBO_ORG).id
    _known, new = qbo_documents(world, cid, cached=0, needing=2)
    for doc, return_id in new:
        world.enqueue(cid, [doc], return_id=return_id)
    use_up_qbo_reads(sandbox, ACME_REALM)
    assert world.poster().post_pending(cid, worker_id="w1").held == 2
    sandbox.control("POST", "usage", {"service": "qbo", "monthly_read_quota": None})  # say, a larger tier

    assert world.poster().post_pending(cid, worker_id="w1").requests == 0  # no probe within the hour
    world.clock.advance(PROBE_EVERY)
    after = world.poster().post_pending(cid, worker_id="w1")  # one probe read, answered: the wait is over

    assert (after.posted, after.held) == (2, 0)
    assert world.connections.allowance.state(cid) is None
    assert [m for m in _events(world, EventKind.CONNECTION_ALLOWANCE_RESTORED) if "succeeded again" in m]
    keys = [d.idempotency_key for d in new_docs(new)]
    assert keys_in_ledger(world, "qbo", ACME_REALM, keys) == dict.fromkeys(keys, 1)
