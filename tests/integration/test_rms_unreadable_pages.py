"""A feed page the RMS never sends readably (HTML, cut off, not JSON, not the envelope; all HTTP 200).

Over real HTTP to the sandbox RMS, whose fault hook spoils every page holding one known revision,
into SQLite and PostgreSQL. Retried, counted across restarts (a new service per pull), set aside after
``MAX_PAGE_ATTEMPTS``, the feed goes on, a person is told what to do, and ``repull`` reads it later.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from desktop.services.alerts.rules import RuleName, Thresholds, evaluate
from desktop.services.auth.roles import Actor, Role
from desktop.services.core.errors import PermissionDenied, TransientError
from desktop.services.core.events import Event, EventBus, EventKind, Severity
from desktop.services.queries.errors import explain
from desktop.services.rms.client import EXCERPT_CHARS, RmsClient
from desktop.services.rms.feed_guard import MAX_PAGE_ATTEMPTS, UNREADABLE_PAGE, load_state, set_aside_windows
from desktop.services.rms.ingest import CURSOR_SOURCE, IngestService
from desktop.services.store.db import Database
from desktop.services.store.models import Organization, SyncCursor
from tests.helpers.rms import ingest_bus, ingest_service, rows
from tests.helpers.sandbox import SandboxHandle, fast_http, fast_rms_client

pytestmark = pytest.mark.db
OPERATOR = Actor("olivia", Role.OPERATOR)
ORG = "ACME-US"
PAGE = 25
EXCERPTS = {"html": "<!DOCTYPE html><html><head><title>502 Bad Gateway", "truncated": '{"returns": [{',
            "not_json": "Internal error: could not serialise the page", "wrong_envelope": '{"data": {"returns": ['}


def feed(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        body = json.loads(sandbox.rms("GET", "/v1/returns", params={"cursor": cursor, "limit": 500,
                                                                    "organization": ORG}).content,
                          parse_float=Decimal)
        out.extend(body["returns"])
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return out


@pytest.fixture
def client(sandbox: SandboxHandle) -> RmsClient:
    return fast_rms_client(sandbox.info)


@pytest.fixture
def bus() -> EventBus:
    return ingest_bus()


@pytest.fixture
def events(bus: EventBus) -> list[Event]:
    seen: list[Event] = []
    bus.subscribe(seen.append, kinds=[EventKind.RETURN_PAGE_SET_ASIDE, EventKind.RETURN_PAGE_RECOVERED])
    return seen


def _service(db: Database, bus: EventBus, client: RmsClient) -> IngestService:
    """A new service each time: what a restarted app has (the count lives in the database)."""
    return ingest_service(db, bus, client)


def _spoil(sandbox: SandboxHandle, rec: dict[str, Any], mode: str, times: int | None = None) -> None:
    sandbox.control("POST", "rms/unreadable", {"id": rec["id"], "revision": rec["revision"], "mode": mode,
                                               **({"times": times} if times is not None else {})})


def _state(db: Database) -> Any:
    with db.session() as s:
        org_id = s.scalar(sa.select(Organization.id).where(Organization.code == ORG))
        assert org_id is not None
        return load_state(s, org_id)


def _keys(db: Database) -> set[tuple[str, int]]:
    return {(r.rms_id, r.revision) for r in rows(db, ORG)}


def test_a_page_that_fails_a_few_times_is_retried_and_then_read(
        db: Database, sandbox: SandboxHandle, client: RmsClient, bus: EventBus, events: list[Event]) -> None:
    records = feed(sandbox)
    _spoil(sandbox, records[PAGE + 5], "html", times=2)

    for attempt in (1, 2):
        with pytest.raises(TransientError, match=f"attempt {attempt} of {MAX_PAGE_ATTEMPTS}") as err:
            _service(db, bus, client).pull(ORG, client, page_size=PAGE)
        assert err.value.action is not None and "the next pull asks again" in err.value.action
        saved = f"the {PAGE} revisions read before it are saved"
        assert (saved in err.value.message) is (attempt == 1), "said by the pull that saved them"
        assert len(rows(db, ORG)) == PAGE, "the page before it was kept, nothing after it"
        failing = _state(db).failing
        assert failing is not None and failing.attempts == attempt
    result = _service(db, bus, client).pull(ORG, client, page_size=PAGE)

    assert _keys(db) == {(r["id"], r["revision"]) for r in records}
    assert result.ingested + result.quarantined == len(records) - PAGE and result.set_aside == 0
    state = _state(db)
    assert state.failing is None and state.set_aside == [], "a page read once clears its count"
    assert events == []


@pytest.mark.parametrize("mode", sorted(EXCERPTS))
def test_a_page_that_never_reads_is_set_aside_and_the_feed_goes_on(
        db: Database, sandbox: SandboxHandle, client: RmsClient, bus: EventBus, events: list[Event],
        mode: str) -> None:
    records = feed(sandbox)
    bad = records[PAGE + 5]
    _spoil(sandbox, bad, mode)

    for attempt in range(1, MAX_PAGE_ATTEMPTS):
        with pytest.raises(TransientError, match=f"attempt {attempt} of {MAX_PAGE_ATTEMPTS}"):
            _service(db, bus, client).pull(ORG, client, page_size=PAGE)
    held_before = len(rows(db, ORG))
    result = _service(db, bus, client).pull(ORG, client, page_size=PAGE)

    stored = _keys(db)
    assert stored == {(r["id"], r["revision"]) for r in records} - {(bad["id"], bad["revision"])}
    assert result.set_aside == 1
    assert result.ingested + result.quarantined == len(stored) - held_before, "the pull's counts are the database's"
    (window,) = _state(db).set_aside
    assert _state(db).failing is None
    assert (window.attempts, window.revisions) == (MAX_PAGE_ATTEMPTS, 1)
    assert window.excerpt.startswith(EXCERPTS[mode]) and len(window.excerpt) <= EXCERPT_CHARS
    (event,) = events
    assert event.kind == EventKind.RETURN_PAGE_SET_ASIDE and event.severity == Severity.ERROR
    said = explain(event)
    assert "could not be read after 5 attempts and was set aside" in said.what_happened
    assert "Ask the RMS vendor" in said.what_to_do and f"returns-ledger rms repull --org {ORG}" in said.what_to_do
    assert said.platform_message == window.excerpt and said.problems[0].code == UNREADABLE_PAGE
    (alert,) = evaluate(event, Thresholds(), lambda _org: 0)  # the tray and e-mail alerts say it too
    assert alert.rule is RuleName.SYNC_FAILURE and alert.severity == Severity.ERROR
    assert alert.title == f"{ORG}: a return was set aside" and "rms repull" in alert.body
    later = _service(db, bus, client).pull(ORG, client, page_size=PAGE)
    assert later.counts() == dict.fromkeys(later.counts(), 0), "the cursor is past it: later pulls proceed"

    service = _service(db, bus, client)
    with pytest.raises(PermissionDenied):
        service.repull(ORG, client, Actor("vic", Role.VIEWER))
    assert set_aside_windows(db) == {ORG: [window]} and set_aside_windows(db, "TEA-UK") == {}
    _result, still = service.repull(ORG, client, OPERATOR)
    assert (len(still.recovered), len(still.still_unreadable)) == (0, 1)
    assert _state(db).set_aside[0].retries == 1

    _spoil(sandbox, bad, mode, times=0)  # the RMS vendor fixed it
    again, windows = service.repull(ORG, client, OPERATOR)

    assert (len(windows.recovered), len(windows.still_unreadable)) == (1, 0)
    assert again.ingested + again.quarantined == 1
    assert _keys(db) == {(r["id"], r["revision"]) for r in records}, "nothing lost"
    assert _state(db).set_aside == []
    assert [e.kind for e in events] == [EventKind.RETURN_PAGE_SET_ASIDE, EventKind.RETURN_PAGE_RECOVERED]
    with db.session() as s:
        cursors = dict(s.execute(sa.select(SyncCursor.source, SyncCursor.cursor_value)).all())
    assert cursors[CURSOR_SOURCE] == later_cursor(client)


def later_cursor(client: RmsClient) -> str:
    """Where the feed of ``ORG`` ends now (the RMS's own next_cursor at the end)."""
    cursor = ""
    while True:
        page = client.changes(cursor, 500, organization=ORG)
        cursor = page.next_cursor
        if not page.has_more:
            return cursor


def test_two_unreadable_revisions_in_one_page_are_each_set_aside_and_the_rest_read(
        db: Database, sandbox: SandboxHandle, client: RmsClient, bus: EventBus) -> None:
    records = feed(sandbox)
    bad = [records[PAGE + 3], records[PAGE + 17]]
    for rec in bad:
        _spoil(sandbox, rec, "truncated")
    for _ in range(MAX_PAGE_ATTEMPTS - 1):
        with pytest.raises(TransientError):
            _service(db, bus, client).pull(ORG, client, page_size=PAGE)

    result = _service(db, bus, client).pull(ORG, client, page_size=PAGE)

    assert result.set_aside == 2
    assert _keys(db) == {(r["id"], r["revision"]) for r in records} - {(r["id"], r["revision"]) for r in bad}
    assert len(_state(db).set_aside) == 2


class _CutAfterOneNarrowedPage(RmsClient):
    """The RMS client whose connection drops right after the first page read while narrowing (the
    app stopping part-way through a set-aside): an injected fault at the client's edge."""

    def __init__(self, info: dict[str, Any]) -> None:
        super().__init__(info["rms"]["base_url"], info["rms"]["api_key"], http=fast_http("rms"))
        self.narrowed = 0

    def changes(self, cursor: str | None, limit: int = 100, *, organization: str | None = None,
                skip: int = 0) -> Any:
        if self.narrowed and limit < PAGE:
            raise TransientError("The RMS did not answer GET /v1/returns (connection reset)", platform="rms")
        page = super().changes(cursor, limit, organization=organization, skip=skip)
        self.narrowed += int(limit < PAGE)
        return page


def test_a_set_aside_cut_short_resumes_on_the_next_pull_without_counting_again(
        db: Database, sandbox: SandboxHandle, client: RmsClient, bus: EventBus) -> None:
    records = feed(sandbox)
    bad = records[PAGE + 20]  # the first half of its page reads; the narrowing is cut after that
    _spoil(sandbox, bad, "not_json")
    for _ in range(MAX_PAGE_ATTEMPTS - 1):
        with pytest.raises(TransientError, match="attempt"):
            _service(db, bus, client).pull(ORG, client, page_size=PAGE)
    with pytest.raises(TransientError, match="connection reset"):
        _service(db, bus, client).pull(ORG, _CutAfterOneNarrowedPage(sandbox.info), page_size=PAGE)
    failing = _state(db).failing
    assert failing is not None and failing.attempts == MAX_PAGE_ATTEMPTS, "the count moved with the cursor"

    result = _service(db, bus, client).pull(ORG, client, page_size=PAGE)

    assert result.set_aside == 1
    assert _keys(db) == {(r["id"], r["revision"]) for r in records} - {(bad["id"], bad["revision"])}
    (window,) = _state(db).set_aside
    assert window.attempts == MAX_PAGE_ATTEMPTS + 1 and window.first_failed_at < window.set_aside_at
