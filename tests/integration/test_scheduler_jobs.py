"""The scheduler's housekeeping jobs on the real pipeline: reference refresh, mapping check, token health.

Built the way the worker builds it (``runtime.sync_scheduler``) over a ledger connected through the
sandbox's real sign-in flow, so each job talks to the emulators over HTTP and writes the database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from desktop.services.core.domain import Component
from desktop.services.core.events import EventKind
from desktop.services.mapping.model import Rule
from desktop.services.pipeline.scheduler import SyncScheduler
from desktop.services.store.models import LedgerConnection, RefAccount
from tests.helpers.worlds import ADMIN, QBO_ORG, World


@pytest.fixture
def sched(world: World) -> SyncScheduler:
    """The real pipeline's scheduler, built by ``runtime.sync_scheduler`` (shut down with the world)."""
    return world.new_scheduler(worker_id="jobs")


@pytest.mark.db
def test_reference_refresh_job_fills_the_cache(world: World, sched: SyncScheduler) -> None:
    world.connect(QBO_ORG, refresh_reference=False)  # connected without reading reference data
    with world.db.session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(RefAccount)).scalar() == 0
    counts = sched.run_job(QBO_ORG, "reference")
    assert counts["connections"] == 1 and counts["account"] > 0
    with world.db.session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(RefAccount)).scalar() == counts["account"]
    assert any(e.kind == EventKind.REFERENCE_DATA_REFRESHED for e in world.events)


@pytest.mark.db
def test_mapping_job_warns_about_a_rule_whose_account_is_gone(world: World, sched: SyncScheduler) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    sched.run_job(QBO_ORG, "reference")
    assert sched.run_job(QBO_ORG, "mapping") == {"problems": 0}  # no mapping yet: nothing to check
    world.mapping.save(
        QBO_ORG, [Rule(component=Component.MERCHANDISE, account_id="no-such-account")], ADMIN, "test")
    result = sched.run_job(QBO_ORG, "mapping")
    assert result["problems"] >= 1
    invalid = [e for e in world.events if e.kind == EventKind.MAPPING_INVALID and e.org == QBO_ORG]
    assert invalid and invalid[-1].severity == "warning"


@pytest.mark.db
def test_token_health_job_warns_before_a_sign_in_lapses(world: World, sched: SyncScheduler) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    assert sched.run_job(QBO_ORG, "token_health") == {"expiring": 0}
    with world.db.write_session() as s:
        conn = s.execute(sa.select(LedgerConnection)).scalar_one()
        conn.refresh_token_expires_at = world.clock.now() + timedelta(days=3)
    assert sched.run_job(QBO_ORG, "token_health") == {"expiring": 1}
    warned = [e for e in world.events if e.kind == EventKind.CONNECTION_NEEDS_RECONNECT]
    assert len(warned) == 1 and warned[0].severity == "warning" and warned[0].org == QBO_ORG


@pytest.mark.db
def test_a_cycle_on_the_real_pipeline_posts_nothing_without_returns_and_reports_each_step(
        world: World, sched: SyncScheduler) -> None:
    world.connect(QBO_ORG, refresh_reference=False)
    result = sched.sync_now(QBO_ORG).result(timeout=60)
    assert list(result) == ["ingest", "push", "pull"]
    assert result["ingest"] == {"skipped": "no RMS configured"}  # this database never configured the RMS
    assert result["pull"]["pulled_changes"] == 0
    finished = {e.details["job"] for e in world.events if e.kind == EventKind.SYNC_FINISHED}
    assert finished == {"ingest", "push", "pull"}
