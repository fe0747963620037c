"""Issue 16's demo for the inventory-tracking companies (ACME-US on QuickBooks, KIWI-NZ on Xero): the
demo set-up turns "Returned goods" on for them too, and their returns, planned as the sync plans
them, send restocked goods of tracked SKUs through the ledger's inventory items — the previews show
the inventory and cost of goods sold lines the ledger books "through item …" on the sales form — and
no return waits for a cost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from desktop.services.admin.org_settings import PostingSettings
from desktop.services.core.domain import Component, GoodsPosting
from desktop.services.demo import TRACKED_GOODS_ORGS, set_up_demo
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.store.models import Organization, QuarantineReason, Return
from tests.helpers.sandbox import SandboxHandle
from tests.helpers.worlds import ADMIN, World

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture
def demo(db_url: str, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[World]:
    sandbox.control("POST", "reset", {"seed": 1})  # the data the demo starts with
    with World(db_url, tmp_path, sandbox=sandbox) as world:
        set_up_demo(world.db, world.bus, world.clock, world.vault, world.connections, world.mapping, ADMIN,
                    sandbox.info)
        yield world


def test_the_demo_restocks_tracked_goods_through_the_ledgers_items(demo: World) -> None:
    settings = PostingSettings(demo.db, demo.clock)
    engine = SyncEngine(demo.db, demo.bus, demo.clock, demo.connections, demo.mapping, lambda _o: demo.rms,
                        ingest=demo.ingest)
    for org in sorted(TRACKED_GOODS_ORGS):
        assert settings.current(org).goods_posting is GoodsPosting.JOURNAL
        demo.ingest.pull(org, demo.rms)
        assert engine.plan(org).documents > 0
        with demo.db.session() as s:
            waiting = list(s.scalars(sa.select(QuarantineReason.code).where(QuarantineReason.code == "cost_unknown")))
            rows = list(s.scalars(sa.select(Return).join(Organization, Organization.id == Return.organization_id).where(
                Organization.code == org).options(
                selectinload(Return.lines), selectinload(Return.fees), selectinload(Return.tax_lines))))
            ctx = engine.planner.context(org)
            records = [ctx.record(r) for r in rows if r.lines]
        assert waiting == [], org
        through = [jl for ret in records for d in engine.planner.plan(ctx, ret).documents
                   if d.role != "goods_journal" for jl in d.journal if "through item" in jl.memo]
        assert {jl.component for jl in through} == {Component.INVENTORY_ASSET, Component.COGS}, org
