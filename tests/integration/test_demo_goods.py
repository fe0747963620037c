"""Issue 16's acceptance for the demo: the demo set-up turns "Returned goods" on for the demo
companies (an audited admin act; the inventory-tracking ones are ``test_demo_tracked_goods.py``'s),
and the returns of a company without inventory tracking, planned as the sync plans them, carry goods
journals for restocked, refurbished and scrapped goods — the inventory, write-off and cost of goods
sold lines the screenshots' previews show — and no return waits for a cost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.services.admin.org_settings import PostingSettings
from desktop.services.core.domain import Component, GoodsPosting
from desktop.services.demo import GOODS_JOURNAL_ORGS, GOODS_ORGS, set_up_demo
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.store.models import OutboxDocument, QuarantineReason, Return
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import ADMIN, World

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture
def demo(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[World]:
    sandbox.control("POST", "reset", {"seed": 1})  # the data the demo starts with
    with World(db_url, tmp_path, sandbox=sandbox) as world:
        done = set_up_demo(world.db, world.bus, world.clock, world.vault, world.connections, world.mapping,
                           ADMIN, sandbox.info)
        world.orgs = [org.code for org, _summary in done.connected]  # type: ignore[attr-defined]
        yield world


def test_the_demo_posts_returned_goods_with_their_cost(demo: World) -> None:
    orgs: list[str] = demo.orgs  # type: ignore[attr-defined]
    settings = PostingSettings(demo.db, demo.clock)
    on = {org for org in orgs if settings.current(org).goods_posting is GoodsPosting.JOURNAL}
    assert on == set(GOODS_ORGS) and on <= set(orgs)
    assert len([a for _who, a, _t in demo.audit() if a == "settings.goods_posting_set"]) == len(on)

    org = sorted(GOODS_JOURNAL_ORGS)[0]
    engine = SyncEngine(demo.db, demo.bus, demo.clock, demo.connections, demo.mapping, lambda _o: demo.rms,
                        ingest=demo.ingest)
    demo.ingest.pull(org, demo.rms)
    assert engine.plan(org).documents > 0
    with demo.db.session() as s:
        queued = s.scalar(sa.select(sa.func.count()).select_from(OutboxDocument).where(
            OutboxDocument.role == "goods_journal"))
        waiting = list(s.scalars(sa.select(QuarantineReason.code).where(QuarantineReason.code == "cost_unknown")))
        rows = list(s.scalars(sa.select(Return).options(
            selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines))))
        ctx = engine.planner.context(org)
        records = [ctx.record(r) for r in rows if r.lines]
    assert queued and waiting == []
    # what the debit/credit preview shows for them: inventory, write-off and cost of goods sold lines
    components = {jl.component for ret in records for d in engine.planner.plan(ctx, ret).documents
                  if d.role == "goods_journal" for jl in d.journal}
    assert components == {Component.INVENTORY_ASSET, Component.INVENTORY_WRITE_OFF, Component.COGS}
