"""Retry and resolve from the error log: operators may, viewers may not, and everything is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from desktop.services.admin import audit
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import ConfigurationError, NeedsPersonError, PermissionDenied
from desktop.services.core.events import EventKind, Severity
from desktop.services.store.models import AuditLog, Organization, OutboxDocument, OutboxStatus, Platform
from tests.helpers.worlds import World

pytestmark = pytest.mark.db
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OPERATOR = Actor("olivia", Role.OPERATOR)
VIEWER = Actor("victor", Role.VIEWER)


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> Iterator[World]:
    """This module's world: on a manual clock, events kept in the event log, and one organization
    with a document in each state the error queue cares about (secrets in payload and error)."""
    with World(db_url, tmp_path, clock=ManualClock(T0), event_log=True) as w:
        with w.db.write_session() as s:
            org = Organization(code="ACME", name="Acme Outdoor", platform=Platform.QBO, timezone="America/Denver",
                               home_currency="USD", settings={}, is_active=True, created_at=T0, updated_at=T0)
            s.add(org)
            s.flush()
            for key, status in (("K-FAILED", OutboxStatus.FAILED), ("K-QUAR", OutboxStatus.QUARANTINED),
                                ("K-UNCERTAIN", OutboxStatus.UNCERTAIN), ("K-POSTED", OutboxStatus.POSTED)):
                s.add(OutboxDocument(
                    organization_id=org.id, idempotency_key=key, role="refund", platform=Platform.QBO,
                    doc_type="CreditMemo", status=status, attempts=3, created_at=T0, updated_at=T0,
                    payload={"DocNumber": key, "access_token": "eyJsecret-token-value", "TotalAmt": "12.50"},
                    last_error={"message": "Business validation error", "platform_code": "6000",
                                "headers": {"Authorization": "Bearer abcdefghijklmnop"}}))
        yield w


def _status(world: World, key: str) -> str:
    return str(world.outbox(key).status)


def _org_id(world: World) -> int:
    with world.db.session() as s:
        return int(s.scalar(sa.select(Organization.id).where(Organization.code == "ACME")))


def test_operator_retries_failed_and_quarantined_documents(world: World) -> None:
    assert world.errors.retry(OPERATOR, "K-FAILED") == "pending"
    assert world.errors.retry(OPERATOR, "K-QUAR") == "pending"
    assert _status(world, "K-FAILED") == _status(world, "K-QUAR") == "pending"
    assert world.audit() == [("olivia", "document.retried", "K-FAILED"), ("olivia", "document.retried", "K-QUAR")]
    retried = [e for e in world.events if e.kind == EventKind.DOCUMENT_RETRIED]
    assert [e.document_key for e in retried] == ["K-FAILED", "K-QUAR"]
    with world.db.session() as s:
        assert audit.verify_chain(s).intact
        entry = s.scalars(sa.select(AuditLog)).first()
        assert entry is not None and entry.organization_id == _org_id(world)
        assert entry.details["from"] == "failed"


def test_retry_refuses_what_must_not_be_resent(world: World) -> None:
    with pytest.raises(NeedsPersonError, match="may already be in the ledger"):
        world.errors.retry(OPERATOR, "K-UNCERTAIN")
    with pytest.raises(NeedsPersonError, match="posted; there is nothing to retry"):
        world.errors.retry(OPERATOR, "K-POSTED")
    with pytest.raises(ConfigurationError, match="no document K-NOPE"):
        world.errors.retry(OPERATOR, "K-NOPE")
    assert _status(world, "K-UNCERTAIN") == "uncertain" and world.audit() == []


def test_viewer_can_neither_retry_nor_resolve(world: World) -> None:
    event = world.bus.emit(EventKind.DOCUMENT_QUARANTINED, Severity.ERROR, "Credit memo needs a person",
                           org="ACME", document_key="K-QUAR")
    assert world.sink.flush()
    with pytest.raises(PermissionDenied, match="victor is a viewer and may not resolve errors"):
        world.errors.retry(VIEWER, "K-QUAR")
    with pytest.raises(PermissionDenied):
        world.errors.resolve(VIEWER, [event.event_id], "looked fine")
    assert _status(world, "K-QUAR") == "quarantined"
    assert world.errors.resolutions([event.event_id]) == {} and world.audit() == []


def test_resolve_with_a_note_is_stored_audited_and_loaded_with_history(world: World) -> None:
    events = [world.bus.emit(EventKind.DOCUMENT_FAILED, Severity.WARNING, f"failed {i}", org="ACME",
                             document_key="K-FAILED") for i in range(3)]
    assert world.sink.flush()
    with pytest.raises(ConfigurationError, match="Say how"):
        world.errors.resolve(OPERATOR, [events[0].event_id], "   ")
    world.clock.advance(timedelta(seconds=60))
    done = world.errors.resolve(OPERATOR, [events[0].event_id, events[2].event_id], "Mapped the tax code; reposted")
    assert {r.event_id for r in done} == {events[0].event_id, events[2].event_id}
    history, resolutions = world.errors.history()
    assert [e.event_id for e in history] == [e.event_id for e in events]
    assert set(resolutions) == {events[0].event_id, events[2].event_id}
    r = resolutions[events[0].event_id]
    assert (r.by, r.note, r.at) == ("olivia", "Mapped the tax code; reposted", world.clock.now())
    assert world.errors.resolutions([e.event_id for e in events]).keys() == resolutions.keys()
    assert world.audit() == [("olivia", "error.resolved", "K-FAILED")] * 2
    with world.db.session() as s:
        entry = s.scalars(sa.select(AuditLog)).first()
        assert entry is not None and entry.organization_id == _org_id(world)
        assert entry.details["event_id"] in {events[0].event_id, events[2].event_id}
        assert entry.details["note"] == "Mapped the tax code; reposted"


def test_document_context_is_redacted(world: World) -> None:
    ctx = world.errors.document_context("K-QUAR")
    assert ctx is not None and ctx.retryable and ctx.status == "quarantined" and ctx.attempts == 3
    assert ctx.request["access_token"] == "***" and ctx.request["TotalAmt"] == "12.50"
    assert ctx.last_error is not None and ctx.last_error["headers"]["Authorization"] == "***"
    text = repr(ctx)
    assert "eyJsecret" not in text and "abcdefghijklmnop" not in text
    assert world.errors.document_context("K-NOPE") is None
    posted = world.errors.document_context("K-POSTED")
    assert posted is not None and not posted.retryable
