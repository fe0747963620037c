"""Undoing a sync run over real HTTP: ~200 returns taken back in the ledger, the RMS told, a second
undo does nothing, and after a mapping change each return posts again exactly once (SQLite and
PostgreSQL, QuickBooks and Xero)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from desktop.services.auth.platforms import Platform
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.domain import Component
from desktop.services.core.errors import PermissionDenied
from desktop.services.store.models import OutboxStatus
from tests.helpers.undo import (
    COMPANIES,
    latest_writebacks,
    ledger_by_key,
    live,
    outbox_statuses,
    post_a_run,
    return_states,
    undo_service,
)
from tests.helpers.worlds import ADMIN, VIEWER, ClockWaits, World

pytestmark = pytest.mark.slow  # minutes on a loaded machine: handed out first (tests/conftest.py)

RETURNS = 200


@pytest.fixture(autouse=True)
def waits(world: World) -> ClockWaits:
    """The app's throttle and retries wait on a manual clock (the sandbox's limits are roomy)."""
    return world.wait_on_a_manual_clock()


def _change_mapping(world: World, org: str) -> str:
    """A mapping fix: one component's rules book to another account the mapping validation accepts."""
    active = world.mapping.active_set(org)
    snapshot = world.mapping.snapshot(org)
    assert active is not None and snapshot is not None
    rules = list(active.rules)
    known = {p.code for p in world.mapping.validate(org, rules)}  # what the template leaves (nothing new may appear)
    for component in (Component.MERCHANDISE, Component.RESTOCKING_FEE, Component.TAX):
        chosen = [i for i, r in enumerate(rules) if r.component is component and r.account_id]
        if not chosen:
            continue
        old = rules[chosen[0]].account_id
        for other in sorted(snapshot.accounts.values(), key=lambda a: a.remote_id):
            if other.remote_id == old or not other.active:
                continue
            changed = list(rules)
            for i in chosen:
                changed[i] = replace(rules[i], account_id=other.remote_id, item_id=None, rule_id=None)
            if not [p for p in world.mapping.validate(org, changed) if p.code not in known]:
                world.mapping.save(org, changed, ADMIN, f"{component.value} to the right account")
                return other.remote_id
    raise AssertionError("no other account the mapping validation accepts")


@pytest.mark.parametrize("platform", [Platform.QBO, Platform.XERO], ids=["qbo", "xero"])
def test_undoing_a_run_takes_every_document_back_once_and_the_returns_post_again(world: World,
                                                                                 platform: Platform) -> None:
    run = post_a_run(world, platform, RETURNS)
    assert run.returns >= RETURNS * 3 // 4, "most of the generated returns are in the run"
    svc = undo_service(world)
    before = ledger_by_key(world, run)
    assert all(len(live(before[k])) == 1 for k in run.keys), "posted once each"

    preview = svc.preview(VIEWER, run.run_id)

    assert preview.outcome == "preview"
    assert preview.counts["to_void"] + preview.counts["to_delete"] == len(run.keys) == preview.counts["documents"]
    assert {d.ledger for d in preview.documents} == {"active"}
    assert ledger_by_key(world, run) == before, "a dry run changes nothing in the ledger"
    assert outbox_statuses(world, run.keys) == Counter({"posted": len(run.keys)})
    with pytest.raises(PermissionDenied):
        svc.undo(VIEWER, run.run_id)

    report = svc.undo(Actor("olga", Role.OPERATOR), run.run_id)

    assert report.outcome == "done", report.counts
    after = ledger_by_key(world, run)
    assert not [k for k in run.keys if live(after[k])], "no live document of the run is left in the ledger"
    assert all(d["takeback_requests"] == 1 for k in run.keys for d in after[k]), "each taken back exactly once"
    assert outbox_statuses(world, run.keys) == Counter({"voided": len(run.keys)})
    assert return_states(world, run) == Counter({("new", 1): run.returns}), "ready to post again, next round"
    shown = latest_writebacks(world)
    assert Counter(shown.values())["voided"] == run.returns, "the RMS shows them unposted"
    backs = len(world.writebacks())
    actions = Counter(a for _who, a, _t in world.audit())
    assert actions["document.void_requested"] == len(run.keys)
    assert actions["run.undo_started"] == 1 and actions["run.undone"] == 1
    assert actions["return.reopened"] == run.returns

    again = svc.undo(ADMIN, run.run_id)

    assert again.outcome == "nothing_to_do" and again.documents == []
    assert ledger_by_key(world, run) == after and len(world.writebacks()) == backs

    _change_mapping(world, run.org)
    out = run.engine.run_once(run.org, worker_id="w2")

    assert out["errors"] == [] and out["posted"] == len(run.keys), out
    final = ledger_by_key(world, run)
    fresh = {k: v for k, v in final.items() if k not in run.keys}
    assert len(fresh) == len(run.keys) and all(len(live(v)) == 1 for v in fresh.values()), "each posted once"
    assert not [k for k in run.keys if live(final[k])]
    assert return_states(world, run) == Counter({("posted", 1): run.returns})
    shown = latest_writebacks(world)
    assert Counter(shown.values())["posted"] == run.returns, "the RMS shows them posted again"


def test_a_document_edited_in_the_ledger_is_reported_and_stops_the_undo_until_forced(world: World) -> None:
    run = post_a_run(world, Platform.QBO, 5)
    _org, company, _t = COMPANIES[Platform.QBO]
    svc = undo_service(world)
    docs = ledger_by_key(world, run)
    target = next(d for k in sorted(run.keys) for d in docs[k] if d["type"] == "CreditMemo")
    world.tamper(run.org, {"op": "edit", "id": target["id"], "type": "CreditMemo", "set": {"total": "1.00"}})

    preview = svc.preview(ADMIN, run.run_id)
    edited = [d for d in preview.documents if d.ledger == "edited"]
    assert [d.remote_id for d in edited] == [target["id"]] and edited[0].action is None

    refused = svc.undo(ADMIN, run.run_id)

    assert refused.outcome == "refused" and [d.remote_id for d in refused.edited] == [target["id"]]
    assert outbox_statuses(world, run.keys) == Counter({"posted": len(run.keys)}), "nothing voided"
    assert all(live(v) for v in ledger_by_key(world, run).values())

    forced = svc.undo(ADMIN, run.run_id, force=True)

    assert forced.outcome == "done"
    assert not [k for k, v in ledger_by_key(world, run).items() if k in run.keys and live(v)]
    assert world.ledger("qbo", company)


def test_with_maker_checker_an_undo_waits_for_a_second_person(world: World) -> None:
    from decimal import Decimal

    from desktop.commands.approvals import KINDS
    from desktop.services.admin.approvals import ApprovalKind
    from desktop.services.manual.approvals import ApprovalService
    assert "undo_run" in KINDS
    run = post_a_run(world, Platform.XERO, 4)
    svc = undo_service(world)
    queue = ApprovalService(world.db, world.clock, world.bus, world.manual, world.mapping, undo=svc)
    queue.set_threshold(ADMIN, run.org, Decimal("0"))
    maker, checker = Actor("olga", Role.OPERATOR), Actor("otto", Role.OPERATOR)

    asked = svc.undo(maker, run.run_id)

    assert asked.outcome == "awaiting_approval" and asked.approval is not None
    assert outbox_statuses(world, run.keys) == Counter({"posted": len(run.keys)})
    with pytest.raises(PermissionDenied):
        queue.approve(maker, asked.approval)

    view = queue.approve(checker, asked.approval, "checked the run")

    assert view.kind is ApprovalKind.UNDO_RUN and view.status.value == "approved"
    assert outbox_statuses(world, run.keys) == Counter({OutboxStatus.VOIDED.value: len(run.keys)})
    assert not [k for k, v in ledger_by_key(world, run).items() if k in run.keys and live(v)]
