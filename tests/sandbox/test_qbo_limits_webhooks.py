"""QBO throttling (429 / 3001) and signed webhooks in both formats, delivered to a local HTTP server."""

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
import requests

from tests.helpers.qbo_client import ACME, Qbo

VERIFIER = "verifier-token-for-tests"


def test_per_minute_limit_answers_429_with_throttle_fault(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    sandbox.control("POST", "config", {"service": "qbo", "rate_limits": {"per_minute": 3}})
    codes = [qbo.get(f"companyinfo/{qbo.realm}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    resp = qbo.get(f"companyinfo/{qbo.realm}")
    error = qbo.fault(resp, 429)
    assert error["code"] == "3001" and "ThrottleExceeded" in error["Message"]
    assert resp.json()["Fault"]["type"] == "SERVICE"
    assert int(resp.headers["Retry-After"]) > 0  # present here; UNCONFIRMED for the real service
    sandbox.control("POST", "config", {"service": "qbo", "rate_limits": {"per_minute": 4}})
    items = [{"bId": str(i), "Query": "select * from Class"} for i in range(6)]
    batch = qbo.ok(qbo.post("batch", {"BatchItemRequest": items}))["BatchItemResponse"]
    assert ["Fault" in b for b in batch] == [False] * 4 + [True] * 2  # each item counts
    sandbox.control("POST", "config", {"service": "qbo", "rate_limits": None})
    assert qbo.get(f"companyinfo/{qbo.realm}").status_code == 200


class _Receiver:
    """A tiny local webhook endpoint: records raw bodies and headers; can fail the first N calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[bytes, dict[str, str]]] = []
        self.fail_left = fail_first
        self.got = threading.Condition()  # notified on every delivery
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_left > 0:
                    receiver.fail_left -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                with receiver.got:
                    receiver.calls.append((body, {k.lower(): v for k, v in self.headers.items()}))
                    receiver.got.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/qbo"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> list[Any]:
        """The delivered events once ``predicate`` accepts them (checked on every delivery)."""
        with self.got:
            if not self.got.wait_for(lambda: predicate(self.events()), timeout):
                raise AssertionError(f"webhooks not delivered in time; got {self.events()}")
            return self.events()

    def events(self) -> list[Any]:
        out: list[Any] = []
        for body, headers in list(self.calls):
            expected = base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest()).decode()
            assert headers["intuit-signature"] == expected
            payload = json.loads(body)
            if isinstance(payload, list):
                out.extend(payload)
            else:
                for note in payload["eventNotifications"]:
                    out.extend((note["realmId"], e) for e in note["dataChangeEvent"]["entities"])
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver(fail_first=1)
    yield r
    r.close()


def test_legacy_webhooks_are_signed_and_retried(sandbox: Any, receiver: _Receiver) -> None:
    sandbox.control("POST", "webhooks", {"service": "qbo", "url": receiver.url, "key": VERIFIER})
    qbo = Qbo(sandbox)
    memo = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("W-1")))["CreditMemo"]
    sandbox.control("POST", "ledger/qbo/ACME-US/tamper", {"op": "void", "id": memo["Id"]})
    events = receiver.wait_for(lambda ev: len(ev) >= 2)
    assert [(realm, e["name"], e["id"], e["operation"]) for realm, e in events[:2]] == [
        (ACME, "CreditMemo", memo["Id"], "Create"), (ACME, "CreditMemo", memo["Id"], "Void")]
    assert events[0][1]["lastUpdated"].startswith(memo["TxnDate"][:4])
    assert receiver.fail_left == 0  # the first delivery failed and was retried


def test_cloudevents_webhooks(sandbox: Any, receiver: _Receiver) -> None:
    sandbox.control("POST", "config", {"service": "qbo", "rate_limits": {"webhook_format": "cloudevents"}})
    sandbox.control("POST", "webhooks", {"service": "qbo", "url": receiver.url, "key": VERIFIER})
    qbo = Qbo(sandbox)
    memo = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("W-2")))["CreditMemo"]
    qbo.ok(qbo.post("creditmemo", {"Id": memo["Id"], "SyncToken": "0"}, operation="delete"))
    events = receiver.wait_for(lambda ev: len(ev) >= 2)
    assert [(e["type"], e["intuitentityid"], e["intuitaccountid"]) for e in events[:2]] == [
        ("qbo.creditmemo.created.v1", memo["Id"], ACME), ("qbo.creditmemo.deleted.v1", memo["Id"], ACME)]
    assert all(e["specversion"] == "1.0" and e["id"] and e["time"].endswith("Z") for e in events)
    assert receiver.calls[0][1]["content-type"].startswith("application/cloudevents+json")


def test_concurrency_limit_and_injected_faults_use_qbo_envelopes(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    sandbox.control("POST", "config", {"service": "qbo", "rate_limits": {"concurrent": 0}})
    assert qbo.fault(qbo.get(f"companyinfo/{qbo.realm}"), 429)["code"] == "3001"
    sandbox.control("POST", "config", {"service": "qbo", "rate_limits": {"concurrent": 10}})
    sandbox.control("POST", "faults", {"rules": [
        {"service": "qbo", "action": "status", "status": 503, "times": 1, "path_regex": "creditmemo"}]})
    unavailable = qbo.post("creditmemo", qbo.credit_memo("F-1"))
    assert unavailable.status_code == 503
    assert unavailable.json()["Fault"]["type"] == "SystemFault"
    assert sandbox.control("GET", "ledger/qbo/ACME-US")["documents"] == []


def test_requestid_recovers_a_post_whose_answer_was_lost(sandbox: Any) -> None:
    qbo = Qbo(sandbox)
    sandbox.control("POST", "faults", {"rules": [
        {"service": "qbo", "action": "commit_then_drop", "times": 1, "path_regex": "creditmemo"}]})
    with pytest.raises(requests.ConnectionError):
        qbo.post("creditmemo", qbo.credit_memo("F-2"), requestid="lost-answer-1")
    retried = qbo.ok(qbo.post("creditmemo", qbo.credit_memo("F-2"), requestid="lost-answer-1"))
    docs = sandbox.control("GET", "ledger/qbo/ACME-US")["documents"]
    assert [(d["id"], d["number"]) for d in docs] == [(retried["CreditMemo"]["Id"], "F-2")]
