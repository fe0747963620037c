"""The app counts metered ledger calls exactly as the platforms (the sandbox) meter them, and warns at 80 %.

- After signing in to the four demo organizations (two QuickBooks, two Xero), and again after a
  real sync of all four, the app's count of each company's metered reads and writes — stored per
  connection and day in ``ledger_usage`` — equals what ``GET /_sandbox/usage`` reports for it.
- With a small allowance setting, a sync step that passes 80 % of it publishes one
  ``connection.usage_high`` warning in a finance admin's words; the Dashboard and
  ``returns-ledger usage --json`` show the same figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.connections.usage import ALLOWANCE_KEY, allowance_key
from desktop.services.core.events import EventKind
from desktop.services.demo import set_up_demo
from desktop.services.queries.usage import usage_report
from desktop.services.store.models import LedgerConnection, LedgerUsage, Organization, Setting
from tests.helpers.cli import run_cli_here
from tests.helpers.sandbox import DEMO_COMPANIES, SandboxHandle
from tests.helpers.worlds import ADMIN, World

pytestmark = [pytest.mark.db, pytest.mark.slow]

ORGS = sorted(DEMO_COMPANIES)


@pytest.fixture
def demo(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[World]:
    with World(db_url, tmp_path, sandbox=sandbox) as world:
        done = set_up_demo(world.db, world.bus, world.clock, world.vault, world.connections, world.mapping,
                           ADMIN, sandbox.info)
        assert sorted(org.code for org, _summary in done.connected) == ORGS
        yield world


def _app_counts(world: World) -> dict[tuple[str, str], tuple[int, int]]:
    """(platform, company id) → (reads, writes) the app has stored, over every day."""
    with world.db.session() as s:
        rows = s.execute(sa.select(LedgerConnection.platform, LedgerConnection.remote_id,
                                   sa.func.coalesce(sa.func.sum(LedgerUsage.reads), 0),
                                   sa.func.coalesce(sa.func.sum(LedgerUsage.writes), 0))
                         .outerjoin(LedgerUsage, LedgerUsage.connection_id == LedgerConnection.id)
                         .group_by(LedgerConnection.platform, LedgerConnection.remote_id)).all()
    return {(p.value, company): (int(r), int(w)) for p, company, r, w in rows}


def _put_setting(world: World, key: str, value: Any, org: str | None = None) -> None:
    with world.db.write_session() as s:
        org_id = None if org is None else s.execute(
            sa.select(Organization.id).where(Organization.code == org)).scalar_one()
        s.add(Setting(organization_id=org_id, key=key, value=value, updated_at=world.clock.now(), updated_by="test"))


def _assert_counts_match(world: World, sandbox: SandboxHandle) -> None:
    ours = _app_counts(world)
    usage = sandbox.control("GET", "usage")["services"]
    for org, (platform, company) in DEMO_COMPANIES.items():
        theirs = usage[platform.value][company]
        assert ours[(platform.value, company)] == (theirs["reads"], theirs["writes"]), org
        if platform is Platform.XERO:
            assert sum(ours[(platform.value, company)]) == theirs["calls"], org


def test_after_a_sync_the_apps_counts_equal_the_sandboxs(demo: World, sandbox: SandboxHandle) -> None:
    world = demo
    world.connections.usage.flush()
    _assert_counts_match(world, sandbox)  # signing in and the first reference read, counted alike
    before = _app_counts(world)
    sched = world.new_scheduler(parallel=len(ORGS))
    results = {org: future.result(timeout=600) for org, future in sched.sync_all(ORGS).items()}
    assert all("error" not in counts for chain in results.values() for counts in chain.values()), results
    # no explicit flush: each sync step stores what it counted
    _assert_counts_match(world, sandbox)
    after = _app_counts(world)
    for _org, (platform, company) in DEMO_COMPANIES.items():
        key = (platform.value, company)
        assert after[key][0] > before[key][0] and after[key][1] > before[key][1]  # the sync read and posted


def test_a_small_allowance_warns_at_80_percent_with_the_same_figure_everywhere(
        db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> None:
    with World(db_url, tmp_path, sandbox=sandbox, event_log=True) as world:
        summary = world.connect("ACME-US", refresh_reference=False)
        xero = world.connect("KIWI-NZ", refresh_reference=False)
        world.connections.usage.flush()
        assert [e for e in world.events if e.kind == EventKind.CONNECTION_USAGE_HIGH] == []
        # Tiny tiers: QuickBooks 16 reads a month (global), KIWI-NZ 10 calls a day (its own setting).
        _put_setting(world, allowance_key("qbo"), 16)
        _put_setting(world, ALLOWANCE_KEY, 10, org="KIWI-NZ")
        for conn in (summary, xero):
            world.connections.refresh_reference_data(ADMIN, conn.id)  # a few dozen metered reads each
        assert [e for e in world.events if e.kind == EventKind.CONNECTION_USAGE_HIGH] == []  # not stored yet
        world.connections.usage.flush()
        warned = [e for e in world.events if e.kind == EventKind.CONNECTION_USAGE_HIGH]
        assert sorted(e.org for e in warned) == ["ACME-US", "KIWI-NZ"]
        qbo_event = next(e for e in warned if e.org == "ACME-US")
        assert qbo_event.message.startswith("ACME-US: QuickBooks reads this month: ")
        assert " of 16 (" in qbo_event.message
        assert "Xero calls today: " in next(e for e in warned if e.org == "KIWI-NZ").message

        # Warned once per period: more reads in the same month say nothing new.
        world.connections.refresh_reference_data(ADMIN, summary.id)
        world.connections.usage.flush()
        assert len([e for e in world.events if e.kind == EventKind.CONNECTION_USAGE_HIGH]) == 2

        report = usage_report(world.db, world.clock, "ACME-US", world.connections.usage)
        [figure] = report.figures
        assert figure.allowance == 16 and figure.period == "month" and figure.warning
        assert figure.used == figure.reads == sandbox.control("GET", "usage")["services"]["qbo"][
            summary.company_id]["reads"]
        assert figure.text == f"QuickBooks reads this month: {figure.used:,} of 16 ({figure.used * 100 // 16} %)"
        # The Dashboard's meter is the same figure.
        assert world.dashboard.snapshot("ACME-US").usage == [figure]

        # ... and so is `returns-ledger usage --json` (a new process would see the stored counts).
        done = run_cli_here("--db", db_url, "--data-dir", str(tmp_path), "usage", "--json")
        assert done.returncode == 0, done.stderr
        cli = {c["org"]: c for c in json.loads(done.stdout)["connections"]}
        assert cli["ACME-US"] == figure.as_json()
        assert cli["KIWI-NZ"]["metered"] == "calls" and cli["KIWI-NZ"]["allowance"] == 10
        assert cli["KIWI-NZ"]["warning"] is True
        text = run_cli_here("--db", db_url, "--data-dir", str(tmp_path), "usage", "--org", "ACME-US").stdout
        assert figure.text in text and "used up" in text
