"""“Test connection” records what the ledger says about the company, and keeps the vendor list the
last reference refresh found (it is kept in the same company JSON; a test reads no vendors)."""

from __future__ import annotations

from desktop.services.connections.refcache import stored_vendors
from tests.helpers.worlds import ADMIN, XERO_ORG, World


def test_testing_a_connection_keeps_the_cached_vendors(world: World) -> None:
    summary = world.connect(XERO_ORG)
    with world.db.session() as s:
        before = {v.remote_id for v in stored_vendors(s, summary.id)}
    assert len(before) >= 2
    world.connections.test(ADMIN, summary.id)
    with world.db.session() as s:
        after = {v.remote_id for v in stored_vendors(s, summary.id)}
    assert after == before
