""""Sync now" while a chain of the same organization already runs (the app's start-up sync, a second
window): the newcomer joins it — it hears the counts from then on, and its Cancel is honest: the
chain stops once everyone watching it has cancelled, never because one of two asked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.services.core.progress import Tracker
from tests.helpers.held_sync import BATCH, DUE, HeldPush
from tests.helpers.worlds import QBO_ORG, World

pytestmark = pytest.mark.db


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    with World(db_url, tmp_path) as w:
        yield w


def _reports(into: list[str]) -> Tracker:
    return Tracker(lambda _done, _total, message: into.append(message))


def test_a_second_sync_now_joins_the_running_chain_and_cancels_only_with_everyone(world: World) -> None:
    steps = HeldPush()
    sched = world.new_scheduler(steps)
    unwatched = sched.sync_now(QBO_ORG)  # nobody watches it (a start-up sync): it is never cancelled alone
    assert steps.held.wait(30)
    first, second = [], []
    one, two = _reports(first), _reports(second)
    assert sched.sync_now(QBO_ORG, one) is unwatched and sched.sync_now(QBO_ORG, two) is unwatched
    one.cancel()
    steps.go.set()
    result = unwatched.result(timeout=30)
    assert "cancelled" not in result and result["push"] == {"posted": DUE}  # the other watcher still wanted it
    # Both hear everything from when they joined: the push's later batches, then the pull.
    assert first == second == [f"{QBO_ORG}: 20 posted, 10 waiting", f"{QBO_ORG}: 30 posted, 0 waiting",
                               f"{QBO_ORG}: reading changes back from the ledger…"]
    assert result["pull"] == {"pulled_changes": 0}


def test_everyone_cancelling_stops_the_chain_before_its_next_batch(world: World) -> None:
    steps = HeldPush()
    sched = world.new_scheduler(steps)
    one, two = Tracker(), Tracker()
    running = sched.sync_now(QBO_ORG, one)
    assert steps.held.wait(30)
    assert sched.sync_now(QBO_ORG, two) is running
    one.cancel()
    two.cancel()
    steps.go.set()
    result = running.result(timeout=30)
    assert result["cancelled"] is True and result["push"] == {"posted": BATCH} and steps.batches == 1
    assert result["pull"] == {"skipped": "cancelled"}
