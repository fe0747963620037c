"""The webhook receiver's limits: a size cap whatever the transfer encoding, and a replay window.

Size: a ``Content-Length`` above the cap is refused before the body is sent; a chunked body (no
``Content-Length``) is refused as soon as it passes the cap — the raw-socket tests never send the
end of the body, so a receiver that waited for it would hang instead of answering 413 — and an
endless one is read no further than the cap plus one chunk, in bounded memory.

Replay: deliveries are signed exactly as the platforms sign them and the receiver's clock is a
:class:`ManualClock`, so the window's edges are tested to the second without sleeping.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from desktop.services.core.clock import ManualClock
from desktop.services.pipeline.webhook_replay import UNTIMED_RETENTION, WINDOW, ReplayGuard
from desktop.services.pipeline.webhooks import MAX_BODY, READ_CHUNK, Notification, WebhookReceiver, sign

QBO_KEY = "qbo-verifier-for-limits"
XERO_KEY = "xero-key-for-limits"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CAP = 64 * 1024  # a small cap keeps the socket tests quick; MAX_BODY is checked separately


class Inbox:
    def __init__(self) -> None:
        self.notes: list[Notification] = []
        self.lock = threading.Lock()

    def __call__(self, notes: list[Notification]) -> None:
        with self.lock:
            self.notes.extend(notes)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def receiver(inbox: Inbox, clock: ManualClock) -> Iterator[WebhookReceiver]:
    rx = WebhookReceiver(inbox, {"qbo": QBO_KEY, "xero": XERO_KEY}, clock=clock, max_body=CAP)
    rx.start()
    try:
        yield rx
    finally:
        rx.stop()


def cloud_event(event_id: str, at: datetime | None, entity_id: str = "73") -> dict[str, Any]:
    ev: dict[str, Any] = {"specversion": "1.0", "id": event_id, "source": "intuit.test",
                          "type": "qbo.creditmemo.created.v1", "datacontenttype": "application/json",
                          "intuitentityid": entity_id, "intuitaccountid": "310687", "data": {}}
    if at is not None:
        ev["time"] = at.isoformat().replace("+00:00", "Z")
    return ev


def post_qbo(rx: WebhookReceiver, payload: Any, *, key: str = QBO_KEY) -> int:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return requests.post(f"{rx.url}/webhooks/qbo", data=body, timeout=10, headers={
        "Content-Type": "application/cloudevents+json", "intuit-signature": sign(key, body)}).status_code


# --- size ------------------------------------------------------------------------------------------

def _status_line(sock: socket.socket) -> str:
    data = b""
    while b"\r\n" not in data:
        part = sock.recv(4096)
        if not part:
            break
        data += part
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def _connect(rx: WebhookReceiver) -> socket.socket:
    url = urlsplit(rx.url)
    assert url.hostname is not None and url.port is not None
    return socket.create_connection((url.hostname, url.port), timeout=10)


def test_a_content_length_above_the_cap_is_refused_before_the_body_is_sent(receiver: WebhookReceiver) -> None:
    with _connect(receiver) as sock:
        sock.sendall(f"POST /webhooks/qbo HTTP/1.1\r\nHost: x\r\nContent-Length: {CAP + 1}\r\n"
                     "intuit-signature: x\r\n\r\n".encode())
        assert _status_line(sock) == "HTTP/1.1 413 REQUEST ENTITY TOO LARGE"  # no body byte was sent
    assert receiver.too_large == 1 and receiver.rejected == 0


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_cap(receiver: WebhookReceiver, inbox: Inbox) -> None:
    """The terminating chunk is never sent: the answer must come from the size alone."""
    chunk = b"x" * 4096
    chunks, rest = divmod(CAP + 1, len(chunk))
    with _connect(receiver) as sock:
        sock.sendall(b"POST /webhooks/xero HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"x-xero-signature: x\r\n\r\n")
        for part in [chunk] * chunks + [b"y" * rest]:
            sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        assert _status_line(sock) == "HTTP/1.1 413 REQUEST ENTITY TOO LARGE"
    assert receiver.too_large == 1 and inbox.notes == []


def test_a_chunked_body_under_the_cap_is_read_and_verified(receiver: WebhookReceiver, inbox: Inbox) -> None:
    body = json.dumps([cloud_event("ev-chunked", NOW)]).encode()

    def pieces() -> Iterator[bytes]:  # a generator body: requests sends it chunked, no Content-Length
        yield from (body[i:i + 10] for i in range(0, len(body), 10))

    with requests.Session() as http:
        for key, status in (("wrong", 403), (QBO_KEY, 200)):
            with http.post(f"{receiver.url}/webhooks/qbo", data=pieces(), timeout=10,
                           headers={"intuit-signature": sign(key, body)}) as resp:
                assert resp.status_code == status
    assert [n.event_id for n in inbox.notes] == ["ev-chunked"]


def test_broken_chunk_framing_is_a_bad_request(receiver: WebhookReceiver) -> None:
    with _connect(receiver) as sock:
        sock.sendall(b"POST /webhooks/qbo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"zz-not-hex\r\nabc\r\n0\r\n\r\n")
        assert _status_line(sock).startswith("HTTP/1.1 400")


class _Endless(io.RawIOBase):
    """A request body that never ends; counts what was read from it."""

    def __init__(self) -> None:
        self.read_total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = len(buffer)
        buffer[:n] = b"{" * n
        self.read_total += n
        return n


def test_an_endless_chunked_body_is_read_no_further_than_the_cap_in_bounded_memory(inbox: Inbox,
                                                                                    clock: ManualClock) -> None:
    """The default cap, in process: the body stream is what a server hands over for a chunked request."""
    rx = WebhookReceiver(inbox, {"qbo": QBO_KEY}, clock=clock)
    endless = _Endless()
    environ = EnvironBuilder(path="/webhooks/qbo", method="POST", headers=[("intuit-signature", "x")]).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"], environ["wsgi.input_terminated"] = endless, True
    tracemalloc.start()
    try:
        status = rx.handle(Request(environ)).status_code
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413 and rx.too_large == 1
    assert MAX_BODY < endless.read_total <= MAX_BODY + READ_CHUNK
    assert peak < 3 * MAX_BODY, f"peak {peak} bytes while refusing a {MAX_BODY}-byte cap"


# --- replay ----------------------------------------------------------------------------------------

def test_the_same_signed_delivery_twice_is_acted_on_once(receiver: WebhookReceiver, inbox: Inbox) -> None:
    payload = [cloud_event("ev-1", NOW - timedelta(minutes=2))]
    assert post_qbo(receiver, payload) == 200
    assert post_qbo(receiver, payload) == 200  # acknowledged, so the platform stops retrying…
    assert [n.event_id for n in inbox.notes] == ["ev-1"]  # …but not acted on again
    assert (receiver.received, receiver.replayed) == (1, 1)


def test_a_cloudevent_id_seen_before_is_not_acted_on_in_another_body(receiver: WebhookReceiver,
                                                                     inbox: Inbox) -> None:
    assert post_qbo(receiver, [cloud_event("ev-1", NOW)]) == 200
    # Same event, re-batched with a new one (different bytes): only the new one counts.
    assert post_qbo(receiver, [cloud_event("ev-1", NOW), cloud_event("ev-2", NOW, "74")]) == 200
    assert [n.event_id for n in inbox.notes] == ["ev-1", "ev-2"]


@pytest.mark.parametrize(("offset", "acted"), [
    (-WINDOW, True), (WINDOW, True),                                      # the edges are inside
    (-WINDOW - timedelta(seconds=1), False), (WINDOW + timedelta(seconds=1), False),
    (-timedelta(days=30), False),
])
def test_events_outside_the_window_are_acknowledged_but_not_acted_on(receiver: WebhookReceiver, inbox: Inbox,
                                                                     offset: timedelta, acted: bool) -> None:
    assert post_qbo(receiver, [cloud_event("ev-w", NOW + offset)]) == 200
    assert bool(inbox.notes) is acted
    assert receiver.replayed == (0 if acted else 1)


def test_only_the_fresh_events_of_a_mixed_delivery_are_acted_on(receiver: WebhookReceiver, inbox: Inbox) -> None:
    legacy = {"eventNotifications": [{"realmId": "9130350000000001", "dataChangeEvent": {"entities": [
        {"name": "CreditMemo", "id": "1", "operation": "Update", "lastUpdated": "2026-11-27T03:58:00.000-0800"},
        {"name": "CreditMemo", "id": "2", "operation": "Update", "lastUpdated": "2026-11-27T03:40:00.000-0800"},
    ]}}]}
    assert post_qbo(receiver, legacy) == 200
    assert [n.entity_id for n in inbox.notes] == ["1"]  # 11:58Z is fresh at 12:00Z; 11:40Z is not


def test_a_stale_replay_is_refused_after_the_memory_has_let_it_go(receiver: WebhookReceiver, inbox: Inbox,
                                                                  clock: ManualClock) -> None:
    """The memory keeps a timed delivery only while the window would let it in (its CloudEvents id a
    day); after that the window alone refuses it."""
    payload = [{**cloud_event("ev-1", NOW), "id": None}]  # no id: the body's digest is all there is
    assert post_qbo(receiver, payload) == 200
    clock.advance(2 * WINDOW + timedelta(seconds=1))
    assert post_qbo(receiver, payload) == 200
    assert len(inbox.notes) == 1 and receiver.replayed == 1


def test_a_cloudevent_id_is_remembered_for_a_day_even_without_its_time(receiver: WebhookReceiver, inbox: Inbox,
                                                                       clock: ManualClock) -> None:
    assert post_qbo(receiver, [cloud_event("ev-1", NOW)]) == 200
    clock.advance(timedelta(hours=23))
    assert post_qbo(receiver, [cloud_event("ev-1", None)]) == 200  # same event, re-sent without a time
    assert len(inbox.notes) == 1


def test_deliveries_without_a_time_fall_back_to_the_memory(receiver: WebhookReceiver, inbox: Inbox,
                                                           clock: ManualClock) -> None:
    """CloudEvents ``time`` and legacy ``lastUpdated`` are partly UNCONFIRMED: a delivery without a
    readable time is let in once, its copies are refused while it is remembered."""
    payload = [cloud_event("ev-untimed", None)]
    legacy = {"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [
        {"name": "CreditMemo", "id": "9", "operation": "Create", "lastUpdated": "yesterday"}]}}]}
    assert post_qbo(receiver, payload) == 200 and post_qbo(receiver, legacy) == 200
    assert len(inbox.notes) == 2
    clock.advance(UNTIMED_RETENTION - timedelta(minutes=1))
    assert post_qbo(receiver, payload) == 200 and post_qbo(receiver, legacy) == 200
    assert len(inbox.notes) == 2 and receiver.replayed == 2


def test_xero_replays_are_refused_and_intent_to_receive_still_answered(receiver: WebhookReceiver,
                                                                       inbox: Inbox) -> None:
    event = {"events": [{"resourceUrl": "https://api.xero.com/api.xro/2.0/CreditNotes/55d8", "resourceId": "55d8",
                         "eventDateUtc": "2026-11-27T11:59:09.923", "eventType": "UPDATE",
                         "eventCategory": "CREDITNOTE", "tenantId": "aef8", "tenantType": "ORGANISATION"}],
             "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "ABC"}
    intent = {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "FXNGWLCCGVANWHKILRUB"}
    for payload in (event, event, intent, intent):
        body = json.dumps(payload).encode()
        resp = requests.post(f"{receiver.url}/webhooks/xero", data=body, timeout=10,
                             headers={"x-xero-signature": sign(XERO_KEY, body)})
        assert resp.status_code == 200 and resp.content == b""
    assert [n.entity_id for n in inbox.notes] == ["55d8"]


@pytest.mark.allow_log_warnings
def test_the_memory_is_bounded_and_says_so_when_full(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    guard = ReplayGuard(clock, capacity=100)
    for i in range(250):
        note = Notification("qbo", "1", "creditmemo", str(i), "created", f"ev-{i}", at=NOW)
        assert guard.admit("qbo", f"body {i}".encode(), [note]).fresh == [note]
    assert len(guard) == 100 and guard.forgotten_early == 400  # two entries a delivery: body and id
    assert [r.levelname for r in caplog.records if "replay memory is full" in r.getMessage()] == ["WARNING"]
    clock.advance(UNTIMED_RETENTION + timedelta(seconds=1))
    guard.admit("qbo", b"later", [])
    assert len(guard) == 1  # everything has expired; only the new digest is left
