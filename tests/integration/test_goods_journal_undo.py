"""Undoing a sync run takes its goods journals back with its other documents (issue 16, items 1 and
4): an organization posting returned goods syncs generated returns, the run is undone, and the
sandbox ledger holds no live goods journal of the run — counted through the sandbox, on both
platforms and both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from desktop.services.admin.org_settings import PostingSettings
from desktop.services.mapping.io import apply_template
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.store.models import OutboxDocument, SyncRun
from tests.helpers.undo import live, roomy_limits, undo_service
from tests.helpers.worlds import ADMIN, World

pytestmark = [pytest.mark.db, pytest.mark.slow]


#: The demo companies without inventory tracking (the journal path) and their templates.
CASES = [("MAPLE-CA", "qbo-ca"), ("TEA-UK", "xero-uk")]


@pytest.mark.parametrize(("org", "template"), CASES, ids=[c[0] for c in CASES])
def test_an_undone_run_leaves_no_live_goods_journal(world: World, org: str, template: str) -> None:
    demo = world.demo_org(org)
    platform, company = demo.platform, demo.company
    world.sandbox.control("POST", "reset", {"seed": 16, "rms": {"bad_ratio": 0.0, "scale": 0.01}})
    roomy_limits(world)
    world.sandbox.control("POST", "rms/generate", {"org": org, "count": 12, "bad_ratio": 0, "seed": 16})
    world.connect(org)
    world.ingest.ensure_organizations(world.rms)
    snapshot = world.mapping.snapshot(org)
    assert snapshot is not None
    rules, _missing = apply_template(template, snapshot)
    world.mapping.save(org, rules, ADMIN, "default template")
    PostingSettings(world.db, world.clock).set(ADMIN, org, "goods_posting", "journal")
    engine = SyncEngine(world.db, world.bus, world.clock, world.connections, world.mapping, lambda _o: world.rms,
                        ingest=world.ingest)
    out = engine.run_once(org, worker_id="w1")
    assert out["errors"] == [] and out["posted"] > 0, out
    with world.db.session() as s:
        run_id = s.scalar(sa.select(SyncRun.id).where(SyncRun.kind == "push").order_by(SyncRun.id.desc()))
        goods = {d.idempotency_key: (d.doc_type, str(d.remote_id)) for d in s.scalars(sa.select(OutboxDocument).where(
            OutboxDocument.run_id == run_id, OutboxDocument.role == "goods_journal"))}
    assert run_id is not None and goods, "the run posted goods journals"

    def held() -> list[dict[str, object]]:
        ids = set(goods.values())  # (type, id): a QuickBooks id is unique per entity only
        return [d for d in world.ledger(platform.value, company) if (d.get("type"), str(d.get("id"))) in ids]

    assert len(live(held())) == len(goods)
    report = undo_service(world).undo(ADMIN, run_id)
    assert report.outcome == "done", report.to_json()
    assert len(held()) == len(goods) and live(held()) == []
