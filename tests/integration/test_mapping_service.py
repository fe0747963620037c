"""Versioned, audited, permission-checked mapping sets on real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.domain import Component
from desktop.services.core.errors import ConfigurationError, NeedsPersonError, PermissionDenied
from desktop.services.core.events import Event, EventBus, EventKind
from desktop.services.mapping import MappingService, MatchContext, ReferenceSnapshot, Rule, TrackingRef
from desktop.services.mapping.service import UnknownOrganization
from desktop.services.store.db import Database
from desktop.services.store.models import (
    AuditLog,
    MappingSet,
    Platform,
    RefAccount,
    RefItem,
    RefTaxCode,
    RefTracking,
    ReturnSyncStatus,
)
from desktop.services.store.testing import T0, make_connection, make_org, make_return

pytestmark = pytest.mark.db

ADMIN = Actor("alice", Role.ADMIN)
M, FEE, REFUND = Component.MERCHANDISE, Component.RESTOCKING_FEE, Component.REFUND


@pytest.fixture
def db(db: Database) -> Database:
    """The migrated database, with this module's organizations."""
    with db.write_session() as s:
        make_org(s, code="ACME-US")
        make_org(s, code="KIWI-NZ", platform=Platform.XERO, home_currency="NZD", timezone="Pacific/Auckland")
    return db


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0, tick=timedelta(seconds=1))


@pytest.fixture
def events() -> tuple[EventBus, list[Event]]:
    bus, seen = EventBus(), []
    bus.subscribe(seen.append, kinds=["mapping.*"])
    return bus, seen


V1 = [Rule(M, account_id="3", item_id="10"), Rule(FEE, account_id="4"), Rule(REFUND, currency="USD", account_id="1")]


def test_every_save_is_a_new_active_version_and_old_ones_are_kept(
        db: Database, clock: ManualClock, events: tuple[EventBus, list[Event]]) -> None:
    bus, seen = events
    svc = MappingService(db, clock, bus)
    assert svc.active_set("ACME-US") is None and svc.resolver("ACME-US").version == 0
    v1 = svc.save("ACME-US", V1, ADMIN, "first")
    v2_rules = [*V1[:2], Rule(REFUND, currency="USD", account_id="8", priority=1),
                Rule(M, channel="web", account_id="3", tracking=(TrackingRef("class", "100", "Online Store"),))]
    v2 = svc.save("ACME-US", v2_rules, ADMIN, "second")
    assert (v1.version, v2.version) == (1, 2) and v2.is_active and v2.created_by == "alice"
    assert v2.rules == tuple(v2_rules) and all(r.rule_id for r in v2.rules)
    assert svc.get_version("ACME-US", 1).rules == tuple(V1), "the old version is untouched"
    assert [(h.version, h.is_active, h.rule_count, h.note) for h in svc.history("ACME-US")] == [
        (2, True, 4, "second"), (1, False, 3, "first")]
    with db.session() as s:
        assert s.execute(sa.select(sa.func.count()).select_from(MappingSet).where(MappingSet.is_active)).scalar() == 1
    # The other organization is independent.
    assert svc.save("KIWI-NZ", [Rule(FEE, account_id="x")], ADMIN).version == 1
    assert [e.kind for e in seen] == [EventKind.MAPPING_CHANGED] * 3
    assert seen[1].org == "ACME-US" and seen[1].details["version"] == 2


def test_the_resolver_follows_the_active_version(db: Database, clock: ManualClock) -> None:
    svc = MappingService(db, clock)
    svc.save("ACME-US", V1, ADMIN)
    svc.save("ACME-US", [Rule(M, account_id="99")], ADMIN)
    r = svc.resolver("ACME-US")
    assert r.version == 2 and r.resolve(MatchContext(M)).account_id == "99"  # type: ignore[union-attr]
    svc.activate("ACME-US", 1, ADMIN, "roll back")
    r = svc.resolver("ACME-US")
    assert r.version == 1 and r.resolve(MatchContext(M)).item_id == "10"  # type: ignore[union-attr]
    assert r.resolve(MatchContext(M)).rule_id is not None  # type: ignore[union-attr]
    assert [h.version for h in svc.history("ACME-US") if h.is_active] == [1]


def test_diff_between_versions(db: Database, clock: ManualClock) -> None:
    svc = MappingService(db, clock)
    svc.save("ACME-US", V1, ADMIN)
    changed = [Rule(M, account_id="3", item_id="11"), V1[1], Rule(Component.LABEL_COST, account_id="6")]
    svc.save("ACME-US", changed, ADMIN)
    d = svc.diff("ACME-US", 1, 2)
    assert d.summary() == "1 added, 1 removed, 1 changed"
    assert d.changed[0].fields == ("item_id",)
    assert svc.preview("ACME-US", changed).empty
    with pytest.raises(NeedsPersonError, match="no mapping version 7"):
        svc.diff("ACME-US", 1, 7)


def test_viewers_and_operators_may_not_change_mappings(db: Database, clock: ManualClock) -> None:
    svc = MappingService(db, clock)
    for role in (Role.VIEWER, Role.OPERATOR):
        with pytest.raises(PermissionDenied, match="may not manage mappings"):
            svc.save("ACME-US", V1, Actor("vic", role))
    svc.save("ACME-US", V1, ADMIN)
    with pytest.raises(PermissionDenied):
        svc.activate("ACME-US", 1, Actor("vic", Role.VIEWER))
    assert [h.version for h in svc.history("ACME-US")] == [1], "nothing was written"
    with db.session() as s:
        assert [a.actor for a in s.execute(sa.select(AuditLog)).scalars()] == ["alice"]


def test_every_change_is_audited_in_the_hash_chain(db: Database, clock: ManualClock) -> None:
    svc = MappingService(db, clock)
    svc.save("ACME-US", V1, ADMIN, "first")
    svc.save("ACME-US", [*V1, Rule(Component.LABEL_COST, account_id="6")], ADMIN, "add label cost",
             action="mapping.imported")
    svc.activate("ACME-US", 1, ADMIN, "undo")
    with db.session() as s:
        rows = list(s.execute(sa.select(AuditLog).order_by(AuditLog.seq)).scalars())
        assert [(r.action, r.target) for r in rows] == [
            ("mapping.saved", "mapping_set:ACME-US:v1"), ("mapping.imported", "mapping_set:ACME-US:v2"),
            ("mapping.activated", "mapping_set:ACME-US:v1")]
        assert rows[1].details["summary"] == "1 added" and rows[1].details["previous_version"] == 1
        assert rows[1].details["changes"]["added"][0]["component"] == "label_cost"
        assert rows[2].details == {"version": 1, "previous_version": 2, "note": "undo"}
        assert all(r.organization_id is not None and r.actor == "alice" for r in rows)
        assert audit.verify_chain(s).intact


def test_unknown_organization(db: Database, clock: ManualClock) -> None:
    with pytest.raises(UnknownOrganization, match="no organization 'NOPE'"):
        MappingService(db, clock).active_set("NOPE")


def _fill_reference_cache(db: Database) -> int:
    with db.write_session() as s:
        org = s.execute(sa.text("SELECT id FROM organizations WHERE code = 'ACME-US'")).scalar_one()
        from desktop.services.store.models import Organization
        conn = make_connection(s, s.get(Organization, org))  # type: ignore[arg-type]
        conn.company = {"home_currency": "USD", "currencies": ["CAD", "USD"], "closed_through": "2026-01-31",
                        "country": "US", "multicurrency": True}
        common = {"connection_id": conn.id, "raw": {}, "fetched_at": T0}
        s.add_all([
            RefAccount(remote_id="3", name="Sales Returns and Allowances", code="4100", type="Income", **common),
            RefAccount(remote_id="5", name="Old Fees", type="Income", status="INACTIVE", active=False, **common),
            RefItem(remote_id="10", name="Returned Merchandise", type="Service", income_account_remote_id="3",
                    sku="RM", **common),
            RefTaxCode(remote_id="31", name="California", type="taxable", rate=Decimal("9.5"), **common),
            RefTracking(remote_id="100", name="Online Store", kind="class", **common),
        ])
        return conn.id


def test_snapshot_loads_from_the_reference_cache_and_the_connection(db: Database, clock: ManualClock) -> None:
    conn_id = _fill_reference_cache(db)
    with db.session() as s:
        snap = ReferenceSnapshot.load(s, conn_id)
    assert snap.platform == "qbo" and snap.ledger_name == "QuickBooks"
    assert snap.home_currency == "USD" and snap.currencies == {"USD", "CAD"}
    assert snap.closed_through == date(2026, 1, 31)
    assert snap.account_by_code("4100").name == "Sales Returns and Allowances"  # type: ignore[union-attr]
    assert not snap.accounts["5"].active
    assert snap.items["10"].parent_id == "3" and snap.items["10"].code == "RM"
    assert snap.find_tax_code(None, "California").remote_id == "31"  # type: ignore[union-attr]
    assert snap.find_tracking("class", name="online store") is not None
    svc = MappingService(db, clock)
    assert svc.snapshot("ACME-US") == snap
    assert svc.snapshot("KIWI-NZ") is None, "no connection yet"
    svc.save("ACME-US", [Rule(M, account_id="3")], ADMIN)
    assert svc.resolver("ACME-US").resolve(MatchContext(M)).account_code == "4100"  # type: ignore[union-attr]
    with pytest.raises(LookupError), db.session() as s:
        ReferenceSnapshot.load(s, 9999)


def test_contexts_in_use_come_from_returns_still_to_post(db: Database, clock: ManualClock) -> None:
    with db.write_session() as s:
        from desktop.services.store.models import Organization
        org = s.execute(sa.select(Organization).where(Organization.code == "ACME-US")).scalar_one()
        waiting = make_return(s, org, rms_id="R-1")
        waiting.channel, waiting.warehouse = "web", "WH-RENO"
        waiting.raw_payload = {**waiting.raw_payload, "organization": "ACME-US"}
        posted = make_return(s, org, rms_id="R-2", currency="CAD")
        posted.sync_status = ReturnSyncStatus.POSTED
    ctxs = MappingService(db, clock).contexts_in_use("ACME-US")
    assert MatchContext(M, reason_code="DAMAGED", disposition="RESTOCK", channel="web", warehouse="WH-RENO",
                        currency="USD") in ctxs
    assert MatchContext(REFUND, channel="web", warehouse="WH-RENO", currency="USD") in ctxs
    assert all(c.currency == "USD" for c in ctxs), "posted returns are not in use"


def test_import_validates_then_saves_or_refuses(db: Database, clock: ManualClock,
                                                events: tuple[EventBus, list[Event]]) -> None:
    bus, seen = events
    svc = MappingService(db, clock, bus)
    doc = {"format": "returns-ledger-mapping/1", "rules": [
        {"component": "merchandise", "account": "4100", "item": "Returned Merchandise",
         "tracking": [{"category": "class", "option": "Online Store"}]}]}
    assert [p.code for p in svc.import_document("ACME-US", doc, ADMIN).problems] == ["no_reference_data"]
    _fill_reference_cache(db)
    with pytest.raises(PermissionDenied):
        svc.import_document("ACME-US", doc, Actor("vic", Role.VIEWER))
    preview = svc.import_document("ACME-US", doc, Actor("vic", Role.VIEWER), dry_run=True)
    assert preview.ok and preview.saved is None and preview.changes.summary() == "1 added"
    done = svc.import_document("ACME-US", doc, ADMIN, "from file")
    assert done.ok and done.saved is not None and done.saved.version == 1
    assert done.saved.rules[0].tracking == (TrackingRef("class", "100"),)

    bad = {"format": "returns-ledger-mapping/1", "rules": [{"component": "restocking_fee", "account": "Old Fees"},
                                                           {"component": "merchandise", "reason_code": "DAMAGD",
                                                            "account": "4100"}]}
    refused = svc.import_document("ACME-US", bad, ADMIN)
    assert [p.code for p in refused.problems] == ["inactive_account", "unknown_code"]
    assert refused.saved is None and [h.version for h in svc.history("ACME-US")] == [1]
    assert [e.kind for e in seen] == [EventKind.MAPPING_INVALID, EventKind.MAPPING_IMPORTED,
                                      EventKind.MAPPING_INVALID]
    assert seen[2].details["problems"] == ["inactive_account", "unknown_code"]
    assert seen[2].message.startswith("ACME-US: mapping import refused (2 problem(s)): Restocking fee → account "
                                      "'Old Fees' is inactive in QuickBooks")


def test_an_empty_mapping_is_refused_unless_explicitly_allowed(db: Database, clock: ManualClock) -> None:
    """A viewer's — or anyone's — import of a file without rules once wiped a live mapping."""
    svc = MappingService(db, clock, None)
    _fill_reference_cache(db)
    doc = {"format": "returns-ledger-mapping/1", "rules": [{"component": "merchandise", "account": "4100",
                                                            "item": "Returned Merchandise"}]}
    assert svc.import_document("ACME-US", doc, ADMIN).ok
    empty = {"format": "returns-ledger-mapping/1", "rules": []}

    refused = svc.import_document("ACME-US", empty, ADMIN)

    assert [p.code for p in refused.problems] == ["empty_mapping"] and refused.saved is None
    assert "remove all 1 rule(s)" in refused.problems[0].message
    with pytest.raises(ConfigurationError, match="without rules"):
        svc.save("ACME-US", [], ADMIN)
    current = svc.active_set("ACME-US")
    assert current is not None and len(current.rules) == 1 and [h.version for h in svc.history("ACME-US")] == [1]
    allowed = svc.import_document("ACME-US", empty, ADMIN, "start over", allow_empty=True)
    assert allowed.ok and allowed.saved is not None and allowed.saved.rules == ()


def test_the_rms_profile_supplies_the_vocabulary(db: Database, clock: ManualClock) -> None:
    from desktop.services.rms.context import PROFILE_KEY
    from desktop.services.store.models import Organization
    with db.write_session() as s:
        org = s.execute(sa.select(Organization).where(Organization.code == "ACME-US")).scalar_one()
        org.settings = {PROFILE_KEY: {"code": "ACME-US", "currencies": ["USD"], "home_currency": "USD",
                                      "tax_jurisdictions": [{"code": "US-CA", "name": "CA", "rate": "0.0725"},
                                                            {"code": "US-CA-LA", "name": "LA", "rate": "0.0225"}]}}
    words = MappingService(db, clock).vocabulary("ACME-US")
    assert words["tax_jurisdiction"] == {"US-CA", "US-CA-LA"} and "DAMAGED" in words["reason_code"]
    _fill_reference_cache(db)
    problems = MappingService(db, clock).validate("ACME-US", [
        Rule(Component.TAX, tax_jurisdiction="US-CA+US-CA-LA", tax_code="31"),
        Rule(Component.TAX, tax_jurisdiction="US-NY", tax_code="31")])
    assert [(p.code, p.field) for p in problems] == [("unknown_code", "rules[1].tax_jurisdiction")]
    assert "no tax jurisdiction US-NY (it knows US-CA, US-CA-LA)" in problems[0].message
