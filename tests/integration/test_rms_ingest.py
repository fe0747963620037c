"""RMS ingest over real HTTP against the sandbox RMS, into real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.core.errors import ConfigurationError, FatalError, NeedsPersonError, TransientError
from desktop.services.core.events import Event, EventBus, EventKind
from desktop.services.rms.client import Page, RmsClient
from desktop.services.rms.context import PROFILE_KEY, OrgContext
from desktop.services.rms.ingest import CURSOR_SOURCE, IngestService
from desktop.services.rms.parse import parse_return
from desktop.services.rms.records import from_row
from desktop.services.store.db import Database
from desktop.services.store.models import (
    Organization,
    Platform,
    QuarantineReason,
    Return,
    ReturnSyncStatus,
    SyncCursor,
)
from tests.helpers.rms import PLATFORMS, T0, ingest_bus, ingest_service, rows
from tests.helpers.sandbox import fast_http, fast_rms_client

pytestmark = pytest.mark.db


@pytest.fixture
def client(sandbox: Any) -> RmsClient:
    return fast_rms_client(sandbox.info)


@pytest.fixture
def bus() -> EventBus:
    return ingest_bus()


@pytest.fixture
def service(db: Database, bus: EventBus, client: RmsClient) -> IngestService:
    return ingest_service(db, bus, client)


def feed(sandbox: Any, org: str) -> list[dict[str, Any]]:
    """Every revision of ``org`` straight from the emulator, parsed exactly."""
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        resp = sandbox.rms("GET", "/v1/returns", params={"cursor": cursor, "limit": 500, "organization": org})
        body = json.loads(resp.content, parse_float=Decimal)
        out.extend(body["returns"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return out


def record_events(bus: EventBus) -> list[Event]:
    seen: list[Event] = []
    bus.subscribe(seen.append, kinds=["return.*"])
    return seen


def test_organizations_come_from_the_rms(db: Database, client: RmsClient, bus: EventBus) -> None:
    svc = IngestService(db, bus, bus.clock)
    first = svc.ensure_organizations(client, platforms={"ACME-US": Platform.QBO})
    assert first.created == ["ACME-US"]
    assert set(first.skipped) == {"MAPLE-CA", "KIWI-NZ", "TEA-UK"}
    again = svc.ensure_organizations(client, default_platform=Platform.XERO)
    assert sorted(again.created) == ["KIWI-NZ", "MAPLE-CA", "TEA-UK"]
    assert again.updated == []  # ACME-US already matched the RMS
    with db.session() as session:
        orgs = {o.code: o for o in session.scalars(sa.select(Organization))}
    assert orgs["ACME-US"].platform is Platform.QBO  # never overwritten by a default
    assert orgs["TEA-UK"].home_currency == "GBP"
    assert orgs["TEA-UK"].timezone == "Europe/London"
    ctx = svc.context_for("TEA-UK")
    assert ctx.currencies == ("GBP", "EUR", "JPY")
    assert ctx.jurisdictions["GB-VAT"].rate == Decimal("0.20")
    assert orgs["TEA-UK"].settings[PROFILE_KEY]["tax_jurisdictions"][0]["rate"] == "0.20"


def test_pull_ingests_every_revision_once_and_a_second_pull_nothing(
        db: Database, sandbox: Any, service: IngestService, client: RmsClient, bus: EventBus) -> None:
    events = record_events(bus)
    expected = feed(sandbox, "ACME-US")

    result = service.pull("ACME-US", client, page_size=25)

    stored = rows(db, "ACME-US")
    assert result.pages == -(-len(expected) // 25)
    assert result.ingested + result.quarantined == len(expected) == len(stored)
    assert result.unchanged == result.conflicts == result.replaced == 0
    assert sorted((r.rms_id, r.revision) for r in stored) == sorted((d["id"], d["revision"]) for d in expected)
    by_key = {(d["id"], d["revision"]): d for d in expected}
    ctx = service.context_for("ACME-US")
    for row in stored:  # the raw payload is kept exactly, and the columns say what it says
        raw = by_key[(row.rms_id, row.revision)]
        assert row.raw_payload == raw
        if row.sync_status is not ReturnSyncStatus.QUARANTINED:
            record, problems = parse_return(raw, ctx)
            assert problems == []
            assert from_row(row) == record
    # Only the newest revision of each return is live; older ones are superseded.
    newest: dict[str, int] = {}
    for d in expected:
        newest[d["id"]] = max(newest.get(d["id"], 0), d["revision"])
    for row in stored:
        if row.revision < newest[row.rms_id]:
            assert row.sync_status is ReturnSyncStatus.SUPERSEDED
        else:
            assert row.sync_status in (ReturnSyncStatus.NEW, ReturnSyncStatus.QUARANTINED)
    assert result.superseded == sum(1 for d in expected if d["revision"] < newest[d["id"]])
    kinds = [e.kind for e in events]
    assert kinds.count(EventKind.RETURN_INGESTED) == result.ingested
    assert kinds.count(EventKind.RETURN_QUARANTINED) == result.quarantined
    with db.session() as session:
        cursor = session.scalars(sa.select(SyncCursor).where(SyncCursor.source == CURSOR_SOURCE)).one()
    assert cursor.cursor_value

    second = service.pull("ACME-US", client, page_size=25)
    assert second.counts() == {"ingested": 0, "quarantined": 0, "unchanged": 0, "superseded": 0,
                               "replaced": 0, "conflicts": 0, "duplicates": 0, "set_aside": 0}
    assert len(rows(db, "ACME-US")) == len(stored)


def test_every_bad_record_is_quarantined_with_its_specific_problem(
        db: Database, sandbox: Any, service: IngestService, client: RmsClient) -> None:
    sandbox.control("POST", "reset", {"seed": 7, "rms": {"bad_ratio": 0.3, "scale": 0.5}})
    client = RmsClient(sandbox.info["rms"]["base_url"], sandbox.info["rms"]["api_key"], http=fast_http("rms"))
    bad = {b["id"]: b for b in sandbox.control("GET", "rms/bad")["bad"]}
    assert {b["defect"] for b in bad.values()} == {"missing_field", "unknown_reason_code", "negative_quantity",
                                                    "unknown_tax_jurisdiction", "malformed_amount", "wrong_currency"}
    for org in PLATFORMS:
        service.pull(org, client, page_size=200)
        for row in rows(db, org):
            if row.rms_id in bad:
                assert row.sync_status is ReturnSyncStatus.QUARANTINED, row.rms_id
                codes = {q.code for q in row.quarantine_reasons}
                assert bad[row.rms_id]["defect"] in codes, (bad[row.rms_id], codes)
                assert all(q.resolved_at is None and q.message for q in row.quarantine_reasons)
                assert row.raw_payload  # kept, even with fields missing
            else:
                assert row.sync_status is not ReturnSyncStatus.QUARANTINED, row.quarantine_reasons[0].message
    with db.session() as session:
        quarantined = session.scalar(sa.select(sa.func.count()).select_from(Return)
                                     .where(Return.sync_status == ReturnSyncStatus.QUARANTINED))
    assert quarantined == len(bad)


def test_a_new_revision_arrives_and_supersedes_but_never_a_posted_one(
        db: Database, sandbox: Any, service: IngestService, client: RmsClient) -> None:
    service.pull("MAPLE-CA", client)
    live = [r for r in rows(db, "MAPLE-CA") if r.sync_status is ReturnSyncStatus.NEW]
    plain, posted = live[0], live[1]
    with db.write_session() as session:
        session.execute(sa.update(Return).where(Return.id == posted.id)
                        .values(sync_status=ReturnSyncStatus.POSTED))
    new_plain = sandbox.control("POST", "rms/revise", {"id": plain.rms_id})
    new_posted = sandbox.control("POST", "rms/revise", {"id": posted.rms_id, "status": "closed"})

    result = service.pull("MAPLE-CA", client)

    assert (result.ingested, result.superseded, result.pages) == (2, 1, 1)
    by_key = {(r.rms_id, r.revision): r for r in rows(db, "MAPLE-CA")}
    assert by_key[(plain.rms_id, plain.revision)].sync_status is ReturnSyncStatus.SUPERSEDED
    assert by_key[(plain.rms_id, new_plain["revision"])].sync_status is ReturnSyncStatus.NEW
    assert by_key[(posted.rms_id, posted.revision)].sync_status is ReturnSyncStatus.POSTED
    assert by_key[(posted.rms_id, new_posted["revision"])].rms_status == "closed"


class CrashAfterFirstPage(RmsClient):
    """A real client; after the first page it makes the RMS fail (a fault rule), like an outage."""

    def __init__(self, sandbox: Any) -> None:
        super().__init__(sandbox.info["rms"]["base_url"], sandbox.info["rms"]["api_key"], http=fast_http("rms"))
        self.sandbox = sandbox
        self.pages = 0

    def changes(self, cursor: str | None, limit: int = 100, *, organization: str | None = None) -> Page:
        page = super().changes(cursor, limit, organization=organization)
        self.pages += 1
        if self.pages == 1:
            self.sandbox.control("POST", "faults", {"rules": [
                {"service": "rms", "action": "status", "status": 500, "path_regex": "^/v1/returns$"}]})
        return page


def test_a_crash_between_pages_then_a_retry_ends_with_the_same_rows(
        db: Database, sandbox: Any, service: IngestService, client: RmsClient) -> None:
    expected = feed(sandbox, "KIWI-NZ")
    crashing = CrashAfterFirstPage(sandbox)

    with pytest.raises(TransientError) as err:
        service.pull("KIWI-NZ", crashing, page_size=20)

    assert "RMS" in err.value.message and err.value.platform_code == "internal_error"
    assert len(rows(db, "KIWI-NZ")) == 20  # the first page and its cursor were committed together
    sandbox.control("DELETE", "faults")
    resumed = service.pull("KIWI-NZ", client, page_size=20)
    stored = rows(db, "KIWI-NZ")
    assert resumed.ingested + resumed.quarantined == len(expected) - 20
    assert sorted((r.rms_id, r.revision) for r in stored) == sorted((d["id"], d["revision"]) for d in expected)

    # A crash after the commit of a page but before the next read re-reads pages: harmless.
    with db.write_session() as session:
        session.execute(sa.update(SyncCursor).values(cursor_value=None))
    replay = service.pull("KIWI-NZ", client, page_size=20)
    assert (replay.unchanged, replay.ingested, replay.quarantined, replay.superseded) == (len(expected), 0, 0, 0)
    again = rows(db, "KIWI-NZ")
    assert [(r.id, r.sync_status, r.updated_at) for r in again] == [(r.id, r.sync_status, r.updated_at)
                                                                     for r in stored]


def test_superseded_quarantine_reasons_are_resolved(
        db: Database, sandbox: Any, service: IngestService, client: RmsClient) -> None:
    service.pull("TEA-UK", client)
    good = next(r for r in rows(db, "TEA-UK") if r.sync_status is ReturnSyncStatus.NEW)
    with db.write_session() as session:  # as if pre-flight had quarantined it
        session.execute(sa.update(Return).where(Return.id == good.id)
                        .values(sync_status=ReturnSyncStatus.QUARANTINED))
        session.add(QuarantineReason(return_id=good.id, code="unmapped_account", message="map it",
                                     created_at=T0))
    sandbox.control("POST", "rms/revise", {"id": good.rms_id})
    assert service.pull("TEA-UK", client).superseded == 1
    old = next(r for r in rows(db, "TEA-UK") if r.id == good.id)
    assert old.sync_status is ReturnSyncStatus.SUPERSEDED
    assert [q.resolved_by for q in old.quarantine_reasons] == ["ingest: superseded by a newer revision"]


def test_context_matches_the_rms_listing(client: RmsClient) -> None:
    ctx = OrgContext.from_rms(next(o for o in client.organizations() if o["code"] == "ACME-US"))
    assert ctx.currencies == ("USD", "CAD")
    assert set(ctx.jurisdictions) == {"US-CA", "US-CA-LA", "US-NY", "US-WA"}


# --- the client's errors, over real HTTP -------------------------------------------------------


def test_a_refused_api_key_needs_a_person_and_never_shows_the_key(sandbox: Any) -> None:
    wrong = RmsClient(sandbox.info["rms"]["base_url"], "rms_sk_not-the-key-1234567890", http=fast_http("rms"))
    with pytest.raises(NeedsPersonError) as err:
        wrong.changes(None, 10)
    assert err.value.message == "The RMS API key was refused"
    assert err.value.platform_code == "unauthorized"
    assert "not-the-key" not in err.value.user_message()


def test_transient_and_request_errors_are_translated(sandbox: Any, client: RmsClient) -> None:
    sandbox.control("POST", "faults", {"rules": [
        {"service": "rms", "action": "status", "status": 502, "path_regex": "^/v1/organizations$"}]})
    with pytest.raises(TransientError, match="unavailable right now"):
        client.organizations()
    sandbox.control("DELETE", "faults")
    with pytest.raises(NeedsPersonError) as err:  # the RMS's own message is kept
        client.changes("not-a-cursor", 10)
    assert err.value.platform_code == "invalid_cursor"
    assert "cursor is not one this API issued" in err.value.message
    assert client.get("ret_does_not_exist") is None
    dead = RmsClient("http://127.0.0.1:9/rms", "k", http=fast_http("rms"))
    with pytest.raises(TransientError, match="The RMS did not answer"):
        dead.organizations()
    with pytest.raises(ConfigurationError):
        RmsClient("http://rms.example.com/rms", "k")


def test_get_and_idempotent_write_back(sandbox: Any, client: RmsClient) -> None:
    first = client.changes(None, 1).returns[0]
    latest = client.get(first["id"])
    assert latest is not None and latest["id"] == first["id"]
    assert isinstance(latest["lines"][0]["unit_price"], str)
    update = {"revision": first["revision"], "status": "posted", "platform": "qbo",
              "documents": [{"type": "CreditMemo", "id": "146", "total": "12.50", "currency": "USD"}]}
    one = client.write_back(first["id"], update, "acme:ret:1:refund")
    two = client.write_back(first["id"], update, "acme:ret:1:refund")
    assert (one.replayed, two.replayed) == (False, True)
    assert one.status == two.status
    assert one.status["documents"][0]["total"] == "12.50"
    assert len(sandbox.control("GET", "rms/writebacks")["writebacks"]) == 1
    with pytest.raises(FatalError, match="already used with a different request") as err:
        client.write_back(first["id"], {**update, "status": "voided"}, "acme:ret:1:refund")
    assert err.value.action is not None and "idempotency key was reused" in err.value.action


def test_a_poison_record_is_quarantined_and_the_feed_moves_on(
        db: Database, sandbox: Any, service: IngestService) -> None:
    """An amount too large for any column once rolled back its whole page, and — the cursor not
    moving — every later pull failed on the same page. Now it is one quarantined record."""
    from desktop.services.rms.ingest import Incoming
    from desktop.services.rms.parse import RMS_FIX
    records = feed(sandbox, "ACME-US")[:3]
    poison = dict(records[1], refund_total="99999999999999999999999999.00")
    items = [Incoming(raw=r) for r in (records[0], poison, records[2])]

    result = service.ingest("ACME-US", items, ctx=service.context_for("ACME-US"), fix=RMS_FIX, source="test")

    by_id = {r.rms_id: r for r in rows(db, "ACME-US")}
    assert set(by_id) == {r["id"] for r in records}, "the good returns around it were ingested"
    bad = by_id[poison["id"]]
    assert bad.sync_status is ReturnSyncStatus.QUARANTINED and bad.refund_total_minor is None
    assert "amount_out_of_range" in {q.code for q in bad.quarantine_reasons}
    assert all(by_id[r["id"]].sync_status is ReturnSyncStatus.NEW for r in (records[0], records[2]))
    assert result.quarantined == 1
