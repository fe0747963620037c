"""Planning runs the recipes without holding the app's one SQLite writer (issue 14, parallel organizations).

Organizations sync at once, and on SQLite every write of every organization waits for the one
writer. The planner used to run recipes and pre-flight (and any ledger rate read) inside its write
session, so fifty organizations planning together waited for each other's CPU. Now each chunk's
recipes run on rows read without the lock, and only the outcome is written under it: while a
return is being planned, another thread can write. Checked on an event, not a stopwatch.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.mapping.io import apply_template
from desktop.services.pipeline import engine as engine_module
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.store.models import OutboxDocument, Return, ReturnSyncStatus
from tests.helpers.waiting import PATIENCE
from tests.helpers.worlds import ADMIN, World

ORG, TEMPLATE = "ACME-US", "qbo-us"


def _engine(world: World) -> SyncEngine:
    client, mapping = world.rms, world.mapping
    world.ingest.ensure_organizations(client)
    snapshot = mapping.snapshot(ORG)
    assert snapshot is not None
    rules, _missing = apply_template(TEMPLATE, snapshot)
    mapping.save(ORG, rules, ADMIN, "default template")
    return SyncEngine(world.db, world.bus, world.clock, world.connections, mapping, lambda _org: client,
                      ingest=world.ingest)


def test_another_thread_writes_while_a_return_is_being_planned(world: World,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    world.sandbox.control("POST", "reset", {"seed": 7, "rms": {"bad_ratio": 0, "scale": 0.05}})
    world.connect(Platform.QBO)
    engine = _engine(world)
    world.ingest.pull(ORG, world.rms)
    real = engine_module.plan_return
    wrote: list[bool] = []

    def write_elsewhere() -> bool:
        done = threading.Event()

        def write() -> None:
            with world.db.write_session() as s:
                s.execute(sa.text("SELECT 1"))
            done.set()

        threading.Thread(target=write, daemon=True).start()
        return done.wait(PATIENCE)  # held by the planner: never set, and this fails after PATIENCE

    def planning(ctx: Any, record: Any, **kw: Any) -> Any:
        wrote.append(write_elsewhere())
        return real(ctx, record, **kw)

    monkeypatch.setattr(engine_module, "plan_return", planning)
    result = engine.plan(ORG)

    assert result.planned > 0
    assert len(wrote) == result.planned + result.quarantined and all(wrote), "a write waited for the recipes"
    with world.db.session() as s:
        statuses = set(s.scalars(sa.select(Return.sync_status)))
        queued = s.scalar(sa.select(sa.func.count()).select_from(OutboxDocument))
    assert ReturnSyncStatus.NEW not in statuses  # every revision planned or quarantined, none left behind
    assert queued == result.documents > 0


@pytest.mark.allow_log_warnings  # the bug is logged with its traceback, for a developer
def test_a_recipe_bug_quarantines_only_its_return(world: World, monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    world.sandbox.control("POST", "reset", {"seed": 7, "rms": {"bad_ratio": 0, "scale": 0.05}})
    world.connect(Platform.QBO)
    engine = _engine(world)
    world.ingest.pull(ORG, world.rms)
    real = engine_module.plan_return
    seen: list[str] = []

    def planning(ctx: Any, record: Any, **kw: Any) -> Any:
        seen.append(record.rma_number)
        if len(seen) == 2:
            raise KeyError("a recipe bug")
        return real(ctx, record, **kw)

    monkeypatch.setattr(engine_module, "plan_return", planning)
    result = engine.plan(ORG)

    assert result.quarantined == 1 and result.planned == len(seen) - 1 > 0
    with world.db.session() as s:
        broken = s.scalars(sa.select(Return).where(Return.sync_status == ReturnSyncStatus.QUARANTINED)).all()
    assert [r.rma_number for r in broken] == [seen[1]]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        f"planning {seen[1]} revision 1 failed"]
