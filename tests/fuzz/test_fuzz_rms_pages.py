"""Fuzzing what the RMS answers a change-feed request with: a page, or an UnreadablePage — nothing else.

A stand-in RMS on loopback answers ``GET /v1/returns`` with HTTP 200 and whatever the example holds:
any bytes, cut-off JSON of a real page, HTML, JSON values that are not the documented envelope,
under any content type. The app's RMS client must return a :class:`Page` or raise
:class:`UnreadablePage` (transient; ``rms/feed_guard.py`` counts and sets it aside), whose excerpt is at
most :data:`EXCERPT_CHARS` characters, on one line, with credentials masked. No database involved.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from desktop.services.platforms.http import LedgerHttp, RetryPolicy, Throttle
from desktop.services.rms.client import EXCERPT_CHARS, Page, RmsClient, UnreadablePage
from tests.fuzz.budget import fuzz, record
from tests.fuzz.strategies import hostile, json_text, valid_record

SECRET = "sk_live_0123456789abcdef"  # a made-up key the excerpt must never show


class PageServer:
    """Answers every request with the body and content type set for the current example."""

    def __init__(self) -> None:
        self.body, self.content_type = b"", "application/json"
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self.url = f"http://127.0.0.1:{self._server.port}/rms"

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        return Response(self.body, status=200, content_type=self.content_type)(environ, start_response)

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[PageServer]:
    with PageServer() as s:
        yield s


def _page_text() -> str:
    return json_text({"returns": [valid_record(n, random.Random(n)) for n in range(3)], "next_cursor": "c3",
                      "has_more": False})


_PAGE = _page_text()
bodies = st.one_of(
    st.binary(max_size=600),
    st.integers(min_value=0, max_value=len(_PAGE)).map(lambda n: _PAGE[:n].encode()),  # cut off anywhere
    hostile.map(lambda v: json_text(v).encode()),  # JSON, but not the envelope
    st.fixed_dictionaries({"returns": hostile, "next_cursor": hostile, "has_more": hostile}).map(
        lambda v: json_text(v).encode()),
    st.text(max_size=300).map(lambda t: f"<html><body>{t} api_key={SECRET}</body></html>".encode(
        "utf-8", "surrogatepass")),
)
content_types = st.sampled_from(["application/json", "text/html; charset=utf-8", "text/plain", "application/xml"])


@example(body=b"", content_type="application/json")
@example(body=_PAGE.encode(), content_type="text/html")
@example(body=f"Authorization: Bearer {SECRET}\n<html>".encode(), content_type="text/html")
@given(body=bodies, content_type=content_types)
@fuzz(150)
def test_a_feed_answer_is_a_page_or_an_unreadable_page(server: PageServer, body: bytes, content_type: str) -> None:
    server.body, server.content_type = body, content_type
    client = RmsClient(server.url, "fuzz-key", http=LedgerHttp(
        throttle=Throttle(per_minute=1_000_000, concurrent=4), retry=RetryPolicy(max_attempts=1), platform="rms"))
    try:
        page = client.changes("c0", 50)
    except UnreadablePage as exc:
        assert len(exc.excerpt) <= EXCERPT_CHARS and "\n" not in exc.excerpt
        assert SECRET not in exc.excerpt and SECRET not in exc.message
        assert exc.action and exc.retryable
        record("rms feed answers", examples=1, unreadable=1)
        return
    finally:
        client.http.session.close()
    assert isinstance(page, Page) and isinstance(page.returns, list) and isinstance(page.next_cursor, str)
    record("rms feed answers", examples=1, pages=1)
