"""A firm's organizations all sync at once by default (issue 14, "Parallel organizations").

Posting waits on each ledger's own rate limits, so a small pool made 50 organizations take ~12
times as long as the slowest one alone. By default the "sync now" pool runs every organization
with work at once, up to ``MAX_PARALLEL``; ``--parallel`` / the setting still bound it. Every
push here is held on an event until the test lets it go, so "did they all start before any
finished?" is a set to look at, not a stopwatch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from desktop.commands.sync import _parallel
from desktop.services.core.errors import TransientError
from desktop.services.pipeline.scheduler import DEFAULT_PARALLEL, MAX_PARALLEL
from tests.helpers.waiting import PATIENCE
from tests.helpers.worlds import World

pytestmark = pytest.mark.db


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    with World(db_url, tmp_path) as w:
        yield w


class HeldPushes:
    """Steps whose push waits on its organization's own event (:meth:`release`); :attr:`started` and
    :attr:`finished` say who got where, and :meth:`wait_started` waits for a number of them."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self._cond = threading.Condition()
        self._go: dict[str, threading.Event] = {}
        self.started: list[str] = []
        self.finished: list[str] = []
        self._failing = failing

    def _event(self, org: str) -> threading.Event:
        with self._cond:
            return self._go.setdefault(org, threading.Event())

    def release(self, *orgs: str) -> None:
        for org in orgs:
            self._event(org).set()

    def wait_started(self, n: int) -> list[str]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.started) >= n, PATIENCE), \
                f"only {len(self.started)} of {n} pushes started"
            return list(self.started)

    def ingest(self, org: str) -> Mapping[str, Any]:
        return {"ingested": 0}

    def push(self, org: str, worker_id: str) -> Mapping[str, Any]:
        with self._cond:
            self.started.append(org)
            self._cond.notify_all()
        if org in self._failing:
            raise TransientError(f"{org}'s ledger did not answer")
        if not self._event(org).wait(PATIENCE):
            raise TimeoutError("the test never let the push go on")
        with self._cond:
            self.finished.append(org)
        return {"posted": 1}

    def pull(self, org: str) -> Mapping[str, Any]:
        return {"pulled_changes": 0}


def _firm(n: int) -> list[str]:
    return [f"FIRM-{i:03d}" for i in range(1, n + 1)]


def test_by_default_fifty_organizations_all_start_before_any_finishes(world: World) -> None:
    orgs = _firm(50)
    steps = HeldPushes()
    sched = world.new_scheduler(steps)
    assert sched.parallel == DEFAULT_PARALLEL == MAX_PARALLEL >= 50
    running = sched.sync_all(orgs)
    assert sorted(steps.wait_started(len(orgs))) == orgs  # every push is under way at once…
    assert steps.finished == []  # …and none had to finish first
    steps.release(*orgs)
    for org in orgs:
        assert running[org].result(timeout=PATIENCE)["push"] == {"posted": 1}


def test_the_pool_stops_at_its_cap_and_the_next_organization_takes_a_freed_place(world: World) -> None:
    orgs = _firm(MAX_PARALLEL + 1)
    steps = HeldPushes()
    sched = world.new_scheduler(steps)
    running = sched.sync_all(orgs)
    first = steps.wait_started(MAX_PARALLEL)
    waiting = sorted(set(orgs) - set(first))
    assert len(waiting) == 1 and not running[waiting[0]].running()  # queued for a place, not started
    steps.release(first[0])
    assert running[first[0]].result(timeout=PATIENCE)["push"] == {"posted": 1}
    assert steps.wait_started(MAX_PARALLEL + 1)[-1] == waiting[0]
    steps.release(*orgs)
    assert all(running[org].result(timeout=PATIENCE)["push"] == {"posted": 1} for org in orgs)


def test_the_parallel_option_still_bounds_the_pool(world: World) -> None:
    orgs = _firm(5)
    steps = HeldPushes()
    sched = world.new_scheduler(steps, parallel=2)
    running = sched.sync_all(orgs)
    first = steps.wait_started(2)
    assert [org for org in orgs if running[org].running()] == sorted(first)  # the other three wait
    steps.release(*orgs)
    assert all(running[org].result(timeout=PATIENCE)["push"] == {"posted": 1} for org in orgs)
    assert len(steps.started) == 5


def test_a_failing_organization_neither_waits_for_nor_delays_the_others(world: World) -> None:
    orgs = _firm(6)
    steps = HeldPushes(failing=frozenset({"FIRM-002"}))
    sched = world.new_scheduler(steps)
    running = sched.sync_all(orgs)
    steps.wait_started(len(orgs))
    failed = running["FIRM-002"].result(timeout=PATIENCE)  # done while every other push is held
    assert failed["push"]["error"]["kind"] == "transient" and failed["pull"] == {"pulled_changes": 0}
    steps.release("FIRM-005")  # one of the others finishes on its own event, the rest still held
    assert running["FIRM-005"].result(timeout=PATIENCE)["push"] == {"posted": 1}
    assert steps.finished == ["FIRM-005"]
    steps.release(*orgs)
    assert all(running[org].result(timeout=PATIENCE)["push"] == {"posted": 1} for org in orgs if org != "FIRM-002")


@pytest.mark.parametrize(("text", "ok"), [("1", True), ("64", True), ("65", False), ("0", False), ("four", False)])
def test_the_parallel_option_takes_a_whole_number_up_to_the_cap(text: str, ok: bool) -> None:
    import argparse
    if ok:
        assert _parallel(text) == int(text)
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="from 1 to 64"):
            _parallel(text)
