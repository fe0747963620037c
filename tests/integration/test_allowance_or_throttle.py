"""A QuickBooks 429 is the per-minute throttle unless something says the month's reads are used up.

The throttle (429 ThrottleExceeded, ``Retry-After``) is waited out and retried as before, and marks
nothing. The same answer once the app's own count of the month has reached the allowance means the
allowance is used up: said at once, never retried (API_FACTS §5: the quota's answer is UNCONFIRMED,
so the app's count is the fallback).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.connections.usage import ALLOWANCE_KEY
from desktop.services.core.events import EventKind
from desktop.services.platforms.http import AllowanceUsedUp
from desktop.services.runtime import connection_service
from desktop.services.store.models import Organization, Setting
from tests.helpers.allowance import use_up_qbo_reads
from tests.helpers.sandbox import ACME_REALM, SandboxHandle
from tests.helpers.worlds import QBO_ORG, World

pytestmark = [pytest.mark.db]
THROTTLE = {"service": "qbo", "action": "status", "status": 429, "method": "GET", "path_regex": "/query"}


def _fired(sandbox: SandboxHandle) -> int:
    return sum(int(r.get("fired", 0)) for r in sandbox.control("GET", "faults")["rules"])


def test_the_minute_throttle_is_waited_out_and_marks_nothing(world: World, sandbox: SandboxHandle) -> None:
    waits = world.wait_on_a_manual_clock()
    cid = world.connect(QBO_ORG, refresh_reference=False).id
    sandbox.control("POST", "faults", {"rules": [{**THROTTLE, "times": 2}]})

    rows = world.connector(QBO_ORG).query_all("Account")

    assert rows and _fired(sandbox) == 2
    assert sum(waits.slept) >= 2 * 60  # QuickBooks' Retry-After (60 s) honoured each time
    assert world.connections.allowance.state(cid) is None
    assert EventKind.CONNECTION_ALLOWANCE_USED_UP not in world.kinds()


def test_the_same_answer_with_the_months_allowance_counted_up_is_used_up_at_once(
        world: World, sandbox: SandboxHandle) -> None:
    waits = world.wait_on_a_manual_clock()
    cid = world.connect(QBO_ORG, refresh_reference=False).id  # signing in read the company: counted
    with world.db.write_session() as s:
        org_id = s.execute(sa.select(Organization.id).where(Organization.code == QBO_ORG)).scalar_one()
        s.add(Setting(organization_id=org_id, key=ALLOWANCE_KEY, value=1, updated_at=world.clock.now(),
                      updated_by="test"))
    sandbox.control("POST", "faults", {"rules": [THROTTLE]})

    with pytest.raises(AllowanceUsedUp):
        world.connector(QBO_ORG).query_all("Account")

    assert _fired(sandbox) == 1 and waits.slept == []  # not retried, not waited on
    state = world.connections.allowance.state(cid)
    assert state is not None and state.text.startswith("QuickBooks' allowance of metered reads for this month")
    with pytest.raises(AllowanceUsedUp):  # kept at home now: nothing sent
        world.connector(QBO_ORG).query_all("Account")
    assert _fired(sandbox) == 1


def test_a_refusal_met_inside_a_database_write_is_kept_and_written_after_it(
        world: World, sandbox: SandboxHandle, tmp_path: Path) -> None:
    """The planner reads a rate inside its transaction (SQLite has one writer per process): the
    state is learned there all the same, and written to the database at the next look."""
    cid = world.connect(QBO_ORG, refresh_reference=False).id
    use_up_qbo_reads(sandbox, ACME_REALM)
    ledger = world.connector(QBO_ORG)
    with world.db.write_session(), pytest.raises(AllowanceUsedUp):
        ledger.query_all("Account")
    assert world.connections.allowance.state(cid) is not None
    _vault, restarted = connection_service(world.db, world.bus, world.clock, tmp_path)
    assert restarted.allowance.state(cid) is not None  # in the database now
