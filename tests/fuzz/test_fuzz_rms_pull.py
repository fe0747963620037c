"""Fuzzing the RMS pull: damaged records served over real HTTP, read by the app's RMS client, ingested.

A small RMS stand-in (werkzeug on loopback) serves ``/v1/organizations`` and the paged
``/v1/returns`` change feed with whatever records the example holds, serialised exactly (numbers
as written, unpaired surrogates as ``\\ud800`` escapes, as a JSON encoder sends them). The pull
must never raise for a record (a record's problem is that record's quarantine), must account for
every record in the database (:func:`tests.fuzz.checks.assert_accounted`), and must end with the
cursor at the feed's end — a record never stops the feed. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
import threading
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from desktop.services.core import exact_json
from desktop.services.core.clock import ManualClock
from desktop.services.core.events import EventBus
from desktop.services.platforms.http import LedgerHttp, RetryPolicy, Throttle
from desktop.services.rms.client import RmsClient
from desktop.services.rms.ingest import CURSOR_SOURCE, IngestService
from desktop.services.store import migrate
from desktop.services.store.db import Database
from desktop.services.store.models import SyncCursor
from tests.fuzz.budget import fuzz, record
from tests.fuzz.checks import T0, assert_accounted, for_org, new_org
from tests.fuzz.strategies import CTX_JSON, damaged_records, json_text, nest, valid_record

pytestmark = pytest.mark.db
API_KEY = "fuzz-rms-key"


class FakeRms:
    """The RMS API's organization list and change feed, serving one example's records."""

    def __init__(self) -> None:
        self.org: dict[str, Any] = {}
        self.records: list[Any] = []
        self.cursors: list[str] = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self.url = f"http://127.0.0.1:{self._server.port}/rms"

    def load(self, org_code: str, records: list[Any]) -> None:
        self.org = {**CTX_JSON, "code": org_code}
        self.records, self.cursors = records, []

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.headers.get("X-API-Key") != API_KEY:
            resp = Response(b'{"error": {"code": "unauthorized", "message": "no"}}', status=401)
        elif request.path == "/rms/v1/organizations":
            resp = Response(exact_json.dumps({"organizations": [self.org]}), content_type="application/json")
        elif request.path == "/rms/v1/returns":
            cursor = request.args.get("cursor", "")
            self.cursors.append(cursor)
            start, limit = int(cursor or 0), int(request.args["limit"])
            page = self.records[start:start + limit]
            end = start + len(page)
            resp = Response(json_text({"returns": page, "next_cursor": str(end),
                                       "has_more": end < len(self.records)}), content_type="application/json")
        else:
            resp = Response(status=404)
        return resp(environ, start_response)

    def __enter__(self) -> FakeRms:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def rms() -> Iterator[FakeRms]:
    with FakeRms() as server:
        yield server


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    migrate.upgrade(db_url)
    database = Database(db_url)
    yield database
    database.dispose()


def _client(rms: FakeRms) -> RmsClient:
    return RmsClient(rms.url, API_KEY, http=LedgerHttp(throttle=Throttle(per_minute=1_000_000, concurrent=4),
                                                       retry=RetryPolicy(max_attempts=1), platform="rms"))


def _pull(db: Database, rms: FakeRms, records: list[Any], page_size: int) -> dict[str, int]:
    code, org_id = new_org(db)
    rms.load(code, for_org(records, code))
    service = IngestService(db, EventBus(ManualClock(T0, tick=timedelta(milliseconds=1))), ManualClock(T0))
    client = _client(rms)
    try:
        result = service.pull(code, client, page_size=page_size)
    finally:
        client.http.session.close()
    figures = assert_accounted(db, org_id, len(records), result)
    with db.session() as s:
        cursor = s.scalars(sa.select(SyncCursor.cursor_value).where(
            SyncCursor.organization_id == org_id, SyncCursor.source == CURSOR_SOURCE)).one_or_none()
    assert cursor == str(len(records)), "the feed stopped before its end"
    return figures


# Regressions the fuzzer found (each failed before its fix in the service code):
@example(records=[{**valid_record(0, random.Random(1)), "updated_at": "9999-12-31T23:59:59-23:59"}], page_size=3)
@example(records=[{**valid_record(0, random.Random(1)), "customer": {"id": "c", "name": "A\x00da",
                                                                     "email": "a@b.c"}}], page_size=3)
@example(records=[{**valid_record(0, random.Random(1)), "junk": nest(900)}], page_size=3)
@example(records=[valid_record(0, random.Random(1)), {**valid_record(1, random.Random(1)), "junk": nest(5000)},
                  valid_record(2, random.Random(1))], page_size=50)
@example(records=[{**valid_record(0, random.Random(1)), "refund_total": Decimal("1E+999999999")}], page_size=3)
@given(records=damaged_records(max_size=12), page_size=st.sampled_from([3, 7, 50]))
@fuzz(60)
def test_every_pulled_record_is_ingested_or_quarantined(db: Database, rms: FakeRms, records: list[Any],
                                                        page_size: int) -> None:
    record("rms pull", examples=1, **_pull(db, rms, records, page_size))


def test_a_large_feed_is_pulled_in_bounded_memory(tmp_path: Any, rms: FakeRms) -> None:
    """300 records of ~8 KB (a third of them damaged) in pages of 100: the peak stays under 32 MB —
    the stand-in RMS's pages included (one backend: memory is the app's, not the database's)."""
    rng = random.Random(13)
    records: list[Any] = []
    for n in range(300):
        rec = valid_record(n, rng, lines=3)
        if n % 3 == 0:
            rec["lines"][0]["unit_price"] = "99999999999999999999999999.00"
        rec["lines"][1]["description"] = "D" * 8_000
        records.append(rec)
    url = f"sqlite:///{tmp_path / 'large.sqlite3'}"
    migrate.upgrade(url)
    db = Database(url)
    tracemalloc.start()
    try:
        figures = _pull(db, rms, records, 100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        db.dispose()
    record("rms pull, 300 records", examples=1, peak_bytes=peak, **figures)
    assert figures["ingested"] == 200, figures
    assert peak < 32 * 1024 * 1024, f"peak {peak / 2**20:.0f} MB for a 300-record feed"
