"""The worker's webhook receiver over real HTTP: signatures on raw bytes, both QBO formats, Xero intent.

The first tests sign deliveries the way the platforms document it; the last ones let the sandbox's
emulators deliver (Xero's intent-to-receive with good and bad signatures, then real events; QBO
legacy and CloudEvents), so the receiver is checked against an independent sender too.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from desktop.services.core.clock import ManualClock
from desktop.services.pipeline.webhooks import Notification, WebhookReceiver, sign
from tests.helpers.sandbox import SandboxHandle

QBO_KEY = "qbo-verifier-token-for-tests"
XERO_KEY = "xero-webhook-key-for-tests"


class Inbox:
    def __init__(self) -> None:
        self.notes: list[Notification] = []
        self.arrived = threading.Condition()

    def __call__(self, notes: list[Notification]) -> None:
        with self.arrived:
            self.notes.extend(notes)
            self.arrived.notify_all()

    def wait_for(self, predicate: Any, timeout: float = 10) -> list[Notification]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not predicate(self.notes):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.arrived.wait(left)
            return list(self.notes)


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def clock() -> ManualClock:
    """The replay window's clock: now for the emulators' deliveries; tests of fixed payloads set it."""
    return ManualClock(datetime.now(UTC))


@pytest.fixture
def receiver(inbox: Inbox, clock: ManualClock) -> Iterator[WebhookReceiver]:
    rx = WebhookReceiver(inbox, {"qbo": QBO_KEY, "xero": XERO_KEY}, clock=clock)
    rx.start()
    try:
        yield rx
    finally:
        rx.stop()


def _post(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": "application/json", **headers}, timeout=10)


LEGACY = {"eventNotifications": [{"realmId": "9130350000000001", "dataChangeEvent": {"entities": [
    {"name": "CreditMemo", "id": "73", "operation": "Update", "lastUpdated": "2026-11-27T03:42:19.000-0800"}]}}]}


def test_qbo_legacy_delivery_with_a_good_signature_is_accepted(receiver: WebhookReceiver, inbox: Inbox,
                                                               clock: ManualClock) -> None:
    clock.set(datetime(2026, 11, 27, 11, 45, tzinfo=UTC))  # LEGACY's lastUpdated, 11:42:19Z
    body = json.dumps(LEGACY).encode()
    resp = _post(f"{receiver.url}/webhooks/qbo", body, {"intuit-signature": sign(QBO_KEY, body)})
    assert resp.status_code == 200 and resp.content == b""
    assert inbox.notes == [Notification("qbo", "9130350000000001", "CreditMemo", "73", "Update")]


def test_qbo_bad_missing_or_reserialised_signatures_are_refused_with_403(receiver: WebhookReceiver,
                                                                          inbox: Inbox) -> None:
    body = json.dumps(LEGACY, separators=(",", ":")).encode()
    same_content = json.dumps(LEGACY, indent=2).encode()  # equal JSON, different bytes
    assert json.loads(same_content) == json.loads(body)
    url = f"{receiver.url}/webhooks/qbo"
    assert _post(url, same_content, {"intuit-signature": sign(QBO_KEY, body)}).status_code == 403
    assert _post(url, body, {"intuit-signature": sign("someone-else", body)}).status_code == 403
    assert _post(url, body, {}).status_code == 403
    assert inbox.notes == [] and receiver.rejected == 3


def test_qbo_cloudevents_array_is_accepted(receiver: WebhookReceiver, inbox: Inbox, clock: ManualClock) -> None:
    clock.set(datetime(2026, 11, 27, 11, 35, tzinfo=UTC))
    events = [{"specversion": "1.0", "id": "88cd52aa-33b6-4351-9aa4-47572edbd068", "source": "intuit.x",
               "type": "qbo.creditmemo.voided.v1", "datacontenttype": "application/json",
               "time": "2026-11-27T11:31:25.179851517Z", "intuitentityid": "73",
               "intuitaccountid": "310687", "data": {}}]
    body = json.dumps(events).encode()
    resp = requests.post(f"{receiver.url}/webhooks/qbo", data=body, timeout=10, headers={
        "Content-Type": "application/cloudevents+json", "intuit-signature": sign(QBO_KEY, body)})
    assert resp.status_code == 200
    assert inbox.notes == [Notification("qbo", "310687", "creditmemo", "73", "voided",
                                        "88cd52aa-33b6-4351-9aa4-47572edbd068")]


def test_xero_intent_to_receive_and_events(receiver: WebhookReceiver, inbox: Inbox, clock: ManualClock) -> None:
    clock.set(datetime(2026, 11, 27, 0, 50, tzinfo=UTC))
    url = f"{receiver.url}/webhooks/xero"
    intent = json.dumps({"events": [], "firstEventSequence": 0, "lastEventSequence": 0,
                         "entropy": "FXNGWLCCGVANWHKILRUB"}).encode()
    good = _post(url, intent, {"x-xero-signature": sign(XERO_KEY, intent)})
    assert good.status_code == 200 and good.content == b"" and "Set-Cookie" not in good.headers
    assert _post(url, intent, {"x-xero-signature": sign("wrong", intent)}).status_code == 401
    assert inbox.notes == []
    event = {"events": [{"resourceUrl": "https://api.xero.com/api.xro/2.0/CreditNotes/55d8",
                         "resourceId": "55d8", "eventDateUtc": "2026-11-27T00:44:09.923", "eventType": "UPDATE",
                         "eventCategory": "CREDITNOTE", "tenantId": "aef8", "tenantType": "ORGANISATION"}],
             "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "ABC"}
    body = json.dumps(event).encode()
    assert _post(url, json.dumps(event, indent=1).encode(), {"x-xero-signature": sign(XERO_KEY, body)}
                 ).status_code == 401  # raw bytes, not re-serialised JSON
    assert _post(url, body, {"x-xero-signature": sign(XERO_KEY, body)}).status_code == 200
    assert inbox.notes == [Notification("xero", "aef8", "CREDITNOTE", "55d8", "UPDATE")]


def test_other_paths_and_methods(receiver: WebhookReceiver) -> None:
    assert requests.get(f"{receiver.url}/webhooks/qbo", timeout=10).status_code == 405
    assert _post(f"{receiver.url}/elsewhere", b"{}", {}).status_code == 404


def test_the_sandbox_xero_emulator_subscribes_and_delivers(receiver: WebhookReceiver, inbox: Inbox,
                                                           sandbox: SandboxHandle) -> None:
    sandbox.control("POST", "webhooks", {"service": "xero", "url": f"{receiver.url}/webhooks/xero", "key": XERO_KEY})
    assert receiver.rejected == 2  # intent-to-receive sent two wrongly signed payloads; we refused both
    tenant = next(t for t in sandbox.info["xero"]["tenants"] if t["rms_org"] == "KIWI-NZ")
    created = sandbox.control("POST", f"ledger/xero/{tenant['tenant_id']}/tamper", {
        "op": "create", "type": "CreditNote", "document": {
            "Type": "ACCRECCREDIT", "Contact": {"Name": "Webhook Test Customer"}, "Status": "AUTHORISED",
            "LineAmountTypes": "NoTax", "LineItems": [{"Description": "x", "Quantity": "1", "UnitAmount": "5.00",
                                                       "AccountCode": "200", "TaxType": "NONE"}]}})
    got = inbox.wait_for(lambda ns: any(n.entity_id == created["id"] for n in ns))
    assert any(n.platform == "xero" and n.company_id == tenant["tenant_id"] and n.entity == "CREDITNOTE"
               and n.entity_id == created["id"] for n in got)
    sandbox.control("POST", "webhooks", {"service": "xero", "url": "", "key": ""})


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_the_sandbox_qbo_emulator_delivers_both_formats(receiver: WebhookReceiver, inbox: Inbox,
                                                        sandbox: SandboxHandle, fmt: str) -> None:
    sandbox.control("POST", "config", {"service": "qbo", "rate_limits": {"webhook_format": fmt}})
    sandbox.control("POST", "webhooks", {"service": "qbo", "url": f"{receiver.url}/webhooks/qbo", "key": QBO_KEY})
    company = next(c for c in sandbox.info["qbo"]["companies"] if c["rms_org"] == "ACME-US")
    created = sandbox.control("POST", f"ledger/qbo/{company['realm_id']}/tamper", {
        "op": "create", "type": "CreditMemo", "document": {
            "CustomerRef": {"value": "1"}, "Line": [{"Amount": "5.00", "DetailType": "SalesItemLineDetail",
                                                     "SalesItemLineDetail": {"ItemRef": {"value": "1"},
                                                                             "TaxCodeRef": {"value": "NON"}}}]}})
    got = inbox.wait_for(lambda ns: any(n.entity_id == created["id"] for n in ns))
    hit = [n for n in got if n.entity_id == created["id"]]
    assert hit and hit[0].company_id == company["realm_id"] and hit[0].entity.lower() == "creditmemo"
    assert (hit[0].event_id is not None) == (fmt == "cloudevents")
    sandbox.control("POST", "webhooks", {"service": "qbo", "url": "", "key": ""})
