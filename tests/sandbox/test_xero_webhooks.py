"""Xero webhooks to a tiny local receiver: intent-to-receive, then signed CREDITNOTE/CONTACT events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.helpers.xero_client import KIWI, Xero

KEY = "whk-test-signing-key-0123456789"


class Receiver:
    """Verifies signatures like a correct app would and records what arrived."""

    def __init__(self, key: str, honest: bool = True, fail_events: int = 0) -> None:
        self.key = key
        self.honest = honest
        self.fail_events = fail_events  # answer 500 to this many event deliveries first
        self.intents: list[tuple[bool, int]] = []  # (signature valid, status answered)
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Condition()  # notified on every delivery
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                expected = base64.b64encode(hmac.new(receiver.key.encode(), raw, hashlib.sha256).digest()).decode()
                valid = hmac.compare_digest(expected, self.headers.get("x-xero-signature", ""))
                status = (200 if valid else 401) if receiver.honest else 200
                body = json.loads(raw)
                with receiver.lock:
                    if body["events"] and receiver.fail_events > 0:
                        receiver.fail_events -= 1
                        status = 500
                    elif body["events"]:
                        if valid:
                            receiver.events.append(body)
                    else:
                        receiver.intents.append((valid, status))
                    receiver.lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/xero/webhooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def flat(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for b in self.events for e in b["events"]]

    def wait_events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The events once ``count`` have arrived (woken by each delivery)."""
        with self.lock:
            if not self.lock.wait_for(lambda: len(self.flat()) >= count, timeout):
                raise AssertionError(f"only {len(self.flat())} of {count} webhook events arrived")
            return self.flat()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(KEY)
    yield r
    r.close()


def test_intent_to_receive_then_signed_credit_note_events(sandbox: Any, receiver: Receiver) -> None:
    sandbox.control("POST", "webhooks", {"service": "xero", "url": receiver.url, "key": KEY})
    assert {valid for valid, _ in receiver.intents} == {True, False}
    assert all(status == (200 if valid else 401) for valid, status in receiver.intents)
    xero = Xero(sandbox)
    cn = xero.credit_note(Status="DRAFT")
    xero.ok("POST", f"CreditNotes/{cn['CreditNoteID']}", {"Status": "AUTHORISED"})
    xero.ok("PUT", "Contacts", {"Contacts": [{"Name": "Hook Customer"}]})
    xero.ok(
        "PUT",
        "ManualJournals",
        {
            "ManualJournals": [
                {
                    "Narration": "n",
                    "JournalLines": [{"LineAmount": 1, "AccountCode": "610"}, {"LineAmount": -1, "AccountCode": "260"}],
                }
            ]
        },
    )
    receiver.wait_events(3)
    # Nothing more (no journal events) follows: one more contact, and it is the very next event —
    # the sandbox delivers in publishing order, so a journal event would have come before it.
    sentinel = xero.ok("PUT", "Contacts", {"Contacts": [{"Name": "Sentinel Customer"}]})["Contacts"][0]
    *events, last = receiver.wait_events(4)
    assert (last["eventCategory"], last["eventType"], last["resourceId"]) == (
        "CONTACT", "CREATE", sentinel["ContactID"])
    assert len(events) == 3
    by_kind = [(e["eventCategory"], e["eventType"]) for e in events]
    assert by_kind == [("CREDITNOTE", "CREATE"), ("CREDITNOTE", "UPDATE"), ("CONTACT", "CREATE")]
    first = events[0]
    assert first["resourceId"] == cn["CreditNoteID"] and first["tenantId"] == KIWI
    assert first["tenantType"] == "ORGANISATION" and first["data"] == {"Type": "ACCRECCREDIT", "Status": "DRAFT"}
    assert events[1]["data"]["Status"] == "AUTHORISED"
    assert first["resourceUrl"].endswith(f"/api.xro/2.0/CreditNotes/{cn['CreditNoteID']}")
    seqs = [(b["firstEventSequence"], b["lastEventSequence"]) for b in receiver.events]
    assert seqs[0][0] == 1 and seqs[-2][1] == 3 and seqs[-1] == (4, 4)


def test_tamper_fires_a_webhook(sandbox: Any, receiver: Receiver) -> None:
    xero = Xero(sandbox)
    cn = xero.credit_note()
    sandbox.control("POST", "webhooks", {"service": "xero", "url": receiver.url, "key": KEY})
    sandbox.control("POST", "ledger/xero/KIWI-NZ/tamper", {"op": "void", "id": cn["CreditNoteID"]})
    (event,) = receiver.wait_events(1)
    assert event["eventType"] == "UPDATE" and event["data"]["Status"] == "VOIDED"


def test_endpoint_failing_intent_to_receive_gets_no_events(sandbox: Any) -> None:
    lax = Receiver(KEY, honest=False)  # answers 200 even to bad signatures
    try:
        sandbox.control("POST", "webhooks", {"service": "xero", "url": lax.url, "key": KEY})
        assert any(not valid and status == 200 for valid, status in lax.intents)
        Xero(sandbox).credit_note()
        # An endpoint that passes intent-to-receive, then a second credit note: events go out in
        # publishing order, so had the first been queued, it would arrive (at either) before the second.
        honest = Receiver(KEY)
        try:
            sandbox.control("POST", "webhooks", {"service": "xero", "url": honest.url, "key": KEY})
            second = Xero(sandbox).credit_note()
            assert [e["resourceId"] for e in honest.wait_events(1)] == [second["CreditNoteID"]]
        finally:
            honest.close()
        assert lax.events == []
    finally:
        lax.close()


def test_failed_deliveries_are_retried(sandbox: Any) -> None:
    flaky = Receiver(KEY, fail_events=2)
    try:
        sandbox.control("POST", "webhooks", {"service": "xero", "url": flaky.url, "key": KEY})
        cn = Xero(sandbox).credit_note()
        (event,) = flaky.wait_events(1)
        assert event["resourceId"] == cn["CreditNoteID"] and flaky.fail_events == 0
    finally:
        flaky.close()
