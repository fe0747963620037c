"""The event bus: typed events, filtering, isolation of failing subscribers, threads, redaction."""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from desktop.services.core.clock import FixedClock, ManualClock, NaiveDatetimeError
from desktop.services.core.errors import ConfigurationError, FatalError, NeedsPersonError, TransientError
from desktop.services.core.events import (
    REDACTED,
    Event,
    EventBus,
    EventKind,
    Severity,
    is_secret_key,
    json_safe,
    redact,
    redact_text,
)
from desktop.services.core.money import Money

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def make_event(kind: str = EventKind.DOCUMENT_POSTED, severity: Severity = Severity.INFO,
               **fields: Any) -> Event:
    return Event(kind=kind, severity=severity, message=fields.pop("message", "posted"),
                 occurred_at=fields.pop("occurred_at", T0), **fields)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    @property
    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


# --- severity and kinds ---------------------------------------------------------------------------


def test_severity_orders_by_weight_not_spelling() -> None:
    assert sorted([Severity.WARNING, Severity.CRITICAL, Severity.DEBUG, Severity.ERROR, Severity.INFO]) == [
        Severity.DEBUG, Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL]
    assert Severity.ERROR < Severity.CRITICAL and not Severity.ERROR > Severity.CRITICAL
    assert Severity.DEBUG < Severity.INFO and not Severity.INFO <= Severity.DEBUG  # "debug" > "info" as text
    assert Severity.ERROR.at_least("warning") and not Severity.INFO.at_least(Severity.WARNING)
    assert Severity.WARNING >= "Warning" and Severity.WARNING.rank == logging.WARNING
    assert Severity.parse("CRITICAL") is Severity.CRITICAL
    assert Severity.from_logging_level(logging.ERROR + 5) is Severity.ERROR
    assert Severity.from_logging_level(0) is Severity.DEBUG
    with pytest.raises(ValueError):
        Severity.parse("fatal")
    with pytest.raises(TypeError):
        _ = Severity.INFO < 3


def test_event_kind_vocabulary_is_dotted_and_unique() -> None:
    values = [k.value for k in EventKind]
    assert len(values) == len(set(values))
    for value in values:
        make_event(kind=value)  # every known kind passes the event's own format check
    for needed in ("return.ingested", "document.quarantined", "document.posted", "document.failed",
                   "document.retry_scheduled", "document.uncertain_resolved", "change.pulled",
                   "sync.started", "sync.finished", "connection.needs_reconnect", "mapping.changed",
                   "reconciliation.variance"):
        assert EventKind.is_known(needed), needed
    assert not EventKind.is_known("made.up")


# --- the event ------------------------------------------------------------------------------------


def test_event_normalises_and_validates_its_fields() -> None:
    auckland = timezone(timedelta(hours=13))
    e = Event(kind=EventKind.RETURN_INGESTED, severity="Info",  # type: ignore[arg-type]
              message="RMA-1 ingested", occurred_at=datetime(2026, 5, 4, 22, 0, tzinfo=auckland),
              org="acme", rma="RMA-1", details={"lines": 3, "total": Money(Decimal("12.50"), "USD")})
    assert e.kind == "return.ingested" and type(e.kind) is str
    assert e.severity is Severity.INFO
    assert e.occurred_at == datetime(2026, 5, 4, 9, 0, tzinfo=UTC) and e.occurred_at.tzinfo is UTC
    assert dict(e.details) == {"lines": 3, "total": {"amount": "12.50", "currency": "USD"}}
    assert len(e.event_id) == 32 and e.event_id != make_event().event_id
    assert hash(e) != hash(make_event())  # hashable despite the details dict
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.message = "changed"  # type: ignore[misc]
    for bad_kind in ("posted", "Document.Posted", "document.", "document posted", ""):
        with pytest.raises(ValueError):
            make_event(kind=bad_kind)
    with pytest.raises(NaiveDatetimeError):
        make_event(occurred_at=datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(TypeError):
        make_event(details=["not", "a", "mapping"])


def test_event_to_dict_is_json_without_floats() -> None:
    e = make_event(details={"amount": Decimal("0.10"), "when": T0, "sev": Severity.ERROR, "ids": (1, 2)})
    text = json.dumps(e.to_dict())
    back = json.loads(text, parse_float=Decimal)
    assert back["details"] == {"amount": "0.10", "when": "2026-05-04T09:00:00+00:00", "sev": "error",
                               "ids": [1, 2]}
    assert back["occurred_at"] == "2026-05-04T09:00:00+00:00" and back["severity"] == "info"
    assert set(back) == {"event_id", "kind", "severity", "message", "occurred_at", "org", "rma",
                         "document_key", "platform", "platform_code", "platform_message", "details"}


def test_event_from_error_keeps_the_platform_word_and_the_action() -> None:
    clock = FixedClock(T0)
    err = ConfigurationError("Account 4000 is archived in Xero", platform="xero",
                             platform_code="ValidationException",
                             platform_message="Account code '4000' has been archived",
                             action="map 'restocking fee' to an active account")
    e = Event.from_error(EventKind.DOCUMENT_QUARANTINED, err, clock, org="acme", rma="RMA-7",
                         document_key="acme:7:1:credit", details={"line": 2})
    assert e.severity is Severity.ERROR
    assert e.message == "Account 4000 is archived in Xero — map 'restocking fee' to an active account"
    assert (e.platform, e.platform_code) == ("xero", "ValidationException")
    assert e.platform_message == "Account code '4000' has been archived"
    assert (e.org, e.rma, e.document_key, e.occurred_at) == ("acme", "RMA-7", "acme:7:1:credit", T0)
    assert e.details == {"error_kind": "needs_person", "error_type": "ConfigurationError",
                         "action": "map 'restocking fee' to an active account", "line": 2}

    busy = TransientError("QBO busy", retry_after_s=30.0, platform="qbo", platform_code="429")
    transient = Event.from_error("document.failed", busy, clock)
    assert transient.severity is Severity.WARNING
    assert transient.details["retry_after_s"] == "30.0"  # details hold no floats (exact JSON columns)
    assert Event.from_error("sync.failed", FatalError("bug"), clock).severity is Severity.CRITICAL
    assert Event.from_error("sync.failed", NeedsPersonError("x"), clock,
                            severity=Severity.WARNING).severity is Severity.WARNING


# --- the bus --------------------------------------------------------------------------------------


def test_delivery_in_publish_order_and_subscription_order() -> None:
    bus = EventBus(ManualClock(T0, tick=timedelta(seconds=1)))
    calls: list[tuple[str, str]] = []
    bus.subscribe(lambda e: calls.append(("first", e.message)))
    bus.subscribe(lambda e: calls.append(("second", e.message)))
    sent = [bus.emit(EventKind.SYNC_PROGRESS, Severity.INFO, f"step {i}") for i in range(3)]
    assert calls == [(who, f"step {i}") for i in range(3) for who in ("first", "second")]
    assert [e.occurred_at for e in sent] == [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]


def test_filtering_by_kind_prefix_and_severity() -> None:
    bus = EventBus(FixedClock(T0))
    everything, posted, documents, serious, doc_errors = (Recorder() for _ in range(5))
    bus.subscribe(everything)
    bus.subscribe(posted, kinds=[EventKind.DOCUMENT_POSTED])
    bus.subscribe(documents, kinds=["document.*"])
    bus.subscribe(serious, min_severity=Severity.ERROR)
    bus.subscribe(doc_errors, kinds=["document.*", "sync.failed"], min_severity=Severity.WARNING)
    plan = [("document.posted", Severity.INFO), ("document.failed", Severity.ERROR),
            ("sync.started", Severity.DEBUG), ("sync.failed", Severity.CRITICAL),
            ("document.retry_scheduled", Severity.WARNING), ("documents.other", Severity.ERROR)]
    counts = [bus.emit(kind, sev, "m") for kind, sev in plan]
    assert len(counts) == 6
    assert everything.kinds == [k for k, _ in plan]
    assert posted.kinds == ["document.posted"]
    assert documents.kinds == ["document.posted", "document.failed", "document.retry_scheduled"]
    assert serious.kinds == ["document.failed", "sync.failed", "documents.other"]
    assert doc_errors.kinds == ["document.failed", "sync.failed", "document.retry_scheduled"]
    star = Recorder()
    bus.subscribe(star, kinds=["*"])
    bus.emit("sync.started", Severity.DEBUG, "m")
    assert star.kinds == ["sync.started"]
    with pytest.raises(TypeError):
        bus.subscribe(Recorder(), kinds="document.posted")


def test_publish_returns_how_many_received() -> None:
    bus = EventBus(FixedClock(T0))
    bus.subscribe(Recorder(), kinds=["document.posted"])
    bus.subscribe(Recorder())
    assert bus.publish(make_event("document.posted")) == 2
    assert bus.publish(make_event("sync.started")) == 1
    with pytest.raises(TypeError):
        bus.publish({"kind": "document.posted"})  # type: ignore[arg-type]


def test_unsubscribe_stops_delivery_and_is_idempotent() -> None:
    bus = EventBus(FixedClock(T0))
    rec = Recorder()
    unsubscribe = bus.subscribe(rec)
    bus.emit("sync.started", Severity.INFO, "one")
    unsubscribe()
    unsubscribe()
    bus.emit("sync.started", Severity.INFO, "two")
    assert [e.message for e in rec.events] == ["one"]
    assert bus.subscriber_count == 0


def test_unsubscribing_during_delivery_affects_later_events_only() -> None:
    bus = EventBus(FixedClock(T0))
    rec = Recorder()
    holder: dict[str, Any] = {}

    def one_shot(event: Event) -> None:
        rec(event)
        holder["unsub"]()

    holder["unsub"] = bus.subscribe(one_shot)
    later = Recorder()
    bus.subscribe(later)
    bus.emit("sync.started", Severity.INFO, "a")
    bus.emit("sync.started", Severity.INFO, "b")
    assert [e.message for e in rec.events] == ["a"]
    assert [e.message for e in later.events] == ["a", "b"]


@pytest.mark.allow_log_warnings
def test_a_failing_subscriber_is_logged_once_and_does_not_stop_others(
        caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus(FixedClock(T0))
    before, after = Recorder(), Recorder()
    bus.subscribe(before)

    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe(broken)
    bus.subscribe(after)
    event = bus.emit(EventKind.DOCUMENT_POSTED, Severity.INFO, "posted", document_key="k1")
    assert before.events == [event] and after.events == [event]
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1
    record = errors[0]
    assert record.levelno == logging.ERROR and record.name == "desktop.services.core.events"
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert "broken" in record.getMessage() and "document.posted" in record.getMessage()
    assert bus.publish(make_event()) == 2  # the two healthy subscribers, still subscribed


def test_concurrent_publishers_deliver_every_event_exactly_once() -> None:
    bus = EventBus(FixedClock(T0))
    threads_n, per_thread = 8, 1000
    counts: dict[int, int] = {}
    lock = threading.Lock()
    total = Recorder()
    only_errors = Recorder()

    def counter(event: Event) -> None:
        with lock:
            counts[event.details["thread"]] = counts.get(event.details["thread"], 0) + 1

    bus.subscribe(counter)
    bus.subscribe(total)
    bus.subscribe(only_errors, min_severity=Severity.ERROR)
    stop_churn = threading.Event()

    def churn() -> None:  # subscribe/unsubscribe constantly while the publishers run
        while not stop_churn.is_set():
            bus.subscribe(Recorder())()

    def publisher(n: int) -> None:
        for i in range(per_thread):
            bus.emit("sync.progress", Severity.ERROR if i % 10 == 0 else Severity.INFO, "tick",
                     details={"thread": n, "i": i})

    churner = threading.Thread(target=churn)
    churner.start()
    workers = [threading.Thread(target=publisher, args=(n,)) for n in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop_churn.set()
    churner.join()
    assert counts == dict.fromkeys(range(threads_n), per_thread)
    assert len(total.events) == threads_n * per_thread
    assert len({e.event_id for e in total.events}) == threads_n * per_thread
    assert len(only_errors.events) == threads_n * per_thread // 10
    for n in range(threads_n):  # each thread's own events arrive in its publish order
        assert [e.details["i"] for e in total.events if e.details["thread"] == n] == list(range(per_thread))
    assert bus.subscriber_count == 3


# --- redaction ------------------------------------------------------------------------------------


def test_redact_masks_secret_keys_recursively() -> None:
    raw = {
        "refresh_token": "rt-abc", "access_token": "at-abc", "client_secret": "cs",
        "Authorization": "Bearer at-abc", "password": "hunter2", "code_verifier": "v" * 43,
        "X-Api-Key": "k1", "apiKey": "k2", "code": "AB11701234567890aBcDeFgHiJkLmNoPq",
        "fault": {"code": "6000", "Message": "Business Validation Error"}, "credentials": {"user": "u", "pw": "p"},
        "nested": [{"token": "t1", "SyncToken": "7"}, ("id_token", {"secret": "s"})],
        "token_type": "bearer", "expires_in": 3600, "x_refresh_token_expires_in": 8726400,
        "platform_code": "6000", "amount": "12.50", "empty_secret": "", "api_key": None,
    }
    out = redact(raw)
    assert out == {
        "refresh_token": REDACTED, "access_token": REDACTED, "client_secret": REDACTED,
        "Authorization": REDACTED, "password": REDACTED, "code_verifier": REDACTED,
        "X-Api-Key": REDACTED, "apiKey": REDACTED, "code": REDACTED,
        "fault": {"code": "6000", "Message": "Business Validation Error"}, "credentials": REDACTED,
        "nested": [{"token": REDACTED, "SyncToken": "7"}, ("id_token", {"secret": REDACTED})],
        "token_type": "bearer", "expires_in": 3600, "x_refresh_token_expires_in": 8726400,
        "platform_code": "6000", "amount": "12.50", "empty_secret": "", "api_key": None,
    }
    assert raw["refresh_token"] == "rt-abc"  # the input is not modified
    assert is_secret_key("Proxy-Authorization") and is_secret_key("webhook_verifier_token")
    assert not is_secret_key("document_key") and not is_secret_key("idempotency_key")


@pytest.mark.parametrize(("text", "secret"), [
    ("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig", "eyJhbGciOiJSUzI1NiJ9.payload.sig"),
    ("header was 'authorization: bearer abcdefgh12345678'", "abcdefgh12345678"),
    ("Basic Y2xpZW50OnNlY3JldA== rejected", "Y2xpZW50OnNlY3JldA=="),
    ("POST /token body grant_type=refresh_token&refresh_token=RT-9f8e7d6c&x=1", "RT-9f8e7d6c"),
    ('{"access_token": "AT-123456", "expires_in": 3600}', "AT-123456"),
    ("callback /cb?code=AB12-cd34&state=xyz", "AB12-cd34"),
    ("client_secret=s3cr3t; retry", "s3cr3t"),
    ("connecting to https://admin:pa55w0rd@db.example/x", "pa55w0rd"),
    ("postgresql://ops:p@ss@w0rd@db.example:5432/rls failed", "ss@w0rd"),
    ("request headers:\nX-Api-Key: rms key with spaces 42\nAccept: */*", "key with spaces"),
    ("Cookie: session=abc123; other=zzz", "abc123"),
    ("body grant_type%3Drefresh_token%26refresh_token%3DRT-7a6b5c4d%26client_id%3Dx", "RT-7a6b5c4d"),
    ('password="correct horse battery staple" user=bob', "horse battery"),
    ("{'client_secret': 'two words'}", "two words"),
])
def test_redact_text_masks_credentials_inside_strings(text: str, secret: str) -> None:
    out = redact_text(text)
    assert secret not in out
    assert REDACTED in out


@pytest.mark.parametrize("text", [
    "QBO error code: 6000 (Business Validation Error)",
    "Basic authentication failed",
    "Bearer token missing",
    "state=xyz&platform_code=610",
    "SyncToken 3 is stale",
    "Accept: application/json",
    "fault code=6000 message=Business Validation Error",
])
def test_redact_text_leaves_ordinary_prose_alone(text: str) -> None:
    assert redact_text(text) == text


def test_events_are_redacted_on_the_way_in() -> None:
    bus = EventBus(FixedClock(T0))
    rec = Recorder()
    bus.subscribe(rec)
    bus.emit(EventKind.CONNECTION_TOKEN_REFRESHED, Severity.INFO,
             "refreshed with refresh_token=RT-old-123", platform="qbo",
             platform_message="invalid_grant for Bearer AT-leaked-456",
             details={"refresh_token": "RT-new-789", "response": {"access_token": "AT-xyz-000"},
                      "note": "sent Authorization: Bearer AT-leaked-456"})
    dumped = json.dumps(rec.events[0].to_dict())
    for secret in ("RT-old-123", "RT-new-789", "AT-xyz-000", "AT-leaked-456"):
        assert secret not in dumped
    assert rec.events[0].details["refresh_token"] == REDACTED


def test_json_safe_never_produces_floats_from_decimals() -> None:
    out = json_safe({"a": Decimal("1.10"), "b": Decimal("1E+2"), 3: {"x"}, "m": Money(Decimal("5"), "JPY"),
                     "raw": b"\x00\x01", "obj": object})
    assert out["a"] == "1.10" and out["b"] == "100" and out["3"] == ["x"]
    assert out["m"] == {"amount": "5", "currency": "JPY"} and out["raw"] == "<2 bytes>"
    assert isinstance(out["obj"], str)
