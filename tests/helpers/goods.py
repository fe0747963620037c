"""A company ready to post goods: connected from a freshly seeded sandbox, mapped by the template the
app ships for its ledger and country (without a problem), and posting goods as journals."""

from __future__ import annotations

from desktop.services.admin.org_settings import PostingSettings
from desktop.services.mapping.io import apply_template, default_template_name
from desktop.services.mapping.reference import ReferenceSnapshot
from tests.helpers.worlds import ADMIN, World


def goods_ready(world: World, org: str, platform: str, *, seed: int = 5, scale: float = 0.1) -> ReferenceSnapshot:
    """``org``'s reference snapshot once it is ready (see the module docstring)."""
    sandbox = world.sandbox
    assert sandbox is not None
    sandbox.control("POST", "reset", {"seed": seed, "rms": {"bad_ratio": 0, "scale": scale}})
    world.connect(org)
    world.ingest.ensure_organizations(world.rms)
    snap = world.mapping.snapshot(org)
    assert snap is not None
    template = default_template_name(platform, world.connector(org).company_info().country)
    rules, problems = apply_template(template, snap)
    assert problems == [], problems
    world.mapping.save(org, rules, ADMIN, "shipped template")
    PostingSettings(world.db, world.clock).set(ADMIN, org, "goods_posting", "journal")
    return snap
