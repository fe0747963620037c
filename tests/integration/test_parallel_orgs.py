"""Organizations sync in parallel on the real pipeline, and nothing in the multi-organization path waits.

The world is the demo's (the four sandbox companies connected through the real sign-in flow, the
RMS remembered, default mappings), every ledger and RMS request waits on a manual clock
(``World.wait_on_a_manual_clock``): a rate limit or back-off that makes a request wait records the
wait instead of sleeping, so "did it wait?" is a list to look at, not a stopwatch.

- The "mysterious minute": one RMS (one API key) serves every organization, and the RMS client used
  to allow itself 300 requests a minute. Each organization alone stays under that; the four demo
  organizations together write back ~380 returns, so ``sync --once`` of all four waited about a
  minute on the sliding window. The RMS publishes no such limit (it answers 429 + Retry-After).
- One organization's ledger held on a known request (the sandbox's ``hold`` fault) never delays
  another: the other finishes while the first is still held.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from desktop.services.demo import set_up_demo
from desktop.services.pipeline.scheduler import DEFAULT_PARALLEL, PARALLEL_KEY
from desktop.services.store.models import Organization, OutboxDocument, OutboxStatus, Setting
from tests.helpers.sandbox import ACME_REALM, DEMO_COMPANIES, SandboxHandle
from tests.helpers.waiting import wait_until
from tests.helpers.worlds import ADMIN, ClockWaits, World

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORGS = sorted(DEMO_COMPANIES)


@pytest.fixture
def demo(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[tuple[World, ClockWaits]]:
    """The demo world; every ledger and RMS request waits on one manual clock."""
    with World(db_url, tmp_path, sandbox=sandbox) as world:
        waits = world.wait_on_a_manual_clock()
        done = set_up_demo(world.db, world.bus, world.clock, world.vault, world.connections, world.mapping,
                           ADMIN, sandbox.info)
        assert sorted(org.code for org, _summary in done.connected) == ORGS
        yield world, waits


def _errors(results: dict[str, dict[str, Any]]) -> list[tuple[str, str, Any]]:
    return [(org, step, counts) for org, chain in results.items() for step, counts in chain.items()
            if isinstance(counts, dict) and "error" in counts]


def _posted(world: World, org: str) -> int:
    with world.db.session() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(OutboxDocument).join(Organization)
                            .where(Organization.code == org, OutboxDocument.status == OutboxStatus.POSTED)) or 0)


def test_a_cycle_of_every_organization_waits_for_no_limit(demo: tuple[World, ClockWaits],
                                                          sandbox: SandboxHandle) -> None:
    world, waits = demo
    sched = world.new_scheduler(parallel=len(ORGS))
    results = {org: future.result(timeout=600) for org, future in sched.sync_all(ORGS).items()}
    assert _errors(results) == []
    writebacks = sandbox.control("GET", "rms/writebacks")["writebacks"]
    assert len(writebacks) > 300  # more than the RMS client's old self-imposed minute
    assert waits.slept == []  # no throttle, back-off or Retry-After made any request wait
    for org in ORGS:
        assert results[org]["push"]["posted"] == _posted(world, org) > 0


def test_one_organization_held_by_its_ledger_never_delays_another(demo: tuple[World, ClockWaits],
                                                                  sandbox: SandboxHandle) -> None:
    world, _waits = demo
    # ACME-US's first QuickBooks request is held until a second request to its company arrives.
    rule = {"service": "qbo", "action": "hold", "path_regex": f"/company/{ACME_REALM}/", "hold_for": 2,
            "delay_s": 120, "times": 2}
    sandbox.control("POST", "faults", {"rules": [rule]})
    sched = world.new_scheduler(parallel=2)
    running = sched.sync_all(["ACME-US", "KIWI-NZ"])

    def held() -> bool:
        return bool(sandbox.control("GET", "faults")["rules"][0]["peak_held"] >= 1)

    wait_until(held, 120, what="ACME-US's ledger request to be held")
    kiwi = running["KIWI-NZ"].result(timeout=300)  # finishes while ACME-US waits on its ledger
    assert _errors({"KIWI-NZ": kiwi}) == []
    assert kiwi["push"]["posted"] == _posted(world, "KIWI-NZ") > 0
    assert not running["ACME-US"].done()
    assert sandbox.control("GET", "faults")["rules"][0]["fired"] == 1  # still the one request, still held
    # Release it: the second matching request completes the hold (its own answer does not matter).
    requests.get(f"{sandbox.info['qbo']['api_base_url']}/{ACME_REALM}/companyinfo/{ACME_REALM}", timeout=130)
    acme = running["ACME-US"].result(timeout=300)
    assert _errors({"ACME-US": acme}) == []
    assert acme["push"]["posted"] == _posted(world, "ACME-US") > 0


@pytest.mark.parametrize(("stored", "expected"), [(2, 2), (32, 32), (0, DEFAULT_PARALLEL), (99, DEFAULT_PARALLEL),
                                                  ("8", DEFAULT_PARALLEL), (True, DEFAULT_PARALLEL)])
def test_the_parallel_setting_sizes_the_pool_and_a_bad_one_falls_back(world: World, stored: Any,
                                                                       expected: int) -> None:
    assert world.new_scheduler().parallel == DEFAULT_PARALLEL  # nothing stored
    with world.db.write_session() as s:
        s.add(Setting(organization_id=None, key=PARALLEL_KEY, value=stored, updated_at=world.clock.now(),
                      updated_by="alice"))
    assert world.new_scheduler().parallel == expected
    assert world.new_scheduler(parallel=3).parallel == 3  # --parallel wins over the setting
