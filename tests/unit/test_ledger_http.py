"""The connector HTTP plumbing over real HTTP to a scripted local server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from desktop.services.core.errors import ConfigurationError, TransientError
from desktop.services.platforms.http import MAX_RETRY_AFTER_S, LedgerHttp, RetryPolicy, Throttle, check_transport


class Scripted:
    """A local server answering from a script of (status, headers, body) and recording requests."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], str]] = []
        self.seen: list[dict[str, Any]] = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @Request.application  # type: ignore[misc]
    def _app(self, request: Request) -> Response:
        self.seen.append({"method": request.method, "auth": request.headers.get("Authorization"),
                          "path": request.path})
        status, headers, body = self.script.pop(0) if self.script else (200, {}, "{}")
        return Response(body, status=status, headers=headers, content_type="application/json")

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(5)


@pytest.fixture
def server() -> Iterator[Scripted]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    s = Scripted()
    yield s
    s.close()


class Sleeps:
    """A fake clock: sleeping advances it instantly."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.now = 1000.0

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


def _http(sleeps: Sleeps, token: Any = None, attempts: int = 4) -> LedgerHttp:
    throttle = Throttle(500, 10, sleep=sleeps, monotonic=sleeps.monotonic)
    return LedgerHttp(throttle=throttle, token=token, sleep=sleeps,
                      retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.01, max_delay_s=0.02))


@pytest.mark.parametrize("url", ["https://quickbooks.api.intuit.com/v3", "http://127.0.0.1:8080/x",
                                 "http://localhost/x", "http://[::1]:9/x", "http://127.8.0.1/"])
def test_https_anywhere_and_plain_http_only_to_loopback(url: str) -> None:
    check_transport(url)


@pytest.mark.parametrize("url", ["http://api.xero.com/api.xro/2.0", "http://10.0.0.5/x", "ftp://127.0.0.1/"])
def test_plain_http_to_other_hosts_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="only HTTPS is allowed"):
        check_transport(url)


def test_transient_failures_are_retried_then_succeed(server: Scripted) -> None:
    sleeps = Sleeps()
    server.script = [(503, {}, "down"), (502, {}, "bad gateway"), (200, {}, '{"ok": true}')]
    resp = _http(sleeps).request("GET", server.url + "/thing")
    assert resp.status_code == 200
    assert len(server.seen) == 3
    assert len(sleeps.calls) == 2


def test_a_write_without_idempotency_key_is_not_resent_after_a_5xx(server: Scripted) -> None:
    server.script = [(503, {}, "down")]
    resp = _http(Sleeps()).request("POST", server.url + "/creditmemo", json={})
    assert resp.status_code == 503
    assert len(server.seen) == 1


def test_a_write_with_an_idempotency_key_is_retried(server: Scripted) -> None:
    server.script = [(503, {}, "down"), (200, {}, "{}")]
    resp = _http(Sleeps()).request("POST", server.url + "/CreditNotes", json={},
                                   headers={"Idempotency-Key": "k1"})
    assert resp.status_code == 200
    assert len(server.seen) == 2


def test_non_transient_errors_are_returned_at_once(server: Scripted) -> None:
    server.script = [(400, {}, '{"Fault": {}}')]
    resp = _http(Sleeps()).request("GET", server.url + "/query")
    assert resp.status_code == 400
    assert len(server.seen) == 1


def test_429_honours_retry_after(server: Scripted) -> None:
    sleeps = Sleeps()
    server.script = [(429, {"Retry-After": "7", "X-Rate-Limit-Problem": "minute"}, "{}"), (200, {}, "{}")]
    resp = _http(sleeps).request("POST", server.url + "/x", json={})  # a 429 was never processed
    assert resp.status_code == 200
    assert len(server.seen) == 2
    assert sum(sleeps.calls) == pytest.approx(7.0)  # the throttle held the connection 7 s


def test_a_401_refreshes_once_and_retries_once(server: Scripted) -> None:
    asked: list[str | None] = []

    def token(rejected: str | None) -> str:
        asked.append(rejected)
        return "new-token" if rejected else "old-token"

    server.script = [(401, {}, "{}"), (200, {}, "{}")]
    resp = _http(Sleeps(), token=token).request("GET", server.url + "/companyinfo")
    assert resp.status_code == 200
    assert asked == [None, "old-token"]
    assert [s["auth"] for s in server.seen] == ["Bearer old-token", "Bearer new-token"]


def test_a_second_401_is_returned_not_looped(server: Scripted) -> None:
    server.script = [(401, {}, "{}"), (401, {}, "{}")]
    resp = _http(Sleeps(), token=lambda rejected: "t").request("GET", server.url + "/x")
    assert resp.status_code == 401
    assert len(server.seen) == 2


def test_connection_failures_exhaust_into_a_transient_error() -> None:
    sleeps = Sleeps()
    with pytest.raises(TransientError, match="did not answer"):
        _http(sleeps, attempts=3).request("GET", "http://127.0.0.1:9/nothing-listens-here")
    assert len(sleeps.calls) == 2


def test_throttle_waits_when_the_minute_window_is_full() -> None:
    now = [1000.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        now[0] += s

    throttle = Throttle(3, 2, sleep=sleep, monotonic=lambda: now[0])
    for _ in range(3):
        throttle.acquire()
        throttle.release()
    assert sleeps == []
    throttle.acquire()
    throttle.release()
    assert sum(sleeps) == pytest.approx(60.0)


def test_throttle_learns_from_xero_headers() -> None:
    now = [0.0]
    throttle = Throttle(60, 5, sleep=lambda s: now.__setitem__(0, now[0] + s), monotonic=lambda: now[0])
    throttle.observe({"X-DayLimit-Remaining": "4321", "X-MinLimit-Remaining": "0", "Retry-After": "12"})
    assert throttle.day_remaining == 4321
    throttle.acquire()
    throttle.release()
    assert now[0] == pytest.approx(12.0)


def test_a_request_waiting_for_the_rate_limit_gives_up_on_shutdown() -> None:
    import threading as _threading
    import time as _time

    asked = _threading.Event()

    def monotonic() -> float:  # the real clock; tells the test when the waiter has looked at the window
        if _threading.current_thread().name == "second-request":
            asked.set()
        return _time.monotonic()

    throttle = Throttle(1, 2, monotonic=monotonic)  # the real sleep: it must wake on stopping, not sleep on
    throttle.stopping = _threading.Event()
    throttle.acquire()  # the minute's only request
    throttle.release()
    outcome: list[object] = []

    def second() -> None:
        try:
            throttle.acquire()
            outcome.append("sent")
        except TransientError as exc:
            outcome.append(exc)

    waiter = _threading.Thread(target=second, name="second-request")
    waiter.start()
    assert asked.wait(30), "the second request never looked at the rate window"
    throttle.stopping.set()
    waiter.join(30)  # a deadline far inside the minute it would otherwise wait out
    assert not waiter.is_alive(), "it waited for the window instead of stopping"
    assert len(outcome) == 1 and isinstance(outcome[0], TransientError)


@pytest.mark.parametrize(("header", "held"), [("inf", 3600.0), ("1e308", 3600.0), ("86400", 3600.0),
                                              ("nan", None), ("-5", None), ("Wed, 21 Oct 2026 07:28:00 GMT", None)])
def test_retry_after_is_validated_and_capped(server: Scripted, header: str, held: float | None) -> None:
    """A hostile or broken Retry-After never pauses a connection forever: capped at an hour, and
    ignored (our own backoff) when it is not a sane number of seconds."""
    sleeps = Sleeps()
    server.script = [(429, {"Retry-After": header}, "{}"), (200, {}, "{}")]
    resp = _http(sleeps).request("POST", server.url + "/x", json={})
    assert resp.status_code == 200
    if held is None:
        assert sum(sleeps.calls) < 1  # the retry policy's own small delay
    else:
        assert sum(sleeps.calls) == pytest.approx(held) and held == MAX_RETRY_AFTER_S


def test_redirects_are_never_followed(server: Scripted) -> None:
    server.script = [(307, {"Location": server.url + "/elsewhere"}, "{}")]
    resp = _http(Sleeps(), token=lambda _rejected: "at-secret").request("POST", server.url + "/x", json={})
    assert resp.status_code == 307
    assert [s["path"] for s in server.seen] == ["/x"], "the bearer token went nowhere else"


def test_a_server_dying_mid_answer_is_a_transient_error() -> None:
    """A chunked body cut off halfway raises ChunkedEncodingError inside requests: it must come out
    as our TransientError (retried when idempotent), never as a traceback."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]

    def serve() -> None:
        for _ in range(2):
            conn, _addr = listener.accept()
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"10\r\n{\"QueryResponse\"")  # then the server dies
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(TransientError, match="did not answer"):
            _http(Sleeps(), attempts=2).request("GET", f"http://127.0.0.1:{port}/query")
    finally:
        thread.join(5)
        listener.close()
