"""Fuzzing webhook bodies: every platform's parser, and the receiver in front of them.

Parsers (each profile's ``parse_webhook``): any bytes at all → notifications or ``ValueError``,
never another exception; every notification holds text, and a time that is aware UTC or none.

Receiver (its WSGI handler, in process): signed or not, any size, any transfer encoding → one of
the statuses it documents, never a 500; only notifications inside the replay window are handed
on, and none twice — checked against a model of the window kept by the test.
"""

from __future__ import annotations

import tracemalloc
from datetime import timedelta
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from desktop.services.core.clock import ManualClock
from desktop.services.pipeline.webhooks import MAX_BODY, Notification, WebhookReceiver, sign
from desktop.services.platforms.registry import PROFILES
from tests.fuzz.budget import fuzz, record
from tests.fuzz.strategies import WEBHOOK_NOW, json_text, mostly, nest, webhook_payloads

NOW = WEBHOOK_NOW
KEYS = {key: f"secret-{key}" for key in PROFILES}
STATUSES = {200, 400, 413} | {p.webhook_refusal_status for p in PROFILES.values()}

bodies = mostly(webhook_payloads().map(lambda v: json_text(v).encode()),
                st.one_of(st.binary(max_size=300),
                          st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass"))),
                one_in=3)


@example(body=json_text([{"time": "9999-12-31T23:59:59-23:59", "id": "x"}]).encode())  # OverflowError
@example(body=json_text([{"id": nest(50_000)}]).encode())                             # RecursionError
@example(body=b'{"events": [{"eventDateUtc": "2026-11-27T12:00:00.000+99:00"}]}')
@given(body=bodies)
@fuzz(600)
def test_every_parser_reads_any_body_or_says_it_cannot(body: bytes) -> None:
    for profile in PROFILES.values():
        try:
            notes = profile.parse_webhook(body)
        except ValueError:
            continue
        for n in notes:
            assert n.platform == profile.key
            assert all(isinstance(v, str) for v in (n.company_id, n.entity, n.entity_id, n.operation))
            assert n.event_id is None or isinstance(n.event_id, str)
            assert n.at is None or n.at.utcoffset() == timedelta(0)
    record("webhook parsers", examples=1)


def _request(path: str, body: bytes, headers: dict[str, str], chunked: bool) -> Request:
    environ = EnvironBuilder(path=path, method="POST", data=body, headers=list(headers.items())).get_environ()
    if chunked:  # as the server hands over a chunked body: no length, the stream ends itself
        environ.pop("CONTENT_LENGTH", None)
        environ["wsgi.input_terminated"] = True
    return Request(environ)


deliveries = st.lists(st.tuples(
    st.sampled_from(sorted(PROFILES)), bodies,
    st.sampled_from(["good", "good", "good", "good", "bad", "none"]),  # signature
    st.booleans(),                                                # chunked
    st.sampled_from([0, 0, 0, 1, 5, 14, 16, 40, -3, -20]),      # clock moves (minutes) before it
    st.booleans(),                                                # send the previous body again
), min_size=1, max_size=8)


# Found by the long run (bench/fuzz_long.py --seed 7): once the window had passed, the memory had let go of
# a body holding an event without a time, and of a CloudEvents id that came again without its time.
@example(script=[("qbo", b'[{"id": "ev-1", "time": "2026-11-27T12:00:00Z"}, {"": null}]', "good", False, 0, False),
                 ("qbo", b'[{"id": "ev-1", "time": "2026-11-27T12:00:00Z"}, {"": null}]', "good", False, 16, False)])
@example(script=[("qbo", b'[{"id": "ev-1", "time": "2026-11-27T12:00:00Z"}]', "good", False, 0, False),
                 ("qbo", b'[{"id": "ev-1", "time": ""}]', "good", False, 16, False)])
@given(script=deliveries)
@fuzz(300)
def test_the_receiver_answers_every_delivery_and_acts_on_fresh_events_once(script: list[Any]) -> None:
    clock = ManualClock(NOW)
    handed: list[Notification] = []
    rx = WebhookReceiver(handed.extend, KEYS, clock=clock, max_body=4096)
    seen_ids: set[tuple[str, str]] = set()
    seen_bodies: set[tuple[str, bytes]] = set()
    previous: bytes | None = None
    for key, body, signature, chunked, minutes, again in script:
        profile = PROFILES[key]
        body = previous if again and previous is not None else body
        previous = body
        clock.set(clock.now() + timedelta(minutes=minutes))  # either way: clocks get corrected
        headers = {} if signature == "none" else {
            profile.webhook_signature_header: sign(KEYS[key] if signature == "good" else "wrong", body)}
        before = len(handed)
        status = rx.handle(_request(f"/webhooks/{key}", body, headers, chunked)).status_code
        assert status in STATUSES
        fresh = handed[before:]
        if len(body) > rx.max_body:
            assert status == 413
        elif signature != "good":
            assert status == profile.webhook_refusal_status
        if status != 200:
            assert fresh == []
            continue
        if (key, body) in seen_bodies:
            assert fresh == [], "a repeated delivery was acted on"
        seen_bodies.add((key, body))
        for n in fresh:
            assert n.at is None or abs(n.at - clock.now()) <= rx.window
            if n.event_id is not None:
                assert (key, n.event_id) not in seen_ids, "an event id was acted on twice"
                seen_ids.add((key, n.event_id))
    record("webhook receiver", examples=1, deliveries=len(script), handed_on=len(handed))


def test_a_delivery_at_the_cap_is_read_in_bounded_memory() -> None:
    """The largest body accepted (2 MB of CloudEvents, the format's ~1 MB with room) is read, parsed
    and handed on with a peak under 10× the cap (20 MB)."""
    event = {"specversion": "1.0", "id": "", "source": "intuit.x", "type": "qbo.creditmemo.updated.v1",
             "time": "2026-11-27T11:59:00Z", "intuitentityid": "73", "intuitaccountid": "310687", "data": {}}
    events: list[dict[str, Any]] = []
    size = 2
    while True:
        ev = {**event, "id": f"ev-{len(events):07d}"}
        size += len(json_text(ev)) + 2
        if size > MAX_BODY:
            break
        events.append(ev)
    body = json_text(events).encode()
    assert len(body) <= MAX_BODY
    handed: list[Notification] = []
    rx = WebhookReceiver(handed.extend, KEYS, clock=ManualClock(NOW))
    tracemalloc.start()
    try:
        status = rx.handle(_request("/webhooks/qbo", body, {"intuit-signature": sign(KEYS["qbo"], body)},
                                    chunked=True)).status_code
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 200 and len(handed) == len(events)
    record("webhook receiver, 2 MB delivery", examples=1, peak_bytes=peak, handed_on=len(handed))
    assert peak < 10 * MAX_BODY, f"peak {peak / 2**20:.0f} MB for a {len(body) / 2**20:.1f} MB delivery"
