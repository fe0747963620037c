"""Undoing sync runs in tests: a posted run of generated returns, the undo service, and the ledger
counted through the sandbox (the tests of ``runs undo`` and its fault drills share these)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from desktop.services.auth.platforms import Platform
from desktop.services.core.keys import parse_key
from desktop.services.mapping.io import apply_template
from desktop.services.pipeline.engine import SyncEngine
from desktop.services.pipeline.undo import UndoService
from desktop.services.store.models import OutboxDocument, OutboxStatus, Return, SyncRun
from tests.helpers.worlds import ADMIN, World

#: (organization, company id, mapping template) per platform.
COMPANIES = {Platform.QBO: ("ACME-US", "9130350000000001", "qbo-us"),
             Platform.XERO: ("KIWI-NZ", "6f1a3c52-8d4e-4b7a-9c21-3e5d7f9a1b01", "xero-nz")}
#: The sandbox's production rate limits would make a 200-return undo take minutes of wall clock;
#: the app's own throttle still paces it (on the test's manual clock).
ROOMY = {"qbo": {"per_minute": 100_000, "concurrent": 100},
         "xero": {"per_minute": 100_000, "per_day": 1_000_000, "concurrent": 100}}


@dataclass
class PostedRun:
    """A push run of ``returns`` generated returns of ``org`` (every one posted)."""

    platform: Platform
    org: str
    company: str
    engine: SyncEngine
    run_id: int
    keys: set[str]
    returns: int


def roomy_limits(world: World) -> None:
    assert world.sandbox is not None
    for service, limits in ROOMY.items():
        world.sandbox.control("POST", "config", {"service": service, "rate_limits": limits})


def post_a_run(world: World, platform: Platform, count: int, *, seed: int = 16, exchanges: float = 0.0) -> PostedRun:
    """Reset the sandbox, generate ``count`` clean returns for the platform's organization and post
    them in one push run (the other organizations' few seed returns are not connected);
    ``exchanges`` of them exchanges stating their replacement goods (even, cheaper or dearer)."""
    org, company, template = COMPANIES[platform]
    assert world.sandbox is not None
    world.sandbox.control("POST", "reset", {"seed": seed, "rms": {"bad_ratio": 0.0, "scale": 0.01}})
    roomy_limits(world)
    world.sandbox.control("POST", "rms/generate", {"org": org, "count": count, "bad_ratio": 0, "seed": seed,
                                                   "exchanges": exchanges})
    world.connect(platform)
    world.ingest.ensure_organizations(world.rms)
    snapshot = world.mapping.snapshot(org)
    assert snapshot is not None
    rules, _missing = apply_template(template, snapshot)
    world.mapping.save(org, rules, ADMIN, "default template")
    engine = SyncEngine(world.db, world.bus, world.clock, world.connections, world.mapping, lambda _o: world.rms,
                        ingest=world.ingest)
    out = engine.run_once(org, worker_id="w1")
    assert out["errors"] == [] and out["posted"] > 0, out  # (a few may stop at pre-flight: not in the run)
    with world.db.session() as s:
        run_id = s.scalar(sa.select(SyncRun.id).where(SyncRun.kind == "push").order_by(SyncRun.id.desc()))
        keys = set(s.scalars(sa.select(OutboxDocument.idempotency_key).where(OutboxDocument.run_id == run_id)))
        returns = s.scalar(sa.select(sa.func.count(sa.distinct(OutboxDocument.return_id)))
                           .where(OutboxDocument.run_id == run_id))
    assert run_id is not None and keys
    return PostedRun(platform, org, company, engine, run_id, keys, int(returns or 0))


def undo_service(world: World) -> UndoService:
    return UndoService(world.db, world.clock, world.bus, world.connections, lambda _o: world.rms)


def ledger_by_key(world: World, run: PostedRun) -> dict[str, list[dict[str, Any]]]:
    """Every ledger document carrying one of our keys, by key, read through the sandbox."""
    out: dict[str, list[dict[str, Any]]] = {}
    for doc in world.ledger(run.platform.value, run.company):
        raw = doc.get("raw") or {}
        key = parse_key(str(doc.get("reference") or raw.get("PrivateNote") or raw.get("Reference")
                            or raw.get("Narration") or ""))
        if key is not None:
            out.setdefault(key, []).append(doc)
    return out


def live(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["status"] not in ("voided", "deleted")]


def outbox_statuses(world: World, keys: set[str]) -> Counter[str]:
    with world.db.session() as s:
        return Counter(OutboxStatus(st).value for st in s.scalars(
            sa.select(OutboxDocument.status).where(OutboxDocument.idempotency_key.in_(sorted(keys)))))


def return_states(world: World, run: PostedRun) -> Counter[tuple[str, int]]:
    """(sync status, posting round) of the returns the run posted."""
    with world.db.session() as s:
        ids = sa.select(OutboxDocument.return_id).where(OutboxDocument.run_id == run.run_id)
        return Counter((r.sync_status.value, r.posting_round) for r in s.scalars(
            sa.select(Return).where(Return.id.in_(ids))))


def latest_writebacks(world: World) -> dict[str, str]:
    """Each return's latest accounting status in the RMS (what the RMS shows)."""
    out: dict[str, str] = {}
    for w in world.writebacks():
        out[w["return_id"]] = w["status"]
    return out
