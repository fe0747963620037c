"""Undo under faults at known requests: 503 bursts mid-undo and an answer lost after the void landed.

Every fault is placed by the sandbox's ``after`` (the Nth take-back request), not by chance. The
sandbox counts take-back requests that reach each document (a 503 the fault layer answers never
reaches it; a replayed ``requestid`` / ``Idempotency-Key`` is answered, not executed): at the end
each document of the run is voided or deleted, and was asked exactly once.
"""

from __future__ import annotations

from collections import Counter

import pytest

from desktop.services.auth.platforms import Platform
from tests.helpers.undo import ledger_by_key, live, outbox_statuses, post_a_run, return_states, undo_service
from tests.helpers.worlds import ADMIN, ClockWaits, World

pytestmark = pytest.mark.slow  # minutes on a loaded machine: handed out first (tests/conftest.py)

#: Take-back requests only (posting goes through QBO's batch and Xero's PUT).
TAKE_BACKS = {Platform.QBO: ("POST", r"/(creditmemo|refundreceipt|journalentry)$"),
              Platform.XERO: ("POST", r"/(CreditNotes|Payments|ManualJournals)/[0-9a-fA-F-]{36}$")}


@pytest.fixture(autouse=True)
def waits(world: World) -> ClockWaits:
    return world.wait_on_a_manual_clock()


def _faults(world: World, platform: Platform, *rules: dict[str, object]) -> None:
    method, path = TAKE_BACKS[platform]
    assert world.sandbox is not None
    world.sandbox.control("POST", "faults", {"rules": [
        {"service": platform.value, "method": method, "path_regex": path, **r} for r in rules]})


def _exactly_once(world: World, run: object) -> None:
    docs = ledger_by_key(world, run)  # type: ignore[arg-type]
    keys = run.keys  # type: ignore[attr-defined]
    assert not [k for k in keys if live(docs[k])], "no live document of the run is left"
    counts = Counter(d["takeback_requests"] for k in keys for d in docs[k])
    assert counts == Counter({1: len(keys)}), "each document was asked to go exactly once"
    assert outbox_statuses(world, keys) == Counter({"voided": len(keys)})


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_503s_mid_undo_leave_intents_that_the_next_undo_finishes_without_a_double_void(
        world: World, platform: Platform, waits: ClockWaits) -> None:
    run = post_a_run(world, platform, 30, seed=31)
    svc = undo_service(world)
    # The 11th take-back and every retry after it answer 503 — more than the client's retries, so
    # two documents stay asked-for but not taken back; then the service recovers.
    _faults(world, platform, {"action": "status", "status": 503, "after": 10, "times": 12})

    first = svc.undo(ADMIN, run.run_id)

    assert first.outcome == "partial" and first.counts["failed"] >= 1, first.counts
    assert outbox_statuses(world, run.keys)["void_pending"] == first.counts["failed"]
    assert sum(1 for v in ledger_by_key(world, run).values() if live(v)) == first.counts["failed"]
    assert waits.slept, "the client backed off between its tries (on the manual clock)"
    assert world.sandbox is not None
    world.sandbox.control("DELETE", "faults")

    second = svc.undo(ADMIN, run.run_id)

    assert second.outcome == "done" and second.counts.get("failed", 0) == 0, str(second.to_json())[:3000]
    _exactly_once(world, run)
    assert set(return_states(world, run)) == {("new", 1)}
    assert svc.undo(ADMIN, run.run_id).outcome == "nothing_to_do"


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_a_void_whose_answer_is_lost_is_answered_again_not_done_again(world: World, platform: Platform) -> None:
    run = post_a_run(world, platform, 12, seed=32)
    svc = undo_service(world)
    _faults(world, platform, {"action": "commit_then_drop", "after": 3, "times": 1},
            {"action": "status", "status": 503, "after": 7, "times": 1})

    report = svc.undo(ADMIN, run.run_id)

    assert report.outcome == "done", report.counts
    assert world.sandbox is not None
    assert [r["fired"] for r in world.sandbox.control("GET", "faults")["rules"]] == [1, 1]
    _exactly_once(world, run)
