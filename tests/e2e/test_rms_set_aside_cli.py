"""``rms set-aside`` and ``rms repull`` as an administrator runs them: real processes, the sandbox over HTTP.

``demo init`` sets up a data directory against ``sandbox serve``; the sandbox RMS's fault hook makes
one revision unreadable; pulls set it aside after the bound; the CLI lists it, fails to read it
while the RMS still sends garbage (exit 1), and reads it once the RMS is fixed (exit 0).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from desktop.services.core.clock import ManualClock
from desktop.services.core.errors import TransientError
from desktop.services.core.events import EventBus
from desktop.services.rms.client import RmsClient
from desktop.services.rms.feed_guard import MAX_PAGE_ATTEMPTS
from desktop.services.rms.ingest import IngestService
from desktop.services.store.db import Database
from tests.helpers.cli import control, run_cli
from tests.helpers.rms import T0, rows
from tests.helpers.sandbox import fast_http

pytestmark = pytest.mark.slow
ORG = "ACME-US"


@pytest.fixture
def setup(sandbox_url: str, tmp_path: Path) -> Iterator[tuple[list[str], Database, RmsClient]]:
    requests.post(f"{sandbox_url}/_sandbox/reset", json={"seed": 1}, timeout=30).raise_for_status()
    where = ["--data-dir", str(tmp_path / "data"), "--db", f"sqlite:///{tmp_path / 'rls.sqlite3'}"]
    done = run_cli("demo", "init", "--sandbox", sandbox_url, "--json", *where)
    assert done.returncode == 0, done.stderr
    info = control(sandbox_url, "info")["rms"]
    client = RmsClient(info["base_url"], info["api_key"], http=fast_http("rms"))
    db = Database(where[-1])
    try:
        yield where, db, client
    finally:
        db.dispose()


def _spoil(sandbox_url: str, rec: dict[str, Any], times: int | None = None) -> None:
    body = {"id": rec["id"], "revision": rec["revision"], "mode": "html", **({"times": times} if times == 0 else {})}
    requests.post(f"{sandbox_url}/_sandbox/rms/unreadable", json=body, timeout=30).raise_for_status()


def test_a_set_aside_return_is_listed_and_read_again_once_the_rms_is_fixed(
        sandbox_url: str, setup: tuple[list[str], Database, RmsClient]) -> None:
    where, db, client = setup
    bad = client.changes(None, 40, organization=ORG).returns[30]
    _spoil(sandbox_url, bad)
    service = IngestService(db, EventBus(ManualClock(T0, tick=timedelta(milliseconds=1))), ManualClock(T0))
    for _ in range(MAX_PAGE_ATTEMPTS - 1):
        with pytest.raises(TransientError):
            service.pull(ORG, client, page_size=25)
    assert service.pull(ORG, client, page_size=25).set_aside == 1

    listed = run_cli("rms", "set-aside", "--json", *where)
    assert listed.returncode == 0, listed.stderr
    (window,) = json.loads(listed.stdout)[ORG]
    assert window["attempts"] == MAX_PAGE_ATTEMPTS and window["excerpt"].startswith("<!DOCTYPE html>")
    text = run_cli("rms", "set-aside", *where)
    assert "1 part of the RMS feed set aside" in text.stdout and "502 Bad Gateway" in text.stdout
    assert "returns-ledger rms repull --org ORG" in text.stdout

    still = run_cli("rms", "repull", "--org", ORG, *where)
    assert still.returncode == 1, still.stderr
    assert "1 still unreadable" in still.stdout and "Traceback" not in still.stderr

    _spoil(sandbox_url, bad, times=0)
    fixed = run_cli("rms", "repull", "--org", ORG, "--json", *where)

    assert fixed.returncode == 0, fixed.stderr
    out = json.loads(fixed.stdout)
    assert (out["recovered"], out["still_unreadable"], out["ingested"] + out["quarantined"]) == (1, 0, 1)
    assert (bad["id"], bad["revision"]) in {(r.rms_id, r.revision) for r in rows(db, ORG)}
    assert json.loads(run_cli("rms", "set-aside", "--json", *where).stdout) == {}
    nothing = run_cli("rms", "repull", "--org", ORG, *where)
    assert nothing.returncode == 0 and "nothing to read again" in nothing.stdout
